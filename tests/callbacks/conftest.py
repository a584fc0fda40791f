"""Fixtures for callback tests against the real sandbox Asterisk, PostgreSQL and Redis.

Reuses tests/integration/harness.py (put on sys.path: that directory is not a package).
Run with your own sandbox: KCC_SANDBOX_DIR, KCC_TEST_CONFIG, KCC_TEST_DATABASE.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from telephony import sandbox as sandbox_mod
from telephony.config import Config, load_config

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
DEMO_CONFIG = Path(os.environ.get("KCC_TEST_CONFIG") or REPO / "config" / "demo.toml")

from harness import TEST_DSN  # noqa: E402


@pytest.fixture(scope="session")
def kcc_config() -> Config:
    os.environ["KCC_DEMO"] = "1"
    return load_config(DEMO_CONFIG)


@pytest.fixture(scope="session")
def sandbox(kcc_config: Config) -> str:
    try:
        return sandbox_mod.up(kcc_config)
    except sandbox_mod.SandboxError as exc:
        pytest.fail(f"the sandbox Asterisk could not be brought up:\n{exc}", pytrace=False)


@pytest.fixture
async def pool() -> AsyncIterator[asyncpg.Pool]:
    """A migrated pool on the test database, with the callback tables emptied."""
    from telephony.store import db

    p = await db.connect(TEST_DSN, 1, 10)
    await p.execute("DELETE FROM callbacks")
    await p.execute("DELETE FROM taken WHERE soort = 'terugbellen'")
    try:
        yield p
    finally:
        await p.close()
