"""Agents, skills and what the service decided about them, in PostgreSQL.

Passwords are stored as scrypt hashes (stdlib ``hashlib.scrypt``; no extra dependency,
memory-hard) with a per-password salt: ``scrypt$n$r$p$salt$hash``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

LOGIN = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
SKILL = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
ROLES = ("agent", "supervisor", "admin", "privacy_officer")
_N, _R, _P = 2**14, 8, 1


class AgentError(ValueError):
    """A request about an agent that cannot be honoured; ``code`` is for the API."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


# An agent's phone is one of the agents' own PJSIP endpoints (agent-<name>, rendered from
# the agents table) or, in the sandbox, a scripted agent. Nothing else: an admin who could
# name PJSIP/trunk, PJSIP/<number>@trunk or a Local channel into another context would
# make the queue dial out through the trunk (toll fraud) or into the IVR.
ENDPOINT = re.compile(r"^(PJSIP/agent-[a-z][a-z0-9_-]{0,39}|Local/[a-z][a-z0-9_-]{0,39}"
                      r"@kcc-test-agent(-[a-z]{1,20})?)$")


def check_endpoint(endpoint: object) -> str:
    if not isinstance(endpoint, str) or not ENDPOINT.match(endpoint):
        raise AgentError("bad_endpoint", "endpoint must be PJSIP/agent-<name> (an agent's "
                                         "own phone), never the trunk or another context")
    return endpoint


def hash_password(password: str) -> str:
    if not 8 <= len(password) <= 200:
        raise AgentError("bad_password", "password must be 8 to 200 characters")
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode()[:200], salt=base64.b64decode(salt), n=int(n),
                             r=int(r), p=int(p), dklen=32)
        return hmac.compare_digest(got, base64.b64decode(digest))
    except (ValueError, TypeError):
        return False


@dataclass
class AgentRecord:
    login: str
    name: str
    endpoint: str
    role: str = "agent"
    active: bool = True
    skills: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"login": self.login, "name": self.name, "endpoint": self.endpoint,
                "role": self.role, "active": self.active, "skills": dict(self.skills)}


def validate_skills(skills: dict[str, Any], known: set[str]) -> dict[str, int]:
    """Skills are queue ids with a level 1..10; unknown queues are refused, not ignored."""
    if not isinstance(skills, dict):
        raise AgentError("bad_skills", "skills must be an object {queue_id: level}")
    out: dict[str, int] = {}
    for skill, level in skills.items():
        if not isinstance(skill, str) or not SKILL.match(skill):
            raise AgentError("bad_skills", f"bad skill name {str(skill)[:40]!r}")
        if skill not in known:
            raise AgentError("bad_skills",
                             f"no queue {skill!r} (known: {', '.join(sorted(known))})")
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 10:
            raise AgentError("bad_skills", f"level of {skill!r} must be an integer 1..10")
        out[skill] = level
    return out


class AgentRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def create(self, login: str, name: str, endpoint: str, role: str = "agent",
                     password: str | None = None, skills: dict[str, int] | None = None,
                     ) -> AgentRecord:
        if not isinstance(login, str) or not LOGIN.match(login):
            raise AgentError("bad_login", "login must match ^[a-z][a-z0-9_-]{0,39}$")
        if role not in ROLES:
            raise AgentError("bad_role", f"role must be one of {', '.join(ROLES)}")
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 120:
            raise AgentError("bad_name", "name must be 1 to 120 characters")
        check_endpoint(endpoint)
        hashed = hash_password(password) if password else ""
        async with self.pool.acquire() as conn, conn.transaction():
            try:
                await conn.execute(
                    "INSERT INTO agents (login, name, endpoint, role, password_hash) "
                    "VALUES ($1, $2, $3, $4, $5)", login, name.strip(), endpoint, role, hashed)
            except asyncpg.UniqueViolationError:
                raise AgentError("exists", f"agent {login} exists") from None
            for skill, level in (skills or {}).items():
                await conn.execute("INSERT INTO agent_skills VALUES ($1, $2, $3)",
                                   login, skill, level)
        return AgentRecord(login, name.strip(), endpoint, role, True, dict(skills or {}))

    async def upsert_demo(self, login: str, name: str, endpoint: str, skills: dict[str, int],
                          password: str, role: str = "agent") -> None:
        """Demo/test agents: created or refreshed, never duplicated."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """INSERT INTO agents (login, name, endpoint, role, password_hash)
                   VALUES ($1, $2, $3, $4, $5)
                   ON CONFLICT (login) DO UPDATE SET name = $2, endpoint = $3, role = $4,
                       active = true, updated_at = now()""",
                login, name, endpoint, role, hash_password(password))
            await conn.execute("DELETE FROM agent_skills WHERE login = $1", login)
            for skill, level in skills.items():
                await conn.execute("INSERT INTO agent_skills VALUES ($1, $2, $3)",
                                   login, skill, level)

    async def get(self, login: str) -> AgentRecord | None:
        if not isinstance(login, str) or not LOGIN.match(login):
            return None
        row = await self.pool.fetchrow("SELECT * FROM agents WHERE login = $1", login)
        if row is None:
            return None
        skills = await self.pool.fetch("SELECT skill, level FROM agent_skills WHERE login = $1",
                                       login)
        return AgentRecord(row["login"], row["name"], row["endpoint"], row["role"],
                           row["active"], {r["skill"]: r["level"] for r in skills})

    async def password_hash(self, login: str) -> str | None:
        if not LOGIN.match(login or ""):
            return None
        return await self.pool.fetchval(
            "SELECT password_hash FROM agents WHERE login = $1 AND active", login)

    async def active_role(self, login: str) -> str | None:
        """The role of an active agent; None when unknown or deactivated. Sessions ask
        this on every request, so a role lives in PostgreSQL only."""
        if not isinstance(login, str) or not LOGIN.match(login):
            return None
        return await self.pool.fetchval(
            "SELECT role FROM agents WHERE login = $1 AND active", login)

    async def set_role(self, login: str, role: str) -> bool:
        if role not in ROLES:
            raise AgentError("bad_role", f"role must be one of {', '.join(ROLES)}")
        result = await self.pool.execute(
            "UPDATE agents SET role = $2, updated_at = now() WHERE login = $1", login, role)
        return result.endswith(" 1")

    async def all(self) -> list[AgentRecord]:
        rows = await self.pool.fetch("SELECT * FROM agents ORDER BY login")
        skills = await self.pool.fetch("SELECT login, skill, level FROM agent_skills")
        by_login: dict[str, dict[str, int]] = {}
        for r in skills:
            by_login.setdefault(r["login"], {})[r["skill"]] = r["level"]
        return [AgentRecord(r["login"], r["name"], r["endpoint"], r["role"], r["active"],
                            by_login.get(r["login"], {})) for r in rows]

    async def set_skills(self, login: str, skills: dict[str, int]) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT 1 FROM agents WHERE login = $1", login):
                raise AgentError("not_found", f"no agent {login}")
            await conn.execute("DELETE FROM agent_skills WHERE login = $1", login)
            for skill, level in skills.items():
                await conn.execute("INSERT INTO agent_skills VALUES ($1, $2, $3)",
                                   login, skill, level)

    async def deactivate(self, login: str) -> bool:
        result = await self.pool.execute(
            "UPDATE agents SET active = false, updated_at = now() WHERE login = $1", login)
        return result.endswith("1")

    # -- sessions (what the service decided) --------------------------------------
    async def save_session(self, login: str, *, logged_in: bool,
                           wrapup_until: datetime | None = None, pause_reason: str = "") -> None:
        await self.pool.execute(
            """INSERT INTO agent_sessions (login, logged_in, wrapup_until, pause_reason)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (login) DO UPDATE SET logged_in = $2, wrapup_until = $3,
                   pause_reason = $4, updated_at = now()""",
            login, logged_in, wrapup_until, pause_reason)

    async def sessions(self) -> dict[str, dict[str, Any]]:
        rows = await self.pool.fetch("SELECT * FROM agent_sessions")
        return {r["login"]: dict(r) for r in rows}


def utcnow() -> datetime:
    return datetime.now(UTC)
