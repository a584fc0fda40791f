"""Fixtures for IVR tests against the real sandbox Asterisk.

The IVR runs in-process (the same ``IvrApp`` the service builds) behind a real FastAGI
server on the config's AGI port; Asterisk's ``kcc-route`` reaches it exactly as in
production. A scripted caller is an Originate of ``Local/<14 number>@kcc-inbound``;
it presses keys with AMI ``PlayDTMF`` on its half of the Local channel when the IVR
reports that it asks something, so timing never depends on how long a prompt is.
SIPp is used where the real SIP/RTP DTMF path matters.

Run beside another sandbox with KCC_SANDBOX_DIR + KCC_TEST_CONFIG (own ports).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ivr.agi_server import AgiServer
from ivr.app import IvrApp
from ivr.session import IvrSession
from ivr.session_store import MemorySessionStore
from telephony import sandbox as sandbox_mod
from telephony.config import Config
from tests.integration.conftest import Ami, connect_ami

REPO = Path(__file__).resolve().parents[2]
# Monday 24 November 2025, 10:00 in Amsterdam: open. Sunday: closed.
OPEN_AT = datetime(2025, 11, 24, 9, 0, tzinfo=UTC)
CLOSED_AT = datetime(2025, 11, 23, 12, 0, tzinfo=UTC)

# kcc_config and sandbox: tests/conftest.py


def ivr_config(base: Config, **updates: Any) -> Config:
    """The demo config with the IVR on and quick timeouts (tests wait for every one)."""
    ivr = base.ivr
    prompts = ivr.prompts.model_copy(update={"speed": 260})
    fields: dict[str, Any] = {"enabled": True, "input_timeout": 2.0, "language_timeout": 1.0,
                              "prompts": prompts}
    fields.update(updates)
    return base.model_copy(update={"ivr": ivr.model_copy(update=fields)})


def sounds_dir() -> Path:
    """Where the sandbox Asterisk looks for sounds, on this host."""
    return sandbox_mod.sandbox_dir() / "usr/share/asterisk/sounds"


class IvrHarness:
    """The IVR behind a real FastAGI server, plus a scripted caller."""

    def __init__(self, config: Config, ami: Ami, *, clock: datetime = OPEN_AT) -> None:
        self.config = config
        self.ami = ami
        self.app = IvrApp(config)
        self.app.deps.clock = lambda: clock
        self.store = MemorySessionStore()
        self.app.route.store = self.app.callback_route.store = self.store
        self.server = AgiServer(config.service.agi_host, config.service.agi_port)
        self.server.add_route("inbound", self.app.route.handle)
        self.script: dict[str, list[str]] = {}
        self.events: list[tuple[str, str]] = []
        self.caller: str | None = None
        self.on_listen: Any = None
        self.app.deps.listeners.append(self._on_event)
        self._tasks: set[asyncio.Task[None]] = set()

    async def _on_event(self, session: IvrSession, kind: str, where: str) -> None:
        self.events.append((kind, where))
        if kind == "ask" and self.script.get(where):
            keys = self.script[where].pop(0)
            task = asyncio.create_task(self.press(keys))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if kind == "listen" and self.on_listen is not None:
            await self.on_listen()

    async def press(self, keys: str, delay: float = 0.5) -> None:
        """Keys as the caller's phone sends them (RFC 4733 through the Local channel)."""
        await asyncio.sleep(delay)
        for key in keys:
            assert self.caller is not None
            await self.ami.action({"Action": "PlayDTMF", "Channel": self.caller,
                                   "Digit": key, "Duration": "120"})
            await asyncio.sleep(0.25)

    async def call(self, number: str, name: str = "IVR Test") -> None:
        mark = self.ami.mark()
        tag = uuid.uuid4().hex[:6]
        resp = await self.ami.action({
            "Action": "Originate", "Channel": f"Local/{number}@kcc-inbound",
            "Context": "kcc-test-caller", "Exten": "s", "Priority": "1",
            "CallerID": f'"{name} {tag}" <0612345678>', "Timeout": "15000",
            "Async": "true"})
        assert resp.response == "Success", dict(resp)
        new = await self.ami.wait_event(
            "Newchannel", since=mark,
            where=lambda e: str(e.get("Channel", "")).startswith(f"Local/{number}@kcc-inbound")
            and str(e.get("Channel", "")).endswith(";1"))
        self.caller = new.get("Channel")

    async def session(self, timeout: float = 60.0) -> IvrSession:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.store.sessions:
            if loop.time() > deadline:
                raise AssertionError(f"no IVR session ended within {timeout} s; events: "
                                     f"{self.events}")
            await asyncio.sleep(0.05)
        return self.store.sessions[-1]


async def hangup_all(ami: Ami) -> None:
    resp = await ami.action({"Action": "CoreShowChannels"})
    for item in resp if isinstance(resp, list) else []:
        if item.event == "CoreShowChannel":
            with contextlib.suppress(TimeoutError):
                await ami.action({"Action": "Hangup", "Channel": item.channel}, timeout=2)


@pytest.fixture
async def ami(sandbox: str, kcc_config: Config) -> AsyncIterator[Ami]:
    manager = await connect_ami(kcc_config)
    client = Ami(manager)
    await hangup_all(client)
    try:
        yield client
    finally:
        await hangup_all(client)
        manager.close()


@contextlib.asynccontextmanager
async def running(harness: IvrHarness) -> AsyncIterator[IvrHarness]:
    await harness.app.prerender()
    await harness.server.start()
    try:
        yield harness
    finally:
        await harness.server.stop()
        assert harness.server.errors == 0, "an exception leaked out of an IVR session"
