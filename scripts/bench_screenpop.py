#!/usr/bin/env python3
"""Screen-pop build time on the large synthetic municipality (1M zaken).

Open loop: calls are offered at a fixed rate (default 20/s for 30 s) whatever the answers
take, as in a contact centre. For each call it times (a) the pop offered to the agent —
identify by caller number (written as callers' numbers arrive: national, +31, 0031,
anonymous), names and open-zaken counts, processing log — and (b) the verified pop —
the klant, open zaken, last contacts, processing log. Prints median and p99 of each.
The AMI -> WebSocket part is measured separately by the lead.

    .venv/bin/python scripts/gen_municipality.py --size large --dsn postgresql://postgres@127.0.0.1:5432/kcc_bench
    .venv/bin/python scripts/bench_screenpop.py --dsn postgresql://postgres@127.0.0.1:5432/kcc_bench
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from typing import Any

from telephony.store import db
from telephony.zaken.config import ZakenConfig
from telephony.zaken.popper import ScreenPopper
from telephony.zaken.sources import PostgresZaakSource


def _as_dialled(e164: str, rng: random.Random) -> str:
    national = "0" + e164[3:]
    return rng.choice([e164, national, "00" + e164[1:], national[1:]])


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/kcc_bench")
    parser.add_argument("--rate", type=float, default=20.0, help="offered calls per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--pool", type=int, default=10)
    args = parser.parse_args()
    pool = await db.connect(args.dsn, args.pool, args.pool)
    zaken = await pool.fetchval("SELECT count(*) FROM zaken")
    if zaken < 1_000_000:
        print(f"warning: {zaken} zaken; load the large set first (see --help)")
    rng = random.Random(7)
    numbers = [r["e164"] for r in await pool.fetch(
        "SELECT e164 FROM klant_telefoonnummers TABLESAMPLE SYSTEM (5) LIMIT 5000")]
    popper = ScreenPopper(PostgresZaakSource(pool), pool, ZakenConfig())
    offered: list[float] = []
    verified: list[float] = []
    errors = 0

    async def one(i: int) -> None:
        nonlocal errors
        roll = rng.random()
        caller = "anonymous" if roll < 0.05 else (
            "+31201234567" if roll < 0.10 else _as_dialled(rng.choice(numbers), rng))
        call: dict[str, Any] = {"linkedid": f"bench-{time.time_ns()}-{i}",
                                "caller_number": caller, "queue": "algemeen",
                                "queued_at": time.time() - 20}
        agent = f"agent{i % 40}"
        try:
            t0 = time.perf_counter()
            pop = await popper.build(call, agent)
            offered.append((time.perf_counter() - t0) * 1000)
            if pop["candidates"]:
                ref = pop["selected"] or pop["candidates"][0]["ref"]
                t0 = time.perf_counter()
                await popper.mark_verified(call["linkedid"], agent, ref)
                verified.append((time.perf_counter() - t0) * 1000)
        except Exception:
            errors += 1

    # Warm up connections and caches a little, then run the open loop.
    await asyncio.gather(*(one(-i) for i in range(1, 21)))
    offered.clear()
    verified.clear()
    total = int(args.rate * args.seconds)
    start = time.perf_counter()
    tasks = []
    for i in range(total):
        delay = start + i / args.rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    took = time.perf_counter() - start
    await pool.close()
    print(f"database: {zaken} zaken; {total} calls offered at {args.rate:g}/s in {took:.1f} s; "
          f"errors: {errors}")
    for name, values in (("offered pop (identify + greeting view + log)", offered),
                         ("verified pop (klant + open zaken + last contacts + log)", verified)):
        print(f"{name}: n={len(values)} median={statistics.median(values):.2f} ms "
              f"p95={_pct(values, 0.95):.2f} ms p99={_pct(values, 0.99):.2f} ms "
              f"max={max(values):.2f} ms")


if __name__ == "__main__":
    asyncio.run(main())
