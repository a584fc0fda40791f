"""The AVG processing log (verwerkingenlog): who saw which klant/zaak, when, why, on which call.

Written *before* personal data is handed to an agent, so a failure to log means no data
is shown (never data without a trace). Append-only twice over: this module only inserts,
and migration 0010 has a trigger that refuses UPDATE, DELETE and TRUNCATE. Entries hold
opaque klant refs and zaak identificaties, never a BSN.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

ACTIONS = ("greeting", "details", "search", "contact_registered", "callback_requested",
           "log_query", "retention_purge", "callback_note_read", "callback_note_closed",
           "ivr_zaak_status", "identity_check", "contact_list")
# Migration 0012's floor: the database refuses to purge anything younger.
MIN_RETENTION_DAYS = 30


@dataclass(frozen=True)
class LogQuery:
    klant_ref: str | None = None
    actor: str | None = None
    call_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    before_id: int | None = None  # keyset paging: entries older than this id


class ProcessingLog:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def record(self, *, actor: str, actor_role: str, action: str, purpose: str,
                     call_id: str = "", klant_ref: str = "", zaken: list[str] | None = None,
                     source: str = "") -> int:
        if action not in ACTIONS:
            raise ValueError(f"unknown processing action {action!r}")
        return int(await self.pool.fetchval(
            """INSERT INTO processing_log (actor, actor_role, action, purpose, call_id,
                   klant_ref, zaken, source)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id""",
            actor, actor_role, action, purpose, call_id, klant_ref, zaken or [], source))

    async def record_many(self, *, actor: str, actor_role: str, action: str, purpose: str,
                          call_id: str, klant_refs: list[str], source: str = "") -> None:
        """One entry per klant, in one statement (one commit on the pop's hot path)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown processing action {action!r}")
        if not klant_refs:
            return
        await self.pool.execute(
            """INSERT INTO processing_log (actor, actor_role, action, purpose, call_id,
                   klant_ref, source)
               SELECT $1, $2, $3, $4, $5, ref, $7 FROM unnest($6::text[]) AS ref""",
            actor, actor_role, action, purpose, call_id, klant_refs, source)

    async def record_sources(self, *, actor: str, actor_role: str, action: str, purpose: str,
                             sources: list[str], call_id: str = "") -> None:
        """One entry per source record (e.g. ``terugbelnotitie:17``) in one statement:
        for personal data that is not a klant's (a note's number and question)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown processing action {action!r}")
        if not sources:
            return
        await self.pool.execute(
            """INSERT INTO processing_log (actor, actor_role, action, purpose, call_id, source)
               SELECT $1, $2, $3, $4, $5, src FROM unnest($6::text[]) AS src""",
            actor, actor_role, action, purpose, call_id, sources)

    async def purge(self, retention_days: int, *, actor: str = "kcc-retention") -> int:
        """Delete entries older than the retention term; return how many.

        The only deletion the append-only trigger lets through (migration 0012): the
        cutoff is declared in the purging transaction and must be 30 days back or more.
        The purge itself is logged, so the log shows its own gaps.
        """
        if retention_days < MIN_RETENTION_DAYS:
            raise ValueError(f"retention must be at least {MIN_RETENTION_DAYS} days")
        cutoff = datetime.now(UTC) - timedelta(days=retention_days)
        # Migration 0041's SECURITY DEFINER function: the application role has no DELETE
        # on the log (telephony/store/roles.py), only this bounded purge.
        deleted = int(await self.pool.fetchval(
            "SELECT processing_log_purge($1, $2, $3)", cutoff, actor,
            f"bewaartermijn {retention_days} dagen: {{n}} regels van voor "
            f"{cutoff.date().isoformat()} verwijderd"))
        return deleted

    async def query(self, q: LogQuery) -> list[dict[str, Any]]:
        where, args = [], []
        for column, value in (("klant_ref", q.klant_ref), ("actor", q.actor),
                              ("call_id", q.call_id)):
            if value is not None:
                args.append(value)
                where.append(f"{column} = ${len(args)}")
        if q.since is not None:
            args.append(q.since)
            where.append(f"at >= ${len(args)}")
        if q.until is not None:
            args.append(q.until)
            where.append(f"at < ${len(args)}")
        if q.before_id is not None:
            args.append(q.before_id)
            where.append(f"id < ${len(args)}")
        args.append(max(1, min(q.limit, 1000)))
        sql = ("SELECT id, at, actor, actor_role, action, purpose, call_id, klant_ref, zaken,"
               " source FROM processing_log"
               + (" WHERE " + " AND ".join(where) if where else "")
               + f" ORDER BY id DESC LIMIT ${len(args)}")
        rows = await self.pool.fetch(sql, *args)
        return [{**dict(r), "at": r["at"].isoformat(), "zaken": list(r["zaken"])}
                for r in rows]
