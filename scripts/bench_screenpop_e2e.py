"""Screen-pop latency end to end: AMI AgentCalled -> message in the agent's WebSocket.

    .venv/bin/python scripts/bench_screenpop_e2e.py [--rate 20] [--seconds 30]

Needs the large synthetic municipality in database ``kcc_bench`` (100k klanten, 1M zaken):
``scripts/gen_municipality.py --size large --dsn postgresql://postgres@127.0.0.1:5432/kcc_bench``.

Real sandbox Asterisk; the service in-process with its HTTP/WebSocket server; ``--agents``
scripted agents (Local channels that answer) each with a real WebSocket client that
authenticated with its own token. The clients run in a separate process, as browsers
do on other machines (``--same-process`` puts them in the service's event loop).
Callers with phone numbers of real klanten in the database are originated into
``algemeen`` at ``--rate`` per second. For every ``call.offered`` message: latency =
time received by the client - the ``Timestamp`` of Asterisk's AgentCalled event (same
machine clock). Prints median, p95, p99, max, the pop build's share, and how many pops
were incomplete (zaak source timed out).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from telephony import sandbox  # noqa: E402
from telephony.config import load_config  # noqa: E402
from telephony.service import KccService  # noqa: E402

BENCH_DSN = "postgresql://postgres@127.0.0.1:5432/kcc_bench"


async def _lag() -> float:
    t0 = time.perf_counter()
    await asyncio.sleep(0)
    return (time.perf_counter() - t0) * 1000


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


async def _clients(tokens: dict[str, str], url: str, pipe: Any) -> None:
    """One authenticated WebSocket per agent; report latencies when told to stop."""
    latencies: list[float] = []
    builds: list[float] = []
    incomplete = 0

    async def listen(ws: aiohttp.ClientWebSocketResponse) -> None:
        nonlocal incomplete
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            now = time.time()
            data = msg.json()
            if data.get("type") == "call.offered":
                latencies.append((now - data["offered_at"]) * 1000)
                builds.append(float(data.get("pop", {}).get("build_ms") or 0.0))
                if data.get("pop", {}).get("incomplete"):
                    incomplete += 1

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        sockets, tasks = [], []
        for token in tokens.values():
            ws = await http.ws_connect(url)
            await ws.send_json({"type": "auth", "token": token})
            sockets.append(ws)
            tasks.append(asyncio.create_task(listen(ws)))
        await asyncio.sleep(1.0)
        pipe.send("ready")
        await asyncio.to_thread(pipe.recv)  # "stop"
        for task in tasks:
            task.cancel()
        for ws in sockets:
            await ws.close()
    pipe.send((latencies, builds, incomplete))


def _client_process(tokens: dict[str, str], url: str, conn: Any) -> None:
    asyncio.run(_clients(tokens, url, conn))


async def run(rate: float, seconds: float, n_agents: int, same_process: bool) -> None:
    config = load_config(ROOT / "config" / "demo.toml")
    config = config.model_copy(update={
        "ivr": config.ivr.model_copy(update={"enabled": False}),
        "queues": [q.model_copy(update={"wrapup_seconds": 0}) for q in config.queues],
        "service": config.service.model_copy(update={"http_port": 8391}),
        "database": config.database.model_copy(update={"default_dsn": BENCH_DSN,
                                                       "dsn_env": "KCC_BENCH_NO_ENV"}),
        "redis": config.redis.model_copy(update={"prefix": "kccpop:"}),
    })
    conn = await asyncpg.connect(BENCH_DSN)
    try:
        numbers = [r["e164"] for r in await conn.fetch(
            "SELECT e164 FROM klant_telefoonnummers TABLESAMPLE SYSTEM (1) LIMIT 2000")]
        zaken = await conn.fetchval("SELECT count(*) FROM zaken")
    finally:
        await conn.close()
    print(f"database: {zaken:,} zaken; {len(numbers)} caller numbers sampled")
    await asyncio.to_thread(sandbox.up, config)
    service = KccService(config)
    await service.start()
    port = config.service.http_port
    logins = [f"bench{i:03d}" for i in range(n_agents)]
    try:
        await service.link.wait_connected(20)
        for login in logins:
            await service.agents_repo.upsert_demo(login, f"Bench {login}",
                                                  f"Local/{login}@kcc-test-agent",
                                                  {"algemeen": 5}, "bench-password")
            await service.acd.login(login)
        tokens = {login: await service.sessions.issue(login, "agent") for login in logins}
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        if same_process:
            # The old way: clients share the service's event loop (pessimistic).
            clients = asyncio.create_task(_clients(tokens, f"ws://127.0.0.1:{port}/ws",
                                                   child))
        else:
            # Browsers are other machines: the clients run in their own process.
            proc = ctx.Process(target=_client_process,
                               args=(tokens, f"ws://127.0.0.1:{port}/ws", child))
            proc.start()
        assert await asyncio.to_thread(parent.recv) == "ready"
        rng = random.Random(14)
        total = int(rate * seconds)
        start = time.monotonic()
        for i in range(total):
            target = start + i / rate
            await asyncio.sleep(max(0.0, target - time.monotonic()))
            number = rng.choice(numbers)
            await service.link.action(
                "Originate", Channel="Local/algemeen@kcc-queue", Application="Wait",
                Data="1", CallerID=f'"Bench" <{number}>', Async="true")
        await asyncio.sleep(6.0)
        parent.send("stop")
        latencies, builds, incomplete = await asyncio.to_thread(parent.recv)
        if same_process:
            await clients
        else:
            proc.join(10)
        where = "in the service's process" if same_process else "in a separate process"
        print(f"offered calls: {total} at {rate}/s over {seconds:.0f} s, agents: {n_agents} "
              f"(WebSocket clients {where})")
        print(f"pops received: {len(latencies)}  (incomplete: {incomplete})")
        if latencies:
            print(f"AgentCalled -> WebSocket (ms): median {statistics.median(latencies):.1f}  "
                  f"p95 {pct(latencies, 0.95):.1f}  p99 {pct(latencies, 0.99):.1f}  "
                  f"max {max(latencies):.1f}   target p99 < 50")
            build_med = statistics.median(builds)
            print(f"  of which pop build (zaak source + processing log): median "
                  f"{build_med:.1f}  p99 {pct(builds, 0.99):.1f} ms  (build / end to end, "
                  f"medians: {build_med / statistics.median(latencies):.2f})")
    finally:
        with contextlib.suppress(Exception):
            await service.link.action("Hangup", Channel="/^Local\\//", Cause="16")
        for login in logins:
            with contextlib.suppress(Exception):
                await service.acd.logout(login)
        await service.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--agents", type=int, default=150)
    parser.add_argument("--same-process", action="store_true",
                        help="run the WebSocket clients in the service's event loop")
    args = parser.parse_args()
    os.environ.setdefault("KCC_DEMO", "1")
    asyncio.run(run(args.rate, args.seconds, args.agents, args.same_process))
    return 0


if __name__ == "__main__":
    sys.exit(main())
