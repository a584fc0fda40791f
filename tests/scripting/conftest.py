"""Fixtures of the call-script tests: a throwaway PostgreSQL database of their own."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from telephony.zaken.generator import load
from tests.throwaway_db import session_database

DB_NAME = f"{os.environ.get('KCC_TEST_DATABASE') or 'kcc_test'}_scripting"


@pytest.fixture(scope="session")
def scripting_db() -> Iterator[str]:
    os.environ.setdefault("KCC_DEMO", "1")
    yield from session_database(DB_NAME, lambda pool: load(pool, "demo", seed=14))


@pytest.fixture
async def pool(scripting_db: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(scripting_db, min_size=1, max_size=5)
    try:
        yield pool
    finally:
        await pool.close()
