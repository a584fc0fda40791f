#!/usr/bin/env python3
"""What the late-data triggers of the report aggregates (migration 0081) cost a call
record write: today's calls inserted and then answered, with the triggers and without,
in one run, on a database with the year's days built (scripts/bench_reports.py).

    .venv/bin/python scripts/bench_report_triggers.py \\
        --dsn postgresql://postgres@127.0.0.1:5432/kcc_year

Every write is rolled back: the database is left as it was.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import asyncpg

INSERT = """INSERT INTO calls (linkedid, direction, queue, started_at, queued_at,
                               caller_number, subject)
            SELECT 'bench-' || g, 'inbound', 'algemeen', now(), now(),
                   '+3161' || (1000000 + g % $2), 'afval'
              FROM generate_series(1, $1) g"""
ANSWER = "UPDATE calls SET answered_at = now(), answered_by = 'x' WHERE linkedid LIKE 'bench-%'"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/kcc_year")
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--numbers", type=int, default=5_000,
                        help="distinct caller numbers (fewer: more repeat callers)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    conn = await asyncpg.connect(args.dsn, command_timeout=600)
    built = await conn.fetchval("SELECT count(*) FROM report_days")
    print(f"{built} built days; {args.calls} calls inserted then answered, "
          f"best of {args.runs} (µs per row)")
    for triggers in (True, False):
        best = (float("inf"), float("inf"))
        for _ in range(args.runs):
            tx = conn.transaction()
            await tx.start()
            try:
                if not triggers:
                    await conn.execute("ALTER TABLE calls DISABLE TRIGGER calls_report_dirty")
                t0 = time.perf_counter()
                await conn.execute(INSERT, args.calls, args.numbers)
                t1 = time.perf_counter()
                await conn.execute(ANSWER)
                t2 = time.perf_counter()
            finally:
                await tx.rollback()
            best = (min(best[0], t1 - t0), min(best[1], t2 - t1))
        print(f"  {'with' if triggers else 'without':<8} triggers: insert "
              f"{best[0] / args.calls * 1e6:6.1f}, answer {best[1] / args.calls * 1e6:6.1f}")
    await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
