#!/usr/bin/env python3
"""What the edge guards of issue 10 cost, as ratios measured in one run.

1. Call-back booking with the destination policy (country/type rules, per-number and
   per-day caps, one open call-back per number, under a per-number advisory lock) against
   a bare INSERT of the same row, both on the real PostgreSQL: p50 and p99 per booking.
2. FastAGI environment parse: the old parser (``str.splitlines``, last value wins) against
   ``ivr.agi_server.parse_env`` (``\\n`` only, first value wins), on a real Asterisk-sized
   environment: µs per parse.

    KCC_DEMO=1 .venv/bin/python scripts/bench_edges.py --bookings 400
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ivr.agi_server import parse_env
from telephony.callbacks.config import CallbacksConfig
from telephony.callbacks.destinations import DestinationPolicy
from telephony.callbacks.store import CallbackStore
from telephony.store import db

ENV = ("\n".join([
    "agi_network: yes", "agi_network_script: inbound", "agi_request: agi://127.0.0.1/inbound",
    "agi_channel: PJSIP/trunk-0000002a", "agi_language: nl", "agi_type: PJSIP",
    "agi_uniqueid: 1764600000.42", "agi_version: 22.10.1", "agi_callerid: 0612345678",
    "agi_calleridname: Zoë Şahin-Çelik", "agi_callingpres: 0", "agi_callingani2: 0",
    "agi_callington: 0", "agi_callingtns: 0", "agi_dnid: 140180", "agi_rdnis: unknown",
    "agi_context: kcc-route", "agi_extension: s", "agi_priority: 5", "agi_enhanced: 0.0",
    "agi_accountcode: ", "agi_threadid: 140234234234", "agi_arg_1: +31140180"]) + "\n\n"
       ).encode()


def old_parse(raw: bytes) -> dict[str, str]:
    """The parser before issue 10 (kept here only to measure against)."""
    headers: dict[str, str] = {}
    for line in raw.decode("utf-8", errors="replace").splitlines():
        key, sep, value = line.partition(": ")
        if sep and key.startswith("agi_"):
            headers[key] = value
    return headers


def parse_figures(rounds: int) -> tuple[float, float]:
    timings = {}
    for name, fn in (("old", old_parse), ("new", parse_env)):
        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(rounds):
                fn(ENV)
            best = min(best, (time.perf_counter() - t0) / rounds)
        timings[name] = best * 1e6
    return timings["old"], timings["new"]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


async def booking_figures(dsn: str, n: int) -> tuple[list[float], list[float]]:
    pool = await db.connect(dsn, 1, 4)
    store = CallbackStore(pool)
    policy = DestinationPolicy(CallbacksConfig(max_per_day=1_000_000), pool)
    now = datetime.now(UTC)
    bare: list[float] = []
    guarded: list[float] = []
    try:
        await pool.execute("DELETE FROM callbacks")
        for i in range(n):
            number = f"+316{20000000 + i:08d}"
            for sink, use_policy in ((bare, False), (guarded, True)):
                async def create(conn, e164: str, _n=number) -> int:
                    return await store.create(kind="virtual_hold", queue="algemeen",
                                              number=e164, queued_at=now, due_at=now,
                                              conn=conn)
                t0 = time.perf_counter()
                if use_policy:
                    cid = await policy.book(number, "bench", create)
                else:
                    cid = await create(None, number)
                sink.append((time.perf_counter() - t0) * 1000)
                # Close it so the next booking of the other kind is not "already open".
                await pool.execute("UPDATE callbacks SET status = 'done' WHERE id = $1", cid)
        await pool.execute("DELETE FROM callbacks")
    finally:
        await pool.close()
    return bare, guarded


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=400)
    parser.add_argument("--parses", type=int, default=20000)
    parser.add_argument("--dsn", default=os.environ.get(
        "KCC_BENCH_DSN", "postgresql://postgres@127.0.0.1:5432/kcc_bench_edges"))
    args = parser.parse_args()
    bare, guarded = await booking_figures(args.dsn, args.bookings)
    b50, g50 = statistics.median(bare), statistics.median(guarded)
    print(f"booking, {args.bookings} each (PostgreSQL {args.dsn.rsplit('/', 1)[-1]}):")
    print(f"  bare INSERT        p50 {b50:.2f} ms  p99 {pct(bare, 0.99):.2f} ms")
    print(f"  with the policy    p50 {g50:.2f} ms  p99 {pct(guarded, 0.99):.2f} ms")
    print(f"  ratio p50 (policy / bare): {g50 / b50:.2f}")
    old, new = parse_figures(args.parses)
    print(f"AGI environment parse ({len(ENV)} bytes, best of 5 x {args.parses}):")
    print(f"  old (splitlines, last wins) {old:.2f} µs   new (\\n only, first wins) "
          f"{new:.2f} µs   ratio new/old {new / old:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
