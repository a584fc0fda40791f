"""Faults without loss, against the real sandbox Asterisk and a private PostgreSQL that
the test crashes (never the machine's shared one): call records made while PostgreSQL is
down are spooled and written once it is back, /healthz says which part is unhealthy, and
a supervised task that dies is restarted."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from harness import Harness, _test_config, hangup_all, wait_for
from private_servers import PrivatePostgres

pytestmark = pytest.mark.asterisk


@pytest.fixture
async def private_pg():
    pg = PrivatePostgres()
    await asyncio.to_thread(pg.init)
    await asyncio.to_thread(pg.start)
    try:
        yield pg
    finally:
        await asyncio.to_thread(pg.destroy)


@pytest.fixture
async def on_private_pg(kcc_config, sandbox, private_pg):
    config = _test_config(kcc_config, http_offset=103)
    config = config.model_copy(update={"database": config.database.model_copy(
        update={"default_dsn": private_pg.dsn, "write_timeout": 2.0})})
    h = Harness(config)
    await h.start()
    try:
        yield h, private_pg
    finally:
        try:
            await hangup_all(h)
            await h.agent("anna", add=False)
        finally:
            await h.stop()


async def _healthz(h: Harness) -> tuple[int, dict]:
    url = f"http://127.0.0.1:{h.config.service.http_port}/healthz"
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status, await resp.json()


async def test_postgres_crash_mid_call_loses_no_record(on_private_pg):
    h, pg = on_private_pg
    await h.agent("anna")
    status, body = await _healthz(h)
    assert status == 200, body
    assert body["checks"]["spool"]["pending"] == 0
    await asyncio.to_thread(pg.crash)
    await h.caller(wait=3, name="Bülent Öztürk")
    call = await wait_for(lambda: h.inbound_call("Bülent Öztürk"), what="call")
    linkedid = call.linkedid
    await wait_for(lambda: call.answered_by == "anna", what="answered by anna")
    await wait_for(lambda: any(e.linkedid == linkedid for e in h.ended), timeout=20,
                   what="call ended")
    await h.service.bus.drain()
    # start, answer, end (plus agent states): all waiting in the spool, none lost
    assert h.service.writer.pending >= 3
    status, body = await _healthz(h)
    assert status == 503 and body["checks"]["postgres"]["ok"] is False
    assert body["checks"]["ami"]["ok"] and body["checks"]["redis"]["ok"]
    assert body["checks"]["spool"]["pending"] >= 3
    back = time.monotonic()
    await asyncio.to_thread(pg.start)
    await wait_for(lambda: h.service.writer.pending == 0, timeout=20, what="spool replayed")
    assert time.monotonic() - back < 10, "replay within seconds of PostgreSQL's return"
    rows = await h.service.pool.fetch("SELECT * FROM calls WHERE linkedid = $1", linkedid)
    assert len(rows) == 1
    row = rows[0]
    assert row["caller_name"] == "Bülent Öztürk" and row["answered_by"] == "anna"
    assert row["queue"] == "algemeen" and row["queued_at"] is not None
    assert row["ended_at"] is not None and row["abandoned"] is False
    states = await h.service.pool.fetchval(
        "SELECT count(*) FROM agent_state_log WHERE agent = 'anna' AND spool_key IS NOT NULL")
    assert states >= 1, "agent states of the outage were replayed too"
    status, body = await _healthz(h)
    assert status == 200, body


async def test_a_dying_task_is_restarted_and_health_names_it(on_private_pg):
    """An exception outside model.apply used to end AMI processing behind a 200."""
    h, _pg = on_private_pg
    service = h.service
    original = service.link.next_item
    failures = 0

    async def broken():
        nonlocal failures
        if failures == 0:
            failures += 1
            raise RuntimeError("injected consumer fault")
        return await original()

    service.link.next_item = broken  # type: ignore[method-assign]
    # The consumer is parked in the real next_item: an event (a call) brings it to the
    # broken one.
    await h.caller(wait=1, name="Voor de fout")
    await wait_for(lambda: service.supervisor.tasks["ami-consumer"].restarts == 1,
                   timeout=10, what="consumer restarted")
    status, body = await _healthz(h)
    part = body["checks"]["task:ami-consumer"]
    assert part["restarts"] == 1 and "injected consumer fault" in part["last_error"]
    # ... and it processes AMI again: a new call shows up in the model.
    await h.caller(wait=2, name="Na de herstart")
    await wait_for(lambda: h.inbound_call("Na de herstart"), what="call seen after restart")
    status, body = await _healthz(h)
    assert status == 200 and body["checks"]["task:ami-consumer"]["ok"], body


async def _members(config, login: str) -> dict[str, list[str]]:
    """queue -> [Paused flag, ...] of ``login``'s memberships, straight from Asterisk."""
    from telephony.ami.link import AmiLink

    a = config.asterisk
    link = AmiLink(a.ami_host, a.ami_port, a.ami_user, config.ami_secret())
    link.start()
    try:
        await link.wait_connected(20)
        reply = await link.action("QueueStatus", as_list=True, timeout=10)
    finally:
        await link.stop()
    out: dict[str, list[str]] = {}
    for m in reply if isinstance(reply, list) else [reply]:
        if m.get("Event") == "QueueMember" and m.get("Name") == login:
            out.setdefault(m.get("Queue"), []).append(m.get("Paused"))
    return out


async def test_agents_survive_an_asterisk_restart_without_the_service(
        kcc_config, sandbox):
    """persistentmembers: Asterisk keeps the agents (and their pause) while the service is
    down; the service coming back adds nobody twice and removes who logged out."""
    from telephony import sandbox as sandbox_mod

    config = _test_config(kcc_config, http_offset=104)
    first = Harness(config)
    await first.start()
    await first.service.acd.login("anna")
    await first.service.acd.pause("anna", "overleg")
    await first.service.acd.login("mehmet")
    await first.service.acd.logout("mehmet")
    queues = set((await first.service.agents_repo.get("anna")).skills)
    await first.stop()
    second = None
    try:
        await asyncio.to_thread(sandbox_mod.down)
        await asyncio.to_thread(sandbox_mod.up, kcc_config)
        members = await _members(kcc_config, "anna")
        assert set(members) == queues, "Asterisk restarted without the service kept anna"
        assert all(flags == ["1"] for flags in members.values()), members
        second = Harness(config)
        await second.start()
        await wait_for(lambda: second.service.acd.state_of("anna")["state"] == "paused",
                       what="anna paused in the new service")
        await second.service.bus.drain()
        members = await _members(kcc_config, "anna")
        assert set(members) == queues and all(len(f) == 1 for f in members.values()), \
            f"no duplicate members after the service's reconcile: {members}"
        assert await _members(kcc_config, "mehmet") == {}
    finally:
        if second is not None:
            await second.service.acd.logout("anna")
            await second.stop()


async def test_redis_outage_agents_keep_working_and_live_views_recover(kcc_config, sandbox):
    """A private Redis killed under a logged-in agent: the panel's calls still work
    (sessions from the local cache, checked against PostgreSQL; the pause goes through
    Asterisk), health says redis; when Redis is back the live view is rebuilt."""
    from private_servers import PrivateRedis
    from redis.exceptions import ConnectionError as RedisConnectionError

    redis_server = PrivateRedis()
    await asyncio.to_thread(redis_server.start)
    config = _test_config(kcc_config, http_offset=106)
    config = config.model_copy(update={"redis": config.redis.model_copy(
        update={"default_url": redis_server.url})})
    h = Harness(config)
    await h.start()
    base = f"http://127.0.0.1:{config.service.http_port}"
    try:
        token = await h.token("anna")
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(headers=headers) as http:
            async with http.post(f"{base}/api/me/login") as resp:
                assert resp.status == 200, await resp.text()
            await asyncio.to_thread(redis_server.kill)
            t0 = time.monotonic()
            async with http.post(f"{base}/api/me/pause", json={"reason": "pauze"}) as resp:
                assert resp.status == 200, await resp.text()
            assert time.monotonic() - t0 < 3, "degraded, not stuck on Redis timeouts"
            await wait_for(lambda: h.service.acd.state_of("anna")["state"] == "paused",
                           what="anna paused in Asterisk")
            async with http.get(f"{base}/api/me",
                                headers={"Authorization": "Bearer not-a-session"}) as resp:
                assert resp.status == 401, "an unknown token is refused in degraded mode"
            status, body = await _healthz(h)
            assert status == 503 and body["checks"]["redis"]["ok"] is False
            assert body["checks"]["postgres"]["ok"] and body["checks"]["ami"]["ok"]
            await asyncio.to_thread(redis_server.start)
            await h.caller(wait=3, name="Na Redis")
            call = await wait_for(lambda: h.inbound_call("Na Redis"), what="call")
            redis = h.service.redis

            async def in_redis() -> bool:
                try:  # the first use of a pooled connection from before the restart fails
                    return bool(await redis.r.sismember(f"{redis.p}calls", call.linkedid))
                except RedisConnectionError:
                    return False

            await wait_for(in_redis, timeout=20, what="live view back in Redis")
            status, body = await _healthz(h)
            assert status == 200, body
            async with http.post(f"{base}/api/me/logout") as resp:
                assert resp.status == 200, await resp.text()
    finally:
        try:
            await hangup_all(h)
        finally:
            await h.stop()
            await asyncio.to_thread(redis_server.destroy)
