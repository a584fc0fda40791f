#!/usr/bin/env python3
"""Load a synthetic municipality into PostgreSQL (migrations are applied first).

    .venv/bin/python scripts/gen_municipality.py --size demo  --dsn postgresql://postgres@127.0.0.1:5432/kcc
    .venv/bin/python scripts/gen_municipality.py --size large --dsn postgresql://postgres@127.0.0.1:5432/kcc_bench

Replaces any klanten/zaken/contacts already there (the processing log is never touched).
"""

from __future__ import annotations

import argparse
import asyncio
import time

from telephony.store import db
from telephony.zaken.generator import SIZES, load


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="demo")
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/kcc")
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    pool = await db.connect(args.dsn, 1, 2)
    try:
        t0 = time.perf_counter()
        counts = await load(pool, args.size, seed=args.seed)
        took = time.perf_counter() - t0
    finally:
        await pool.close()
    print(", ".join(f"{v} {k}" for k, v in counts.items()) + f" loaded in {took:.1f} s")


if __name__ == "__main__":
    asyncio.run(main())
