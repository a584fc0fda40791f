"""Who is calling the API: bearer tokens for agents, supervisors, admins.

A login (``POST /api/auth/login``) checks the scrypt password hash in PostgreSQL and
issues a random token; Redis keeps ``sha256(token) -> {login, role}`` with a TTL of one
shift, so every service instance accepts it and a leaked Redis dump holds no usable
token. Browsers send it as ``Authorization: Bearer``; the WebSocket sends it as its first
message (never in a URL, which proxies log).

Redis outage: every instance also keeps the sessions it has seen in a bounded local
cache (token hash -> who, until the token's expiry). While Redis does not answer (1 s,
then 2 s without asking), a cached token is accepted only if PostgreSQL still has the
agent active with the same role (``still_valid``), so logged-in agents keep working
(pause, resume, pops, transfers go through Asterisk and PostgreSQL). A token revoked on
*another* instance during the outage is honoured here until Redis is back: the price of
the degraded mode, stated in README "Faults without loss". New logins need Redis.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from redis import exceptions as redis_errors

from telephony.acd.agents_repo import AgentRepository, check_password

# The authenticated agent ({"login", "role"}) on the request, set by the auth middleware.
AGENT_KEY: web.RequestKey[dict[str, str]] = web.RequestKey("agent", dict)
PUBLIC_PATHS = {"/healthz", "/metrics", "/api/openapi.json", "/api/auth/login", "/ws", "/",
                "/wallboard", "/reports"}
PUBLIC_PREFIXES = ("/static/", "/panel")


log = logging.getLogger(__name__)
StillValid = Callable[[str, str], Awaitable[bool]]
REDIS_WAIT = 1.0        # a session lookup waits this long for Redis
REDIS_BACKOFF = 2.0     # then does not ask Redis again for this long
LOCAL_MAX = 10_000      # sessions kept locally (oldest dropped first)
REDIS_DOWN = (OSError, TimeoutError, redis_errors.ConnectionError, redis_errors.TimeoutError)


class Sessions:
    def __init__(self, redis: Any, prefix: str, ttl_seconds: int,
                 still_valid: StillValid | None = None) -> None:
        self.r = redis
        self.prefix = prefix
        self.ttl = ttl_seconds
        self.still_valid = still_valid
        self._local: OrderedDict[str, tuple[dict[str, str], float]] = OrderedDict()
        self._redis_down_until = 0.0
        self.degraded_hits = 0

    def _key(self, token: str) -> str:
        return f"{self.prefix}session:{hashlib.sha256(token.encode()).hexdigest()}"

    def _remember(self, key: str, who: dict[str, str], expires: float) -> None:
        self._local[key] = (who, expires)
        self._local.move_to_end(key)
        while len(self._local) > LOCAL_MAX:
            self._local.popitem(last=False)

    async def issue(self, login: str, role: str) -> str:
        token = secrets.token_urlsafe(32)
        who = {"login": login, "role": role}
        await self.r.set(self._key(token), json.dumps(who), ex=self.ttl)
        self._remember(self._key(token), who, time.time() + self.ttl)
        return token

    async def resolve(self, token: str) -> dict[str, str] | None:
        if not token or len(token) > 128:
            return None
        key = self._key(token)
        if time.monotonic() >= self._redis_down_until:
            try:
                raw = await asyncio.wait_for(self.r.get(key), REDIS_WAIT)
            except REDIS_DOWN as exc:
                self._redis_down_until = time.monotonic() + REDIS_BACKOFF
                log.warning("Redis unavailable for sessions (%s): local cache",
                            type(exc).__name__)
            else:
                if not raw:
                    self._local.pop(key, None)  # expired or revoked
                    return None
                who = json.loads(raw)
                if key not in self._local:
                    self._remember(key, who, time.time() + self.ttl)
                return who
        return await self._resolve_locally(key)

    async def _resolve_locally(self, key: str) -> dict[str, str] | None:
        cached = self._local.get(key)
        if cached is None or cached[1] <= time.time():
            return None
        who = cached[0]
        if self.still_valid is None or not await self.still_valid(who["login"], who["role"]):
            return None
        self.degraded_hits += 1
        return who

    async def revoke(self, token: str) -> None:
        self._local.pop(self._key(token), None)
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
