"""Time from an agent becoming available to the next waiting call ringing them.

    .venv/bin/python scripts/bench_acd.py [--rounds 30]

Real sandbox Asterisk, real PostgreSQL/Redis, the service in-process (no HTTP). Each
round: agent zoe is paused; a scripted caller waits in ``algemeen``; at t0 zoe becomes
available; t1 is Asterisk's own timestamp of the ``AgentCalled`` event (the member's
phone starts ringing), as the service saw it (CallOffered.at). Two ways, interleaved:

* ``acd``: ``AcdService.resume()`` — what the panel's "Beschikbaar" button does;
* ``raw``: an AMI ``QueuePause Paused=false`` sent directly — the floor Asterisk sets.

Prints median and p99 of each and their ratio (same run). Rounds wait out the queue's
wrapuptime guard (3 s) so it does not add to the measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from telephony import sandbox  # noqa: E402
from telephony.config import load_config  # noqa: E402
from telephony.events import CallOffered  # noqa: E402
from telephony.service import KccService  # noqa: E402

AGENT = "zoe"


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


async def run(rounds: int) -> None:
    config = load_config(ROOT / "config" / "demo.toml")
    config = config.model_copy(update={
        "ivr": config.ivr.model_copy(update={"enabled": False}),
        "database": config.database.model_copy(update={
            "default_dsn": "postgresql://postgres@127.0.0.1:5432/kcc_bench_acd",
            "dsn_env": "KCC_BENCH_NO_ENV"}),
        "redis": config.redis.model_copy(update={"prefix": "kccbench:"}),
    })
    await asyncio.to_thread(sandbox.up, config)
    service = KccService(config)
    await service.start(web_enabled=False)
    offered: asyncio.Queue[CallOffered] = asyncio.Queue()

    async def collect(event):
        if isinstance(event, CallOffered) and event.agent == AGENT:
            offered.put_nowait(event)

    service.bus.subscribe("bench", collect)
    try:
        await service.link.wait_connected(20)
        await service.acd.ensure_demo_agents()
        for login in ("anna", "mehmet", AGENT):
            await service.acd.logout(login)
        await service.acd.login(AGENT)
        results: dict[str, list[float]] = {"acd": [], "raw": []}
        record = await service.agents_repo.get(AGENT)
        assert record is not None
        for i in range(rounds * 2):
            how = "acd" if i % 2 == 0 else "raw"
            await service.acd.pause(AGENT, "pauze")
            await service.link.action(
                "Originate", Channel="Local/algemeen@kcc-queue", Application="Wait",
                Data="30", CallerID=f'"Bench {i}" <0612345678>', Async="true")
            deadline = time.monotonic() + 10
            while not any(c.queue == "algemeen" for c in service.model.calls.values()):
                if time.monotonic() > deadline:
                    raise RuntimeError("caller did not queue")
                await asyncio.sleep(0.02)
            # A random moment: app_queue re-checks members about once a second, so a fixed
            # delay would measure one phase of that loop instead of its distribution.
            await asyncio.sleep(0.3 + random.random())
            while not offered.empty():
                offered.get_nowait()
            t0 = time.time()
            if how == "acd":
                await service.acd.resume(AGENT)
            else:
                await service.link.action("QueuePause", Interface=record.endpoint,
                                          Paused="false")
            event = await asyncio.wait_for(offered.get(), 10)
            results[how].append((event.at - t0) * 1000)
            await service.link.action("Hangup", Channel="/^Local\\//", Cause="16")
            for _ in range(100):
                if not service.model.calls:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(3.5)  # the queue's wrapuptime guard
        print(f"rounds: {rounds} per method; agent available -> AgentCalled (ms)")
        for how, values in results.items():
            print(f"  {how:<4} median {statistics.median(values):7.1f}  p99 {p99(values):7.1f}"
                  f"  min {min(values):6.1f}  max {max(values):6.1f}")
        ratio = statistics.median(results["acd"]) / statistics.median(results["raw"])
        print(f"  ratio acd/raw (median): {ratio:.2f}")
        await service.acd.logout(AGENT)
    finally:
        await service.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    os.environ.setdefault("KCC_DEMO", "1")
    asyncio.run(run(args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
