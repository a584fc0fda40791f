"""Fixtures for the report tests: the real PostgreSQL, database ``kcc_test_reports``.

Created and migrated once per session (``telephony.store.db.connect``), dropped at the
end; each test gets its own pool with the report tables emptied.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from tests.throwaway_db import session_database

# Beside another sandbox (KCC_TEST_DATABASE set) the suite gets a database of its own.
DB_NAME = f"{os.environ.get('KCC_TEST_DATABASE') or 'kcc_test'}_reports"


@pytest.fixture(scope="session")
def reports_db() -> Iterator[str]:
    yield from session_database(DB_NAME)


@pytest.fixture
async def pool(reports_db: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(reports_db, min_size=1, max_size=5)
    await pool.execute("TRUNCATE calls, agent_state_log, callbacks, taken, contactmomenten, "
                       "ivr_sessions, ivr_contacts, report_day_facts, report_days CASCADE")
    try:
        yield pool
    finally:
        await pool.close()
