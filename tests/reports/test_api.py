"""The report API through aiohttp with the project's own auth and error middlewares
(bearer token -> role from a stand-in session store), on real PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from telephony.auth import make_auth_middleware
from telephony.config import Config
from telephony.reports import api
from telephony.web import SERVICE_KEY, errors_as_json, openapi_document

from .fixtures import load

Client = TestClient[web.Request, web.Application]
TOKENS = {"t-agent": {"login": "anna", "role": "agent"},
          "t-super": {"login": "sam", "role": "supervisor"},
          "t-admin": {"login": "root", "role": "admin"}}


class _Sessions:
    async def resolve(self, token: str) -> dict[str, str] | None:
        return TOKENS.get(token)


@pytest.fixture
async def http(pool: asyncpg.Pool, kcc_config: Config,
               aiohttp_client: Callable[[web.Application], Awaitable[Client]]) -> Client:
    await load(pool)
    auth = make_auth_middleware(lambda app: app[SERVICE_KEY].sessions)
    app = web.Application(middlewares=[errors_as_json, auth])
    app[SERVICE_KEY] = SimpleNamespace(pool=pool, config=kcc_config,  # type: ignore[assignment]
                                       sessions=_Sessions())
    for method, path, handler in api.ROUTES:
        app.router.add_route(method, path, handler)
    return await aiohttp_client(app)


def as_(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _error(resp: Any) -> str:
    body = await resp.json()
    assert set(body) == {"error"} and body["error"]["message"]
    return body["error"]["code"]


async def test_roles(http: Client) -> None:
    for _, path, _ in api.ROUTES:
        q = f"{path}?from=2025-03-10&to=2025-03-11"
        assert (await http.get(q)).status == 401
        resp = await http.get(q, headers=as_("t-agent"))
        assert resp.status == 403 and await _error(resp) == "forbidden"
        assert (await http.get(q, headers=as_("t-admin"))).status == 200


@pytest.mark.parametrize(("query", "code"), [
    ("", "bad_date"),
    ("from=2025-03-10", "bad_date"),
    ("from=10-03-2025&to=2025-03-11", "bad_date"),
    ("from=2025-02-30&to=2025-03-11", "bad_date"),
    ("from=2025-03-11&to=2025-03-10", "bad_range"),
    ("from=2025-01-01&to=2025-04-04", "bad_range"),       # 94 days
    ("from=2025-03-10&to=2025-03-11&format=xlsx", "bad_format"),
])
async def test_bad_input(http: Client, query: str, code: str) -> None:
    resp = await http.get(f"/api/reports/queues?{query}", headers=as_("t-super"))
    assert resp.status == 400 and await _error(resp) == code


async def test_json_answer(http: Client) -> None:
    resp = await http.get("/api/reports/queues?from=2025-01-01&to=2025-04-03",  # 93 days
                          headers=as_("t-super"))
    assert resp.status == 200
    body = await resp.json()
    assert (body["from"], body["to"], body["timezone"]) == ("2025-01-01", "2025-04-03",
                                                           "Europe/Amsterdam")
    algemeen = [r for r in body["rows"] if r["queue"] == "algemeen"]
    assert [(r["day"], r["offered"], r["service_level"]) for r in algemeen] == [
        ("2025-03-09", 1, 1.0), ("2025-03-10", 8, 0.571)]
    resp = await http.get("/api/reports/agents?from=2025-03-10&to=2025-03-10",
                          headers=as_("t-super"))
    rows = (await resp.json())["rows"]
    assert [(r["agent"], r["logged_in"]) for r in rows] == [("anna", 86400.0), ("bob", 3600.0)]


async def test_csv_for_dutch_excel(http: Client) -> None:
    resp = await http.get("/api/reports/agents?from=2025-03-10&to=2025-03-10&format=csv",
                          headers=as_("t-super"))
    assert resp.status == 200 and resp.content_type == "text/csv"
    raw = await resp.read()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    header = lines[0].split(";")
    assert header[:3] == ["day", "agent", "logged_in"] and "paused_pauze" in header
    anna = dict(zip(header, lines[1].split(";"), strict=True))
    assert (anna["agent"], anna["logged_in"], anna["aht"], anna["paused_pauze"]) == (
        "anna", "86400,0", "203,3", "1800,0")
    bob = dict(zip(header, lines[2].split(";"), strict=True))
    assert (bob["paused_pauze"], bob["paused_overleg"]) == ("", "1800,0")


def test_openapi_covers_routes() -> None:
    documented = {(m.upper(), p) for p, ops in api.OPENAPI_PATHS.items() for m in ops}
    assert documented == {(m, p) for m, p, _ in api.ROUTES}
    assert set(api.OPENAPI_PATHS) <= set(openapi_document()["paths"])
