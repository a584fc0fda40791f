"""PostgreSQL and Redis killed under steady traffic: recovery time, records lost/doubled.

    .venv/bin/python scripts/fault_recovery.py [--calls 60] [--rate 1.0]

Real sandbox Asterisk; a PRIVATE PostgreSQL and a PRIVATE Redis (tests/integration/
private_servers.py: never the machine's shared ones), the service in-process. Scripted
callers ("Chaos <n>", 3 s, answered by two scripted agents) arrive at ``--rate``/s.
A third of the way in PostgreSQL is crashed (``pg_ctl -m immediate``) and restarted 10 s
later; two thirds in Redis is SIGKILLed and restarted 5 s later. Prints per fault:

* recovery: PostgreSQL — restart to the record spool empty; Redis — restart to /healthz
  part ``redis`` ok and the live call set in Redis equal to the model's;
* over every call placed: records lost (no row) and doubled (more than one row).

Not the full chaos run of issue 13 (Asterisk and the service killed in turn, SIPp,
call-backs): see README "Faults without loss".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from private_servers import PrivatePostgres, PrivateRedis  # noqa: E402

from telephony import sandbox  # noqa: E402
from telephony.config import Config, load_config  # noqa: E402
from telephony.service import KccService  # noqa: E402

AGENTS = ("anna", "mehmet")


async def until(predicate, timeout: float, what: str) -> float:
    """Seconds until ``predicate()`` (sync or async) holds; raises after ``timeout``."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    while loop.time() - t0 < timeout:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return loop.time() - t0
        await asyncio.sleep(0.02)
    raise SystemExit(f"{what}: not within {timeout} s")


async def run(config: Config, calls: int, rate: float) -> None:
    pg, redis = PrivatePostgres(), PrivateRedis()
    await asyncio.to_thread(pg.init)
    await asyncio.to_thread(pg.start)
    await asyncio.to_thread(redis.start)
    config = config.model_copy(update={
        "ivr": config.ivr.model_copy(update={"enabled": False}),
        "database": config.database.model_copy(update={
            "default_dsn": pg.dsn, "dsn_env": "KCC_FAULTS_NO_ENV", "write_timeout": 2.0,
            "spool_path": f"/tmp/kcc-faults-{uuid.uuid4().hex[:8]}/records.sqlite"}),
        "redis": config.redis.model_copy(update={"default_url": redis.url,
                                                 "url_env": "KCC_FAULTS_NO_ENV"}),
    })
    service = KccService(config)
    await service.start(web_enabled=False)
    tag = uuid.uuid4().hex[:4]
    figures: dict[str, float] = {}
    try:
        await service.link.wait_connected(20)
        await service.acd.ensure_demo_agents()
        for login in AGENTS:
            await service.acd.login(login)
        loop = asyncio.get_running_loop()
        start = loop.time()
        faults = asyncio.create_task(inject(service, pg, redis, calls / rate, figures))
        for n in range(calls):
            await asyncio.sleep(max(0.0, start + n / rate - loop.time()))
            await service.link.action(
                "Originate", Channel="Local/140180@kcc-inbound", Application="Wait",
                Data="3", CallerID=f'"Chaos {tag} {n}" <06123{n:05d}>', Async="true",
                timeout=10)
        await faults
        await until(lambda: not service.model.calls, 30, "all calls ended")
        await service.bus.drain(30)
        await until(lambda: service.writer.pending == 0, 30, "spool empty")
        rows = await service.pool.fetch(
            "SELECT caller_name, count(*) AS n FROM calls WHERE caller_name LIKE $1 "
            "GROUP BY caller_name", f"Chaos {tag} %")
        found = {r["caller_name"]: r["n"] for r in rows}
        names = [f"Chaos {tag} {n}" for n in range(calls)]
        lost = sum(1 for name in names if name not in found)
        doubled = sum(1 for name in names if found.get(name, 0) > 1)
        ended = await service.pool.fetchval(
            "SELECT count(*) FROM calls WHERE caller_name LIKE $1 AND ended_at IS NULL",
            f"Chaos {tag} %")
        print(f"{calls} calls at {rate}/s; PostgreSQL down 10 s, Redis down 5 s")
        print(f"PostgreSQL recovery (restart -> spool empty): {figures['pg']:.2f} s, "
              f"{figures['spooled']:.0f} writes spooled")
        print(f"Redis recovery (restart -> healthy and live set rebuilt): "
              f"{figures['redis']:.2f} s")
        print(f"records lost: {lost}, doubled: {doubled}, left open: {ended}")
    finally:
        for login in AGENTS:
            try:
                await service.acd.logout(login)
            except Exception:  # the figures matter more than this cleanup
                pass
        await service.stop()
        await asyncio.to_thread(redis.destroy)
        await asyncio.to_thread(pg.destroy)


async def inject(service: KccService, pg: PrivatePostgres, redis: PrivateRedis,
                 seconds: float, figures: dict[str, float]) -> None:
    await asyncio.sleep(seconds / 3)
    await asyncio.to_thread(pg.crash)
    await asyncio.sleep(10)
    figures["spooled"] = service.writer.pending
    await asyncio.to_thread(pg.start)
    figures["pg"] = await until(lambda: service.writer.pending == 0, 60, "spool replay")
    await asyncio.sleep(max(0.0, seconds / 3 - 10))
    await asyncio.to_thread(redis.kill)
    await asyncio.sleep(5)
    await asyncio.to_thread(redis.start)
    assert service.redis is not None

    async def rebuilt() -> bool:
        health = await service.health()
        if not health["checks"]["redis"]["ok"]:
            return False
        live = await service.redis.r.smembers(f"{service.redis.p}calls")
        return set(live) == set(service.model.calls)

    figures["redis"] = await until(rebuilt, 60, "redis rebuilt")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--rate", type=float, default=1.0)
    parser.add_argument("--config", default=os.environ.get("KCC_TEST_CONFIG")
                        or str(ROOT / "config" / "demo.toml"))
    args = parser.parse_args()
    os.environ.setdefault("KCC_DEMO", "1")
    config = load_config(args.config)
    sandbox.up(config)
    asyncio.run(run(config, args.calls, args.rate))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
