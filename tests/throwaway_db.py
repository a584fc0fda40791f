"""A PostgreSQL database of a test suite's own: created and migrated for the session,
dropped after it (``KCC_TEST_PG_ADMIN`` names the server's admin DSN)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterator

import asyncpg

from telephony.store import db

ADMIN_DSN = os.environ.get("KCC_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def dsn_of(name: str) -> str:
    return ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"


async def drop(name: str) -> None:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def create(name: str, fill: Callable[[asyncpg.Pool], Awaitable[object]] | None = None,
                 ) -> None:
    """A fresh, migrated database (``db.connect`` creates and migrates it), then ``fill``."""
    await drop(name)
    pool = await db.connect(dsn_of(name), 1, 2)
    try:
        if fill is not None:
            await fill(pool)
    finally:
        await pool.close()


def session_database(name: str, fill: Callable[[asyncpg.Pool], Awaitable[object]] | None = None,
                     ) -> Iterator[str]:
    """Body of a session fixture: yields the DSN, drops the database afterwards."""
    asyncio.run(create(name, fill))
    yield dsn_of(name)
    asyncio.run(drop(name))
