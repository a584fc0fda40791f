"""``kcc demo``: sandbox Asterisk + the service + a trickle of scripted demo calls.

Scripted agents are queue members ``Local/<login>@kcc-test-agent`` (they answer at once
and stay on the line until the caller hangs up); scripted callers are Originates of
``Local/<14 number>@kcc-inbound`` with Dutch and Turkish names, so everything a real call
does in Asterisk (AGI, queue, ringing, bridging, hangup) really happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal

from telephony import sandbox
from telephony.config import Config, load_config
from telephony.service import KccService

log = logging.getLogger(__name__)

DEMO_CALLERS = [
    ("Zoë Şahin", "0612345678"), ("Jan de Boer", "0182123456"), ("Fatma Yılmaz", "0687654321"),
    ("Renée van Dijk", "+31180654321"), ("Ömer Çelik", "0031612121212"),
    ("Anouk Bakker", "0610101010"), ("Mustafa Doğan", "0180777888"), ("", "anonymous"),
]


async def start_demo_agents(service: KccService) -> None:
    """Demo agents in PostgreSQL (password demo-<login>), logged in through the ACD."""
    await service.acd.ensure_demo_agents()
    for agent in service.config.agents:
        if agent.queues:
            with contextlib.suppress(Exception):
                await service.acd.login(agent.login)


async def load_demo_municipality(service: KccService) -> None:
    """Synthetic klanten and zaken (same phone numbers as the demo callers) if empty."""
    from telephony.zaken.generator import load

    if not await service.pool.fetchval("SELECT count(*) FROM klanten"):
        counts = await load(service.pool, "demo")
        log.info("demo municipality loaded", extra=counts)


def always_open(config: Config) -> Config:
    """The demo runs at any hour: replace the week's hours with 00:00-24:00."""
    day = ["00:00-24:00"]
    hours = config.hours.model_copy(update={d: day for d in (
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")})
    return config.model_copy(update={"hours": hours})


async def demo_call(service: KccService, rng: random.Random) -> None:
    name, number = rng.choice(DEMO_CALLERS)
    dialled = rng.choice(service.config.numbers).digits
    callerid = f'"{name}" <{number}>' if name else "<anonymous>"
    # Long enough to sit through the IVR (no keys pressed: after its tries -> an agent).
    await service.link.action("Originate", Channel=f"Local/{dialled}@kcc-inbound",
                              Application="Wait", Data=str(rng.randint(40, 90)),
                              CallerID=callerid, Async="true", timeout=10)


def banner(service: KccService) -> str:
    c = service.config
    base = f"http://{c.service.http_host}:{c.service.http_port}"
    return "\n".join([
        "",
        f"kcc-telefonie demo — {c.kcc.name}",
        f"  agent panel {base}/   (log in as anna / demo-anna: her screen-pops appear as "
        "the scripted demo agent is offered calls)",
        f"  wallboard   {base}/wallboard   (sanne / demo-sanne)",
        f"  health      {base}/healthz",
        f"  live calls  {base}/api/calls      agents: {base}/api/agents",
        f"  metrics     {base}/metrics        API: {base}/api/openapi.json",
        f"  Asterisk    AMI {c.asterisk.ami_host}:{c.asterisk.ami_port}, "
        f"SIP udp {c.asterisk.sip_bind}:{c.asterisk.sip_port} "
        f"(call {', '.join(n.digits for n in c.numbers)})",
        "  Log in      POST /api/auth/login {\"login\": \"sanne\", \"password\": "
        "\"demo-sanne\"} (supervisor; agents anna, mehmet, zoe: demo-<login>)",
        f"  Redis       redis-cli --scan --pattern '{c.redis.prefix}*'",
        f"  PostgreSQL  psql {c.database_dsn()} -c 'select * from calls order by "
        "started_at desc limit 5'",
        "  Ctrl-C stops the demo (the sandbox Asterisk keeps running: kcc sandbox down)",
        "",
    ])


async def run_demo(config_path: str, *, calls: int = 0, interval: float = 8.0,
                   real_hours: bool = False) -> int:
    os.environ.setdefault("KCC_DEMO", "1")
    config = load_config(config_path)
    if not real_hours:
        config = always_open(config)
    from telephony.logs import setup_logging

    setup_logging(config.service.log_level)
    await asyncio.to_thread(sandbox.up, config)
    service = KccService(config)
    await service.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await service.link.wait_connected(30)
        await load_demo_municipality(service)
        await start_demo_agents(service)
        print(banner(service), flush=True)
        rng = random.Random()
        made = 0
        while not stop.is_set() and (calls == 0 or made < calls):
            try:
                await demo_call(service, rng)
                made += 1
            except Exception as exc:
                log.warning("demo call failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
        if calls:
            # Let the last calls finish so their records are complete.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 30)
    finally:
        await service.stop()
    return 0
