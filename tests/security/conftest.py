"""Fixtures for the attack tests of issue 10 against the real sandbox, PostgreSQL, Redis.

Reuses tests/integration/harness.py (put on sys.path: that directory is not a package).
Run with your own sandbox: KCC_SANDBOX_DIR, KCC_TEST_CONFIG, KCC_TEST_DATABASE.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from harness import Harness, _test_config, hangup_all  # noqa: E402

from telephony.config import Config  # noqa: E402

# kcc_config and sandbox: tests/conftest.py


@pytest.fixture
async def edge_service(kcc_config: Config, sandbox: str) -> AsyncIterator[Any]:
    """The service on the sandbox (IVR off, own Redis prefix, the test database)."""
    h = Harness(_test_config(kcc_config, http_offset=131))
    await h.start()
    try:
        yield h
    finally:
        try:
            await hangup_all(h)
        finally:
            await h.stop()


@pytest.fixture
async def edge_pool() -> AsyncIterator[Any]:
    """A migrated pool on the test database with the call-back tables emptied."""
    from harness import TEST_DSN

    from telephony.store import db

    p = await db.connect(TEST_DSN, 1, 10)
    await p.execute("DELETE FROM callbacks")
    await p.execute("DELETE FROM taken WHERE soort = 'terugbellen'")
    try:
        yield p
    finally:
        await p.close()
