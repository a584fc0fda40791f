"""PostgreSQL and Redis killed under steady traffic: recovery time, records lost/doubled.

    .venv/bin/python scripts/fault_recovery.py [--calls 60] [--rate 1.0]

Real sandbox Asterisk; a PRIVATE PostgreSQL and a PRIVATE Redis (tests/integration/
private_servers.py: never the machine's shared ones), the service in-process. Scripted
callers ("Chaos <n>", 3 s, answered by two scripted agents) arrive at ``--rate``/s.
Callers are placed over a separate AMI connection, so traffic goes on while the service
is away. In turn, a fifth of the run apart: PostgreSQL crashed (``pg_ctl -m immediate``)
and restarted 10 s later; Redis SIGKILLed and restarted 5 s later; Asterisk SIGKILLed
and brought up again; the service stopped and a new instance started. Prints per fault:

* recovery: PostgreSQL — restart to the record spool empty; Redis — restart to /healthz
  part ``redis`` ok and the live call set in Redis equal to the model's; Asterisk — up
  again to AMI logged in and resynced; service — new instance start to AMI resynced;
* over every call placed: records lost (no row), doubled (more than one row), left open,
  and how many were marked ``end_reason = 'system'``.

Not yet the full chaos run of issue 13 (SIPp through the trunk, the IVR, call-backs
booked): see README "Faults without loss".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from private_servers import PrivatePostgres, PrivateRedis  # noqa: E402

from telephony import sandbox  # noqa: E402
from telephony.ami.link import AmiError, AmiLink, AmiUnavailable  # noqa: E402
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
    a = config.asterisk
    traffic = AmiLink(a.ami_host, a.ami_port, a.ami_user, config.ami_secret())
    traffic.start()
    box = {"service": KccService(config)}
    await box["service"].start(web_enabled=False)
    tag = uuid.uuid4().hex[:4]
    placed: list[str] = []
    figures: dict[str, float] = {}
    try:
        service = box["service"]
        await service.link.wait_connected(20)
        await traffic.wait_connected(20)
        await service.acd.ensure_demo_agents()
        for login in AGENTS:
            await service.acd.login(login)
        loop = asyncio.get_running_loop()
        start = loop.time()
        faults = asyncio.create_task(inject(box, config, pg, redis, calls / rate, figures))
        for n in range(calls):
            await asyncio.sleep(max(0.0, start + n / rate - loop.time()))
            name = f"Chaos {tag} {n}"
            try:
                await traffic.action(
                    "Originate", Channel="Local/140180@kcc-inbound", Application="Wait",
                    Data="3", CallerID=f'"{name}" <06123{n:05d}>', Async="true", timeout=10)
                placed.append(name)
            except (AmiUnavailable, AmiError, TimeoutError):
                pass  # Asterisk is down: this caller never existed
        await faults
        service = box["service"]
        await until(lambda: not service.model.calls, 30, "all calls ended")
        await service.bus.drain(30)
        await until(lambda: service.writer.pending == 0, 30, "spool empty")
        rows = await service.pool.fetch(
            "SELECT caller_name, count(*) AS n, bool_and(ended_at IS NOT NULL) AS closed, "
            "string_agg(DISTINCT end_reason, ',') AS why FROM calls "
            "WHERE caller_name LIKE $1 GROUP BY caller_name", f"Chaos {tag} %")
        found = {r["caller_name"]: r for r in rows}
        lost = sum(1 for name in placed if name not in found)
        doubled = sum(1 for name in placed if name in found and found[name]["n"] > 1)
        open_ = sum(1 for r in rows if not r["closed"])
        system = sum(1 for r in rows if r["why"] == "system")
        print(f"{len(placed)} calls placed at {rate}/s (of {calls}; the rest while "
              f"Asterisk was down)")
        for fault, what in (("pg", "PostgreSQL crash, down 10 s (restart -> spool empty)"),
                            ("redis", "Redis SIGKILL, down 5 s (restart -> healthy, live "
                                      "set rebuilt)"),
                            ("asterisk", "Asterisk SIGKILL (sandbox up -> AMI resynced)"),
                            ("service", "service stop/start (start -> AMI resynced)")):
            print(f"  {what}: recovery {figures[fault]:.2f} s")
        print(f"  {figures['spooled']:.0f} record writes spooled during the PostgreSQL outage")
        print(f"records lost: {lost}, doubled: {doubled}, left open: {open_}; "
              f"marked 'system' (cut by the Asterisk crash): {system}")
    finally:
        service = box["service"]
        for login in AGENTS:
            try:
                await service.acd.logout(login)
            except Exception:  # the figures matter more than this cleanup
                pass
        await service.stop()
        await traffic.stop()
        await asyncio.to_thread(redis.destroy)
        await asyncio.to_thread(pg.destroy)


async def inject(box: dict[str, KccService], config: Config, pg: PrivatePostgres,
                 redis: PrivateRedis, seconds: float, figures: dict[str, float]) -> None:
    step = seconds / 5
    await asyncio.sleep(step)
    service = box["service"]
    await asyncio.to_thread(pg.crash)
    await asyncio.sleep(10)
    figures["spooled"] = service.writer.pending
    await asyncio.to_thread(pg.start)
    figures["pg"] = await until(lambda: service.writer.pending == 0, 60, "spool replay")
    await asyncio.sleep(max(0.0, step - 10))
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
    await asyncio.sleep(max(0.0, step - 5))
    connects = service.link.connects
    for pid in sandbox.asterisk_pids():
        os.kill(pid, signal.SIGKILL)
    await asyncio.to_thread(sandbox.down)
    await asyncio.to_thread(sandbox.up, config)
    t0 = asyncio.get_running_loop().time()
    await until(lambda: service.link.connects > connects and service.link.connected, 60,
                "AMI back")
    figures["asterisk"] = asyncio.get_running_loop().time() - t0
    # the agents came back with Asterisk (persistentmembers): no re-login needed
    await asyncio.sleep(step)
    await service.stop()
    t0 = asyncio.get_running_loop().time()
    box["service"] = fresh = KccService(config)
    await fresh.start(web_enabled=False)
    await fresh.link.wait_connected(30)
    figures["service"] = asyncio.get_running_loop().time() - t0


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
