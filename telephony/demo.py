"""``kcc demo``: sandbox Asterisk + the service + scripted citizens and agents.

Scripted agents are queue members ``Local/<login>@kcc-test-agent`` (they answer at once
and stay on the line until the caller hangs up). Scripted citizens (:class:`Citizens`)
call the 14 numbers from the demo klanten's phone numbers (and now and then anonymously)
and walk the IVR as citizens do: they choose their municipality on the shared number,
sometimes English, a subject by key, look up a zaak's status with its zaaknummer,
postcode and house number, ask for opening hours or the address and hang up satisfied,
request a call-back, or give up while waiting. Keys are pressed (AMI ``PlayDTMF`` on the
caller's side of the Local channel) when the IVR asks, so everything a real call does in
Asterisk (AGI, queue, ringing, bridging, hangup) really happens and the wallboard, the
screen-pops and the reports fill with realistic traffic. Ctrl-C ends the demo cleanly:
the demo's calls are hung up and the service stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import time
from dataclasses import dataclass, field
from typing import Any

from telephony import sandbox
from telephony.config import Config, load_config
from telephony.events import CallAnswered, CallEnded, CallQueued, DomainEvent
from telephony.service import KccService

log = logging.getLogger(__name__)

DEMO_CALLERS = [
    ("Zoë Şahin", "0612345678"), ("Jan de Boer", "0182123456"), ("Fatma Yılmaz", "0687654321"),
    ("Renée van Dijk", "+31180654321"), ("Ömer Çelik", "0031612121212"),
    ("Anouk Bakker", "0610101010"), ("Mustafa Doğan", "0180777888"), ("", "anonymous"),
]
SUBJECT_KEYS = ["1", "1", "2", "2", "3", "4", "5", "7"]  # burgerzaken and afval most asked


@dataclass
class Script:
    """What one citizen does: keys per IVR question, patience, talk time."""

    name: str
    number: str
    dialled: str
    keys: dict[str, list[str]] = field(default_factory=dict)
    hang_up_at: str = ""      # hang up when the IVR asks this (after a self-service answer)
    press_ones: bool = False  # keeps pressing 1: confirms a call-back number, keeps place
    patience: float = 180.0   # seconds in the queue before giving up
    talk: float = 30.0        # seconds talking once an agent answered


class Citizens:
    """Scripted citizens: builds scripts and plays them on the service's real calls."""

    def __init__(self, service: KccService, rng: random.Random) -> None:
        self.service = service
        self.rng = rng
        self.callers: list[tuple[str, str]] = list(DEMO_CALLERS)
        self.zaken: list[tuple[str, str, str]] = []
        self.scripts: dict[str, Script] = {}  # linkedid -> script
        self.tasks: set[asyncio.Task[None]] = set()
        self.made = 0
        self._base = int(time.time())

    async def load(self) -> None:
        """Callers and zaken of the demo municipality (numbers the pop recognises)."""
        rows = await self.service.pool.fetch(
            """SELECT concat_ws(' ', NULLIF(k.voornamen, ''), NULLIF(k.voorvoegsel, ''),
                                 k.achternaam) AS name, t.e164
                 FROM klanten k JOIN klant_telefoonnummers t ON t.klant_id = k.id
                WHERE k.soort = 'natuurlijk_persoon' ORDER BY k.id LIMIT 300""")
        self.callers += [(r["name"], r["e164"]) for r in rows]
        self.zaken = [(r["identificatie"], r["postcode"][:4], str(r["huisnummer"]))
                      for r in await self.service.pool.fetch(
                          """SELECT z.identificatie, k.postcode, k.huisnummer
                               FROM zaken z JOIN klanten k ON k.id = z.klant_id
                              WHERE k.postcode <> '' AND k.huisnummer IS NOT NULL
                              ORDER BY z.id LIMIT 300""")]
        self.service.ivr.deps.listeners.append(self.on_ivr)
        self.service.bus.subscribe("demo-citizens", self.on_event)

    def script(self) -> Script:
        rng = self.rng
        name, number = rng.choice(self.callers)
        number_cfg = rng.choice(self.service.config.numbers)
        s = Script(name=name, number=number, dialled=number_cfg.digits,
                   patience=rng.uniform(40, 300), talk=rng.uniform(15, 90))
        if len(number_cfg.municipalities) > 1:
            s.keys["municipality"] = [str(rng.randint(1, len(number_cfg.municipalities)))]
        if rng.random() < 0.1:
            s.keys["language"] = ["9"]
        kind = rng.choices(["subject", "zaak_status", "hours", "address", "callback",
                            "zaak_then_agent", "impatient"],
                           weights=[45, 15, 8, 5, 10, 10, 7])[0]
        if kind in ("subject", "impatient"):
            s.keys["onderwerp"] = [rng.choice(SUBJECT_KEYS)]
            if kind == "impatient":
                s.patience = rng.uniform(3, 20)
        elif kind in ("zaak_status", "zaak_then_agent") and self.zaken:
            zaak, postcode, house = rng.choice(self.zaken)
            digits = "".join(ch for ch in zaak if ch.isdigit())
            s.keys.update({"onderwerp": ["6"], "zelfservice": ["1"],
                           "zaak_number": [digits + "#"], "zaak_postcode": [postcode],
                           "zaak_house_number": [house + "#"]})
            if kind == "zaak_status":
                s.hang_up_at = "after_zaak_status"
            else:
                s.keys["after_zaak_status"] = ["0"]
        elif kind == "callback":
            s.keys.update({"onderwerp": ["6"], "zelfservice": ["4"]})
            s.press_ones = True
        else:  # hours or address, then hang up satisfied
            s.keys.update({"onderwerp": ["6"], "zelfservice": ["2" if kind == "hours"
                                                                else "3"]})
            s.hang_up_at = f"after_{kind}"
        return s

    async def call(self) -> str:
        s = self.script()
        self.made += 1
        linkedid = f"{self._base}.{900000 + self.made}"
        self.scripts[linkedid] = s
        callerid = f'"{s.name}" <{s.number}>' if s.name else "<anonymous>"
        # The citizen's side waits until the demo hangs up for them (see on_event).
        await self.service.link.action(
            "Originate", Channel=f"Local/{s.dialled}@kcc-inbound", Application="Wait",
            Data="1800", CallerID=callerid, Async="true", ChannelId=linkedid,
            OtherChannelId=f"{linkedid}1", timeout=10)
        if s.press_ones:
            self._spawn(self._press_ones(linkedid))
        return linkedid

    def _leg(self, linkedid: str) -> str:
        call = self.service.model.calls.get(linkedid)
        leg = call.legs.get(linkedid) if call else None
        return leg.channel if leg and leg.ended_at is None else ""

    async def press(self, linkedid: str, keys: str, delay: float = 0.6) -> None:
        await asyncio.sleep(delay)
        for key in keys:
            channel = self._leg(linkedid)
            if not channel:
                return
            with contextlib.suppress(Exception):
                await self.service.link.action("PlayDTMF", Channel=channel, Digit=key,
                                               Duration="120")
            await asyncio.sleep(0.25)

    async def hang_up(self, linkedid: str, delay: float = 0.0) -> None:
        await asyncio.sleep(delay)
        channel = self._leg(linkedid)
        if channel:
            with contextlib.suppress(Exception):
                await self.service.link.action("Hangup", Channel=channel, Cause="16")

    async def _press_ones(self, linkedid: str) -> None:
        """A citizen who asked for a call-back presses 1 to every question after it."""
        await asyncio.sleep(20)
        for _ in range(20):
            if not self._leg(linkedid):
                return
            await self.press(linkedid, "1", delay=2.0)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def on_ivr(self, session: Any, kind: str, where: str) -> None:
        """IVR listener: the citizen answers the question the IVR just asked."""
        s = self.scripts.get(session.linkedid)
        if s is None or kind != "ask":
            return
        if where == s.hang_up_at:
            self._spawn(self.hang_up(session.linkedid, delay=self.rng.uniform(1, 3)))
        elif s.keys.get(where):
            self._spawn(self.press(session.linkedid, s.keys[where].pop(0)))

    async def on_event(self, event: DomainEvent) -> None:
        """Bus subscriber: give up after the citizen's patience; end the talk."""
        s = self.scripts.get(event.linkedid)
        if s is None:
            return
        if isinstance(event, CallQueued):
            self._spawn(self._give_up(event.linkedid, s.patience))
        elif isinstance(event, CallAnswered):
            self._spawn(self.hang_up(event.linkedid, delay=s.talk))
        elif isinstance(event, CallEnded):
            self.scripts.pop(event.linkedid, None)

    async def _give_up(self, linkedid: str, patience: float) -> None:
        await asyncio.sleep(patience)
        call = self.service.model.calls.get(linkedid)
        if call is not None and call.answered_at is None:
            await self.hang_up(linkedid)

    async def stop(self) -> None:
        """Hang up the demo's calls still going and stop the citizens' timers."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for linkedid in list(self.scripts):
            await self.hang_up(linkedid)


async def start_demo_agents(service: KccService) -> None:
    """Demo agents in PostgreSQL (password demo-<login>), logged in through the ACD."""
    await service.acd.ensure_demo_agents()
    for agent in service.config.agents:
        if agent.queues:
            with contextlib.suppress(Exception):
                await service.acd.login(agent.login)


async def stop_demo_agents(service: KccService) -> None:
    """Log the scripted demo agents out again: Local agents left in Asterisk's queues
    would keep answering calls after the demo (and its service) stopped."""
    for agent in service.config.agents:
        if agent.queues:
            with contextlib.suppress(Exception):
                await service.acd.logout(agent.login)


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
    # Ctrl-C from the very start ends the demo through the same clean path.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    config = load_config(config_path)
    if not real_hours:
        config = always_open(config)
    from telephony.logs import setup_logging

    setup_logging(config.service.log_level)
    await asyncio.to_thread(sandbox.up, config)
    if stop.is_set():
        return 0
    service = KccService(config)
    await service.start()
    citizens = Citizens(service, random.Random())
    try:
        await service.link.wait_connected(30)
        await load_demo_municipality(service)
        await start_demo_agents(service)
        await citizens.load()
        print(banner(service), flush=True)
        while not stop.is_set() and (calls == 0 or citizens.made < calls):
            try:
                await citizens.call()
            except Exception as exc:
                log.warning("demo call failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
        if calls:
            # Let the last calls finish so their records are complete.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 30)
    finally:
        with contextlib.suppress(Exception):
            await citizens.stop()
        await stop_demo_agents(service)
        await service.stop()
    print("kcc demo stopped", flush=True)
    return 0
