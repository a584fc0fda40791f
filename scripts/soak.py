"""Soak: the service under steady traffic for a long time; does anything grow?

    .venv/bin/python scripts/soak.py [--minutes 60] [--rate 1.0] [--config FILE]

Real sandbox Asterisk, PostgreSQL and Redis, the service in-process (HTTP on). Scripted
callers (``Local/140180@kcc-inbound``, 4 s each) arrive at ``--rate`` per second and are
answered by scripted agents (``Local/<login>@kcc-test-agent``). Every 5 s it samples the
process's RSS (/proc/self/status), open file descriptors (/proc/self/fd), asyncio tasks,
and event-loop lag (a 50 ms timer's lateness, p99 per window). Prints the first and the
last minute side by side, and the least-squares slope of RSS over the run (MB/h).
``tests/integration/test_soak.py`` runs a one-minute form and asserts no growth trend.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from telephony import sandbox  # noqa: E402
from telephony.config import Config, load_config  # noqa: E402
from telephony.service import KccService  # noqa: E402

AGENTS = ("anna", "mehmet")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@dataclass
class Sample:
    at: float
    rss_mb: float
    fds: int
    tasks: int
    lag_p99_ms: float


@dataclass
class SoakResult:
    samples: list[Sample] = field(default_factory=list)
    calls: int = 0
    ended: int = 0

    def window(self, first: bool, seconds: float = 60.0) -> list[Sample]:
        if not self.samples:
            return []
        if first:
            t0 = self.samples[0].at
            return [s for s in self.samples if s.at - t0 <= seconds]
        t1 = self.samples[-1].at
        return [s for s in self.samples if t1 - s.at <= seconds]

    def rss_slope_mb_per_hour(self) -> float:
        xs = [s.at for s in self.samples]
        ys = [s.rss_mb for s in self.samples]
        if len(xs) < 3:
            return 0.0
        return statistics.linear_regression(xs, ys).slope * 3600


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))] if ordered else 0.0


async def soak(config: Config, seconds: float, rate: float, sample_every: float = 5.0,
               ) -> SoakResult:
    """Run the service under traffic for ``seconds``; the samples and call counts."""
    service = KccService(config)
    await service.start()
    result = SoakResult()
    lags: list[float] = []
    stop = asyncio.Event()

    async def lag_probe() -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            t0 = loop.time()
            await asyncio.sleep(0.05)
            lags.append((loop.time() - t0 - 0.05) * 1000)

    all_ended = asyncio.Event()

    async def count(event):
        if event.name == "call.ended":
            result.ended += 1
            if result.ended >= result.calls:
                all_ended.set()

    service.bus.subscribe("soak", count)
    probe = asyncio.create_task(lag_probe())
    try:
        await service.link.wait_connected(20)
        await service.acd.ensure_demo_agents()
        for login in AGENTS:
            await service.acd.login(login)
        loop = asyncio.get_running_loop()
        start = loop.time()
        next_call = start
        next_sample = start
        while loop.time() - start < seconds:
            now = loop.time()
            if now >= next_call:
                result.calls += 1
                await service.link.action(
                    "Originate", Channel="Local/140180@kcc-inbound", Application="Wait",
                    Data="4", CallerID=f'"Soak {result.calls}" <0612345678>', Async="true",
                    timeout=10)
                next_call += 1.0 / rate
            if now >= next_sample:
                window, lags[:] = list(lags), []
                result.samples.append(Sample(time.time(), rss_mb(), open_fds(),
                                             len(asyncio.all_tasks()), p99(window)))
                next_sample += sample_every
            await asyncio.sleep(min(next_call, next_sample) - loop.time())
        # let the last calls end (at most 15 s) before the final figures
        all_ended.clear()
        if result.ended < result.calls:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_ended.wait(), 15)
    finally:
        stop.set()
        await probe
        for login in AGENTS:
            try:
                await service.acd.logout(login)
            except Exception:  # the report still matters more than this cleanup
                pass
        await service.stop()
    return result


def summary(result: SoakResult) -> str:
    first, last = result.window(True), result.window(False)

    def med(samples: list[Sample], attr: str) -> float:
        return statistics.median(getattr(s, attr) for s in samples) if samples else 0.0

    minutes = (result.samples[-1].at - result.samples[0].at) / 60 if result.samples else 0
    return "\n".join([
        f"soak {minutes:.1f} min, {result.calls} calls placed, {result.ended} ended",
        f"{'':14}{'first minute':>14}{'last minute':>14}",
        f"{'RSS MB':14}{med(first, 'rss_mb'):14.1f}{med(last, 'rss_mb'):14.1f}",
        f"{'open fds':14}{med(first, 'fds'):14.0f}{med(last, 'fds'):14.0f}",
        f"{'asyncio tasks':14}{med(first, 'tasks'):14.0f}{med(last, 'tasks'):14.0f}",
        f"{'loop lag p99':14}{med(first, 'lag_p99_ms'):12.1f}ms{med(last, 'lag_p99_ms'):12.1f}ms",
        f"RSS slope over the run: {result.rss_slope_mb_per_hour():+.2f} MB/h",
    ])


def soak_config(config: Config, database: str) -> Config:
    return config.model_copy(update={
        "ivr": config.ivr.model_copy(update={"enabled": False}),
        "database": config.database.model_copy(update={
            "default_dsn": f"postgresql://postgres@127.0.0.1:5432/{database}",
            "dsn_env": "KCC_SOAK_NO_ENV",
            "spool_path": f"/tmp/kcc-soak-{uuid.uuid4().hex[:8]}/records.sqlite"}),
        "redis": config.redis.model_copy(update={"prefix": f"kccsoak{uuid.uuid4().hex[:4]}:",
                                                 "url_env": "KCC_SOAK_NO_ENV"}),
    })


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=1.0, help="calls per second")
    parser.add_argument("--config", default=os.environ.get("KCC_TEST_CONFIG")
                        or str(ROOT / "config" / "demo.toml"))
    parser.add_argument("--database", default="kcc_soak")
    args = parser.parse_args()
    os.environ.setdefault("KCC_DEMO", "1")
    config = soak_config(load_config(args.config), args.database)
    sandbox.up(config)
    result = asyncio.run(soak(config, args.minutes * 60, args.rate))
    print(summary(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
