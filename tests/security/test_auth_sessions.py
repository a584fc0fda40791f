"""Finding 4: logout, expiry, deactivation and a role change end the agent's sessions and
close their WebSockets within a second; a session value written into Redis by hand grants
nothing (MAC'd with a server secret; the role comes from PostgreSQL)."""

from __future__ import annotations

import json
import time
import uuid

import aiohttp
import pytest
from aiohttp import WSMsgType

from telephony.auth import Sessions
from tests.security.auth_harness import base_url, bearer, login, svc_fixture  # noqa: F401

pytestmark = pytest.mark.asterisk
CLOSE_WITHIN = 1.0  # seconds: the issue's bound


async def _ws(http: aiohttp.ClientSession, h, token: str) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(f"{base_url(h)}/ws")
    await ws.send_json({"type": "auth", "token": token})
    hello = await ws.receive_json(timeout=5)
    assert hello["type"] == "hello", hello
    return ws


async def _closed_after(ws: aiohttp.ClientWebSocketResponse, started: float,
                        limit: float = 5.0) -> float:
    """Seconds from ``started`` until the server closed ``ws`` (pushes are skipped)."""
    while True:
        msg = await ws.receive(timeout=limit)
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
            return time.monotonic() - started


async def _status(http: aiohttp.ClientSession, h, token: str, path: str = "/api/me") -> int:
    async with http.get(f"{base_url(h)}{path}", headers=bearer(token)) as r:
        return r.status


async def _new_agent(http: aiohttp.ClientSession, h, admin: str) -> str:
    who = f"tmp{uuid.uuid4().hex[:8]}"
    async with http.post(f"{base_url(h)}/api/acd/agents", headers=bearer(admin),
                         json={"login": who, "name": "Tijdelijk", "password": "geheim-123",
                               "skills": {"algemeen": 5}}) as r:
        assert r.status == 201, await r.text()
    return who


async def test_logout_closes_the_websocket_within_a_second(svc):
    async with aiohttp.ClientSession() as http:
        status, body = await login(http, svc, "anna")
        assert status == 200
        ws = await _ws(http, svc, body["token"])
        t0 = time.monotonic()
        async with http.post(f"{base_url(svc)}/api/auth/logout",
                             headers=bearer(body["token"])) as r:
            assert r.status == 200
        assert await _closed_after(ws, t0) < CLOSE_WITHIN
        assert await _status(http, svc, body["token"]) == 401


async def test_deactivation_ends_every_session_of_the_agent(svc):
    admin = await svc.token("beheer")
    async with aiohttp.ClientSession() as http:
        who = await _new_agent(http, svc, admin)
        tokens = [(await login(http, svc, who, "geheim-123"))[1]["token"] for _ in range(2)]
        sockets = [await _ws(http, svc, t) for t in tokens]
        t0 = time.monotonic()
        async with http.delete(f"{base_url(svc)}/api/acd/agents/{who}",
                               headers=bearer(admin)) as r:
            assert r.status == 200
        for ws in sockets:
            assert await _closed_after(ws, t0) < CLOSE_WITHIN
        for token in tokens:
            assert await _status(http, svc, token) == 401


async def test_role_change_ends_the_sessions_and_the_new_role_comes_from_postgres(svc):
    admin = await svc.token("beheer")
    async with aiohttp.ClientSession() as http:
        who = await _new_agent(http, svc, admin)
        token = (await login(http, svc, who, "geheim-123"))[1]["token"]
        ws = await _ws(http, svc, token)
        t0 = time.monotonic()
        async with http.put(f"{base_url(svc)}/api/acd/agents/{who}/role",
                            headers=bearer(admin), json={"role": "supervisor"}) as r:
            assert r.status == 200, await r.text()
        assert await _closed_after(ws, t0) < CLOSE_WITHIN
        assert await _status(http, svc, token) == 401
        token = (await login(http, svc, who, "geheim-123"))[1]["token"]
        assert await _status(http, svc, token, "/api/acd/agents") == 200
        # An agent may not change roles (their own or anyone's).
        async with http.put(f"{base_url(svc)}/api/acd/agents/anna/role",
                            headers=bearer(token), json={"role": "admin"}) as r:
            assert r.status == 403


async def test_expiry_closes_the_websocket(svc):
    token = await svc.service.sessions.issue("anna", ttl_seconds=2)
    async with aiohttp.ClientSession() as http:
        ws = await _ws(http, svc, token)
        issued = time.monotonic()
        # Expiry is whole seconds after issue: closed by 2 s + the 1 s bound.
        assert await _closed_after(ws, issued) < 2 + CLOSE_WITHIN
        assert await _status(http, svc, token) == 401


async def test_revocation_by_another_instance_reaches_this_ones_websockets(svc):
    """Another instance (its own Sessions on the same Redis) ends the sessions: only the
    session-ended channel can tell this instance's hub."""
    s = svc.service.sessions
    other = Sessions(s.r, s.prefix, s.ttl, svc.config.session_secret(), s.role_of)
    token = await svc.token("zoe")
    async with aiohttp.ClientSession() as http:
        ws = await _ws(http, svc, token)
        t0 = time.monotonic()
        assert await other.revoke_all("zoe") >= 1
        assert await _closed_after(ws, t0) < CLOSE_WITHIN


async def test_a_session_value_written_into_redis_grants_nothing(svc):
    s = svc.service.sessions
    r = s.r
    async with aiohttp.ClientSession() as http:
        # 1. A forged record for a token the attacker made up, claiming an admin.
        forged = "attacker-chosen-token-0123456789"
        await r.set(f"{s.prefix}session:{s.sid_of(forged)}",
                    json.dumps({"login": "beheer", "role": "admin",
                                "exp": int(time.time()) + 3600, "mac": "0" * 64}), ex=60)
        assert await _status(http, svc, forged) == 401
        # 2. A real agent's record with its login changed to the admin's.
        token = (await login(http, svc, "anna"))[1]["token"]
        key = f"{s.prefix}session:{s.sid_of(token)}"
        record = json.loads(await r.get(key))
        await r.set(key, json.dumps({**record, "login": "beheer"}), ex=60)
        assert await _status(http, svc, token) == 401
        # 3. A role added to a real record: the role is PostgreSQL's, still "agent".
        token = (await login(http, svc, "anna"))[1]["token"]
        key = f"{s.prefix}session:{s.sid_of(token)}"
        record = json.loads(await r.get(key))
        await r.set(key, json.dumps({**record, "role": "admin"}), ex=60)
        async with http.get(f"{base_url(svc)}/api/me", headers=bearer(token)) as resp:
            assert resp.status == 200 and (await resp.json())["role"] == "agent"
        async with http.get(f"{base_url(svc)}/api/acd/agents", headers=bearer(token)) as resp:
            assert resp.status == 403
        # 4. The forged admin record does not open the WebSocket either.
        ws = await http.ws_connect(f"{base_url(svc)}/ws")
        await ws.send_json({"type": "auth", "token": forged})
        reply = await ws.receive_json(timeout=5)
        assert reply == {"type": "error", "code": "unauthorised"}
        await ws.close()
