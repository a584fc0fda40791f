"""Terugbelnotities: callback requests from an agent to the back office (a team or a
person), with a deadline that defaults to the municipality's promise (N working days,
from the opening hours and holidays), due/overdue lists, and closing with a result.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from ivr.hours import Hours

SOORT = "terugbelnotitie"
COLS = ("id, uuid::text AS uuid, onderwerp, vraag, telefoonnummer, team, toegewezen_aan, "
        "deadline, status, resultaat, aangemaakt_door, afgerond_door, afgerond_at, "
        "created_at")


# Who may read or close a notitie (issue 10, finding 6): supervisors and admins (see_all),
# the person it is assigned to, whoever wrote it, and the team it is for: agents with that
# team (queue) among their skills. Everyone else sees nothing, not even that it exists.
SCOPE = ("({all}::bool OR toegewezen_aan = {who} OR aangemaakt_door = {who} "
         "OR team IN (SELECT skill FROM agent_skills WHERE login = {who}))")


def promised_deadline(hours: Hours, tz: str, now: datetime, working_days: int) -> datetime:
    """End of the N-th working day after today, in the KCC's timezone."""
    zone = ZoneInfo(tz)
    day: date = hours.add_working_days(now.astimezone(zone).date(), working_days)
    intervals = hours.open_intervals(day)
    end = intervals[-1][1] if intervals else datetime.combine(day, time(17, 0))
    return end.replace(tzinfo=zone) if end.tzinfo is None else end


def promise_text(deadline: datetime, days: int, tz: str) -> str:
    local = deadline.astimezone(ZoneInfo(tz))
    names = ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"]
    return (f"Wij bellen u binnen {days} werkdagen terug, uiterlijk {names[local.weekday()]} "
            f"{local.day}-{local.month} om {local:%H:%M}.")


def _row(row: asyncpg.Record, now: datetime) -> dict[str, Any]:
    out = dict(row)
    deadline = out.get("deadline")
    out["overdue"] = bool(deadline and out["status"] != "afgerond" and deadline < now)
    for key, value in out.items():
        if isinstance(value, datetime):
            out[key] = value.isoformat()
    return out


class NotesStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def create(self, *, onderwerp: str, vraag: str, number: str, deadline: datetime,
                     team: str, person: str, by: str, call_id: str = "") -> dict[str, Any]:
        row = await self.pool.fetchrow(
            f"""INSERT INTO taken (uuid, soort, call_id, telefoonnummer, toelichting, onderwerp,
                                   vraag, team, toegewezen_aan, deadline, aangemaakt_door)
                VALUES (gen_random_uuid(), '{SOORT}', $1, $2, $3, $3, $4, $5, $6, $7, $8)
                RETURNING {COLS}""",
            call_id, number, onderwerp, vraag, team, person, deadline, by)
        return _row(row, datetime.now(UTC))

    async def listing(self, *, which: str, team: str | None, person: str | None,
                      now: datetime) -> list[dict[str, Any]]:
        """which: open (all not closed), due (deadline within a day), overdue."""
        until = {"open": None, "due": now + timedelta(days=1), "overdue": now}[which]
        rows = await self.pool.fetch(
            f"""SELECT {COLS} FROM taken WHERE soort = '{SOORT}' AND status <> 'afgerond'
                  AND ($1::timestamptz IS NULL OR deadline <= $1)
                  AND ($2::text IS NULL OR team = $2)
                  AND ($3::text IS NULL OR toegewezen_aan = $3)
                ORDER BY deadline, id LIMIT 500""", until, team, person)
        return [_row(r, now) for r in rows]

    async def close(self, note_id: int, result: str, by: str) -> dict[str, Any] | None:
        row = await self.pool.fetchrow(
            f"""UPDATE taken SET status = 'afgerond', resultaat = $2, afgerond_door = $3,
                       afgerond_at = now(), updated_at = now()
                 WHERE id = $1 AND soort = '{SOORT}' AND status <> 'afgerond'
             RETURNING {COLS}""", note_id, result, by)
        return _row(row, datetime.now(UTC)) if row else None
