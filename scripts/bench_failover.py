"""FastAGI failover between service instances: how long a new call waits when the first
instance in ``[asterisk] agi_servers`` is dead.

    .venv/bin/python scripts/bench_failover.py [--config FILE] [--calls N]

The sandbox's dialplan gets two FastAGI servers: A (the config's ``agi_port``, NOT
running: a killed instance leaves its port closed) and B (``agi_port + 100``, a service
instance started here on the test database and a fresh Redis prefix). For each call,
originated into ``kcc-inbound``: the time until B's FastAGI session starts. The same with
B first in the list gives the time without failover; the difference is what failover
costs. The dialplan is put back at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "cluster"))

from instance import member_config  # noqa: E402

from telephony import sandbox  # noqa: E402
from telephony.config import Config, load_config  # noqa: E402
from telephony.service import KccService  # noqa: E402


def with_agi(config: Config, ports: list[int]) -> Config:
    host = config.asterisk.agi_url_host
    return config.model_copy(update={"asterisk": config.asterisk.model_copy(update={
        "agi_servers": [f"{host}:{p}" for p in ports]})})


async def time_calls(service: KccService, calls: int) -> list[float]:
    out = []
    for _ in range(calls):
        before = service.agi.sessions
        t0 = time.perf_counter()
        await service.link.action("Originate", Channel="Local/140180@kcc-inbound",
                                  Application="Wait", Data="1", Async="true",
                                  CallerID='"Failover" <0612345678>', timeout=10)
        while service.agi.sessions == before:
            if time.perf_counter() - t0 > 10:
                raise SystemExit("no FastAGI session on B within 10 s")
            await asyncio.sleep(0.001)
        out.append((time.perf_counter() - t0) * 1000)
        await asyncio.sleep(1.5)  # let the call end
    return out


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=os.environ.get("KCC_TEST_CONFIG",
                                                           str(ROOT / "config" / "demo.toml")))
    parser.add_argument("--calls", type=int, default=10)
    args = parser.parse_args()
    os.environ.setdefault("KCC_DEMO", "1")
    base = load_config(args.config)
    a_port, b_port = base.service.agi_port, base.service.agi_port + 100
    service = KccService(member_config(base, f"kccf{uuid.uuid4().hex[:6]}:", "b", 100))
    try:
        sandbox.up(with_agi(base, [b_port]))
        await service.start()
        await service.link.wait_connected(20)
        direct = await time_calls(service, args.calls)
        sandbox.up(with_agi(base, [a_port, b_port]))
        failover = await time_calls(service, args.calls)
    finally:
        await service.stop()
        sandbox.up(base)
    print(f"originate -> FastAGI session on B, {args.calls} calls each, median (max) ms")
    print(f"B first in agi_servers      : {statistics.median(direct):7.1f} ({max(direct):.1f})")
    print(f"A dead, B second (failover) : {statistics.median(failover):7.1f} "
          f"({max(failover):.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
