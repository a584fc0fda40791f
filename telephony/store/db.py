"""PostgreSQL: pool creation and versioned SQL migrations run at start.

Migrations are plain ``NNNN_name.sql`` files applied in order, each in its own
transaction, recorded in ``schema_migrations``. An advisory lock makes two service
instances starting together apply them once.
"""

from __future__ import annotations

import logging
import re
from importlib import resources

import asyncpg

from telephony.store import roles

log = logging.getLogger(__name__)
MIGRATION_LOCK = 0x6B6363  # "kcc"


def migration_files() -> list[tuple[int, str, str]]:
    folder = resources.files("telephony.store") / "migrations"
    out = []
    for entry in folder.iterdir():
        match = re.fullmatch(r"(\d{4})_([a-z0-9_]+)\.sql", entry.name)
        if match:
            out.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(out)


async def ensure_database(dsn: str) -> None:
    """Create the database named in ``dsn`` if it does not exist (demo and tests)."""
    match = re.match(r"^(postgres(?:ql)?://[^/]*)/([A-Za-z0-9_]+)(\?.*)?$", dsn)
    if not match:
        return
    admin_dsn = f"{match.group(1)}/postgres{match.group(3) or ''}"
    name = match.group(2)
    conn = await asyncpg.connect(admin_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
            log.info("created database %s", name)
    except asyncpg.DuplicateDatabaseError:
        pass
    finally:
        await conn.close()


async def migrate(pool: asyncpg.Pool) -> list[str]:
    """Apply pending migrations; return the names applied now."""
    applied_now: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        try:
            await conn.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY, name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())""")
            done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
            for version, name, sql in migration_files():
                if version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                        version, name)
                applied_now.append(name)
                log.info("applied migration %s", name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    return applied_now


async def connect(dsn: str, min_size: int = 1, max_size: int = 10,
                  migrations_dsn: str | None = None) -> asyncpg.Pool:
    """The service's pool on ``dsn``, after migrating.

    With a ``migrations_dsn`` for another role (issue 10, finding 8), that role creates
    the database if needed, runs the migrations as the owner of everything, and grants
    the ``dsn`` role only what it needs (``roles.grant_app``); the pool then logs in as
    that application role. Without one, ``dsn`` does both (one role, as before).
    """
    if migrations_dsn and migrations_dsn != dsn:
        if roles.database_of(migrations_dsn) != roles.database_of(dsn):
            raise ValueError("[database] migrations_dsn must name the same database as dsn")
        await ensure_database(migrations_dsn)
        owner = await asyncpg.create_pool(migrations_dsn, min_size=1, max_size=1,
                                          command_timeout=60)
        try:
            await migrate(owner)
            app_role = roles.user_of(dsn)
            if app_role != roles.user_of(migrations_dsn):
                async with owner.acquire() as conn:
                    await roles.grant_app(conn, app_role)
        finally:
            await owner.close()
        return await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size,
                                         command_timeout=10)
    await ensure_database(dsn)
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size,
                                     command_timeout=10)
    await migrate(pool)
    return pool
