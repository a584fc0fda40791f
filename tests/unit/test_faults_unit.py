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
