"""Fixtures for callback tests against the real sandbox Asterisk, PostgreSQL and Redis.

Reuses tests/integration/harness.py (put on sys.path: that directory is not a package).
Run with your own sandbox: KCC_SANDBOX_DIR, KCC_TEST_CONFIG, KCC_TEST_DATABASE.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from harness import TEST_DSN  # noqa: E402

# kcc_config and sandbox: tests/conftest.py


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
