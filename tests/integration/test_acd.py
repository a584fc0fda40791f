"""ACD against the real sandbox Asterisk: skills, states, wrap-up, overflow, restarts, API.

Scripted agents: agents whose endpoint is ``Local/<login>@kcc-test-agent`` (answers at
once) or ``...@kcc-test-agent-noanswer`` (rings forever). Scripted callers are Originates
straight into ``kcc-queue,<queue>`` (the IVR's choice is not under test here).
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from harness import Harness, _test_config, hangup_all, wait_for

pytestmark = pytest.mark.asterisk
LOGINS = ("anna", "mehmet", "zoe", "nora")


@pytest.fixture
async def acd(kcc_config, sandbox):  # sandbox must be up
    h = Harness(_test_config(kcc_config))
    await h.start()
    await hangup_all(h)
    for login in LOGINS:
        if await h.service.agents_repo.get(login):
            await h.service.acd.logout(login)
    try:
        yield h
    finally:
        try:
            await hangup_all(h)
            for login in LOGINS:
                if await h.service.agents_repo.get(login):
                    await h.service.acd.logout(login)
        finally:
            await h.stop()  # always: a service left running holds the FastAGI port


async def queue_caller(h: Harness, queue: str, name: str, wait: int = 20) -> None:
    await h.service.link.action(
        "Originate", Channel=f"Local/{queue}@kcc-queue", Application="Wait", Data=str(wait),
        CallerID=f'"{name}" <0612345678>', Async="true", timeout=10)


def call_named(h: Harness, name: str):
    return next((c for c in h.service.model.calls.values() if c.caller_name == name), None)


def state(h: Harness, login: str) -> str:
    return h.service.acd.state_of(login)["state"]


async def test_skills_route_to_the_better_skilled_free_agent(acd: Harness):
    for login in ("anna", "mehmet", "zoe"):
        await acd.service.acd.login(login)
    await wait_for(lambda: all(state(acd, a) == "available" for a in ("anna", "mehmet", "zoe")),
                   what="agents available")
    # algemeen: zoe level 6 (penalty 4) beats anna and mehmet (level 4, penalty 6).
    await queue_caller(acd, "algemeen", "Skill Algemeen", wait=4)
    call = await wait_for(lambda: call_named(acd, "Skill Algemeen"), what="call")
    await wait_for(lambda: call.answered_by, what="answered")
    assert [o["agent"] for o in call.offered] == ["zoe"]
    # afval: only mehmet has the skill.
    await queue_caller(acd, "afval", "Skill Afval", wait=3)
    call = await wait_for(lambda: call_named(acd, "Skill Afval"), what="call")
    await wait_for(lambda: call.answered_by, what="answered")
    assert call.answered_by == "mehmet" and call.queue == "afval"


async def test_paused_agent_gets_no_call_and_asterisk_pause_shows(acd: Harness):
    await acd.service.acd.login("zoe")
    await acd.service.acd.login("anna")
    await acd.service.acd.pause("zoe", "overleg")
    await wait_for(lambda: state(acd, "zoe") == "paused", what="zoe paused")
    assert acd.service.acd.state_of("zoe")["reason"] == "overleg"
    await queue_caller(acd, "algemeen", "Niet Zoe", wait=3)
    call = await wait_for(lambda: call_named(acd, "Niet Zoe"), what="call")
    await wait_for(lambda: call.answered_by, what="answered")
    assert "zoe" not in [o["agent"] for o in call.offered]
    # A pause made in Asterisk itself (not through the service) shows in the service.
    await acd.service.link.action("QueuePause", Interface="Local/anna@kcc-test-agent",
                                  Paused="true", Reason="training")
    await wait_for(lambda: state(acd, "anna") == "paused", what="Asterisk-made pause")
    assert acd.service.acd.state_of("anna")["reason"] == "training"


async def test_wrapup_blocks_calls_until_it_ends_early(acd: Harness):
    await acd.service.acd.login("mehmet")
    await wait_for(lambda: state(acd, "mehmet") == "available", what="available")
    await queue_caller(acd, "afval", "Wrap Een", wait=2)
    await wait_for(lambda: state(acd, "mehmet") == "wrap_up", timeout=20, what="wrap-up")
    assert acd.service.acd.state_of("mehmet")["wrapup_until"] > time.time() + 10
    await queue_caller(acd, "afval", "Wrap Twee", wait=20)
    second = await wait_for(lambda: call_named(acd, "Wrap Twee"), what="second call")
    await wait_for(lambda: second.queue == "afval", what="queued")
    await asyncio.sleep(4)
    assert not second.offered, "nobody in wrap-up gets a call"
    await acd.service.acd.end_wrapup("mehmet")
    await wait_for(lambda: second.answered_by == "mehmet", what="offered after wrap-up")


async def test_widening_to_lower_skills_after_its_time(acd: Harness):
    """burgerzaken: first level >= 5 only; mehmet (level 2) is rung after 20 s."""
    await acd.service.acd.login("mehmet")
    await wait_for(lambda: state(acd, "mehmet") == "available", what="available")
    t0 = time.time()
    await queue_caller(acd, "burgerzaken", "Breder Zoeken", wait=40)
    call = await wait_for(lambda: call_named(acd, "Breder Zoeken"), what="call")
    await wait_for(lambda: call.offered, timeout=35, what="offered after widening")
    waited = call.offered[0]["at"] - t0
    assert 18 <= waited <= 30, waited
    assert call.offered[0]["agent"] == "mehmet"


async def test_overflow_to_general_queue_after_its_time(acd: Harness):
    """belastingen has nobody; after 30 s the call moves to algemeen and zoe answers."""
    await acd.service.acd.login("zoe")
    await queue_caller(acd, "belastingen", "Overloop", wait=50)
    call = await wait_for(lambda: call_named(acd, "Overloop"), what="call")
    await wait_for(lambda: call.answered_by == "zoe", timeout=45, what="answered after overflow")
    assert call.queues == ["belastingen", "algemeen"]
    assert call.answered_at - call.queued_at >= 29


async def test_agent_who_does_not_answer_is_paused(acd: Harness):
    service = acd.service
    if await service.agents_repo.get("nora") is None:
        await service.agents_repo.create(
            "nora", "Nora Niet-Op", "Local/nora@kcc-test-agent-noanswer",
            skills={"belastingen": 9})
    await service.acd.login("nora")
    await wait_for(lambda: state(acd, "nora") == "available", what="nora available")
    await queue_caller(acd, "belastingen", "Geen Antwoord", wait=25)
    await wait_for(lambda: state(acd, "nora") == "ringing", what="ringing")
    await wait_for(lambda: state(acd, "nora") == "paused", timeout=25,
                   what="autopaused after ringing out")


async def test_states_survive_a_service_restart(kcc_config, sandbox):
    config = _test_config(kcc_config)
    first = Harness(config)
    await first.start()
    try:
        await first.service.acd.login("zoe")
        await first.service.acd.login("mehmet")
        await first.service.acd.pause("zoe", "training")
        await queue_caller(first, "afval", "Voor Herstart", wait=2)
        await wait_for(lambda: state(first, "mehmet") == "wrap_up", timeout=20, what="wrap-up")
        until = first.service.acd.wrapup_until["mehmet"]
    finally:
        await first.stop()
    second = Harness(config)
    await second.start()
    try:
        await wait_for(lambda: state(second, "zoe") == "paused", what="zoe state back")
        assert second.service.acd.state_of("zoe")["reason"] == "training"
        assert state(second, "mehmet") == "wrap_up"
        await wait_for(lambda: "mehmet" in second.service.acd.wrapup_until, what="timer back")
        assert abs(second.service.acd.wrapup_until["mehmet"] - until) < 1.5
        await wait_for(lambda: state(second, "mehmet") == "available",
                       timeout=until - time.time() + 5, what="wrap-up ended on time")
    finally:
        for login in ("zoe", "mehmet"):
            await second.service.acd.logout(login)
        await second.stop()


async def test_queue_stats_service_level(acd: Harness):
    await acd.service.acd.login("zoe")
    await queue_caller(acd, "algemeen", "Statistiek", wait=3)
    call = await wait_for(lambda: call_named(acd, "Statistiek"), what="call")
    await wait_for(lambda: call.answered_by, what="answered")
    snap = acd.service.stats.snapshot("algemeen", time.time())
    assert snap["answered"] >= 1 and snap["service_level"] == 1.0
    assert snap["asa"] is not None and snap["asa"] < 5
    assert snap["ewt"] is not None


async def test_api_errors_and_auth(acd: Harness):
    base = f"http://127.0.0.1:{acd.config.service.http_port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/api/me") as r:
            assert r.status == 401
        async with http.post(f"{base}/api/auth/login",
                             json={"login": "zoe", "password": "wrong-password"}) as r:
            assert r.status == 401
        async with http.post(f"{base}/api/auth/login", data="not json") as r:
            assert r.status == 400
        async with http.post(f"{base}/api/auth/login",
                             json={"login": "zoe", "password": "demo-zoe"}) as r:
            assert r.status == 200
            agent_h = {"Authorization": f"Bearer {(await r.json())['token']}"}
        sup_h = {"Authorization": f"Bearer {await acd.token('sanne')}"}
        adm_h = {"Authorization": f"Bearer {await acd.token('beheer')}"}
        async with http.post(f"{base}/api/me/pause", json={"reason": "pauze"},
                             headers=agent_h) as r:
            assert r.status == 409, "pausing while logged out is not a valid transition"
        async with http.post(f"{base}/api/me/login", headers=agent_h) as r:
            assert r.status == 200 and (await r.json())["state"] in ("available", "ringing")
        async with http.post(f"{base}/api/me/pause", json={"reason": "siësta"},
                             headers=agent_h) as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == "bad_reason"
        async with http.post(f"{base}/api/me/end-wrapup", headers=agent_h) as r:
            assert r.status == 409
        async with http.get(f"{base}/api/acd/agents", headers=agent_h) as r:
            assert r.status == 403
        async with http.put(f"{base}/api/acd/agents/BAD!/skills", json={"skills": {}},
                            headers=sup_h) as r:
            assert r.status == 400
        async with http.put(f"{base}/api/acd/agents/nobody/skills", json={"skills": {}},
                            headers=sup_h) as r:
            assert r.status == 404
        async with http.put(f"{base}/api/acd/agents/zoe/skills",
                            json={"skills": {"algemeen": 11}}, headers=sup_h) as r:
            assert r.status == 400
        async with http.put(f"{base}/api/acd/agents/zoe/skills",
                            json={"skills": {"algemeen": 6, "afval": 3}}, headers=sup_h) as r:
            assert r.status == 200
        await wait_for(lambda: "afval" in acd.service.acd.state_of("zoe")["queues"],
                       what="skill change applied live")
        assert acd.service.acd.state_of("zoe")["queues"]["afval"]["penalty"] == 7
        async with http.post(f"{base}/api/acd/agents/zoe/pause", json={"reason": "overleg"},
                             headers=sup_h) as r:
            assert r.status == 200
        await wait_for(lambda: state(acd, "zoe") == "paused", what="forced pause")
        async with http.post(f"{base}/api/acd/agents", json={"login": "x"},
                             headers=sup_h) as r:
            assert r.status == 403, "creating agents is for admins"
        async with http.post(f"{base}/api/acd/agents", json={
                "login": "Bad Login", "name": "x"}, headers=adm_h) as r:
            assert r.status == 400
        async with http.get(f"{base}/api/queues", headers=sup_h) as r:
            assert r.status == 200 and len((await r.json())["queues"]) == 4
        await acd.service.acd.set_skills("zoe", {"algemeen": 6})


async def test_websocket_pushes_state_and_pop_to_the_right_agent_only(acd: Harness):
    base = f"ws://127.0.0.1:{acd.config.service.http_port}/ws"
    await acd.service.acd.login("zoe")
    await acd.service.acd.login("anna")
    await acd.service.acd.pause("anna", "pauze")
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(base) as intruder:
            await intruder.send_json({"type": "auth", "token": "forged"})
            msg = await intruder.receive_json(timeout=5)
            assert msg["type"] == "error"
        zoe_ws = await http.ws_connect(base)
        anna_ws = await http.ws_connect(base)
        await zoe_ws.send_json({"type": "auth", "token": await acd.token("zoe")})
        await anna_ws.send_json({"type": "auth", "token": await acd.token("anna")})
        assert (await zoe_ws.receive_json(timeout=5))["type"] == "hello"
        assert (await anna_ws.receive_json(timeout=5))["type"] == "hello"
        await queue_caller(acd, "algemeen", "Zoë Şahin Pop", wait=4)
        pop = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and pop is None:
            msg = await zoe_ws.receive_json(timeout=15)
            if msg["type"] == "call.offered":
                pop = msg
        assert pop is not None and pop["call"]["caller_name"] == "Zoë Şahin Pop"
        # anna (paused, another agent) must not have received that pop.
        others = []
        with pytest.raises(TimeoutError):
            while True:
                others.append(await anna_ws.receive_json(timeout=2))
        assert all(m["type"] != "call.offered" for m in others)
        await zoe_ws.send_json({"type": "pause", "reason": "pauze"})
        acks = []
        while not acks:
            msg = await zoe_ws.receive_json(timeout=10)
            if msg["type"] in ("ack", "error"):
                acks.append(msg)
        assert acks[0]["type"] == "ack"
        await zoe_ws.close()
        await anna_ws.close()
