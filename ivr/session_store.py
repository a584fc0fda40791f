"""Where finished IVR sessions and self-service contacts are kept.

PostgreSQL is the record (tables from migration 0020). Saving happens once, after the
AGI session ended, and never blocks or breaks the call: a database hiccup costs a log
line, not a caller.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Protocol

from ivr.session import IvrSession

log = logging.getLogger(__name__)
# A self-service answer (the reports' definition, telephony/reports/definitions.py).
SELF_SERVICE = ("hours", "address", "zaak_status")
TO_AN_AGENT = ("queue", "agent", "agent_after_tries", "agent_after_service")


class SessionStore(Protocol):
    async def save(self, session: IvrSession) -> None: ...


class MemorySessionStore:
    """For tests and for running without a database: the most recent sessions only, so a
    long-running instance without PostgreSQL does not grow without bound."""

    def __init__(self, keep: int = 1000) -> None:
        self.sessions: list[IvrSession] = []
        self.keep = keep

    async def save(self, session: IvrSession) -> None:
        self.sessions.append(session)
        del self.sessions[:-self.keep]


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


_UPSERT = """
INSERT INTO ivr_sessions (uniqueid, linkedid, dialled, caller_number, municipality, language,
    subject, queue, outcome, zaaknummer, transcript, callback, steps, started_at, ended_at,
    first_prompt_ms)
VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13::jsonb,$14,$15,$16)
ON CONFLICT (uniqueid) DO UPDATE SET linkedid = EXCLUDED.linkedid,
    municipality = EXCLUDED.municipality, language = EXCLUDED.language,
    subject = EXCLUDED.subject, queue = EXCLUDED.queue, outcome = EXCLUDED.outcome,
    zaaknummer = EXCLUDED.zaaknummer, transcript = EXCLUDED.transcript,
    callback = EXCLUDED.callback, steps = EXCLUDED.steps, ended_at = EXCLUDED.ended_at,
    first_prompt_ms = EXCLUDED.first_prompt_ms, updated_at = now()
"""


class PostgresSessionStore:
    def __init__(self, pool: Any) -> None:
        self.pool = pool

    async def save(self, session: IvrSession) -> None:
        s = session
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    _UPSERT, s.uniqueid, s.linkedid, s.dialled, s.caller_number,
                    s.municipality, s.language, s.subject, s.queue, s.outcome, s.zaaknummer,
                    s.transcript, s.callback, json.dumps(s.steps), _ts(s.started_at),
                    _ts(s.ended_at), s.first_prompt_ms)
                for c in s.contacts:
                    await conn.execute(
                        "INSERT INTO ivr_contacts (uniqueid, linkedid, kind, outcome, "
                        "zaaknummer, municipality, at) VALUES ($1,$2,$3,$4,$5,$6,$7)",
                        s.uniqueid, s.linkedid, c.kind, c.outcome, c.zaaknummer,
                        s.municipality, _ts(c.at))
                answered = [c for c in s.contacts
                            if c.kind in SELF_SERVICE and c.outcome == "answered"]
                if answered and s.outcome not in TO_AN_AGENT:
                    # The IVR answered and the caller needed nobody: that is the call's
                    # one contactmoment (issue 11), completed by the IVR itself.
                    await conn.execute(
                        """INSERT INTO call_contactmomenten (call_id, kanaal, status,
                               subject, municipality, zaak, outcome, resolved,
                               completed_by, completed_at, hung_up_at)
                           VALUES ($1, 'ivr', 'voltooid', $2, $3, $4, 'beantwoord', true,
                                   'IVR', now(), $5)
                           ON CONFLICT (call_id) DO NOTHING""",
                        s.linkedid or s.uniqueid, s.subject or answered[0].kind,
                        s.municipality, answered[0].zaaknummer, _ts(s.ended_at))
        except Exception:
            log.exception("could not store IVR session %s", s.uniqueid)

    async def get(self, uniqueid: str) -> dict[str, Any] | None:
        row = await self.pool.fetchrow("SELECT * FROM ivr_sessions WHERE uniqueid = $1",
                                       uniqueid)
        if row is None:
            return None
        out = dict(row)
        out["steps"] = json.loads(out["steps"])
        contacts = await self.pool.fetch(
            "SELECT kind, outcome, zaaknummer FROM ivr_contacts WHERE uniqueid = $1 "
            "ORDER BY id", uniqueid)
        out["contacts"] = [dict(c) for c in contacts]
        return out
