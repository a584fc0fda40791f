"""Shared harness for integration tests: one service instance on the real sandbox.

Each test gets its own Redis key prefix and shares one test database
(``KCC_TEST_DATABASE``, default kcc_test), dropped at the start of a test session.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from telephony.config import Config
from telephony.events import CallEnded
from telephony.service import KccService

NAME = "Zoë Şahin-Çelik"
SIPP_UAC = Path(__file__).resolve().parents[2] / "scripts" / "sipp" / "kcc_uac.xml"
TEST_DB = os.environ.get("KCC_TEST_DATABASE") or "kcc_test"
TEST_DSN = f"postgresql://postgres@127.0.0.1:5432/{TEST_DB}"
NAME = "Zoë Şahin-Çelik"


def _test_config(config: Config, http_offset: int = 101) -> Config:
    http_port = config.service.http_port + http_offset
    prefix = f"kcct{uuid.uuid4().hex[:6]}:"
    return config.model_copy(update={
        # The IVR has its own tests (tests/ivr); here calls go straight to a queue.
        "ivr": config.ivr.model_copy(update={"enabled": False}),
        "service": config.service.model_copy(update={"http_port": http_port}),
        # Its own record spool: another test's leftovers must not replay into this one.
        "database": config.database.model_copy(update={
            "default_dsn": TEST_DSN, "dsn_env": "KCC_TEST_NO_SUCH_ENV",
            "spool_path": os.path.join(tempfile.mkdtemp(prefix="kcc-spool-"),
                                       "records.sqlite")}),
        "redis": config.redis.model_copy(update={"prefix": prefix,
                                                 "url_env": "KCC_TEST_NO_SUCH_ENV"}),
    })


async def wait_for(predicate: Callable[[], object], timeout: float = 15.0,
                   what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if isinstance(value, Awaitable):
            # One probe that never answers (a page.evaluate whose promise never settles)
            # must fail the wait at its deadline, not hang the suite.
            try:
                value = await asyncio.wait_for(value, max(deadline - time.monotonic(), 0.5))
            except TimeoutError:
                break
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Harness:
    """One service instance plus handles to inspect what it wrote."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.service = KccService(config)
        self.ended: list[CallEnded] = []

    async def start(self) -> None:
        await self.service.start()

        async def collect(event):
            if isinstance(event, CallEnded):
                self.ended.append(event)

        self.service.bus.subscribe("test-collector", collect)
        await self.service.acd.ensure_demo_agents()
        await self.service.link.wait_connected(20)

    async def token(self, login: str = "sanne") -> str:
        result = await self.service.sessions.issue(login, (await self.service.agents_repo.get(
            login)).role)
        return result

    async def stop(self) -> None:
        """Stop the service; a stop that hangs fails within a minute and shows where
        every task was waiting (instead of the suite hanging until CI's limit)."""
        try:
            await asyncio.wait_for(self.service.stop(), 60)
        except TimeoutError:
            stacks = []
            for task in asyncio.all_tasks():
                frames = task.get_stack(limit=8)
                where = " <- ".join(f"{f.f_code.co_filename.rsplit('/', 2)[-1]}:{f.f_lineno}"
                                    f" {f.f_code.co_name}" for f in reversed(frames))
                stacks.append(f"{task.get_name()}: {where}")
            raise AssertionError("service stop hung for 60 s; tasks:\n"
                                 + "\n".join(stacks)) from None

    async def caller(self, number: str = "140180", wait: int = 6,
                     name: str = NAME, cid: str = "0612345678") -> None:
        await self.service.link.action(
            "Originate", Channel=f"Local/{number}@kcc-inbound", Application="Wait",
            Data=str(wait), CallerID=f'"{name}" <{cid}>', Async="true", timeout=10)

    async def agent(self, login: str, queue: str = "algemeen", add: bool = True) -> None:
        iface = f"Local/{login}@kcc-test-agent"
        if add:
            try:
                await self.service.link.action("QueueAdd", Queue=queue, Interface=iface,
                                               MemberName=login, Penalty="0",
                                               Paused="false")
            except Exception as exc:  # left over from an earlier test: fine
                if "Already there" not in str(exc):
                    raise
        else:
            try:
                await self.service.link.action("QueueRemove", Queue=queue, Interface=iface)
            except Exception:
                pass

    async def answered_call(self, name: str, login: str = "anna", wait: int = 8):
        """A scripted caller ``name`` answered by scripted agent ``login``; returns the
        call once the agent's leg is bridged with the caller (ready to transfer)."""
        from telephony.acd.transfer import agent_leg

        await self.agent(login)
        await self.caller(wait=wait, name=name)
        call = await wait_for(lambda: self.inbound_call(name), what="call")
        await wait_for(lambda: call.answered_by == login, what=f"answered by {login}")
        await wait_for(lambda: agent_leg(self.service.model, call, login), what="bridged")
        return call

    def inbound_call(self, name: str = NAME):
        calls = [c for c in self.service.model.calls.values()
                 if c.direction == "inbound" and c.caller_name == name]
        return calls[0] if calls else None

    async def row(self, linkedid: str) -> dict | None:
        async with self.service.pool.acquire() as conn:
            row = await conn.fetchrow("SELECT * FROM calls WHERE linkedid = $1", linkedid)
        return dict(row) if row else None




async def hangup_all(h: Harness) -> None:
    """Test isolation: no call of an earlier test may keep an agent busy."""
    import contextlib

    with contextlib.suppress(Exception):
        await h.service.link.action("Hangup", Channel="/^Local\\//", Cause="16")
    # Best effort: a leftover leg must not fail the test or skip the teardown after it.
    with contextlib.suppress(AssertionError):
        await wait_for(lambda: not h.service.model.calls, timeout=10, what="all calls gone")
