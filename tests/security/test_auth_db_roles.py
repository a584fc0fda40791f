"""Finding 8: the processing log is append-only against the application itself. The
service runs as an application role (``[database] dsn``) while a migrations role owns the
tables (``migrations_dsn``): as the application, UPDATE, DELETE, TRUNCATE on the log and
switching off its trigger all fail; inserting, reading and the retention purge work.
Real PostgreSQL, a database of this test's own; the real service on the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest

from telephony.store import db
from telephony.store.roles import ensure_roles
from telephony.zaken.privacy import ProcessingLog
from tests.security.auth_harness import Harness, _test_config, base_url, login
from tests.throwaway_db import ADMIN_DSN, drop, dsn_of

pytestmark = pytest.mark.asterisk
OWNER, APP = "kcc_test_owner", "kcc_test_app"


def _as(role: str, name: str) -> str:
    return dsn_of(name).replace("postgres@", f"{role}@", 1)


@pytest.fixture
async def roles_db(kcc_config) -> AsyncIterator[str]:
    import os

    name = f"{os.environ.get('KCC_TEST_DATABASE') or 'kcc_test'}_roles"
    await ensure_roles(ADMIN_DSN, OWNER, APP)
    await drop(name)
    try:
        yield name
    finally:
        await drop(name)


@pytest.fixture
async def svc_as_app(kcc_config, sandbox, roles_db) -> AsyncIterator[Harness]:
    config = _test_config(kcc_config, http_offset=114)
    config = config.model_copy(update={"database": config.database.model_copy(update={
        "default_dsn": _as(APP, roles_db), "default_migrations_dsn": _as(OWNER, roles_db),
        "migrations_dsn_env": "KCC_TEST_NO_SUCH_ENV"})})
    h = Harness(config)
    await h.start()
    try:
        yield h
    finally:
        await h.stop()


async def test_the_app_role_cannot_rewrite_the_processing_log(svc_as_app, roles_db):
    pool = svc_as_app.service.pool
    assert await pool.fetchval("SELECT current_user") == APP
    plog = ProcessingLog(pool)
    entry = await plog.record(actor="anna", actor_role="agent", action="details",
                              purpose="test", klant_ref="k-1")
    attacks = [
        "UPDATE processing_log SET actor = 'niemand' WHERE id = $1",
        "DELETE FROM processing_log WHERE id = $1",
    ]
    for sql in attacks:
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
            await pool.execute(sql, entry)
    for sql in ("TRUNCATE processing_log",
                "ALTER TABLE processing_log DISABLE TRIGGER processing_log_no_change",
                "DROP TRIGGER processing_log_no_change ON processing_log",
                "UPDATE supervisor_actions SET result = 'x'"):
        with pytest.raises((asyncpg.InsufficientPrivilegeError,
                            asyncpg.exceptions.PostgresError)) as err:
            await pool.execute(sql)
        assert "permission denied" in str(err.value) or "must be owner" in str(err.value)
    assert await pool.fetchval("SELECT actor FROM processing_log WHERE id = $1",
                               entry) == "anna"


async def test_the_retention_purge_still_works_as_the_app_role(svc_as_app, roles_db):
    owner = await asyncpg.connect(_as(OWNER, roles_db))
    try:
        await owner.execute(
            "INSERT INTO processing_log (at, actor, actor_role, action, purpose) "
            "VALUES (now() - interval '800 days', 'anna', 'agent', 'details', 'oud')")
    finally:
        await owner.close()
    pool = svc_as_app.service.pool
    assert await ProcessingLog(pool).purge(730) == 1
    assert await pool.fetchval("SELECT count(*) FROM processing_log WHERE purpose = 'oud'") == 0
    assert await pool.fetchval(
        "SELECT count(*) FROM processing_log WHERE action = 'retention_purge'") == 1
    with pytest.raises(ValueError):
        await ProcessingLog(pool).purge(7)  # the floor stands


async def test_the_service_works_as_the_app_role(svc_as_app):
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base_url(svc_as_app)}/healthz") as r:
            assert r.status == 200, await r.text()
        status, body = await login(http, svc_as_app, "anna")
        assert status == 200 and body["role"] == "agent"
    # And the migrations ran as the owner: the tables are not the app's.
    owner = await svc_as_app.service.pool.fetchval(
        "SELECT tableowner FROM pg_tables WHERE tablename = 'processing_log'")
    assert owner == OWNER


async def test_a_migrations_dsn_for_another_database_is_refused(roles_db):
    with pytest.raises(ValueError, match="same database"):
        await db.connect(_as(APP, roles_db), migrations_dsn=_as(OWNER, "kcc_elsewhere"))
