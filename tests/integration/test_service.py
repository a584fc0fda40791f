"""The service against the real sandbox Asterisk, PostgreSQL and Redis.

Scripted callers are Originates of ``Local/<14 number>@kcc-inbound``; scripted agents are
queue members ``Local/<login>@kcc-test-agent``. Every test asserts the three places a
call shows up: the live model, Redis, and the PostgreSQL record.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time

import aiohttp
import asyncpg
import pytest
from harness import NAME, SIPP_UAC, TEST_DB, Harness, _test_config, wait_for

from telephony import sandbox
from telephony.acd.transfer import agent_leg

pytestmark = pytest.mark.asterisk

# the harness fixture: conftest.py


async def test_answered_call_in_model_redis_and_postgres(harness: Harness):
    await harness.agent("anna")
    await harness.caller(wait=5)
    call = await wait_for(harness.inbound_call, what="inbound call in the model")
    linkedid = call.linkedid
    redis = harness.service.redis
    # Live in Redis while it lasts, with the UTF-8 name intact.
    raw = await wait_for(lambda: redis.r.get(f"{redis.p}call:{linkedid}"), what="redis key")
    assert json.loads(raw)["caller_name"] == NAME
    await wait_for(lambda: call.answered_by == "anna", what="answered by anna")
    assert call.queue == "algemeen"
    assert call.dialled == "+31140180"
    assert call.municipality == "", "14 0180 is shared: the municipality is asked, not assumed"
    assert [o["agent"] for o in call.offered] == ["anna"]
    await wait_for(lambda: any(e.linkedid == linkedid for e in harness.ended), timeout=20,
                   what="call ended")
    await harness.service.bus.drain()
    row = await harness.row(linkedid)
    assert row is not None
    # the record keeps the caller normalised (E.164); the trunk sent 0612345678
    assert row["caller_name"] == NAME and row["caller_number"] == "+31612345678"
    assert row["queue"] == "algemeen" and row["answered_by"] == "anna"
    assert row["dialled"] == "+31140180" and not row["abandoned"]
    assert row["ended_at"] is not None and row["wait_seconds"] is not None
    assert not await redis.r.exists(f"{redis.p}call:{linkedid}")
    assert linkedid not in await redis.r.smembers(f"{redis.p}calls")


async def test_single_municipality_number_sets_municipality(harness: Harness):
    await harness.caller(number="140182", wait=3, name="Jan de Boer")
    call = await wait_for(lambda: harness.inbound_call("Jan de Boer"), what="call")
    await wait_for(lambda: call.municipality == "gouda", what="municipality from the AGI")
    await wait_for(lambda: any(e.linkedid == call.linkedid for e in harness.ended), timeout=15,
                   what="call ended")
    await harness.service.bus.drain()
    row = await harness.row(call.linkedid)
    assert row["municipality"] == "gouda" and row["abandoned"] is True


async def test_healthz_metrics_and_api(harness: Harness):
    base = f"http://127.0.0.1:{harness.config.service.http_port}"
    headers = {"Authorization": f"Bearer {await harness.token('sanne')}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(f"{base}/healthz") as resp:
            body = await resp.json()
            assert resp.status == 200, body
            assert body["checks"]["ami"]["ok"] and body["checks"]["postgres"]["ok"]
        async with http.get(f"{base}/metrics") as resp:
            text = await resp.text()
            assert "kcc_ami_events_total" in text and "kcc_ami_connected 1.0" in text
        async with http.get(f"{base}/api/calls/no%20such") as resp:
            assert resp.status == 400
        async with http.get(f"{base}/api/calls/123.456") as resp:
            assert resp.status == 404
            assert (await resp.json())["error"]["code"] == "not_found"


async def test_retention_purge_runs_in_the_service(harness: Harness):
    """The hourly AVG purge (pop state, processing log) runs against the real database."""
    assert harness.service._retention_task is not None
    assert not harness.service._retention_task.done()
    done = await harness.service.purge_expired()
    assert set(done) == {"pop_state", "processing_log"}


async def test_healthz_is_503_when_asterisk_is_down(kcc_config, sandbox):
    config = _test_config(kcc_config, http_offset=102)
    config = config.model_copy(update={"asterisk": config.asterisk.model_copy(
        update={"ami_port": 5999})})
    h = Harness(config)
    await h.service.start()
    try:
        async with aiohttp.ClientSession() as http, \
                http.get(f"http://127.0.0.1:{config.service.http_port}/healthz") as resp:
            body = await resp.json()
            assert resp.status == 503 and body["checks"]["ami"]["ok"] is False
            assert body["checks"]["redis"]["ok"] and body["checks"]["postgres"]["ok"]
    finally:
        await h.service.stop()


async def test_service_restart_mid_call_keeps_one_complete_record(kcc_config, sandbox):
    """Stop the service while a call is up; a new instance recovers it from Asterisk."""
    config = _test_config(kcc_config)
    first = Harness(config)
    await first.start()
    await first.agent("anna")
    await first.caller(wait=8, name="Ömer Doğan")
    call = await wait_for(lambda: first.inbound_call("Ömer Doğan"), what="call")
    await wait_for(lambda: call.answered_by == "anna", what="answered")
    linkedid, started = call.linkedid, call.started_at
    await first.service.bus.drain()
    assert (await first.row(linkedid))["ended_at"] is None
    await first.stop()

    second = Harness(config)
    await second.start()
    try:
        recovered = await wait_for(lambda: second.service.model.calls.get(linkedid),
                                   what="recovered call")
        assert recovered.recovered
        await wait_for(lambda: any(e.linkedid == linkedid for e in second.ended), timeout=20,
                       what="recovered call ended")
        await second.service.bus.drain()
        async with second.service.pool.acquire() as conn:
            rows = await conn.fetch("SELECT * FROM calls WHERE linkedid = $1", linkedid)
        assert len(rows) == 1
        row = rows[0]
        assert row["ended_at"] is not None and row["answered_by"] == "anna"
        assert row["caller_name"] == "Ömer Doğan"
        assert abs(row["started_at"].timestamp() - started) < 1.0
    finally:
        await second.agent("anna", add=False)
        await second.stop()


def _link_state(h: Harness) -> str:
    link = h.service.link
    consumer = h.service._consumer
    return (f"connected={link.connected} connects={link.connects} "
            f"last_error={link.last_error} backlog={link.backlog} "
            f"events={h.service.model.events_applied} consumer_done={consumer.done()} "
            f"consumer_exc={consumer.exception() if consumer.done() else None} "
            f"stack={[f'{f.f_code.co_filename}:{f.f_lineno}' for f in consumer.get_stack()]} "
            f"queue_getters={len(getattr(link._items, '_getters', []))}")


@pytest.mark.parametrize("how", ["graceful", "crash"])
async def test_asterisk_restart_mid_call(harness: Harness, kcc_config, how: str):
    """Asterisk restarts under a live call: reconnect, resync, one closed record.

    graceful: ``core stop now`` hangs calls up (Hangup events) before AMI closes.
    crash: SIGKILL, no Hangup ever arrives; the resync after reconnect must sweep it.
    """
    name = f"Renée van Dijk {how}"
    await harness.caller(wait=60, name=name)
    call = await wait_for(lambda: harness.inbound_call(name), what="call")
    linkedid = call.linkedid
    await wait_for(lambda: call.queue, what="queued")
    await harness.service.bus.drain()
    connects = harness.service.link.connects
    if how == "crash":
        for pid in sandbox.asterisk_pids():
            os.kill(pid, signal.SIGKILL)
    await asyncio.to_thread(sandbox.down)
    await asyncio.to_thread(sandbox.up, kcc_config)
    await wait_for(lambda: harness.service.link.connects > connects, timeout=40,
                   what="AMI reconnect")
    await wait_for(lambda: any(e.linkedid == linkedid for e in harness.ended), timeout=20,
                   what="call closed")
    await harness.service.bus.drain()
    async with harness.service.pool.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM calls WHERE linkedid = $1", linkedid)
    assert len(rows) == 1 and rows[0]["ended_at"] is not None
    # Cut by the PBX, not a caller giving up (issue 13): graceful = Shutdown event,
    # crash = an Asterisk younger than the gap in events when the link comes back.
    assert rows[0]["queue"] == "algemeen" and not rows[0]["abandoned"]
    assert rows[0]["end_reason"] == "system", dict(rows[0])
    if how == "crash":
        assert "AMI link was down" in rows[0]["hangup_cause_text"]
    # And calls work again after the restart.
    await harness.caller(wait=2, name=f"Na herstart {how}")
    await wait_for(lambda: harness.inbound_call(f"Na herstart {how}"),
                   what=f"call after restart; {_link_state(harness)}")


async def test_calls_still_queue_when_the_service_is_down(kcc_config, sandbox):
    """Noodvoorziening: no FastAGI server -> the dialplan queues in the general queue."""
    from telephony.ami.link import AmiLink
    from telephony.ami.protocol import AmiSnapshot

    c = kcc_config.asterisk
    link = AmiLink(c.ami_host, c.ami_port, c.ami_user, kcc_config.ami_secret())
    link.start()
    try:
        await link.wait_connected(15)
        await link.action("Originate", Channel="Local/140180@kcc-inbound", Application="Wait",
                          Data="3", CallerID='"Zonder Service" <0610000000>', Async="true")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            item = await asyncio.wait_for(link.next_item(), 10)
            if (not isinstance(item, AmiSnapshot) and item.get("Event") == "QueueCallerJoin"
                    and item.get("CallerIDName") == "Zonder Service"):
                assert item.get("Queue") == kcc_config.general_queue.id
                return
        raise AssertionError("caller never reached the general queue")
    finally:
        await link.stop()


@pytest.fixture(scope="session", autouse=True)
def _clean_test_database():
    async def reset():
        try:
            conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        except OSError:
            return
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(reset())


async def test_sipp_call_into_14_number(harness: Harness):
    """A real SIP call (SIPp) into 14 0182: model, Redis and PostgreSQL agree."""
    scenario = SIPP_UAC
    name = "Zoë Şahin"
    proc = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(scenario), "-s", "140182", "-i", "127.0.0.1",
        "-p", str(harness.config.asterisk.sip_port + 11),
        "-mi", "127.0.0.1", "-mp", str(harness.config.asterisk.sip_port + 1040),
        "-set", "dname", name, "-set", "digit", "",
        "-d", "3000", "-m", "1", "-timeout", "30s", "-timeout_error", "-nostdin",
        f"127.0.0.1:{harness.config.asterisk.sip_port}",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    call = await wait_for(lambda: harness.inbound_call(name), timeout=15, what="SIPp call")
    redis = harness.service.redis
    await wait_for(lambda: redis.r.exists(f"{redis.p}call:{call.linkedid}"), what="redis")
    _, err = await asyncio.wait_for(proc.communicate(), 40)
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    await wait_for(lambda: any(e.linkedid == call.linkedid for e in harness.ended),
                   what="SIPp call ended")
    await harness.service.bus.drain()
    row = await harness.row(call.linkedid)
    assert row["caller_name"] == name and row["dialled"] == "+31140182"
    assert row["municipality"] == "gouda" and row["queue"] == "algemeen"
    assert row["ended_at"] is not None


async def test_blind_transfer_is_tracked_and_recorded(harness: Harness):
    call = await harness.answered_call("Blind Doorverbonden", wait=8)
    agent = agent_leg(harness.service.model, call, "anna")
    await harness.service.link.action("BlindTransfer", Channel=agent,
                                      Context="kcc-test-agent", Exten="2001")
    await wait_for(lambda: call.transfers, what="transfer in the model")
    assert call.transfers[0]["kind"] == "blind" and call.transfers[0]["by"] == "anna"
    assert call.transfers[0]["target"] == "2001@kcc-test-agent"
    await wait_for(lambda: any(e.linkedid == call.linkedid for e in harness.ended),
                   timeout=20, what="call ended")
    await harness.service.bus.drain()
    row = await harness.row(call.linkedid)
    assert row["transfer_count"] == 1


async def test_attended_transfer_is_tracked(harness: Harness):
    call = await harness.answered_call("Attended Doorverbonden", wait=10)
    agent = agent_leg(harness.service.model, call, "anna")
    model = harness.service.model
    await harness.service.link.action("Atxfer", Channel=agent, Context="kcc-test-agent",
                                      Exten="2002")

    def consult_ready():
        legs = [leg for c in model.calls.values() for leg in c.legs.values()
                if leg.ended_at is None]
        target = [leg for leg in legs if leg.channel.startswith("Local/2002@kcc-test-agent")
                  and leg.bridge]
        me = [leg for leg in legs if leg.channel == agent]
        return target and me and me[0].bridge == target[0].bridge

    await wait_for(consult_ready, what="agent in the consult bridge")
    await harness.service.link.action("Hangup", Channel=agent)
    await wait_for(lambda: call.transfers, what="attended transfer in the model")
    assert call.transfers[0]["kind"] == "attended" and call.transfers[0]["by"] == "anna"


async def test_a_recorded_call_shows_in_the_supervisor_report(harness: Harness):
    """The real path: AMI -> call record -> GET /api/reports/queues (local day)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo(harness.config.kcc.timezone)).date().isoformat()
    base = f"http://127.0.0.1:{harness.config.service.http_port}"
    url = f"{base}/api/reports/queues?from={today}&to={today}"
    headers = {"Authorization": f"Bearer {await harness.token('sanne')}"}

    async def algemeen() -> dict:
        async with aiohttp.ClientSession(headers=headers) as http, http.get(url) as resp:
            assert resp.status == 200
            rows = [r for r in (await resp.json())["rows"] if r["queue"] == "algemeen"]
        return rows[0] if rows else {"offered": 0, "answered": 0}

    before = await algemeen()
    await harness.agent("anna")
    await harness.caller(wait=3, name="Rapport Beller")
    call = await wait_for(lambda: harness.inbound_call("Rapport Beller"), what="call")
    await wait_for(lambda: any(e.linkedid == call.linkedid for e in harness.ended),
                   timeout=20, what="call ended")
    await harness.service.bus.drain()
    after = await algemeen()
    assert after["offered"] == before["offered"] + 1
    assert after["answered"] == before["answered"] + 1
    async with aiohttp.ClientSession(headers={"Authorization": "Bearer " + await
                                              harness.token("anna")}) as http, \
            http.get(url) as resp:
        assert resp.status == 403
