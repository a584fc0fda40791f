#!/usr/bin/env python3
"""A year of a large KCC in PostgreSQL: call records and what the reports join to them.

    .venv/bin/python scripts/gen_year.py --dsn postgresql://postgres@127.0.0.1:5432/kcc_year \\
        --calls 1000000

Generates (deterministic for a seed; loaded with COPY in chunks, then VACUUM ANALYZE):
``calls`` spread over the 365 days before today — weekdays only, busiest on Monday
morning, the demo config's queues and subjects, callers from a pool of numbers with
repeat callers (and some anonymous), waits, abandons (short ones too), call-backs taken
in the queue, transfers (some refused), talk times; for each answered call the agent's
``nawerk`` in ``agent_state_log`` and most of the time a registered ``contactmoment``;
the keep-my-place ``callbacks`` with their attempt; IVR self-service sessions. Existing
rows of those tables are replaced. Then ``scripts/bench_reports.py`` times every report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from telephony.store import db

TZ = ZoneInfo("Europe/Amsterdam")
QUEUES = [("algemeen", 0.40, ["", "vergunningen", "zorg", "overig"]),
          ("burgerzaken", 0.25, ["burgerzaken"]), ("afval", 0.20, ["afval"]),
          ("belastingen", 0.15, ["belastingen"])]
HOURS = [(8, 6), (9, 14), (10, 15), (11, 13), (12, 9), (13, 11), (14, 11), (15, 9), (16, 7),
         (17, 3), (18, 1), (19, 1)]
WEEKDAY = [1.35, 1.1, 1.0, 1.0, 0.75, 0, 0]
OUTCOMES = ["vraag beantwoord"] * 6 + ["informatie gegeven"] * 2 + [
    "doorverbonden", "terugbelverzoek", "afspraak gemaakt", "zaak aangemaakt"]
CHUNK = 20_000
CALL_COLUMNS = ("linkedid", "direction", "caller_number", "caller_name", "dialled",
                "municipality", "language", "subject", "queue", "queues", "started_at",
                "queued_at", "answered_at", "ended_at", "wait_seconds", "talk_seconds",
                "answered_by", "abandoned", "transfer_count", "transfers", "callback",
                "instance_id")


def _days(n_calls: int, today: date) -> list[tuple[date, int]]:
    days = [today - timedelta(days=i) for i in range(365, 0, -1)]
    weights = [WEEKDAY[d.weekday()] for d in days]
    total = sum(weights)
    return [(d, round(n_calls * w / total)) for d, w in zip(days, weights, strict=True)
            if w]


class Year:
    def __init__(self, rng: random.Random, agents: int = 60, numbers: int = 150_000) -> None:
        self.rng = rng
        self.agents = [f"mw{i:03d}" for i in range(agents)]
        self.numbers = [f"+316{rng.randint(10_000_000, 99_999_999)}" for _ in range(numbers)]
        self.calls: list[tuple] = []
        self.states: list[tuple] = []
        self.contacts: list[tuple] = []
        self.callbacks: list[tuple] = []
        self.sessions: list[tuple] = []
        self.ivr_contacts: list[tuple] = []
        self.n = 0

    def caller(self) -> str:
        if self.rng.random() < 0.03:
            return "anonymous"
        # Repeat callers: a skewed pick from the pool.
        return self.numbers[int(len(self.numbers) * self.rng.random() ** 2.2)]

    def call(self, day: date) -> None:
        rng = self.rng
        self.n += 1
        hour = rng.choices([h for h, _ in HOURS], weights=[w for _, w in HOURS])[0]
        at = datetime(day.year, day.month, day.day, hour, rng.randint(0, 59),
                      rng.randint(0, 59), tzinfo=TZ).astimezone(UTC)
        queue, _, subjects = rng.choices(QUEUES, weights=[w for _, w, _ in QUEUES])[0]
        subject = rng.choice(subjects) if subjects != [""] else ""
        queued = at + timedelta(seconds=rng.uniform(15, 60))  # the IVR first
        linkedid = f"{int(at.timestamp())}.{self.n}"
        wait = rng.lognormvariate(2.6, 0.9)
        fate = rng.random()
        answered_at = ended = None
        talk = None
        agent = ""
        abandoned = False
        callback = ""
        transfers: list[dict] = []
        if fate < 0.86:
            answered_at = queued + timedelta(seconds=wait)
            talk = rng.lognormvariate(5.3, 0.6)
            ended = answered_at + timedelta(seconds=talk)
            agent = rng.choice(self.agents)
            if rng.random() < 0.08:
                transfers.append({"kind": "blind", "at": answered_at.timestamp() + 60,
                                  "by": agent, "target": "burgerzaken@kcc-transfer"})
                if rng.random() < 0.12:
                    transfers.append({"kind": "blind", "at": answered_at.timestamp() + 90,
                                      "by": agent, "target": "algemeen@kcc-transfer",
                                      "refused": "limit"})
        else:
            abandoned = True
            wait = rng.uniform(1, 8) if fate < 0.89 else wait * 2
            ended = queued + timedelta(seconds=wait)
            if fate > 0.975:
                callback = f"booked:{self.n}"
        counted = sum(1 for t in transfers if not t.get("refused"))
        self.calls.append((
            linkedid, "inbound", self.caller(), "", "+31140180", "gouda", "nl", subject,
            queue, [queue], at, queued, answered_at, ended, round(wait, 3),
            None if talk is None else round(talk, 3), agent, abandoned, counted,
            json.dumps(transfers), callback, "kcc-gen"))
        if answered_at is not None and ended is not None:
            wrap = ended + timedelta(seconds=0.3)
            self.states.append((agent, queue, "paused", "nawerk", wrap))
            self.states.append((agent, queue, "available", "",
                                wrap + timedelta(seconds=rng.uniform(10, 90))))
            if rng.random() < 0.85:
                self.contacts.append(("telefoon", subject or "vraag", rng.choice(OUTCOMES),
                                      linkedid, agent, ended))
        if callback and ended is not None:
            done = ended + timedelta(minutes=rng.uniform(5, 240))
            self.callbacks.append(("virtual_hold", "done" if rng.random() < 0.9 else "task",
                                   "reached", queue, "+31612345678", queued, queued, None,
                                   subject, linkedid, 1, rng.choice(self.agents), ended, done))
        if rng.random() < 0.06:  # a self-service answer in the IVR, nobody needed
            uid = f"ivr{self.n}"
            self.sessions.append((uid, linkedid + "i", "hangup", "zelfservice", at,
                                  at + timedelta(seconds=70)))
            self.ivr_contacts.append((uid, rng.choice(["hours", "address", "zaak_status"]),
                                      "answered", at + timedelta(seconds=50)))


async def flush(pool, y: Year) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.copy_records_to_table("calls", records=y.calls, columns=CALL_COLUMNS)
        await conn.copy_records_to_table("agent_state_log", records=y.states,
                                         columns=("agent", "queue", "state", "reason", "at"))
        await conn.copy_records_to_table(
            "contactmomenten", records=y.contacts,
            columns=("kanaal", "onderwerp", "uitkomst", "call_id", "medewerker",
                     "registered_at"))
        await conn.copy_records_to_table(
            "ivr_sessions", records=y.sessions,
            columns=("uniqueid", "linkedid", "outcome", "subject", "started_at", "ended_at"))
        await conn.copy_records_to_table("ivr_contacts", records=y.ivr_contacts,
                                         columns=("uniqueid", "kind", "outcome", "at"))
        for row in y.callbacks:
            cid = await conn.fetchval(
                """INSERT INTO callbacks (kind, status, outcome, queue, number, queued_at,
                       due_at, window_end, subject, linkedid, attempts, agent, created_at,
                       updated_at)
                   VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) RETURNING id""",
                *row)
            await conn.execute(
                """INSERT INTO callback_attempts (callback_id, attempt, instance, agent,
                       agent_answered_at, ended_at, outcome)
                   VALUES ($1, 1, 'kcc-gen', $2, $3::timestamptz,
                           $3::timestamptz + interval '3 minutes', 'reached')""",
                cid, row[11], row[13] - timedelta(minutes=3))
    for rows in (y.calls, y.states, y.contacts, y.callbacks, y.sessions, y.ivr_contacts):
        rows.clear()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/kcc_year")
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    pool = await db.connect(args.dsn, 1, 2)
    t0 = time.perf_counter()
    try:
        await pool.execute("TRUNCATE calls, agent_state_log, contactmomenten, callbacks, "
                           "callback_attempts, ivr_sessions, ivr_contacts, report_day_facts, "
                           "report_days CASCADE")
        y = Year(random.Random(args.seed))
        for day, count in _days(args.calls, datetime.now(TZ).date()):
            for _ in range(count):
                y.call(day)
                if len(y.calls) >= CHUNK:
                    await flush(pool, y)
        await flush(pool, y)
        for table in ("calls", "agent_state_log", "contactmomenten", "callbacks",
                      "ivr_sessions", "ivr_contacts"):
            await pool.execute(f"VACUUM ANALYZE {table}")
        counts = {t: await pool.fetchval(f"SELECT count(*) FROM {t}") for t in (
            "calls", "agent_state_log", "contactmomenten", "callbacks", "ivr_sessions")}
    finally:
        await pool.close()
    print(", ".join(f"{v} {k}" for k, v in counts.items())
          + f" loaded in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    asyncio.run(main())
