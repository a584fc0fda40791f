"""Known days of calls, agent states and callbacks (2025-03-10 = D1, a Monday, CET).

Expected figures are worked out by hand in the tests next to each assertion.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

AMS = ZoneInfo("Europe/Amsterdam")
D0, D1, D2 = date(2025, 3, 9), date(2025, 3, 10), date(2025, 3, 11)


def at(day: date, hms: str) -> datetime:
    h, m, s = (int(x) for x in hms.split(":"))
    return datetime(day.year, day.month, day.day, h, m, s, tzinfo=AMS)


def _call(linkedid: str, queue: str, queued: datetime, *, wait: float,
          answered: bool = True, talk: float | None = None, by: str = "",
          transfers: list[dict[str, Any]] | None = None, callback: str = "",
          number: str = "", subject: str = "") -> tuple:
    transfers = transfers or []
    done = queued + timedelta(seconds=wait)
    answered_at = done if answered else None
    ended = done + timedelta(seconds=talk or 0)
    return (linkedid, queue, queued, answered_at, ended, wait, talk if answered else None,
            by if answered else "", not answered,
            sum(1 for t in transfers if not t.get("refused")), json.dumps(transfers),
            callback, number, subject)


ZOE, FATMA = "+31612345678", "+31687654321"
CALLS = [
    # algemeen, D1. c1 is 23:30 UTC on D0: only a local-day report puts it in D1.
    # c2 is a repeat of c1 (same number, same subject, within 7 days); c5 of c3.
    _call("c1", "algemeen", at(D1, "00:30:00"), wait=10, talk=300, by="anna",
          number=ZOE, subject="paspoort"),
    _call("c2", "algemeen", at(D1, "10:00:00"), wait=30, talk=120, by="anna",
          transfers=[{"to": "afval", "refused": "max_transfers"}], number=ZOE,
          subject="paspoort"),
    _call("c3", "algemeen", at(D1, "11:00:00"), wait=15, talk=60, by="bob",
          transfers=[{"to": "burgerzaken"}], number=FATMA, subject="afval"),
    _call("c4", "algemeen", at(D1, "12:00:00"), wait=3, answered=False),     # short abandon
    _call("c5", "algemeen", at(D1, "13:00:00"), wait=40, answered=False,    # abandon
          number=FATMA, subject="afval"),
    _call("c6", "algemeen", at(D1, "23:59:50"), wait=15, talk=120, by="bob",  # midnight
          number="anonymous"),
    _call("c7", "algemeen", at(D1, "14:00:00"), wait=5, talk=100, by="anna",  # + notitie
          number="+31610101010", subject="belastingen"),
    _call("c8", "algemeen", at(D1, "15:00:00"), wait=61, answered=False, callback="1",
          number="+31699999999"),
    # afval, D2: 22 s is within afval's 25 s (not within 20 s)
    _call("c9", "afval", at(D2, "09:00:00"), wait=22, talk=60, by="anna",
          number="+31611111111", subject="afval"),
    # before the range
    _call("c0", "algemeen", at(D0, "23:00:00"), wait=5, talk=10, by="anna", number=ZOE,
          subject="paspoort"),
]
# Registered outcomes (contactmomenten.uitkomst) per call; fcr_outcomes resolve.
OUTCOMES = {"c1": "Vraag beantwoord", "c2": "Doorverbonden", "c3": "beantwoord",
            "c7": "Terugbelverzoek"}

STATES = [
    ("anna", "available", "", at(D0, "23:00:00")),
    ("anna", "on_call", "", at(D1, "08:00:00")),
    ("anna", "paused", "nawerk", at(D1, "08:10:00")),
    ("anna", "available", "", at(D1, "08:11:00")),
    ("anna", "paused", "nawerk", at(D1, "14:01:46")),  # c7 ended 14:01:45: 30 s wrap-up
    ("anna", "available", "", at(D1, "14:02:16")),
    ("anna", "paused", "pauze", at(D1, "23:30:00")),   # crosses midnight
    ("anna", "logged_out", "", at(D2, "00:30:00")),
    ("bob", "available", "", at(D1, "20:00:00")),
    ("bob", "paused", "overleg", at(D1, "20:30:00")),
    ("bob", "logged_out", "", at(D1, "21:00:00")),
]


async def load(pool: asyncpg.Pool) -> None:
    await pool.executemany(
        """INSERT INTO calls (linkedid, direction, queue, queues, started_at, queued_at,
               answered_at, ended_at, wait_seconds, talk_seconds, answered_by, abandoned,
               transfer_count, transfers, callback, caller_number, subject)
           VALUES ($1, 'inbound', $2, ARRAY[$2], $3, $3, $4, $5, $6, $7, $8, $9, $10,
                   $11::jsonb, $12, $13, $14)""", CALLS)
    for call_id, outcome in OUTCOMES.items():
        await pool.execute("""INSERT INTO contactmomenten (kanaal, onderwerp, uitkomst, call_id)
                              VALUES ('telefoon', 'vraag', $1, $2)""", outcome, call_id)
    await pool.executemany(
        "INSERT INTO agent_state_log (agent, state, reason, at) VALUES ($1, $2, $3, $4)",
        STATES)
    notes = [  # (call_id, created, deadline, afgerond_at)
        ("", at(D1, "10:00:00"), at(D2 + timedelta(days=2), "17:00:00"), at(D2, "10:00:00")),
        ("c7", at(D1, "14:05:00"), at(D1, "17:00:00"), at(D1, "18:00:00")),   # late
        ("", at(D1, "16:00:00"), at(D2, "17:00:00"), None),                   # open, overdue
        ("", at(D2, "09:00:00"), datetime(2099, 1, 1, tzinfo=AMS), None),     # open
    ]
    for call_id, created, deadline, done in notes:
        await pool.execute(
            """INSERT INTO taken (uuid, soort, call_id, status, deadline, created_at,
                                  afgerond_at)
               VALUES (gen_random_uuid(), 'terugbelnotitie', $1, $2, $3, $4, $5)""",
            call_id, "afgerond" if done else "open", deadline, created, done)
    # a failed dialler callback's task: not a terugbelnotitie, not counted there
    await pool.execute("""INSERT INTO taken (uuid, soort, created_at)
                          VALUES (gen_random_uuid(), 'terugbellen', $1)""", at(D1, "12:00:00"))
    callbacks = [  # kind, status, outcome, queue, queued_at, window_end, created, updated
        ("virtual_hold", "done", "reached", "algemeen", at(D1, "15:00:00"), None,
         at(D1, "15:01:00"), at(D1, "15:30:00")),
        ("scheduled", "done", "reached", "belastingen", at(D1, "10:00:00"),
         at(D1, "12:00:00"), at(D1, "09:00:00"), at(D1, "11:00:00")),
        ("scheduled", "waiting", "", "belastingen", at(D1, "14:00:00"), at(D1, "16:00:00"),
         at(D1, "09:30:00"), at(D1, "09:30:00")),
        ("scheduled", "task", "no_answer", "belastingen", at(D1, "10:00:00"),
         at(D1, "11:00:00"), at(D1, "09:40:00"), at(D1, "11:00:00")),
    ]
    ids = [await pool.fetchval(
        """INSERT INTO callbacks (kind, status, outcome, queue, number, queued_at, due_at,
               window_end, created_at, updated_at, attempts, agent)
           VALUES ($1, $2, $3, $4, '+31612345678', $5, $5, $6, $7, $8, 1, 'anna')
           RETURNING id""", *row) for row in callbacks]
    # The keep-my-place call-back's attempt: anna answered 15:29, the call ended 15:30.
    await pool.execute(
        """INSERT INTO callback_attempts (callback_id, attempt, instance, agent,
               agent_answered_at, ended_at, outcome)
           VALUES ($1, 1, 'kcc-1', 'anna', $2, $3, 'reached')""",
        ids[0], at(D1, "15:29:00"), at(D1, "15:30:00"))
    # IVR: one self-service answer (hours) and the caller hung up; one who went on to a
    # queue after the answer and one whose zaak was not found: not self-service answers.
    sessions = [("u1", "hangup", "hours", "answered"), ("u2", "queue", "zaak_status",
                                                        "answered"),
                ("u3", "hangup", "zaak_status", "not_found")]
    for uniqueid, outcome, kind, result in sessions:
        await pool.execute("""INSERT INTO ivr_sessions (uniqueid, outcome, started_at,
                                  ended_at, subject)
                              VALUES ($1, $2, $3, $3, 'zelfservice')""",
                           uniqueid, outcome, at(D1, "10:30:00"))
        await pool.execute("""INSERT INTO ivr_contacts (uniqueid, kind, outcome, at)
                              VALUES ($1, $2, $3, $4)""", uniqueid, kind, result,
                           at(D1, "10:30:30"))
