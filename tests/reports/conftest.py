"""Fixtures for the report tests: the real PostgreSQL, database ``kcc_test_reports``.

Created and migrated once per session (``telephony.store.db.connect``), dropped at the
end; each test gets its own pool with the report tables emptied.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from telephony.store import db

ADMIN_DSN = os.environ.get("KCC_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = "kcc_test_reports"
DSN = ADMIN_DSN.rsplit("/", 1)[0] + f"/{DB_NAME}"


async def _drop() -> None:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    finally:
        await conn.close()


async def _create() -> None:
    await _drop()
    pool = await db.connect(DSN, 1, 2)
    await pool.close()


@pytest.fixture(scope="session")
def reports_db() -> Iterator[str]:
    asyncio.run(_create())
    yield DSN
    asyncio.run(_drop())


@pytest.fixture
async def pool(reports_db: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(reports_db, min_size=1, max_size=5)
    await pool.execute("TRUNCATE calls, agent_state_log, callbacks, taken CASCADE")
    try:
        yield pool
    finally:
        await pool.close()
