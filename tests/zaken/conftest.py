"""Fixtures for the zaken tests: the real PostgreSQL, database ``kcc_test_zaken``.

The database is created (migrations + the demo municipality) once per session and dropped
at the end; each test gets its own pool on the per-test event loop.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from telephony.store import db
from telephony.zaken.generator import load

ADMIN_DSN = os.environ.get("KCC_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = "kcc_test_zaken"
DSN = ADMIN_DSN.rsplit("/", 1)[0] + f"/{DB_NAME}"


async def _drop() -> None:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    finally:
        await conn.close()


async def _create() -> dict[str, int]:
    await _drop()
    pool = await db.connect(DSN, 1, 2)
    try:
        return await load(pool, "demo", seed=14)
    finally:
        await pool.close()


@pytest.fixture(scope="session")
def zaken_db() -> Iterator[str]:
    os.environ.setdefault("KCC_DEMO", "1")
    asyncio.run(_create())
    yield DSN
    asyncio.run(_drop())


@pytest.fixture
async def pool(zaken_db: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(zaken_db, min_size=1, max_size=5)
    try:
        yield pool
    finally:
        await pool.close()
