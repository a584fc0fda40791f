"""Scripted supervisor traffic through the real sandbox Asterisk (issue 14's test day).

One of each thing a supervisor must see counted right, on queue ``algemeen`` (service
level 5 s, short abandon 2 s, wrap-up 2 s in :func:`figures_config`):

* ``short``     — gives up after 0.5 s, no agent: a short abandon;
* ``abandon``   — gives up after 4 s, no agent: an abandon;
* ``late``      — answered after ~7 s (zoe logs in then): outside the service level;
* ``quick``     — answered at once by zoe: within the service level;
* ``transfer``  — answered by zoe, transferred through the API to burgerzaken (anna),
  then a second transfer in the dialplan is refused by the limit: 1 transfer, 1 refused;
  counted in burgerzaken, the queue that answered it last;
* ``callback``  — no agent; presses 1 in the queue, keeps their place and hangs up (not an
  abandon); zoe logs in, the call-back reaches the citizen: a reached call-back.

Callers go straight into the queue (``Local/<queue>@kcc-queue``; the IVR's menus have
their own tests) with Dutch caller IDs in several spellings, so the records also show the
normalised numbers.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from harness import Harness, _test_config, wait_for

from telephony.acd.transfer import agent_leg
from telephony.config import Config
from tests.callbacks.cbharness import cb_config


def figures_config(base: Config, dsn: str) -> Config:
    """Short thresholds so the day fits in a test; its own database; IVR prompts on (the
    call-back offer in the queue speaks)."""
    cfg = cb_config(base)
    queues = [q.model_copy(update={"wrapup_seconds": 2,
                                   "service_level_seconds": 5 if q.id == "algemeen"
                                   else q.service_level_seconds}) for q in cfg.queues]
    return cfg.model_copy(update={
        "queues": queues,
        "acd": cfg.acd.model_copy(update={"short_abandon_seconds": 2}),
        "database": cfg.database.model_copy(update={"default_dsn": dsn}),
        "ivr": base.ivr.model_copy(update={"enabled": True, "prompts": base.ivr.prompts.
                                           model_copy(update={"speed": 260})}),
    })


@dataclass
class Day:
    started: float = field(default_factory=time.time)
    calls: dict[str, str] = field(default_factory=dict)  # kind -> linkedid
    callback_id: int = 0


class Traffic:
    def __init__(self, h: Harness) -> None:
        self.h = h
        self.link = h.service.link
        self.day = Day()

    async def caller(self, kind: str, number: str, *, wait: int | None = None,
                     queue: str = "algemeen", give_up: float | None = None) -> Any:
        """A citizen into ``queue``: talks ``wait`` s once answered (None: until hung up),
        or hangs up after ``give_up`` s in the queue (a queue call is not answered before
        an agent takes it, so the talk timer cannot time the giving up)."""
        name = f"Burger {kind}"
        fields: dict[str, str] = {"Channel": f"Local/{queue}@kcc-queue",
                                  "CallerID": f'"{name}" <{number}>', "Async": "true"}
        if wait is None:
            fields.update(Context="kcc-test-caller", Exten="s", Priority="1")
        else:
            fields.update(Application="Wait", Data=str(wait))
        await self.link.action("Originate", timeout=10, **fields)
        call = await wait_for(lambda: next(
            (c for c in self.h.service.model.calls.values()
             if c.caller_name == name and c.queued_at), None), what=f"{kind} queued")
        self.day.calls[kind] = call.linkedid
        if give_up is not None:
            await asyncio.sleep(max(0.0, call.queued_at + give_up - time.time()))
            await self.link.action("Hangup", Channel=self.citizen_leg(call), Cause="16")
        return call

    @staticmethod
    def citizen_leg(call: Any) -> str:
        return next(leg.channel for leg in call.legs.values()
                    if "@kcc-queue" in leg.channel and leg.channel.endswith(";1"))

    async def ended(self, kind: str, timeout: float = 30) -> None:
        linkedid = self.day.calls[kind]
        await wait_for(lambda: linkedid not in self.h.service.model.calls, timeout=timeout,
                       what=f"{kind} ended")

    async def available(self, login: str, timeout: float = 20) -> None:
        await wait_for(lambda: self.h.service.acd.state_of(login)["state"] == "available",
                       timeout=timeout, what=f"{login} available")

    async def run(self) -> Day:
        svc = self.h.service
        await self.caller("short", "0612340011", give_up=0.5)
        await self.ended("short")
        await self.caller("abandon", "0031612340012", give_up=4)
        await self.ended("abandon")

        late = await self.caller("late", "+31612340013", wait=12)
        await wait_for(lambda: time.time() - late.queued_at >= 7, timeout=15, what="7 s")
        await svc.acd.login("zoe")
        await wait_for(lambda: late.answered_by == "zoe", what="late answered")
        await self.ended("late")
        await self.available("zoe")

        quick = await self.caller("quick", "06-12340014", wait=4)
        await wait_for(lambda: quick.answered_by == "zoe", what="quick answered")
        await self.ended("quick")
        await self.available("zoe")

        await self.transfers()
        await self.available("zoe")
        await svc.acd.logout("zoe")
        await svc.acd.logout("anna")
        await self.callback()
        return self.day

    async def transfers(self) -> None:
        svc = self.h.service
        call = await self.caller("transfer", "0612340015")
        await wait_for(lambda: call.answered_by == "zoe", what="transfer answered")
        await wait_for(lambda: agent_leg(svc.model, call, "zoe"), what="zoe bridged")
        await svc.acd.login("anna")
        await wait_for(lambda: "burgerzaken" in svc.acd.state_of("anna")["queues"],
                       what="anna in burgerzaken")
        url = (f"http://127.0.0.1:{self.h.config.service.http_port}"
               f"/api/calls/{call.linkedid}/transfer")
        headers = {"Authorization": f"Bearer {await self.h.token('zoe')}"}
        async with aiohttp.ClientSession(headers=headers) as http, \
                http.post(url, json={"to": "burgerzaken", "note": "vraag over een paspoort",
                                     "reason": "specialist burgerzaken"}) as resp:
            assert resp.status == 200, await resp.text()
        await wait_for(lambda: agent_leg(svc.model, call, "anna"), what="anna has the call")
        before = agent_leg(svc.model, call, "anna")
        await self.link.action("BlindTransfer", Channel=before, Context="kcc-transfer",
                               Exten="algemeen")
        await wait_for(lambda: call.transfers[-1].get("refused") == "limit", what="refused")
        await wait_for(lambda: agent_leg(svc.model, call, "anna") not in ("", before),
                       what="back with anna")
        await asyncio.sleep(1.0)
        await self.link.action("Hangup", Channel=self.citizen_leg(call), Cause="16")
        await self.ended("transfer")

    async def callback(self) -> None:
        from tests.callbacks.test_virtual_hold import Caller

        svc = self.h.service
        caller = Caller(self.h)  # type: ignore[arg-type]
        await caller.call("0612340001", name="Burger callback")
        self.day.calls["callback"] = caller.call_record.linkedid
        await asyncio.sleep(1)
        await caller.press("1")
        await caller.when_asked("confirm_number", "1")
        await caller.when_asked("choose_when", "1")
        await self.ended("callback")
        assert svc.callbacks.store is not None
        rows = await wait_for(lambda: svc.callbacks.store.waiting(), what="call-back stored")
        self.day.callback_id = rows[0]["id"]
        await svc.acd.login("zoe")

        async def done() -> bool:
            row = await svc.callbacks.store.get(self.day.callback_id)
            return bool(row and row["status"] == "done")
        await wait_for(done, timeout=60, what="call-back done")
        await wait_for(lambda: not svc.model.calls, timeout=30, what="call-back call over")


async def start_service(config: Config) -> Harness:
    h = Harness(config)
    await h.start()
    d = h.service.callbacks.dispatcher
    assert d is not None
    d.is_open = lambda now: True       # the day may be run at any hour
    d.next_open = lambda at: at
    return h


__all__ = ["Day", "Traffic", "_test_config", "figures_config", "start_service"]
