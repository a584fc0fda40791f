"""Who is calling the API: bearer tokens for agents, supervisors, admins.

A login (``POST /api/auth/login``) checks the scrypt password hash in PostgreSQL and
issues a random token; Redis keeps ``sha256(token) -> {login, role}`` with a TTL of one
shift, so every service instance accepts it and a leaked Redis dump holds no usable
token. Browsers send it as ``Authorization: Bearer``; the WebSocket sends it as its first
message (never in a URL, which proxies log).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from aiohttp import web

from telephony.acd.agents_repo import AgentRepository, check_password

# The authenticated agent ({"login", "role"}) on the request, set by the auth middleware.
AGENT_KEY: web.RequestKey[dict[str, str]] = web.RequestKey("agent", dict)
PUBLIC_PATHS = {"/healthz", "/metrics", "/api/openapi.json", "/api/auth/login", "/ws", "/",
                "/wallboard", "/reports"}
PUBLIC_PREFIXES = ("/static/", "/panel")


class Sessions:
    def __init__(self, redis: Any, prefix: str, ttl_seconds: int) -> None:
        self.r = redis
        self.prefix = prefix
        self.ttl = ttl_seconds

    def _key(self, token: str) -> str:
        return f"{self.prefix}session:{hashlib.sha256(token.encode()).hexdigest()}"

    async def issue(self, login: str, role: str) -> str:
        token = secrets.token_urlsafe(32)
        await self.r.set(self._key(token), json.dumps({"login": login, "role": role}),
                         ex=self.ttl)
        return token

    async def resolve(self, token: str) -> dict[str, str] | None:
        if not token or len(token) > 128:
            return None
        raw = await self.r.get(self._key(token))
        return json.loads(raw) if raw else None

    async def revoke(self, token: str) -> None:
        await self.r.delete(self._key(token))


async def login_with_password(repo: AgentRepository, sessions: Sessions, login: str,
                              password: str) -> dict[str, str] | None:
    stored = await repo.password_hash(login)
    if not stored or not check_password(password, stored):
        return None
    record = await repo.get(login)
    assert record is not None
    return {"token": await sessions.issue(login, record.role), "login": login,
            "role": record.role}


def bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def make_auth_middleware(sessions_getter: Any) -> Any:
    @web.middleware
    async def auth(request: web.Request, handler: Any) -> web.StreamResponse:
        path = request.path
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            return await handler(request)
        sessions: Sessions | None = sessions_getter(request.app)
        who = await sessions.resolve(bearer(request)) if sessions else None
        if who is None:
            return web.json_response(
                {"error": {"code": "unauthorised", "message": "log in first (Bearer token)"}},
                status=401, headers={"WWW-Authenticate": "Bearer"})
        request[AGENT_KEY] = who
        return await handler(request)

    return auth


def require_role(request: web.Request, *roles: str) -> dict[str, str]:
    who = request.get(AGENT_KEY)
    if who is None:
        raise web.HTTPUnauthorized()
    if roles and who["role"] not in roles:
        raise web.HTTPForbidden(text=json.dumps({"error": {
            "code": "forbidden", "message": f"needs role {' or '.join(roles)}"}}),
            content_type="application/json")
    return who
