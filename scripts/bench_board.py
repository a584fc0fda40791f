#!/usr/bin/env python3
"""Event-to-wallboard latency: a caller joins a queue in Asterisk -> the new board on a
supervisor's WebSocket (what the wallboard page renders on arrival).

    KCC_DEMO=1 .venv/bin/python scripts/bench_board.py --config config/demo.toml --calls 20

Runs the service on the sandbox (its own Redis prefix, the config's database), opens a
WebSocket as the demo supervisor, and for each call measures from Asterisk's
QueueCallerJoin timestamp (the model's CallQueued ``at``) to the first board message
that counts the caller as waiting; then the caller hangs up. Prints median, p90, max.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from harness import Harness, _test_config, wait_for  # noqa: E402

from telephony import sandbox  # noqa: E402
from telephony.config import load_config  # noqa: E402
from telephony.events import CallQueued  # noqa: E402


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "config" / "demo.toml"))
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    base = load_config(args.config)
    await asyncio.to_thread(sandbox.up, base)
    h = Harness(_test_config(base))
    await h.start()
    queued: dict[str, float] = {}

    async def on_event(event: object) -> None:
        if isinstance(event, CallQueued):
            queued.setdefault(event.linkedid, event.at)

    h.service.bus.subscribe("bench", on_event)
    latencies = []
    url = f"ws://127.0.0.1:{h.config.service.http_port}/ws"
    try:
        async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
            await ws.send_json({"type": "auth", "token": await h.token("sanne")})
            for i in range(args.calls):
                await h.service.link.action(
                    "Originate", Channel="Local/belastingen@kcc-queue",
                    Context="kcc-test-caller", Exten="s", Priority="1",
                    CallerID=f'"Bench {i}" <0612345678>', Async="true", timeout=10)
                while True:
                    msg = json.loads((await ws.receive(timeout=10)).data)
                    tile = next((q for q in msg.get("queues", [])
                                 if q["queue"] == "belastingen"), None) \
                        if msg.get("type") == "board" else None
                    if tile and tile["waiting"] == 1 and queued:
                        latencies.append((time.time() - max(queued.values())) * 1000)
                        break
                await h.service.link.action("Hangup", Channel="/^Local\\/belastingen@/",
                                            Cause="16")
                await wait_for(lambda: not h.service.model.calls, what="calls gone")
                queued.clear()
                await asyncio.sleep(0.5)
    finally:
        await h.stop()
    latencies.sort()
    print(f"event -> board on the supervisor's WebSocket over {len(latencies)} calls: "
          f"median {statistics.median(latencies):.0f} ms, "
          f"p90 {latencies[int(len(latencies) * 0.9) - 1]:.0f} ms, max {latencies[-1]:.0f} ms")


if __name__ == "__main__":
    asyncio.run(main())
