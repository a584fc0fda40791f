"""Focused unit tests of the fault-handling parts: spool, record writer, bounded bus,
task supervisor. The real-PostgreSQL outage is in tests/integration/test_faults.py."""

from __future__ import annotations

import asyncio

import pytest

from telephony.events import CallStarted, EventBus
from telephony.store.record_writer import RecordWriter
from telephony.store.spool import Spool, SpoolFull
from telephony.task_supervisor import TaskSupervisor


class FlakyRepo:
    """Stands in for CallRepository: refuses connections while ``down``."""

    def __init__(self) -> None:
        self.down = False
        self.rows: list[tuple[str, object]] = []
        self.keys: set[str] = set()

    def _check(self) -> None:
        if self.down:
            raise ConnectionRefusedError("database down")

    async def upsert(self, record):
        self._check()
        self.rows.append(("call", record["linkedid"]))

    async def log_agent_state(self, agent, queue, state, reason, at, key=None):
        self._check()
        if key in self.keys:  # the unique index on spool_key
            return
        self.keys.add(key)
        self.rows.append(("agent_state", state))

    async def close_orphans(self, live, reason):
        self._check()
        self.rows.append(("close_orphans", tuple(sorted(live))))
        return 0


def test_spool_is_ordered_durable_and_bounded(tmp_path):
    path = tmp_path / "s.sqlite"
    spool = Spool(path, max_rows=3)

    async def fill():
        for n in range(3):
            await spool.add("call", {"n": n})
        with pytest.raises(SpoolFull):
            await spool.add("call", {"n": 3})

    asyncio.run(fill())
    spool.close()
    again = Spool(path, max_rows=3)  # a crash: the file keeps what was spooled
    assert again.size == 3
    heads = asyncio.run(again.head())
    assert [p["n"] for _seq, _key, _kind, p in heads] == [0, 1, 2]
    again.close()


async def test_writer_spools_in_order_and_replays_once(tmp_path):
    repo = FlakyRepo()
    counts: list[str] = []
    writer = RecordWriter(repo, Spool(tmp_path / "s.sqlite"), count=counts.append,  # type: ignore[arg-type]
                          retry_seconds=0.01)
    await writer.write("call", {"linkedid": "a"})
    repo.down = True
    await writer.write("call", {"linkedid": "b"})
    repo.down = False
    # PostgreSQL is back, but "b" is spooled: "c" must queue behind it, not overtake it.
    await writer.write("agent_state", {"agent": "x", "queue": "q", "state": "paused",
                                       "reason": "", "at": 1.0})
    await writer.write("close_orphans", {"live": ["b"], "reason": "r"})
    assert writer.pending == 3 and repo.rows == [("call", "a")]
    assert await writer.replay_once() == 3
    assert repo.rows == [("call", "a"), ("call", "b"), ("agent_state", "paused"),
                         ("close_orphans", ("b",))]
    assert writer.pending == 0 and counts.count("spooled") == 3
    assert counts.count("replayed") == 3


async def test_full_spool_makes_the_writer_wait_and_health_say_so(tmp_path):
    repo = FlakyRepo()
    repo.down = True
    writer = RecordWriter(repo, Spool(tmp_path / "s.sqlite", max_rows=10),  # type: ignore[arg-type]
                          retry_seconds=0.02)
    for n in range(10):
        await writer.write("call", {"linkedid": str(n)})
    assert writer.health()["ok"] is False
    blocked = asyncio.create_task(writer.write("call", {"linkedid": "late"}))
    # 0.2 s = ten retry periods: had the write not been held back it would be done.
    await asyncio.sleep(0.2)
    assert not blocked.done() and writer.full_since is not None
    repo.down = False
    await writer.replay_once()
    await asyncio.wait_for(blocked, 2)
    await writer.replay_once()
    assert [r[1] for r in repo.rows] == [*map(str, range(10)), "late"]
    assert writer.health()["ok"] is True


async def test_bus_back_pressure_for_records_drop_oldest_for_live_views():
    bus = EventBus()
    gate = asyncio.Event()
    seen: dict[str, list[str]] = {"records": [], "live": []}

    def handler(name):
        async def handle(event):
            await gate.wait()
            seen[name].append(event.linkedid)
        return handle

    bus.subscribe("records", handler("records"), maxsize=2)
    bus.subscribe("live", handler("live"), maxsize=2, drop_oldest=True)
    bus.start()
    await bus.publish(CallStarted(linkedid="1", at=0))
    await asyncio.sleep(0)  # both pumps take "1" and wait at the gate
    await bus.publish(CallStarted(linkedid="2", at=0))
    await bus.publish(CallStarted(linkedid="3", at=0))
    fourth = asyncio.create_task(bus.publish(CallStarted(linkedid="4", at=0)))
    await asyncio.sleep(0.05)  # 50 ms: a put that had room would have finished at once
    assert not fourth.done(), "records must hold the publisher back, not grow"
    gate.set()
    await asyncio.wait_for(fourth, 2)
    await bus.drain(2)
    assert seen["records"] == ["1", "2", "3", "4"]
    assert seen["live"] == ["1", "3", "4"] and bus.dropped["live"] == 1
    await bus.stop()


async def test_supervisor_restarts_a_failing_task_and_reports_it():
    runs = []

    async def flaky():
        runs.append(1)
        if len(runs) < 3:
            raise RuntimeError(f"boom {len(runs)}")
        await asyncio.Event().wait()

    restarted: list[str] = []
    sup = TaskSupervisor(min_backoff=0.01, max_backoff=0.02, on_restart=restarted.append)
    sup.start("flaky", flaky)
    for _ in range(200):
        if len(runs) >= 3:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.01)
    health = sup.health()["flaky"]
    assert len(runs) == 3 and restarted == ["flaky", "flaky"]
    assert health == {"ok": True, "restarts": 2, "last_error": "RuntimeError: boom 2"}
    await sup.stop()


def _queued_call(model, uid: str, at: float) -> None:
    model.apply({"Event": "Newchannel", "Uniqueid": uid, "Linkedid": uid,
                 "Channel": f"PJSIP/trunk-{uid}", "Context": "kcc-inbound",
                 "Exten": "140180", "CallerIDNum": "0611111111", "Timestamp": str(at)})
    model.apply({"Event": "QueueCallerJoin", "Uniqueid": uid, "Linkedid": uid,
                 "Queue": "algemeen", "Position": "1", "Timestamp": str(at + 1)})


def _sweep(model, now: float):
    from telephony.ami.protocol import AmiSnapshot
    from telephony.events import CallEnded

    events = model.apply(AmiSnapshot("CoreShowChannels", [
        {"Response": "Success", "EventList": "start"},
        {"Event": "CoreShowChannelsComplete", "EventList": "Complete"}]), now=now)
    return [e.record for e in events if isinstance(e, CallEnded)]


def test_calls_cut_by_an_asterisk_restart_are_not_abandons():
    from telephony.events import CallEnded
    from telephony.model.calls import CallModel

    # graceful: Shutdown, then the hangups
    model = CallModel()
    _queued_call(model, "1.1", 100.0)
    model.apply({"Event": "Shutdown", "Shutdown": "Cleanly", "Timestamp": "110"})
    ended = [e.record for e in model.apply({"Event": "Hangup", "Uniqueid": "1.1",
                                            "Linkedid": "1.1", "Cause": "0",
                                            "Timestamp": "110.2"})
             if isinstance(e, CallEnded)]
    assert ended[0]["end_reason"] == "system" and ended[0]["abandoned"] is False
    # graceful as Asterisk 22 does it: the hangups (no cause) first, Shutdown after
    from telephony.events import CallRecordCorrected

    model = CallModel()
    _queued_call(model, "1.2", 100.0)
    model.apply({"Event": "Hangup", "Uniqueid": "1.2", "Linkedid": "1.2", "Cause": "0",
                 "Timestamp": "110.0"})
    fixed = model.apply({"Event": "Shutdown", "Shutdown": "Cleanly", "Timestamp": "110.4"})
    (fix,) = [e for e in fixed if isinstance(e, CallRecordCorrected)]
    assert fix.record["end_reason"] == "system" and fix.record["abandoned"] is False
    # crash: no events, then an Asterisk 3 s old after a 20 s gap: the sweep says system
    model = CallModel()
    _queued_call(model, "2.1", 200.0)
    model.apply({"Event": "FullyBooted", "Uptime": "3", "Timestamp": "221"})
    (record,) = _sweep(model, 221.5)
    assert record["end_reason"] == "system" and record["abandoned"] is False
    # link blip, same Asterisk (uptime longer than the gap): nobody saw the end
    model = CallModel()
    _queued_call(model, "3.1", 300.0)
    model.apply({"Event": "FullyBooted", "Uptime": "5000", "Timestamp": "320"})
    (record,) = _sweep(model, 320.5)
    assert record["end_reason"] == "unobserved" and record["abandoned"] is False
    # a caller who hangs up in the queue is still an abandon
    model = CallModel()
    _queued_call(model, "4.1", 400.0)
    ended = [e.record for e in model.apply({"Event": "Hangup", "Uniqueid": "4.1",
                                            "Linkedid": "4.1", "Cause": "16",
                                            "Timestamp": "420"})
             if isinstance(e, CallEnded)]
    assert ended[0]["end_reason"] == "" and ended[0]["abandoned"] is True


async def test_supervisor_stops_a_task_that_swallows_its_cancel():
    """A factory that catches CancelledError and returns must not be restarted for ever
    (a service stop would hang)."""
    started = asyncio.Event()

    async def stubborn():
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            return

    sup = TaskSupervisor(min_backoff=0.01)
    sup.start("stubborn", stubborn)
    await started.wait()
    await asyncio.wait_for(sup.stop_task("stubborn"), 2)
    assert sup.tasks == {}


async def test_sessions_survive_a_redis_outage_only_for_known_valid_agents():
    from redis import exceptions as redis_errors

    from telephony.auth import Sessions

    class Redis:
        def __init__(self):
            self.data, self.down = {}, False

        async def set(self, key, value, ex=None):
            self.data[key] = value

        def pipeline(self, transaction=True):
            redis, calls = self, []

            class Pipe:
                def __getattr__(self, name):
                    return lambda *a, **k: calls.append((name, a, k))

                async def execute(self):
                    for name, a, k in calls:
                        if name == "set":
                            await redis.set(*a, **k)

            return Pipe()

        async def get(self, key):
            if self.down:
                raise redis_errors.ConnectionError("Connection refused")
            return self.data.get(key)

    valid = {"anna": True}

    async def role_of(login):  # PostgreSQL's answer: the role of an active agent
        return "agent" if valid.get(login) else None

    r = Redis()
    sessions = Sessions(r, "t:", 3600, b"secret", role_of)
    token = await sessions.issue("anna")
    assert (await sessions.resolve(token))["login"] == "anna"  # seen once, Redis up
    r.down = True
    who = await sessions.resolve(token)
    assert (who["login"], who["role"]) == ("anna", "agent")
    assert sessions.degraded_hits == 1
    assert await sessions.resolve("never-issued") is None
    valid["anna"] = False  # deactivated in PostgreSQL meanwhile
    assert await sessions.resolve(token) is None


def test_asterisk_shutdown_event_marks_ami_unhealthy_until_a_new_login(monkeypatch):
    """/healthz goes 503 at the Shutdown event, not a second later at the socket close."""
    from pathlib import Path

    from telephony.config import load_config
    from telephony.service import KccService

    monkeypatch.setenv("KCC_DEMO", "1")
    service = KccService(load_config(Path(__file__).resolve().parents[2] / "config"
                                     / "demo.toml"))
    service.link._ready.set()  # pretend: logged in and resynced (connect #1)
    service.link.connects = 1
    assert not service.asterisk_shutting_down
    service._watch_shutdown({"Event": "Shutdown", "Shutdown": "Cleanly"})
    assert service.asterisk_shutting_down  # still "connected", but going away
    service.link.connects = 2  # a new Asterisk: logged in and resynced again
    assert not service.asterisk_shutting_down
