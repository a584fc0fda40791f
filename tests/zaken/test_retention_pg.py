"""AVG storage limitation on the real PostgreSQL: leftover pop state and processing-log
entries past the retention term go; nothing else can be deleted (migration 0012)."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from telephony.zaken.privacy import ProcessingLog
from telephony.zaken.store import PopStateRepository


async def _entry(pool: asyncpg.Pool, days_ago: int, call_id: str) -> int:
    return int(await pool.fetchval(
        """INSERT INTO processing_log (at, actor, action, purpose, call_id)
           VALUES (now() - make_interval(days => $1), 'anna', 'greeting', 'test', $2)
           RETURNING id""", days_ago, call_id))


async def test_purge_deletes_only_entries_past_the_term_and_logs_itself(
        pool: asyncpg.Pool) -> None:
    tag = f"ret-{uuid.uuid4()}"
    ancient, old, recent = (await _entry(pool, 800, tag), await _entry(pool, 100, tag),
                            await _entry(pool, 1, tag))
    deleted = await ProcessingLog(pool).purge(730)
    assert deleted >= 1
    left = {r["id"] for r in await pool.fetch(
        "SELECT id FROM processing_log WHERE call_id = $1", tag)}
    assert left == {old, recent} and ancient not in left
    note = await pool.fetchrow(
        "SELECT actor_role, purpose FROM processing_log WHERE action = 'retention_purge' "
        "ORDER BY id DESC LIMIT 1")
    assert note is not None and note["actor_role"] == "system"
    assert "730 dagen" in note["purpose"]
    assert await ProcessingLog(pool).purge(730) == 0  # idempotent


async def test_purge_term_has_a_floor(pool: asyncpg.Pool) -> None:
    with pytest.raises(ValueError, match="at least 30 days"):
        await ProcessingLog(pool).purge(7)


async def test_database_refuses_every_other_deletion(pool: asyncpg.Pool) -> None:
    tag = f"ret-{uuid.uuid4()}"
    week_old = await _entry(pool, 7, tag)
    year_old = await _entry(pool, 365, tag)
    async with pool.acquire() as conn:
        # No declared cutoff: refused.
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM processing_log WHERE id = $1", year_old)
        # A cutoff under the 30-day floor: refused, even for an entry older than it.
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with conn.transaction():
                await conn.execute("SET LOCAL kcc.processing_log_purge_before = "
                                   "'now'")
                await conn.execute("DELETE FROM processing_log WHERE id = $1", week_old)
        # A valid cutoff still refuses entries younger than it, and every UPDATE.
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with conn.transaction():
                await conn.execute("SELECT set_config('kcc.processing_log_purge_before', "
                                   "(now() - interval '60 days')::text, true)")
                await conn.execute("DELETE FROM processing_log WHERE id = $1", week_old)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with conn.transaction():
                await conn.execute("SELECT set_config('kcc.processing_log_purge_before', "
                                   "(now() - interval '60 days')::text, true)")
                await conn.execute("UPDATE processing_log SET actor = 'x' WHERE id = $1",
                                   year_old)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("TRUNCATE processing_log")
    left = {r["id"] for r in await pool.fetch(
        "SELECT id FROM processing_log WHERE call_id = $1", tag)}
    assert left == {week_old, year_old}


async def test_leftover_pop_state_is_purged(pool: asyncpg.Pool) -> None:
    state = PopStateRepository(pool)
    stale, fresh = f"stale-{uuid.uuid4()}", f"fresh-{uuid.uuid4()}"
    await state.offered(stale, "anna", {"caller_number": "0612345678"}, [])
    await state.offered(fresh, "anna", {"caller_number": "0612345678"}, [])
    await pool.execute("UPDATE zaak_call_pops SET offered_at = now() - interval '13 hours' "
                       "WHERE call_id = $1", stale)
    assert await state.purge(12 * 3600) >= 1
    assert await state.get(stale, "anna") is None
    assert await state.get(fresh, "anna") is not None
    await state.forget(fresh)
