"""Call records and agent state log in PostgreSQL.

Upsert by linkedid: the row written when a call starts is completed when it ends; a
restarted service that recovers a call from Asterisk merges into the same row, keeping
the earliest start and every value it already had (COALESCE / GREATEST), so a restart
neither duplicates nor loses a call.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import asyncpg

_UPSERT = """
INSERT INTO calls (linkedid, direction, caller_number, caller_name, dialled, municipality,
    language, subject, queue, queues, started_at, queued_at, answered_at, ended_at,
    wait_seconds, talk_seconds, answered_by, abandoned, transfer_count, offered, transfers,
    holds, hangup_cause, hangup_cause_text, recovered, instance_id, zaaknummer, transcript,
    callback, end_reason, hold_seconds, updated_at)
VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,
    $23,$24,$25,$26,$27,$28,$29,$30,$31, now())
ON CONFLICT (linkedid) DO UPDATE SET
    direction = CASE WHEN calls.direction = 'inbound' THEN calls.direction
                     ELSE EXCLUDED.direction END,
    caller_number = COALESCE(NULLIF(EXCLUDED.caller_number, ''), calls.caller_number),
    caller_name = COALESCE(NULLIF(EXCLUDED.caller_name, ''), calls.caller_name),
    dialled = COALESCE(NULLIF(EXCLUDED.dialled, ''), calls.dialled),
    municipality = COALESCE(NULLIF(EXCLUDED.municipality, ''), calls.municipality),
    language = COALESCE(NULLIF(EXCLUDED.language, ''), calls.language),
    subject = COALESCE(NULLIF(EXCLUDED.subject, ''), calls.subject),
    queue = COALESCE(NULLIF(EXCLUDED.queue, ''), calls.queue),
    queues = CASE WHEN cardinality(EXCLUDED.queues) >= cardinality(calls.queues)
                  THEN EXCLUDED.queues ELSE calls.queues END,
    started_at = LEAST(calls.started_at, EXCLUDED.started_at),
    queued_at = COALESCE(calls.queued_at, EXCLUDED.queued_at),
    answered_at = COALESCE(calls.answered_at, EXCLUDED.answered_at),
    ended_at = COALESCE(EXCLUDED.ended_at, calls.ended_at),
    wait_seconds = COALESCE(EXCLUDED.wait_seconds, calls.wait_seconds),
    talk_seconds = COALESCE(EXCLUDED.talk_seconds, calls.talk_seconds),
    answered_by = COALESCE(NULLIF(EXCLUDED.answered_by, ''), calls.answered_by),
    abandoned = EXCLUDED.abandoned AND calls.answered_at IS NULL,
    end_reason = COALESCE(NULLIF(EXCLUDED.end_reason, ''), calls.end_reason),
    -- the longer transfer list wins, with its count (a refused transfer stops counting)
    transfer_count = CASE WHEN jsonb_array_length(EXCLUDED.transfers)
                               >= jsonb_array_length(calls.transfers)
                          THEN EXCLUDED.transfer_count ELSE calls.transfer_count END,
    offered = CASE WHEN jsonb_array_length(EXCLUDED.offered) >= jsonb_array_length(calls.offered)
                   THEN EXCLUDED.offered ELSE calls.offered END,
    transfers = CASE WHEN jsonb_array_length(EXCLUDED.transfers)
                          >= jsonb_array_length(calls.transfers)
                     THEN EXCLUDED.transfers ELSE calls.transfers END,
    holds = CASE WHEN jsonb_array_length(EXCLUDED.holds) >= jsonb_array_length(calls.holds)
                 THEN EXCLUDED.holds ELSE calls.holds END,
    hold_seconds = GREATEST(EXCLUDED.hold_seconds, calls.hold_seconds),
    hangup_cause = COALESCE(NULLIF(EXCLUDED.hangup_cause, ''), calls.hangup_cause),
    hangup_cause_text = COALESCE(NULLIF(EXCLUDED.hangup_cause_text, ''),
                                 calls.hangup_cause_text),
    recovered = calls.recovered OR EXCLUDED.recovered,
    instance_id = EXCLUDED.instance_id,
    zaaknummer = COALESCE(NULLIF(EXCLUDED.zaaknummer, ''), calls.zaaknummer),
    transcript = COALESCE(NULLIF(EXCLUDED.transcript, ''), calls.transcript),
    callback = COALESCE(NULLIF(EXCLUDED.callback, ''), calls.callback),
    updated_at = now()
"""


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


class CallRepository:
    def __init__(self, pool: asyncpg.Pool, instance_id: str) -> None:
        self.pool = pool
        self.instance_id = instance_id

    async def upsert(self, record: dict[str, Any]) -> None:
        r = record
        await self.pool.execute(
            _UPSERT, r["linkedid"], r["direction"], r["caller_number"], r["caller_name"],
            r["dialled"], r["municipality"], r["language"], r["subject"], r["queue"],
            r["queues"], _ts(r["started_at"]), _ts(r["queued_at"]), _ts(r["answered_at"]),
            _ts(r["ended_at"]), r["wait_seconds"], r["talk_seconds"], r["answered_by"],
            r["abandoned"], sum(1 for t in r["transfers"] if not t.get("refused")),
            json.dumps(r["offered"]),
            json.dumps(r["transfers"]), json.dumps(r["holds"]), r["hangup_cause"],
            r["hangup_cause_text"], r["recovered"], self.instance_id,
            r.get("zaaknummer", ""), r.get("transcript", ""), r.get("callback", ""),
            r.get("end_reason", ""), float(r.get("hold_seconds") or 0))

    async def close_orphans(self, live_linkedids: set[str], reason: str) -> int:
        """End rows still open in the database that Asterisk no longer has.

        Called after the first resync: calls that ended while no service was watching
        get an end time (now) and a reason, instead of staying "in progress" forever.
        Nobody saw how they ended: ``end_reason = 'unobserved'``, not an abandon.
        """
        result = await self.pool.execute(
            """UPDATE calls SET ended_at = now(), hangup_cause_text = $2,
                   abandoned = false, end_reason = 'unobserved', updated_at = now()
               WHERE ended_at IS NULL AND NOT (linkedid = ANY($1::text[]))""",
            list(live_linkedids), reason)
        return int(result.split()[-1])

    async def get(self, linkedid: str) -> dict[str, Any] | None:
        row = await self.pool.fetchrow("SELECT * FROM calls WHERE linkedid = $1", linkedid)
        return None if row is None else _row(row)

    async def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT * FROM calls ORDER BY started_at DESC LIMIT $1", limit)
        return [_row(r) for r in rows]

    async def log_agent_state(self, agent: str, queue: str, state: str, reason: str,
                              at: float, key: str | None = None) -> None:
        """``key`` makes a replayed write (telephony/store/spool.py) insert once."""
        await self.pool.execute(
            "INSERT INTO agent_state_log (agent, queue, state, reason, at, spool_key) "
            "VALUES ($1, $2, $3, $4, $5, $6) "
            "ON CONFLICT (spool_key) WHERE spool_key IS NOT NULL DO NOTHING",
            agent, queue, state, reason, _ts(at), key)


def _row(row: asyncpg.Record) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in dict(row).items():
        if isinstance(value, datetime):
            out[key] = value.isoformat()
        elif key in ("offered", "transfers", "holds") and isinstance(value, str):
            out[key] = json.loads(value)
        else:
            out[key] = value
    return out
