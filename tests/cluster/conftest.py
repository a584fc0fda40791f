"""Two service instances on one sandbox Asterisk, PostgreSQL and Redis (issue 15).

The sandbox's dialplan is re-rendered for the test with both instances' FastAGI servers
(``[asterisk] agi_servers``) and put back afterwards. Instance A runs as its own process
(so a test can SIGKILL it); instance B runs in the test's event loop (its model, hub and
counters can be read directly). Both share the test database and one fresh Redis prefix.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from telephony import sandbox as sandbox_mod
from telephony.config import Config

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Harness, hangup_all  # noqa: E402
from instance import member_config  # noqa: E402

# Instance B's ports sit 100 above the test config's (the brief's offset +100 for extra
# instances), A's are the test config's own.
SHIFT_A, SHIFT_B = 0, 100


@dataclass
class Cluster:
    a_proc: asyncio.subprocess.Process
    a_config: Config
    b: Harness
    prefix: str


def _two_agi(config: Config) -> Config:
    a_port = config.service.agi_port + SHIFT_A
    b_port = config.service.agi_port + SHIFT_B
    host = config.asterisk.agi_url_host
    return config.model_copy(update={"asterisk": config.asterisk.model_copy(update={
        "agi_servers": [f"{host}:{a_port}", f"{host}:{b_port}"]})})


async def _start_a(prefix: str) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).with_name("instance.py")), prefix, "a",
        str(SHIFT_A), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        env=os.environ.copy())
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 40)
    assert line.strip() == b"ready", "instance A did not start"
    return proc


async def _no_sessions() -> None:
    """No agent logged in at the start: a nawerk an earlier test left in agent_sessions
    would be restored (as after a real restart) and pause the scripted agent."""
    import asyncpg
    from harness import TEST_DSN

    try:
        conn = await asyncpg.connect(TEST_DSN)
    except asyncpg.InvalidCatalogNameError:
        return  # a fresh machine: the service creates the database and its tables
    try:
        await conn.execute("DELETE FROM agent_sessions")
    except asyncpg.UndefinedTableError:
        pass
    finally:
        await conn.close()


@pytest.fixture
async def cluster(kcc_config: Config, sandbox: str) -> AsyncIterator[Cluster]:
    sandbox_mod.up(_two_agi(kcc_config))
    await _no_sessions()
    prefix = f"kccc{uuid.uuid4().hex[:6]}:"
    a_proc = await _start_a(prefix)
    b = Harness(member_config(kcc_config, prefix, "b", SHIFT_B))
    try:
        await b.start()
        yield Cluster(a_proc, member_config(kcc_config, prefix, "a", SHIFT_A), b, prefix)
    finally:
        try:
            await hangup_all(b)
            for login in ("anna", "mehmet", "zoe"):
                for queue in kcc_config.queues:
                    await b.agent(login, queue=queue.id, add=False)
        finally:
            await b.stop()
            if a_proc.returncode is None:
                a_proc.kill()
            await asyncio.wait_for(a_proc.wait(), 10)
            sandbox_mod.up(kcc_config)  # the dialplan as the other suites expect it
            left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            assert not left, f"tasks left running after stop: {[t.get_name() for t in left]}"
