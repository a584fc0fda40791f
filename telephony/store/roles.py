"""Two PostgreSQL roles (issue 10, finding 8): the processing log's append-only promise
must hold against the application itself, not only against a well-behaved one.

* the **migrations role** (``[database] migrations_dsn``) owns every table, trigger and
  function: it runs the migrations at start and nothing else;
* the **application role** (``[database] dsn``) gets only the rights the service uses:
  SELECT/INSERT/UPDATE/DELETE on the working tables, but only INSERT and SELECT on the
  append-only ones (``processing_log``, ``supervisor_actions``), and EXECUTE on
  ``processing_log_purge`` (migration 0041, SECURITY DEFINER) for the retention purge.
  Not being the owner, it cannot disable or drop the append-only triggers either.

``grant_app`` runs after every migration run (new tables get their grants); ``ensure_roles``
creates both roles for the demo and the tests (``kcc db-roles``); in production the DBA
creates them (with passwords) and the config names them in its two DSNs.
"""

from __future__ import annotations

import re

import asyncpg

APPEND_ONLY = ("processing_log", "supervisor_actions")
ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def user_of(dsn: str) -> str:
    """The role a DSN logs in as (``postgresql://user[:pw]@host/db``)."""
    match = re.match(r"^postgres(?:ql)?://([^:@/]+)(?::[^@/]*)?@", dsn)
    if not match:
        raise ValueError("the database DSN must name its user: postgresql://user@host/db")
    return match.group(1)


def database_of(dsn: str) -> str:
    match = re.match(r"^postgres(?:ql)?://[^/]*/([^?]+)", dsn)
    if not match:
        raise ValueError("the database DSN must name its database: postgresql://u@host/db")
    return match.group(1)


def _role(name: str) -> str:
    if not ROLE.match(name):
        raise ValueError(f"not a plain role name: {name[:40]!r}")
    return f'"{name}"'


async def grant_app(conn: asyncpg.Connection, app_role: str) -> None:
    """Give ``app_role`` what the service needs, as the owner of the tables."""
    app = _role(app_role)
    tables = [r["tablename"] for r in await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    async with conn.transaction():
        await conn.execute(f"GRANT USAGE ON SCHEMA public TO {app}")
        for table in tables:
            name = f'"{table}"'
            await conn.execute(f"REVOKE ALL ON {name} FROM {app}")
            if table == "schema_migrations":
                await conn.execute(f"GRANT SELECT ON {name} TO {app}")
            elif table in APPEND_ONLY:
                await conn.execute(f"GRANT SELECT, INSERT ON {name} TO {app}")
            else:
                # TRUNCATE: the demo generator replaces the synthetic klanten.
                await conn.execute(
                    f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON {name} TO {app}")
        await conn.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app}")
        await conn.execute("GRANT EXECUTE ON FUNCTION "
                           f"processing_log_purge(timestamptz, text, text) TO {app}")


async def ensure_roles(admin_dsn: str, owner: str, app: str) -> None:
    """Create the migrations role (may create its database) and the application role,
    both without superuser rights; idempotent. Demo and tests (trust authentication)."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        for name, extra in ((owner, "CREATEDB"), (app, "")):
            if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", name):
                try:
                    await conn.execute(f"CREATE ROLE {_role(name)} LOGIN NOSUPERUSER "
                                       f"NOCREATEROLE {extra}")
                except asyncpg.DuplicateObjectError:
                    pass  # created meanwhile by another process
    finally:
        await conn.close()
