#!/usr/bin/env python3
"""Does a flood of wrong logins hurt callers? FastAGI round trip p99 during a flood.

One real service instance (HTTP + FastAGI + AMI) on the sandbox Asterisk. ``--calls``
calls sit in a FastAGI route that sends a ``NOOP`` every 20 ms and times each reply
(service -> Asterisk -> service): the loop that also serves AMI and every caller's IVR.
Four phases of ``--seconds`` each, measured in one run:

1. quiet: no logins;
2. flood, guarded: a separate process fires wrong logins (unknown and known logins,
   ``--flooders`` at once) at ``/api/auth/login`` of this code, from one address;
3. the same from ``--flooders`` loopback addresses (a botnet: the per-address lockout
   binds late, the instance-wide bucket of checks per second is what holds);
4. flood, unguarded: the same flood with the guard switched off in-process (scrypt on the
   event loop, no throttle): what the code did before issue 10.

Printed: p50/p99/max round trip per phase, the ratios to quiet, the service's own
event-loop lag (how late a 5 ms sleep wakes), and the logins per second that reached a
password check in each flood.

    KCC_DEMO=1 KCC_SANDBOX_DIR=/var/lib/kcc-telefonie/sandbox-b \\
        .venv/bin/python scripts/bench_login_flood.py --config /tmp/kcc-b/kcc.toml
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from panoramisk.fast_agi import Request

from ivr.agi_server import agi_command
from telephony import sandbox as sandbox_mod
from telephony.acd.agents_repo import check_password
from telephony.config import load_config
from telephony.service import KccService


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class PacedNoop:
    """Every call: a NOOP every ``pace`` s, timed, while ``running``; then hang up."""

    def __init__(self, pace: float) -> None:
        self.pace = pace
        self.rtts: list[float] = []
        self.running = True
        self.arrived = 0
        self.expected = 0
        self.all_in = asyncio.Event()

    async def handle(self, request: Request) -> None:
        self.arrived += 1
        if self.arrived >= self.expected:
            self.all_in.set()
        while self.running:
            t0 = time.perf_counter()
            await agi_command(request, "NOOP bench")
            self.rtts.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(self.pace)
        await agi_command(request, 'SET VARIABLE KCC_ACTION "hangup"')


async def flood(url: str, seconds: float, flooders: int, addresses: int,
                rate: float) -> None:
    """The attacker (run in its own process): wrong logins back to back, from one address
    or, as a botnet would, from ``addresses`` loopback addresses (127.0.1.x)."""
    import aiohttp

    counts: collections.Counter[int] = collections.Counter()
    stop = time.monotonic() + seconds
    names = ["anna", "zoe", "mehmet", "sanne", "beheer"]

    gap = flooders / rate if rate > 0 else 0.0  # each flooder's pause between logins

    async def one(i: int) -> None:
        await asyncio.sleep(gap * i / flooders)  # spread the flooders over one gap
        connector = (aiohttp.TCPConnector(local_addr=(f"127.0.1.{i % addresses + 1}", 0))
                     if addresses > 1 else None)
        async with aiohttp.ClientSession(connector=connector) as http:
            n = 0
            while time.monotonic() < stop:
                n += 1
                who = names[n % len(names)] if n % 2 else f"x{i}-{n}"
                try:
                    async with http.post(url, json={"login": who, "password": "wrong-pw-1"},
                                         timeout=aiohttp.ClientTimeout(total=10)) as r:
                        counts[r.status] += 1
                        await r.read()
                except (aiohttp.ClientError, TimeoutError):
                    counts[0] += 1
                if gap:
                    await asyncio.sleep(gap)

    await asyncio.gather(*(one(i) for i in range(flooders)))
    print(json.dumps({str(k): v for k, v in counts.items()}))


def unguard(service: KccService) -> None:
    """The pre-issue-10 login: scrypt on the event loop, no throttle, no lockout."""

    async def on_loop(password: str, stored: str | None) -> bool:
        service.password_checker.checked += 1
        return bool(stored) and check_password(password, stored)

    async def never_locked(ip: str, login: str) -> float:
        return 0.0

    async def nothing(ip: str, login: str) -> None:
        return None

    service.password_checker.check = on_loop  # type: ignore[method-assign]
    service.login_throttle.locked_for = never_locked  # type: ignore[method-assign]
    service.login_throttle.failed = nothing  # type: ignore[method-assign]


class LoopLag:
    """How late a 5 ms sleep wakes up: the service's own event loop, apart from Asterisk
    and the FastAGI socket (tells a blocked loop from a busy machine)."""

    def __init__(self) -> None:
        self.lags: list[float] = []

    async def run(self) -> None:
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(0.005)
            self.lags.append(max(0.0, (time.perf_counter() - t0) * 1000 - 5))


async def phase(service: KccService, route: PacedNoop, lag: LoopLag, seconds: float,
                flood_args: list[str] | None) -> tuple[list[float], list[float], float, str]:
    route.rtts.clear()
    lag.lags.clear()
    checked0 = service.password_checker.checked
    proc = None
    if flood_args is not None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--flood", *flood_args, stdout=subprocess.PIPE)
    await asyncio.sleep(seconds)
    out = b""
    if proc is not None:
        out, _ = await proc.communicate()
    rate = (service.password_checker.checked - checked0) / seconds
    return list(route.rtts), list(lag.lags), rate, out.decode().strip()


async def main_async(args: argparse.Namespace) -> int:
    if not os.environ.get("KCC_SANDBOX_DIR"):
        raise SystemExit("set KCC_SANDBOX_DIR to the sandbox to use")
    base = load_config(args.config)
    config = base.model_copy(update={
        "ivr": base.ivr.model_copy(update={"enabled": True}),
        "database": base.database.model_copy(update={
            "default_dsn": f"postgresql://postgres@127.0.0.1:5432/{args.database}",
            "dsn_env": "KCC_BENCH_NO_SUCH_ENV"}),
        "redis": base.redis.model_copy(update={"prefix": f"kccb{uuid.uuid4().hex[:6]}:",
                                               "url_env": "KCC_BENCH_NO_SUCH_ENV"})})
    sandbox_mod.up(config)
    service = KccService(config)
    route = PacedNoop(args.pace)
    route.expected = args.calls
    service.agi.add_route("inbound", route.handle)
    await service.start()
    try:
        await service.acd.ensure_demo_agents()
        await service.link.wait_connected(20)
        for i in range(args.calls):
            await service.link.action(
                "Originate", Channel="Local/140182@kcc-inbound", Context="kcc-test-caller",
                Exten="s", Priority="1", CallerID=f'"Bench {i}" <0600000000>',
                Timeout="30000", Async="true")
        try:
            await asyncio.wait_for(route.all_in.wait(), 30)
        except TimeoutError:
            raise SystemExit(f"only {route.arrived} of {args.calls} calls reached FastAGI"
                             ) from None
        url = f"http://127.0.0.1:{config.service.http_port}/api/auth/login"
        fa = [url, str(args.seconds), str(args.flooders), "1", str(args.rate)]
        many = [url, str(args.seconds), str(args.flooders), str(args.flooders), str(args.rate)]
        lag = LoopLag()
        lag_task = asyncio.create_task(lag.run())
        quiet, q_lag, _, _ = await phase(service, route, lag, args.seconds, None)
        guarded, g_lag, g_rate, g_out = await phase(service, route, lag, args.seconds, fa)
        botnet, b_lag, b_rate, b_out = await phase(service, route, lag, args.seconds, many)
        unguard(service)
        old, o_lag, o_rate, o_out = await phase(service, route, lag, args.seconds, fa)
        lag_task.cancel()
        route.running = False
    finally:
        await asyncio.sleep(0.5)
        await service.stop()

    def line(name: str, v: list[float], lags: list[float]) -> str:
        return (f"{name:<22} n={len(v):5d} p50={statistics.median(v):7.2f} ms "
                f"p99={pct(v, 99):7.2f} ms max={max(v):7.2f} ms "
                f"(p99 x{pct(v, 99) / pct(quiet, 99):.1f} of quiet); "
                f"loop lag p99={pct(lags, 99):6.2f} ms max={max(lags):6.2f} ms")

    print(f"FastAGI NOOP round trip, {args.calls} calls, one NOOP per {args.pace * 1000:.0f} ms"
          f" each, {args.seconds:.0f} s per phase, {args.flooders} flooders offering "
          f"{args.rate:.0f} wrong logins/s:")
    print(line("quiet", quiet, q_lag))
    print(line("flood, guarded", guarded, g_lag))
    print(line(f"flood from {args.flooders} addrs", botnet, b_lag))
    print(line("flood, unguarded (old)", old, o_lag))
    print(f"logins/s reaching a password check: guarded {g_rate:.1f} (one address), "
          f"{b_rate:.1f} ({args.flooders} addresses), unguarded {o_rate:.1f}")
    print(f"flood replies by status: guarded {g_out}; {args.flooders} addresses {b_out}; "
          f"unguarded {o_out}")
    return 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--flood":
        url, seconds, flooders = sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
        asyncio.run(flood(url, seconds, flooders, int(sys.argv[5]), float(sys.argv[6])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--pace", type=float, default=0.02)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--flooders", type=int, default=50)
    parser.add_argument("--rate", type=float, default=300.0,
                        help="wrong logins per second the flood offers (0: as fast as it can)")
    parser.add_argument("--database", default=(os.environ.get("KCC_TEST_DATABASE") or "kcc")
                        + "_bench_login")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
