#!/usr/bin/env python3
"""Query time of every supervisor report over a year of a large KCC (scripts/gen_year.py).

    .venv/bin/python scripts/gen_year.py --dsn postgresql://postgres@127.0.0.1:5432/kcc_year
    KCC_DEMO=1 .venv/bin/python scripts/bench_reports.py \\
        --dsn postgresql://postgres@127.0.0.1:5432/kcc_year

First builds every closed day's aggregates (what the service's job does in the
background: telephony/reports/aggregates.py) and prints how long that took. Then each
contacts report is run ``--runs`` times as the service answers it (closed days from the
aggregates) and ``--direct-runs`` times computed straight from the records (the first
run of each warms the cache): the medians, their ratio, and whether the two give the
same figures. Then the other reports and the live board on the busiest day.
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
from telephony.reports import aggregates, api, definitions
from telephony.store import db

REPO = Path(__file__).resolve().parents[1]


async def timed(runs: int, fn: Any) -> tuple[float, float, Any]:
    times = []
    result: Any = None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = await fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times[1:] or times), max(times[1:] or times), result


def _figures(rows: list[dict[str, Any]], dims: list[str]) -> dict[tuple, dict[str, Any]]:
    return {tuple(r.get(d) for d in dims): definitions.figures(r) for r in rows}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/kcc_year")
    parser.add_argument("--config", default=str(REPO / "config" / "demo.toml"))
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--direct-runs", type=int, default=2,
                        help="runs of the direct computation (slow: a year is ~30 s)")
    args = parser.parse_args()
    config = load_config(args.config)
    pool = await asyncpg.create_pool(args.dsn, min_size=1, max_size=2, command_timeout=600)
    await db.migrate(pool)  # the aggregate tables (migration 0081 on)
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
    print(f"{calls} call records, {year} .. {end}")

    # -- build the closed days (what the service's job does in the background) ----------
    await pool.execute("TRUNCATE report_day_facts, report_days")
    job = aggregates.AggregateJob(pool, config, interval=3600, days_back=400, per_round=400)
    t0 = time.perf_counter()
    built = await job.run_once()
    spent = time.perf_counter() - t0
    facts = await pool.fetchval("SELECT count(*) FROM report_day_facts")
    print(f"built {built} closed days in {spent:.1f} s ({spent / max(built, 1) * 1000:.0f} ms "
          f"a day, {facts} aggregate rows)")
    print(f"median of {args.runs - 1} warm runs aggregated, {args.direct_runs - 1} direct (ms)")

    async def direct(start: date, stop: date, dims: list[str]) -> list[dict[str, Any]]:
        lo, hi = api.local_bounds(tz, start, stop)
        return await definitions.fetch_facts(pool, config, lo, hi, dims)

    contacts = [
        ("one day per queue", end, end, "day", "queue"),
        ("a week per day and queue", week, end, "day", "queue"),
        ("a month per day", month, end, "day", "total"),
        ("a month per hour of day", month, end, "hour", "total"),
        ("a month per subject", month, end, "total", "subject"),
        ("a month per channel", month, end, "total", "channel"),
        ("a month per outcome", month, end, "total", "outcome"),
        ("the year per month", year, end, "month", "total"),
        ("the year per week and queue", year, end, "week", "queue"),
    ]
    print(f"  {'contacts report':<40} {'aggregated':>10} {'direct':>10} {'ratio':>7}  rows  same")
    for name, start, stop, by, group in contacts:
        dims = [d for d in (by, group) if d != "total"]
        agg_ms, _, agg = await timed(args.runs, lambda start=start, stop=stop, dims=dims:
                                     aggregates.fetch(pool, config, start, stop, dims))
        dir_ms, _, raw = await timed(args.direct_runs, lambda start=start, stop=stop,
                                     dims=dims: direct(start, stop, dims))
        if not dims:
            raw = [definitions.add(raw)]
        same = _figures(agg, dims) == _figures(raw, dims)
        print(f"  {name:<40} {agg_ms:10.1f} {dir_ms:10.1f} {dir_ms / agg_ms:7.1f} "
              f"{len(agg):5d}  {'yes' if same else 'NO'}")
    reports = [
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
        print(f"  {name:<52} {median:9.1f} ms (max {worst:8.1f})  {len(rows):5d} rows")
    await pool.close()
    print(f"measured {datetime.now().isoformat(timespec='seconds')}")


if __name__ == "__main__":
    asyncio.run(main())
