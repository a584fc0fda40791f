"""Fixtures for the zaken tests: the real PostgreSQL, database ``kcc_test_zaken``.

The database is created (migrations + the demo municipality) once per session and dropped
at the end; each test gets its own pool on the per-test event loop.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from telephony.zaken.generator import load
from tests.throwaway_db import session_database

# Beside another sandbox (KCC_TEST_DATABASE set) the suite gets a database of its own.
DB_NAME = f"{os.environ.get('KCC_TEST_DATABASE') or 'kcc_test'}_zaken"


@pytest.fixture(scope="session")
def zaken_db() -> Iterator[str]:
    os.environ.setdefault("KCC_DEMO", "1")
    yield from session_database(DB_NAME, lambda pool: load(pool, "demo", seed=14))


@pytest.fixture
async def pool(zaken_db: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(zaken_db, min_size=1, max_size=5)
    try:
        yield pool
    finally:
        await pool.close()
