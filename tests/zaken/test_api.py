"""The zaken HTTP API with a stand-in for the lead's auth middleware, on real PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from telephony.auth import AGENT_KEY
from telephony.zaken import api
from telephony.zaken.popper import ScreenPopper

from .helpers import CONFIG, make_call

Client = TestClient[web.Request, web.Application]


@web.middleware
async def fake_auth(request: web.Request, handler: Any) -> web.StreamResponse:
    """The auth middleware sets request[AGENT_KEY]; here a test header stands in for it."""
    who = request.headers.get("X-Test-Agent")
    if who:
        login, role = who.split(":")
        request[AGENT_KEY] = {"login": login, "role": role}
    return await handler(request)


@pytest.fixture
async def client(pool: asyncpg.Pool,
                 aiohttp_client: Callable[[web.Application], Awaitable[Client]],
                 ) -> tuple[Client, ScreenPopper, list[tuple[str, str, dict[str, Any]]]]:
    app = web.Application(middlewares=[fake_auth])
    popper = api.setup_zaken(app, pool, CONFIG)
    pushed: list[tuple[str, str, dict[str, Any]]] = []

    async def push(agent: str, call_id: str, pop: dict[str, Any]) -> None:
        pushed.append((agent, call_id, pop))

    app[api.POP_PUSH_KEY] = push
    for method, path, handler in api.ROUTES:
        app.router.add_route(method, path, handler)
    return await aiohttp_client(app), popper, pushed


def as_(login: str, role: str = "agent") -> dict[str, str]:
    return {"X-Test-Agent": f"{login}:{role}"}


async def _bsn(pool: asyncpg.Pool, phone: str) -> str:
    return await pool.fetchval(
        "SELECT k.bsn FROM klanten k JOIN klant_telefoonnummers t ON t.klant_id = k.id "
        "WHERE t.e164 = $1", phone)


async def test_every_route_needs_an_agent(client: Any) -> None:
    http, _, _ = client
    for method, path, _ in api.ROUTES:
        resp = await http.request(method, path.replace("{call_id}", "1.1"), json={})
        assert resp.status == 401, path


async def test_openapi_fragment_covers_routes() -> None:
    documented = {(m.upper(), p) for p, ops in api.OPENAPI_PATHS.items() for m in ops}
    assert documented == {(m, p) for m, p, _ in api.ROUTES}


async def test_search_by_bsn_in_body_and_choose_for_call(client: Any,
                                                         pool: asyncpg.Pool) -> None:
    http, popper, pushed = client
    call = make_call("anonymous")
    first = await popper.build(call, "anna")
    assert first["candidates"] == []
    bsn = await _bsn(pool, "+31687654321")
    resp = await http.post("/api/zaken/klanten/search", headers=as_("anna"),
                           json={"bsn": bsn, "call_id": call["linkedid"]})
    assert resp.status == 200
    [found] = (await resp.json())["results"]
    assert found["naam"] == "Fatma Yılmaz" and "bsn" not in found
    resp = await http.post(f"/api/zaken/calls/{call['linkedid']}/choose", headers=as_("anna"),
                           json={"klant_ref": found["ref"]})
    pop = await resp.json()
    assert resp.status == 200 and pop["selected"] == found["ref"] and pop["klant"] is None
    resp = await http.post(f"/api/zaken/calls/{call['linkedid']}/verify", headers=as_("anna"),
                           json={"klant_ref": found["ref"]})
    pop = await resp.json()
    assert pop["verified"] is True and pop["klant"]["naam"] == "Fatma Yılmaz"
    assert [p[0] for p in pushed] == ["anna", "anna"]
    actions = await pool.fetch("SELECT action FROM processing_log WHERE call_id = $1 "
                               "ORDER BY id", call["linkedid"])
    assert [a["action"] for a in actions] == ["search", "greeting", "details"]


async def test_other_agent_cannot_touch_the_pop(client: Any) -> None:
    http, popper, pushed = client
    call = make_call("0612345678")
    pop = await popper.build(call, "anna")
    for path in ("choose", "verify"):
        resp = await http.post(f"/api/zaken/calls/{call['linkedid']}/{path}",
                               headers=as_("zoe"), json={"klant_ref": pop["selected"]})
        assert resp.status == 404
    resp = await http.get(f"/api/zaken/calls/{call['linkedid']}/pop", headers=as_("zoe"))
    assert resp.status == 404
    resp = await http.get(f"/api/zaken/calls/{call['linkedid']}/pop", headers=as_("anna"))
    assert resp.status == 200 and (await resp.json())["selected"] == pop["selected"]
    # Search results cannot be attached to someone else's call either.
    resp = await http.post("/api/zaken/klanten/search", headers=as_("zoe"),
                           json={"achternaam": "Şahin", "geboortedatum": "1900-01-01",
                                 "call_id": call["linkedid"]})
    assert resp.status == 200  # no results: nothing to attach
    assert pushed == []


async def test_bad_input_is_rejected_without_echo(client: Any) -> None:
    http, _, _ = client
    resp = await http.post("/api/zaken/klanten/search", headers=as_("anna"),
                           json={"bsn": "123456789"})
    text = await resp.text()
    assert resp.status == 422 and "123456789" not in text
    resp = await http.post("/api/zaken/klanten/search", headers=as_("anna"), data=b"[1,2")
    assert resp.status == 400
    resp = await http.post("/api/zaken/calls/..%2F/verify", headers=as_("anna"),
                           json={"klant_ref": "x"})
    assert resp.status in (400, 404)
    resp = await http.post("/api/zaken/calls/1.1/verify", headers=as_("anna"),
                           json={"klant_ref": "'; DROP TABLE klanten; --"})
    assert resp.status == 422


async def test_processing_log_query_is_for_the_privacy_officer(client: Any,
                                                               pool: asyncpg.Pool) -> None:
    http, popper, _ = client
    call = make_call("0610101010")
    pop = await popper.build(call, "mehmet")
    await popper.mark_verified(call["linkedid"], "mehmet", pop["selected"])
    bsn = await _bsn(pool, "+31610101010")
    for role in ("agent", "supervisor"):
        resp = await http.post("/api/zaken/processing-log/query", headers=as_("x", role),
                               json={"bsn": bsn})
        assert resp.status == 403
    resp = await http.post("/api/zaken/processing-log/query",
                           headers=as_("fg", "privacy_officer"), json={"bsn": bsn})
    assert resp.status == 200
    body = await resp.json()
    assert body["klant_ref"] == pop["selected"]
    mine = [e for e in body["entries"] if e["call_id"] == call["linkedid"]]
    assert [e["action"] for e in mine] == ["details", "greeting"]
    assert all(e["actor"] == "mehmet" and e["purpose"] for e in mine)
    assert bsn not in await resp.text()
    resp = await http.post("/api/zaken/processing-log/query",
                           headers=as_("fg", "privacy_officer"),
                           json={"call_id": call["linkedid"], "limit": 1})
    assert len((await resp.json())["entries"]) == 1
    # The officer's own query is itself logged.
    assert await pool.fetchval("SELECT count(*) FROM processing_log WHERE actor = 'fg' "
                               "AND action = 'log_query'") >= 2


async def test_contactmoment_and_callback_registration(client: Any,
                                                        pool: asyncpg.Pool) -> None:
    http, popper, _ = client
    call = make_call("0612345678")
    pop = await popper.build(call, "anna")
    body = {"call_id": call["linkedid"], "klant_ref": pop["selected"], "onderwerp": "Paspoort",
            "tekst": "Status van de aanvraag doorgegeven", "uitkomst": "informatie gegeven"}
    resp = await http.post("/api/zaken/contactmomenten", headers=as_("anna"), json=body)
    assert resp.status == 201
    row = await pool.fetchrow("SELECT * FROM contactmomenten WHERE id = $1",
                              int((await resp.json())["id"]))
    assert row["medewerker"] == "anna" and row["call_id"] == call["linkedid"]
    assert row["kanaal"] == "telefoon" and row["klant_id"] is not None
    resp = await http.post("/api/zaken/contactmomenten", headers=as_("zoe"), json=body)
    assert resp.status == 404  # not her call
    resp = await http.post("/api/zaken/contactmomenten", headers=as_("anna"),
                           json={**body, "kanaal": "fax"})
    assert resp.status == 422
    resp = await http.post("/api/zaken/callbacks", headers=as_("anna"), json={
        "call_id": call["linkedid"], "klant_ref": pop["selected"],
        "telefoonnummer": "+31612345678", "toelichting": "na 14:00"})
    assert resp.status == 201
    assert await pool.fetchval("SELECT soort FROM taken WHERE uuid = $1::uuid",
                               (await resp.json())["id"]) == "terugbellen"
