"""Open Klant written through a PostgreSQL outbox: never blocking the agent, losing nothing.

A completed contactmoment is queued here in the same transaction that completes it. A
worker in every service instance claims due rows (``FOR UPDATE SKIP LOCKED`` plus a
lease, so two instances never send the same row at once), sends the klantcontact — and
for a terugbelverzoek an internetaak hung on it — and stores each uuid Open Klant answers
before the next step, so a retry after a failure never repeats a step that succeeded.
Failures back off (0.5 s doubling to 30 s); after ``MAX_ATTEMPTS`` a row is 'failed' and
shown to the admin (``GET /api/admin/outbox``, ``kcc_outbox_rows{status}``), who can
send it again. (A crash between Open Klant's answer and storing it would send that one
step twice: the API has no idempotency key to prevent it.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from telephony.zaken.schemas import NewContactmoment

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 50
LEASE_SECONDS = 60
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0
IDLE_POLL = 1.0

SendContact = Callable[[NewContactmoment, str, bool], Awaitable[str]]
SendTask = Callable[[str, str], Awaitable[str]]


def backoff(attempts: int) -> float:
    return min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** max(0, attempts - 1))


async def enqueue(conn: asyncpg.Connection, *, call_id: str, agent: str,
                  payload: dict[str, Any]) -> None:
    """Queue a call's klantcontact (once per call: a second registration is refused by
    the rules before it gets here, and the UNIQUE key holds even so)."""
    await conn.execute(
        """INSERT INTO openklant_outbox (call_id, agent_login, payload)
           VALUES ($1, $2, $3::jsonb) ON CONFLICT (call_id) DO NOTHING""",
        call_id, agent, json.dumps(payload))


class OutboxWorker:
    def __init__(self, pool: asyncpg.Pool, send_contact: SendContact, send_task: SendTask,
                 *, on_delivered: Callable[[float], None] | None = None,
                 on_failure: Callable[[], None] | None = None) -> None:
        self.pool = pool
        self.send_contact = send_contact
        self.send_task = send_task
        self.on_delivered = on_delivered
        self.on_failure = on_failure
        self.wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="openklant-outbox")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                worked = await self.run_once()
            except (OSError, asyncpg.PostgresError):
                log.warning("outbox: database unavailable; retrying", exc_info=True)
                worked = False
            if not worked:
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), IDLE_POLL)

    async def run_once(self) -> bool:
        """Claim and send one due row; False when none was due."""
        row = await self.pool.fetchrow(
            f"""UPDATE openklant_outbox SET lease_until = now() + interval '{LEASE_SECONDS} s',
                       attempts = attempts + 1
                 WHERE id = (SELECT id FROM openklant_outbox
                              WHERE status = 'pending' AND next_attempt_at <= now()
                                AND (lease_until IS NULL OR lease_until < now())
                              ORDER BY next_attempt_at, id
                              FOR UPDATE SKIP LOCKED LIMIT 1)
             RETURNING *""")
        if row is None:
            return False
        payload = json.loads(row["payload"])
        contact_uuid = row["klantcontact_uuid"]
        try:
            if not contact_uuid:
                contact = NewContactmoment.model_validate(payload["contact"])
                contact_uuid = await self.send_contact(contact, row["agent_login"],
                                                       bool(payload["gelukt"]))
                await self.pool.execute(
                    "UPDATE openklant_outbox SET klantcontact_uuid = $2 WHERE id = $1",
                    row["id"], contact_uuid)
            task_uuid = row["internetaak_uuid"]
            if payload.get("internetaak") and not task_uuid:
                task_uuid = await self.send_task(contact_uuid,
                                                 payload["internetaak"]["toelichting"])
            await self.pool.execute(
                """UPDATE openklant_outbox SET status = 'sent', sent_at = now(),
                       internetaak_uuid = $2, lease_until = NULL, last_error = ''
                   WHERE id = $1""", row["id"], task_uuid or "")
            if self.on_delivered is not None:
                self.on_delivered(time.time() - row["created_at"].timestamp())
        except Exception as exc:
            if self.on_failure is not None:
                self.on_failure()
            failed = row["attempts"] >= MAX_ATTEMPTS
            await self.pool.execute(
                """UPDATE openklant_outbox SET status = $2, lease_until = NULL,
                       next_attempt_at = now() + make_interval(secs => $3), last_error = $4
                   WHERE id = $1""", row["id"], "failed" if failed else "pending",
                backoff(row["attempts"]), f"{type(exc).__name__}: {str(exc)[:300]}")
            log.warning("outbox: Open Klant write failed (attempt %d)", row["attempts"],
                        extra={"linkedid": row["call_id"]})
        return True

    async def overview(self, limit: int = 100) -> dict[str, Any]:
        """For the admin: counts per status and the rows not (yet) delivered."""
        counts = {r["status"]: r["n"] for r in await self.pool.fetch(
            "SELECT status, count(*) AS n FROM openklant_outbox GROUP BY status")}
        rows = await self.pool.fetch(
            """SELECT id, call_id, agent_login, status, attempts, next_attempt_at,
                      last_error, created_at FROM openklant_outbox
                WHERE status <> 'sent' ORDER BY id LIMIT $1""", limit)
        return {"counts": {s: counts.get(s, 0) for s in ("pending", "sent", "failed")},
                "undelivered": [{**dict(r), "next_attempt_at": r["next_attempt_at"].isoformat(),
                                 "created_at": r["created_at"].isoformat()} for r in rows]}

    async def retry(self, row_id: int) -> bool:
        result = await self.pool.execute(
            """UPDATE openklant_outbox SET status = 'pending', attempts = 0,
                   next_attempt_at = now(), lease_until = NULL
               WHERE id = $1 AND status = 'failed'""", row_id)
        self.wake.set()
        return result.endswith(" 1")
