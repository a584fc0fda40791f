"""Fixtures for tests against the real sandbox Asterisk 22 (``telephony.sandbox``).

The sandbox is brought up once per session. When it cannot be brought up the tests FAIL:
a skipped integration suite looks green in CI while nothing was tested.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from panoramisk import Manager
from panoramisk.message import Message

from telephony.config import Config

REPO = Path(__file__).resolve().parents[2]
LIST_ACTIONS = {"CoreShowChannels", "BridgeList", "BridgeInfo", "QueueStatus",
                "QueueSummary"}

# kcc_config and sandbox: tests/conftest.py


class Ami:
    """A connected panoramisk Manager plus an in-order record of every event.

    panoramisk dispatches events to callbacks without ordering guarantees and has no
    per-action timeout (some responses never complete, see the pitfalls notes): tests
    go through ``action`` (always bounded) and ``wait_event`` instead.
    """

    def __init__(self, manager: Manager):
        self.manager = manager
        self.events: list[Message] = []
        self._changed = asyncio.Event()
        manager.register_event("*", self._on_event)

    def _on_event(self, _manager: Manager, event: Message) -> None:
        self.events.append(event)
        self._changed.set()

    async def action(self, action: dict[str, str], timeout: float = 5.0) -> Any:
        """Send ``action``; its response (a Message, or a list for event lists).

        panoramisk guesses "more messages follow" from the response text and then waits
        for ever on QueueAdd ("Added ... to queue") and async Originate: only the
        event-list actions are allowed to collect a list.
        """
        as_list = None if action["Action"] in LIST_ACTIONS else False
        future = self.manager.send_action(dict(action), as_list=as_list)
        return await asyncio.wait_for(future, timeout)

    def find(self, name: str, since: int = 0,
             where: Callable[[Message], bool] | None = None) -> list[Message]:
        return [e for e in self.events[since:]
                if e.event == name and (where is None or where(e))]

    async def wait_event(self, name: str, timeout: float = 10.0, since: int = 0,
                         where: Callable[[Message], bool] | None = None) -> Message:
        """The first event ``name`` (after index ``since``) for which ``where`` holds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = self.find(name, since, where)
            if found:
                return found[0]
            left = deadline - loop.time()
            if left <= 0:
                seen = sorted({e.event for e in self.events[since:]})
                raise AssertionError(f"no {name} event within {timeout} s; saw: {seen}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                pass

    def mark(self) -> int:
        return len(self.events)


async def connect_ami(config: Config, username: str | None = None,
                      secret: str | None = None) -> Manager:
    """Log in with panoramisk; raises AssertionError when the login is refused."""
    a = config.asterisk
    manager = Manager(loop=asyncio.get_running_loop(), host=a.ami_host, port=a.ami_port,
                      username=username or a.ami_user, secret=secret or config.ami_secret(),
                      ping_delay=60, ping_interval=60, events="on")
    # panoramisk reconnects for ever after close(); a test's connection must just end.
    manager.connection_lost = lambda exc: None
    await asyncio.wait_for(manager.connect(), 5)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while manager.authenticated_future is None and not manager.authenticated:
        if loop.time() > deadline:
            raise AssertionError("AMI login was never sent")
        await asyncio.sleep(0.01)
    if manager.authenticated_future is not None:
        await asyncio.wait_for(asyncio.shield(manager.authenticated_future), 5)
        await asyncio.sleep(0)
    return manager


@pytest.fixture
def ami_connect() -> Callable[..., Any]:
    """``connect_ami`` for tests (this directory is not a package to import it from)."""
    return connect_ami


@pytest.fixture
async def ami(sandbox: str, kcc_config: Config) -> AsyncIterator[Ami]:
    manager = await connect_ami(kcc_config)
    assert manager.authenticated, "AMI login with the configured (limited) user failed"
    client = Ami(manager)
    try:
        yield client
    finally:
        manager.close()


@pytest.fixture
async def harness(kcc_config: Config, sandbox: str) -> AsyncIterator[Any]:
    """The service on the sandbox, with scripted agents cleaned out of every queue after."""
    import asyncpg
    from harness import TEST_DSN, Harness, _test_config, hangup_all

    # Each test starts with no agent logged in: a wrap-up an earlier test's call left in
    # agent_sessions would otherwise be restored (as after a real restart) and pause the
    # scripted agent this test adds.
    try:
        conn = await asyncpg.connect(TEST_DSN)
    except asyncpg.InvalidCatalogNameError:
        pass  # a fresh machine: the service creates the database and its tables
    else:
        try:
            await conn.execute("DELETE FROM agent_sessions")
        except asyncpg.UndefinedTableError:
            pass
        finally:
            await conn.close()
    h = Harness(_test_config(kcc_config))
    await h.start()
    try:
        yield h
    finally:
        try:
            await hangup_all(h)
            for login in ("anna", "mehmet", "zoe"):
                for queue in kcc_config.queues:
                    await h.agent(login, queue=queue.id, add=False)
        finally:
            await h.stop()  # always: a service left running holds the FastAGI port
