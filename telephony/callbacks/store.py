"""PostgreSQL repository of callbacks: create, claim (exactly once), finish, recover.

Every state change is one short statement or transaction, so the table is always the
whole truth; nothing about a callback lives only in memory.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

FIELDS = ("id, kind, status, queue, number, queued_at, due_at, window_end, subject, "
          "linkedid, ivr, attempts, outcome, agent, owner, lease_until, task_uuid, "
          "created_by, created_at, updated_at")


@dataclass
class Claim:
    """A callback this instance now owns for one attempt, with its reserved agent."""

    id: int
    attempt: int
    agent: str
    number: str
    queue: str
    queued_at: datetime
    subject: str
    linkedid: str
    ivr: dict[str, Any]


def as_dict(row: asyncpg.Record) -> dict[str, Any]:
    out = dict(row)
    if isinstance(out.get("ivr"), str):
        out["ivr"] = json.loads(out["ivr"])
    for key, value in out.items():
        if isinstance(value, datetime):
            out[key] = value.isoformat()
    return out


class CallbackStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def create(self, *, kind: str, queue: str, number: str, queued_at: datetime,
                     due_at: datetime, window_end: datetime | None = None,
                     subject: str = "", linkedid: str = "",
                     ivr: dict[str, Any] | None = None, created_by: str = "",
                     conn: Any = None) -> int:
        """Insert a waiting callback; ``conn``: inside the caller's transaction (the
        destination policy's check-and-create)."""
        return int(await (conn if conn is not None else self.pool).fetchval(
            """INSERT INTO callbacks (kind, queue, number, queued_at, due_at, window_end,
                                      subject, linkedid, ivr, created_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10) RETURNING id""",
            kind, queue, number, queued_at, due_at, window_end, subject, linkedid,
            json.dumps(ivr or {}), created_by))

    async def get(self, callback_id: int) -> dict[str, Any] | None:
        row = await self.pool.fetchrow(f"SELECT {FIELDS} FROM callbacks WHERE id = $1",
                                       callback_id)
        return as_dict(row) if row else None

    async def attempt_agent(self, callback_id: int, attempt: int) -> str:
        """The agent an attempt was dialled for (the callback row clears it at the end)."""
        return await self.pool.fetchval(
            "SELECT agent FROM callback_attempts WHERE callback_id = $1 AND attempt = $2",
            callback_id, attempt) or ""

    async def claim(self, *, queue: str, before: datetime | None, agent: str, instance: str,
                    lease_seconds: int) -> Claim | None:
        """Take the oldest due callback of ``queue`` for ``agent``, or None.

        ``before``: only callbacks whose place (queued_at) is earlier than the first live
        caller in that queue — one first-come order for callers and callbacks. SKIP
        LOCKED lets another instance's concurrent claim pass over the row we hold instead
        of waiting for it; the status change to ``dialling`` commits before any dialling,
        so a row is in at most one instance's hands. The partial unique index on
        ``agent`` makes reserving one agent twice (two instances, one free agent) fail.
        """
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                row = await conn.fetchrow(
                    """SELECT id FROM callbacks
                        WHERE status = 'waiting' AND queue = $1 AND due_at <= now()
                          AND (window_end IS NULL OR window_end > now())
                          AND ($2::timestamptz IS NULL OR queued_at < $2)
                          -- cheap pre-check; the unique index is what guarantees it
                          AND NOT EXISTS (SELECT 1 FROM callbacks b
                                           WHERE b.agent = $3 AND b.status = 'dialling')
                        ORDER BY queued_at, id
                        LIMIT 1 FOR UPDATE SKIP LOCKED""", queue, before, agent)
                if row is None:
                    return None
                got = await conn.fetchrow(
                    f"""UPDATE callbacks SET status = 'dialling', agent = $2, owner = $3,
                               lease_until = now() + make_interval(secs => $4),
                               attempts = attempts + 1, updated_at = now()
                         WHERE id = $1 RETURNING {FIELDS}""",
                    row["id"], agent, instance, float(lease_seconds))
                await conn.execute(
                    """INSERT INTO callback_attempts (callback_id, attempt, instance, agent)
                       VALUES ($1, $2, $3, $4)""", got["id"], got["attempts"], instance, agent)
        except asyncpg.UniqueViolationError:
            return None  # this agent was reserved by another instance meanwhile
        ivr = got["ivr"]
        return Claim(id=got["id"], attempt=got["attempts"], agent=agent, number=got["number"],
                     queue=got["queue"], queued_at=got["queued_at"], subject=got["subject"],
                     linkedid=got["linkedid"],
                     ivr=json.loads(ivr) if isinstance(ivr, str) else dict(ivr or {}))

    async def renew(self, ids: list[int], instance: str, lease_seconds: int) -> int:
        if not ids:
            return 0
        result = await self.pool.execute(
            """UPDATE callbacks SET lease_until = now() + make_interval(secs => $3)
                WHERE id = ANY($1::bigint[]) AND owner = $2 AND status = 'dialling'""",
            ids, instance, float(lease_seconds))
        return int(result.split()[-1])

    async def still_mine(self, ids: list[int], instance: str) -> set[int]:
        """Of ``ids``, those still dialling under this instance (a result reported to
        another instance, or an adoption, ends our hold on the others)."""
        if not ids:
            return set()
        rows = await self.pool.fetch(
            """SELECT id FROM callbacks WHERE id = ANY($1::bigint[]) AND owner = $2
                  AND status = 'dialling'""", ids, instance)
        return {r["id"] for r in rows}

    async def release(self, callback_id: int, attempt: int, reason: str) -> bool:
        """Give a claim back unused (the agent did not answer): no attempt is consumed."""
        async with self.pool.acquire() as conn, conn.transaction():
            result = await conn.execute(
                """UPDATE callbacks SET status = 'waiting', agent = '', owner = '',
                          lease_until = NULL, attempts = attempts - 1, updated_at = now()
                    WHERE id = $1 AND attempts = $2 AND status = 'dialling'""",
                callback_id, attempt)
            if result.endswith(" 1"):
                await conn.execute(
                    "DELETE FROM callback_attempts WHERE callback_id = $1 AND attempt = $2",
                    callback_id, attempt)
        return result.endswith(" 1")

    async def mark_agent_answered(self, callback_id: int, attempt: int) -> None:
        await self.pool.execute(
            """UPDATE callback_attempts SET agent_answered_at = now()
                WHERE callback_id = $1 AND attempt = $2""", callback_id, attempt)

    async def finish(self, callback_id: int, attempt: int, outcome: str, dialstatus: str, *,
                     status: str, due_at: datetime | None = None,
                     task_reason: str = "") -> bool:
        """Record an attempt's outcome and the callback's next state, once.

        Keyed by (id, attempt) and guarded by ``status = 'dialling'``: a duplicate or late
        report (two hangup handlers, a reclaimed lease) changes nothing. When the
        callback becomes a task for the team, the ``taken`` row is written in the same
        transaction: there is never a failed callback without its task, nor two tasks.
        """
        task_uuid = str(uuid.uuid4()) if status == "task" else ""
        async with self.pool.acquire() as conn, conn.transaction():
            result = await conn.execute(
                """UPDATE callbacks SET status = $3, outcome = $4, agent = '', owner = '',
                          lease_until = NULL, due_at = COALESCE($5, due_at),
                          task_uuid = CASE WHEN $6 = '' THEN task_uuid ELSE $6 END,
                          updated_at = now()
                    WHERE id = $1 AND attempts = $2 AND status = 'dialling'""",
                callback_id, attempt, status, outcome, due_at, task_uuid)
            if not result.endswith(" 1"):
                return False
            await conn.execute(
                """UPDATE callback_attempts SET ended_at = now(), outcome = $3, dialstatus = $4
                    WHERE callback_id = $1 AND attempt = $2""",
                callback_id, attempt, outcome, dialstatus)
            if task_uuid:
                await _insert_task(conn, callback_id, task_uuid, task_reason)
        return True

    async def expired(self) -> list[dict[str, Any]]:
        """Claims whose lease ran out (their instance died or lost the database)."""
        rows = await self.pool.fetch(
            f"""SELECT {FIELDS} FROM callbacks
                 WHERE status = 'dialling' AND lease_until < now() ORDER BY id""")
        return [dict(r) for r in rows]

    async def adopt(self, callback_id: int, attempt: int, instance: str,
                    lease_seconds: int) -> bool:
        """Take over an expired claim whose call still lives (it finishes normally)."""
        result = await self.pool.execute(
            """UPDATE callbacks SET owner = $3,
                      lease_until = now() + make_interval(secs => $4)
                WHERE id = $1 AND attempts = $2 AND status = 'dialling'
                  AND lease_until < now()""",
            callback_id, attempt, instance, float(lease_seconds))
        return result.endswith(" 1")

    async def waiting(self, queue: str | None = None) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            f"""SELECT {FIELDS} FROM callbacks WHERE status IN ('waiting', 'dialling')
                  AND ($1::text IS NULL OR queue = $1) ORDER BY queued_at, id""", queue)
        return [as_dict(r) for r in rows]

    async def waiting_counts(self) -> dict[str, int]:
        rows = await self.pool.fetch(
            """SELECT queue, count(*) AS n FROM callbacks
                WHERE status IN ('waiting', 'dialling') GROUP BY queue""")
        return {r["queue"]: int(r["n"]) for r in rows}

    async def overdue_windows(self) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            f"""SELECT {FIELDS} FROM callbacks WHERE status = 'waiting'
                  AND window_end IS NOT NULL AND window_end <= now()""")
        return [dict(r) for r in rows]

    async def to_task(self, callback_id: int, outcome: str, reason: str) -> bool:
        """A waiting callback that can no longer be dialled (window passed) -> task."""
        task_uuid = str(uuid.uuid4())
        async with self.pool.acquire() as conn, conn.transaction():
            result = await conn.execute(
                """UPDATE callbacks SET status = 'task', task_uuid = $2, outcome = $3,
                          updated_at = now() WHERE id = $1 AND status = 'waiting'""",
                callback_id, task_uuid, outcome)
            if not result.endswith(" 1"):
                return False
            await _insert_task(conn, callback_id, task_uuid, reason)
        return True


async def _insert_task(conn: asyncpg.Connection, callback_id: int, task_uuid: str,
                       reason: str) -> None:
    """A back-office task (zaken's ``taken`` table) to call the citizen, with the reason."""
    await conn.execute(
        """INSERT INTO taken (uuid, soort, call_id, telefoonnummer, toelichting, deadline)
           SELECT $2::uuid, 'terugbellen', linkedid, number,
                  $3 || CASE WHEN subject <> '' THEN ' (onderwerp: ' || subject || ')'
                             ELSE '' END, NULL
             FROM callbacks WHERE id = $1""", callback_id, task_uuid, reason)
