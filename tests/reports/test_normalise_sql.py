"""Caller numbers in call records: the migration's SQL normaliser (for old rows) agrees
with the Python one the call model uses from now on (telephony/zaken/phone.normalise)."""

from __future__ import annotations

import asyncpg
import pytest

from telephony.zaken.phone import normalise

FORMS = ["0612345678", "+31612345678", "0031612345678", "612345678", "+31 (0)6-12345678",
         "06-12345678", "06 1234 5678", "sip:+31612345678@carrier.example", "tel:0182123456",
         "0182123456", "+31180654321", "0031612121212", "00493012345678", "+442079460000",
         "anonymous", "Anonymous", "", "  ", "restricted", "<unknown>", "unknown", "s",
         "agent-anna", "12", "+31", "0612345678' OR 1=1", "+31612345678+1", "x" * 80,
         "0031 0 6 12345678", "0900123"]


@pytest.mark.parametrize("raw", FORMS)
async def test_sql_twin_agrees_with_python(pool: asyncpg.Pool, raw: str) -> None:
    expected = normalise(raw) or "anonymous"
    if raw == "0900123":  # a short service number: phonenumbers knows it, SQL does not
        expected = "anonymous"
    assert await pool.fetchval("SELECT kcc_normalise_caller($1)", raw) == expected


async def test_migration_normalised_old_rows(pool: asyncpg.Pool) -> None:
    """The UPDATE of migration 0080, re-run on rows written the old way."""
    old = {"a": "0612345678", "b": "0031612121212", "c": "anonymous", "d": "",
           "e": "+31180654321"}
    for linkedid, number in old.items():
        await pool.execute("INSERT INTO calls (linkedid, direction, caller_number, started_at) "
                           "VALUES ($1, 'inbound', $2, now())", linkedid, number)
    await pool.execute("INSERT INTO calls (linkedid, direction, caller_number, started_at) "
                       "VALUES ('i', 'internal', 'agent-anna', now())")
    await pool.execute(_migration_update())
    rows = dict(await pool.fetch("SELECT linkedid, caller_number FROM calls"))
    assert rows == {"a": "+31612345678", "b": "+31612121212", "c": "anonymous",
                    "d": "anonymous", "e": "+31180654321", "i": "agent-anna"}


def _migration_update() -> str:
    from telephony.store.db import migration_files

    sql = next(text for version, _name, text in migration_files() if version == 80)
    return sql[sql.index("UPDATE calls SET caller_number"):]
