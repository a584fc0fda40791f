#!/usr/bin/env python3
"""Query time of every supervisor report over a year of a large KCC (scripts/gen_year.py).

    .venv/bin/python scripts/gen_year.py --dsn postgresql://postgres@127.0.0.1:5432/kcc_year
    KCC_DEMO=1 .venv/bin/python scripts/bench_reports.py \\
        --dsn postgresql://postgres@127.0.0.1:5432/kcc_year

Each report is run ``--runs`` times (the first warms the cache); prints the median and
the slowest in ms, the rows it returned, and the live board's computation on the
busiest day of the year. The report code is the service's (telephony/reports/api.py).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from telephony.config import load_config
from telephony.reports import api, definitions

REPO = Path(__file__).resolve().parents[1]


async def timed(runs: int, fn: Any) -> tuple[float, float, int]:
    times = []
    rows = 0
    for _ in range(runs):
        t0 = time.perf_counter()
        result = await fn()
        times.append((time.perf_counter() - t0) * 1000)
        rows = len(result)
    return statistics.median(times[1:] or times), max(times[1:] or times), rows


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/kcc_year")
    parser.add_argument("--config", default=str(REPO / "config" / "demo.toml"))
    parser.add_argument("--runs", type=int, default=4)
    args = parser.parse_args()
    config = load_config(args.config)
    pool = await asyncpg.create_pool(args.dsn, min_size=1, max_size=2, command_timeout=600)
    svc = SimpleNamespace(pool=pool, config=config)
    tz = config.kcc.timezone
    calls = await pool.fetchval("SELECT count(*) FROM calls")
    last = await pool.fetchval("SELECT max(queued_at) FROM calls")
    end: date = last.astimezone(ZoneInfo(tz)).date()
    busiest = await pool.fetchval(
        "SELECT (queued_at AT TIME ZONE $1)::date AS d FROM calls GROUP BY d "
        "ORDER BY count(*) DESC LIMIT 1", tz)
    week, month, year = end - timedelta(days=6), end - timedelta(days=30), end - timedelta(
        days=364)
    print(f"{calls} call records, {year} .. {end}; median of {args.runs - 1} warm runs (ms)")
    reports = [
        ("contacts: one day per queue", lambda: api.contact_rows(svc, end, end, "day",
                                                                  "queue")),
        ("contacts: a week per day and queue", lambda: api.contact_rows(svc, week, end, "day",
                                                                        "queue")),
        ("contacts: a month per day", lambda: api.contact_rows(svc, month, end, "day",
                                                               "total")),
        ("contacts: a month per hour of day", lambda: api.contact_rows(svc, month, end,
                                                                       "hour", "total")),
        ("contacts: a month per subject", lambda: api.contact_rows(svc, month, end, "total",
                                                                   "subject")),
        ("contacts: a month per channel", lambda: api.contact_rows(svc, month, end, "total",
                                                                   "channel")),
        ("contacts: a month per outcome", lambda: api.contact_rows(svc, month, end, "total",
                                                                   "outcome")),
        ("contacts: the year per month", lambda: api.contact_rows(svc, year, end, "month",
                                                                  "total")),
        ("contacts: the year per week and queue", lambda: api.contact_rows(
            svc, year, end, "week", "queue")),
        ("queues: a month per day (wallboard definitions)", lambda: api._queues(
            svc, month, end, tz)),
        ("agents: one day", lambda: api._agents(svc, end, end, tz)),
        ("agents: a week", lambda: api._agents(svc, week, end, tz)),
        ("callbacks: a month", lambda: api._callbacks(svc, month, end, tz)),
    ]
    lo, hi = api.local_bounds(tz, busiest, busiest)
    reports.append((f"live board: the busiest day ({busiest})", lambda: definitions.fetch_facts(
        pool, config, lo, hi, ["queue", "today", "recent"], now=hi,
        recent_lo=hi - timedelta(minutes=30), today_lo=lo)))
    for name, fn in reports:
        median, worst, rows = await timed(args.runs, fn)
        print(f"  {name:<52} {median:9.1f} ms (max {worst:8.1f})  {rows:5d} rows")
    await pool.close()
    print(f"measured {datetime.now().isoformat(timespec='seconds')}")


if __name__ == "__main__":
    asyncio.run(main())
