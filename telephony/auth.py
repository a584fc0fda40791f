"""Who is calling the API: bearer tokens for agents, supervisors, admins.

A login (``POST /api/auth/login``, throttled by ``login_guard.py``) checks the scrypt
password hash in PostgreSQL and issues a random token. Redis keeps
``sha256(token) -> {login, exp, mac}`` with a TTL of one shift, so every service instance
accepts it and a leaked Redis dump holds no usable token.

Redis is not trusted with authority (issue 10, finding 4): the record is MAC'd with a
server secret (HMAC-SHA256 over the key, login and expiry), so a value written or altered
by anyone with Redis access is refused, and the role is read from PostgreSQL on every
request (an inactive agent has no role), never from Redis. Every session of a login is
indexed (``{p}sessions-of:<login>``) so logout, deactivation and a role change end them,
and ``{p}session-ended`` tells every instance to close the WebSockets at once.

Browsers send the token as ``Authorization: Bearer``; the WebSocket sends it as its first
message (never in a URL, which proxies log).

Redis outage (issue 13): every instance also keeps the MAC-checked session records it has
seen in a bounded local cache (sid -> login, expiry). While Redis does not answer (1 s,
then 2 s without asking), a cached session is accepted; the role still comes from
PostgreSQL, so a deactivated agent is refused at once. A token revoked on *another*
instance during the outage is honoured here until Redis is back: the price of the degraded
mode, stated in README "Faults without loss". New logins need Redis.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from redis import exceptions as redis_errors

from telephony.login_guard import LoginRefused, LoginThrottle, PasswordChecker

# The authenticated agent ({"login", "role", "sid", "exp"}) on the request, set by the
# auth middleware.
AGENT_KEY: web.RequestKey[dict[str, Any]] = web.RequestKey("agent", dict)
PUBLIC_PATHS = {"/healthz", "/metrics", "/api/openapi.json", "/api/auth/login", "/ws", "/",
                "/wallboard", "/reports"}
PUBLIC_PREFIXES = ("/static/", "/panel")
RoleOf = Callable[[str], Awaitable[str | None]]
log = logging.getLogger(__name__)
REDIS_WAIT = 1.0        # a session lookup waits this long for Redis
REDIS_BACKOFF = 2.0     # then does not ask Redis again for this long
LOCAL_MAX = 10_000      # sessions kept locally (oldest dropped first)
REDIS_DOWN = (OSError, TimeoutError, redis_errors.ConnectionError, redis_errors.TimeoutError)


class Sessions:
    """Issue, resolve and end sessions; ``role_of(login)`` answers from PostgreSQL."""

    def __init__(self, redis: Any, prefix: str, ttl_seconds: int, secret: bytes,
                 role_of: RoleOf) -> None:
        self.r = redis
        self.prefix = prefix
        self.ttl = ttl_seconds
        self.secret = secret
        self.role_of = role_of
        self.channel = f"{prefix}session-ended"
        self._local: OrderedDict[str, tuple[str, int]] = OrderedDict()  # sid -> login, exp
        self._redis_down_until = 0.0
        self.degraded_hits = 0

    @staticmethod
    def sid_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def _key(self, sid: str) -> str:
        return f"{self.prefix}session:{sid}"

    def _index(self, login: str) -> str:
        return f"{self.prefix}sessions-of:{login}"

    def _mac(self, sid: str, login: str, exp: int) -> str:
        return hmac.new(self.secret, f"{sid}|{login}|{exp}".encode(), hashlib.sha256).hexdigest()

    async def issue(self, login: str, role: str | None = None, *,
                    ttl_seconds: int | None = None) -> str:
        """A new token for ``login``. ``role`` is ignored: it is read from PostgreSQL on
        every use (kept in the signature for callers that pass it)."""
        ttl = ttl_seconds or self.ttl
        token = secrets.token_urlsafe(32)
        sid = self.sid_of(token)
        exp = int(time.time()) + ttl
        record = {"login": login, "exp": exp, "mac": self._mac(sid, login, exp)}
        pipe = self.r.pipeline(transaction=True)
        pipe.set(self._key(sid), json.dumps(record), ex=ttl)
        pipe.sadd(self._index(login), sid)
        pipe.expire(self._index(login), self.ttl + 60)
        await pipe.execute()
        return token

    async def resolve(self, token: str) -> dict[str, Any] | None:
        """The session's login, role (from PostgreSQL), sid and expiry; None if not valid."""
        if not isinstance(token, str) or not token or len(token) > 128:
            return None
        sid = self.sid_of(token)
        if time.monotonic() >= self._redis_down_until:
            try:
                raw = await asyncio.wait_for(self.r.get(self._key(sid)), REDIS_WAIT)
            except REDIS_DOWN as exc:
                self._redis_down_until = time.monotonic() + REDIS_BACKOFF
                log.warning("Redis unavailable for sessions (%s): local cache",
                            type(exc).__name__)
            else:
                checked = self._checked(sid, raw)
                if checked is None:
                    self._local.pop(sid, None)  # expired, revoked or forged
                    return None
                self._remember(sid, *checked)
                return await self._with_role(sid, *checked)
        cached = self._local.get(sid)
        if cached is None:
            return None
        who = await self._with_role(sid, *cached)
        if who is not None:
            self.degraded_hits += 1
        return who

    def _checked(self, sid: str, raw: Any) -> tuple[str, int] | None:
        """(login, exp) of a stored record whose MAC holds and which has not expired."""
        if not raw:
            return None
        try:
            record = json.loads(raw)
            login, exp, mac = record["login"], int(record["exp"]), record["mac"]
        except (ValueError, KeyError, TypeError):
            return None
        if not isinstance(login, str) or not isinstance(mac, str) \
                or not hmac.compare_digest(mac, self._mac(sid, login, exp)) \
                or exp <= time.time():
            return None
        return login, exp

    def _remember(self, sid: str, login: str, exp: int) -> None:
        self._local[sid] = (login, exp)
        self._local.move_to_end(sid)
        while len(self._local) > LOCAL_MAX:
            self._local.popitem(last=False)

    async def _with_role(self, sid: str, login: str, exp: int) -> dict[str, Any] | None:
        if exp <= time.time():
            return None
        role = await self.role_of(login)
        if role is None:  # deactivated or removed
            return None
        return {"login": login, "role": role, "sid": sid, "exp": exp}

    async def revoke(self, token: str) -> str | None:
        """End the session of ``token``; returns its login (None if there was none)."""
        if not isinstance(token, str) or not token or len(token) > 128:
            return None
        sid = self.sid_of(token)
        self._local.pop(sid, None)
        raw = await self.r.get(self._key(sid))
        login = None
        try:
            login = json.loads(raw)["login"] if raw else None
        except (ValueError, KeyError, TypeError):
            pass
        pipe = self.r.pipeline(transaction=True)
        pipe.delete(self._key(sid))
        if isinstance(login, str):
            pipe.srem(self._index(login), sid)
            pipe.publish(self.channel, json.dumps({"login": login, "sid": sid}))
        await pipe.execute()
        return login if isinstance(login, str) else None

    async def revoke_all(self, login: str) -> int:
        """End every session of ``login`` (deactivation, role change); returns how many."""
        for sid in [sid for sid, (who, _) in self._local.items() if who == login]:
            del self._local[sid]
        sids = await self.r.smembers(self._index(login))
        pipe = self.r.pipeline(transaction=True)
        for sid in sids:
            pipe.delete(self._key(sid))
        pipe.delete(self._index(login))
        pipe.publish(self.channel, json.dumps({"login": login, "sid": None}))
        await pipe.execute()
        return len(sids)


async def login_with_password(repo: Any, sessions: Sessions, checker: PasswordChecker,
                              throttle: LoginThrottle, login: str, password: str,
                              ip: str) -> dict[str, str] | None:
    """Check a login; None on a wrong password or unknown login (the same answer and,
    through the dummy hash, the same time). Raises LoginRefused when locked out or busy:
    then no password was checked."""
    locked = await throttle.locked_for(ip, login)
    if locked:
        raise LoginRefused("locked", locked)
    stored = await repo.password_hash(login) if len(login) <= 40 else None
    if not await checker.check(password[:200], stored):
        await throttle.failed(ip, login)
        return None
    await throttle.succeeded(ip, login)
    record = await repo.get(login)
    if record is None or not record.active:
        return None
    return {"token": await sessions.issue(login), "login": login, "role": record.role}


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


def require_role(request: web.Request, *roles: str) -> dict[str, Any]:
    who = request.get(AGENT_KEY)
    if who is None:
        raise web.HTTPUnauthorized()
    if roles and who["role"] not in roles:
        raise web.HTTPForbidden(text=json.dumps({"error": {
            "code": "forbidden", "message": f"needs role {' or '.join(roles)}"}}),
            content_type="application/json")
    return who
