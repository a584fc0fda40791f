#!/usr/bin/env python3
"""FastAGI figures against the real sandbox Asterisk, as ratios measured in one run.

1. Command round trip: a route sends ``NOOP`` commands and times each reply (service ->
   Asterisk -> service), first with one call, then with N calls in their IVR at once.
   The ratio (concurrent p50 / single p50) says whether sessions slow each other down.
2. Sessions held: the peak number of FastAGI sessions open at the same time.
3. Answered -> first prompt: for calls through the real IVR (``IvrApp``, prompts
   pre-rendered), the time between Asterisk executing ``Answer()`` and Asterisk starting
   to play the first prompt, both read from Asterisk's own log (millisecond stamps), for
   one call and for N concurrent calls.

    KCC_DEMO=1 KCC_SANDBOX_DIR=/var/lib/kcc-telefonie/sandbox-ivr \\
        .venv/bin/python scripts/bench_agi.py --config /tmp/kcc-ivr/demo-ivr.toml --calls 100
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from panoramisk.fast_agi import Request

from ivr.agi_server import AgiServer, agi_command
from ivr.app import IvrApp
from telephony import sandbox as sandbox_mod
from telephony.ami.link import AmiLink
from telephony.config import Config, load_config

OPEN_AT = datetime(2025, 11, 24, 9, 0, tzinfo=UTC)  # a Monday morning: open
_LOG = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})\].*?(Local/\S+?;2)\b")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(values: list[float]) -> str:
    return (f"n={len(values)} p50={statistics.median(values):.3f} ms "
            f"p99={pct(values, 99):.3f} ms max={max(values):.3f} ms")


class NoopRoute:
    """Sends ``commands`` NOOPs, timing each, then ends the call via KCC_ACTION=hangup."""

    def __init__(self, commands: int, pace: float = 0.0) -> None:
        self.commands = commands
        self.pace = pace  # seconds between a session's commands (0: back to back)
        self.rtts: list[float] = []
        self.ready = asyncio.Event()
        self.expected = 0
        self.arrived = 0

    async def handle(self, request: Request) -> None:
        self.arrived += 1
        if self.arrived >= self.expected:
            self.ready.set()
        await self.ready.wait()  # every session open at once before measuring
        for _ in range(self.commands):
            t0 = time.perf_counter()
            await agi_command(request, "NOOP bench")
            self.rtts.append((time.perf_counter() - t0) * 1000)
            if self.pace:
                await asyncio.sleep(self.pace)
        await agi_command(request, 'SET VARIABLE KCC_ACTION "hangup"')


async def originate(link: AmiLink, n: int, number: str = "140182") -> None:
    for i in range(n):
        await link.action("Originate", Channel=f"Local/{number}@kcc-inbound",
                          Context="kcc-test-caller", Exten="s", Priority="1",
                          CallerID=f'"Bench {i}" <0600000000>', Timeout="30000", Async="true")


async def hangup_all(link: AmiLink) -> None:
    resp = await link.action("CoreShowChannels", as_list=True, timeout=10)
    for item in resp if isinstance(resp, list) else []:
        if item.get("Event") == "CoreShowChannel":
            with contextlib.suppress(Exception):
                await link.action("Hangup", Channel=item.get("Channel"), timeout=2)


async def noop_phase(config: Config, link: AmiLink, calls: int, commands: int,
                     peak: list[int], pace: float = 0.0) -> list[float]:
    route = NoopRoute(commands, pace)
    route.expected = calls
    server = AgiServer(config.service.agi_host, config.service.agi_port)
    server.add_route("inbound", route.handle)
    await server.start()
    try:
        await originate(link, calls)
        await route.ready.wait()
        wall, cpu = time.perf_counter(), time.process_time()
        deadline = time.monotonic() + 120
        while len(route.rtts) < calls * commands and time.monotonic() < deadline:
            peak[0] = max(peak[0], server.active)
            await asyncio.sleep(0.005)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"  [{calls} session(s), pace {pace * 1000:.0f} ms] {len(route.rtts) / wall:,.0f} "
              f"commands/s; service CPU {cpu / wall:.0%} of one core")
        if len(route.rtts) < calls * commands:
            raise SystemExit(f"only {route.arrived} of {calls} sessions arrived / "
                             f"{len(route.rtts)} commands done")
    finally:
        await server.stop()
        await hangup_all(link)
    return route.rtts


def log_path() -> Path:
    return sandbox_mod.sandbox_dir() / "var/log/asterisk/messages.log"


def answered_to_prompt(lines: list[str]) -> list[float]:
    answered: dict[str, datetime] = {}
    first: dict[str, datetime] = {}
    for line in lines:
        match = _LOG.match(line)
        if not match:
            continue
        stamp = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S.%f")
        chan = match.group(2)
        if "Answer(" in line and "kcc-route" in line:
            answered.setdefault(chan, stamp)
        elif "Playing '" in line and chan in answered:
            first.setdefault(chan, stamp)
    return [(first[c] - answered[c]).total_seconds() * 1000 for c in first]


async def prompt_phase(config: Config, link: AmiLink, app: IvrApp, calls: int,
                       peak: list[int]) -> list[float]:
    server = AgiServer(config.service.agi_host, config.service.agi_port)
    server.add_route("inbound", app.route.handle)
    started = len(app.route.store.sessions)  # type: ignore[attr-defined]
    mark = len(log_path().read_text(errors="replace").splitlines())
    await server.start()
    try:
        await originate(link, calls)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            peak[0] = max(peak[0], server.active)
            lines = log_path().read_text(errors="replace").splitlines()[mark:]
            if len(answered_to_prompt(lines)) >= calls:
                break
            await asyncio.sleep(0.2)
        await hangup_all(link)
        for _ in range(100):
            if len(app.route.store.sessions) - started >= calls:  # type: ignore[attr-defined]
                break
            await asyncio.sleep(0.1)
    finally:
        await server.stop()
    lines = log_path().read_text(errors="replace").splitlines()[mark:]
    if server.errors:
        raise SystemExit(f"{server.errors} IVR sessions raised")
    return answered_to_prompt(lines)


async def main_async(args: argparse.Namespace) -> int:
    os.environ.setdefault("KCC_DEMO", "1")
    if not os.environ.get("KCC_SANDBOX_DIR") and not args.default_sandbox:
        # The bench re-renders and may restart the sandbox it runs on: never someone
        # else's by accident (a shifted-port config on the default sandbox stops it).
        raise SystemExit("set KCC_SANDBOX_DIR to the sandbox to use, or pass "
                         "--default-sandbox")
    base = load_config(args.config)
    config = base.model_copy(update={"ivr": base.ivr.model_copy(update={"enabled": True})})
    sandbox_mod.up(config)
    link = AmiLink(config.asterisk.ami_host, config.asterisk.ami_port, config.asterisk.ami_user,
                   config.ami_secret())
    link.start()
    drain = asyncio.create_task(_drain(link))
    try:
        await link.wait_connected(15)
        await hangup_all(link)
        peak1, peakn = [0], [0]
        single = await noop_phase(config, link, 1, args.commands, peak1)
        concurrent = await noop_phase(config, link, args.calls, args.commands, peakn)
        print(f"AGI NOOP round trip, 1 session:      {summary(single)}")
        print(f"AGI NOOP round trip, {args.calls} sessions:   {summary(concurrent)} "
              f"(peak open sessions {peakn[0]})")
        print(f"  ratio p50 concurrent/single = "
              f"{statistics.median(concurrent) / statistics.median(single):.2f}, "
              f"p99 ratio = {pct(concurrent, 99) / pct(single, 99):.2f} (saturating load)")
        # An IVR session sends a command every few seconds, not back to back: the same
        # 100 sessions at 10 commands/s each.
        paced = await noop_phase(config, link, args.calls, 50, [0], pace=0.1)
        print(f"AGI NOOP round trip, {args.calls} sessions paced 100 ms: {summary(paced)}")
        print(f"  ratio p50 paced-concurrent/single = "
              f"{statistics.median(paced) / statistics.median(single):.2f}, "
              f"p99 ratio = {pct(paced, 99) / pct(single, 99):.2f}")

        app = IvrApp(config)
        app.deps.clock = lambda: OPEN_AT
        rendered = await app.prerender()
        peak1, peakn = [0], [0]
        one = await prompt_phase(config, link, app, 1, peak1)
        many = await prompt_phase(config, link, app, args.calls, peakn)
        print(f"answered -> first prompt (Asterisk log), 1 call:   {summary(one)}")
        print(f"answered -> first prompt (Asterisk log), {args.calls} calls: {summary(many)} "
              f"(peak open IVR sessions {peakn[0]}; {rendered} prompts pre-rendered)")
        print(f"  ratio p50 concurrent/single = "
              f"{statistics.median(many) / statistics.median(one):.2f}")
    finally:
        drain.cancel()
        await link.stop()
    return 0


async def _drain(link: AmiLink) -> None:
    while True:
        await link.next_item()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(Path(__file__).resolve().parent.parent /
                                                "config" / "demo.toml"))
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--default-sandbox", action="store_true",
                        help="run on the default sandbox (KCC_SANDBOX_DIR unset)")
    args = parser.parse_args()
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())

