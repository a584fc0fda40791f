"""Finding 7: zaak status guessing in the IVR. Through the real IVR (FastAGI behind the
sandbox Asterisk, keys pressed as DTMF) with the service's PostgreSQL gate: tries are
limited per call and per caller number per day, and each disclosure is on the
processing log before the caller hears it."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import asyncpg
import pytest

from ivr.selfservice import ZaakStatus
from telephony.store import db
from telephony.zaken.ivr_status import PostgresZaakGate
from tests.ivr.conftest import IvrHarness, ivr_config
from tests.ivr.test_ivr_asterisk import _queued
from tests.security.auth_harness import TEST_DSN, ivr_ami_fixture  # noqa: F401

pytestmark = pytest.mark.asterisk
CALLER_HASH = hashlib.sha256(b"+31612345678").hexdigest()  # IvrHarness.call's number
PER_DAY = 5


@pytest.fixture
async def pool() -> AsyncIterator[asyncpg.Pool]:
    p = await db.connect(TEST_DSN, 1, 4)
    await p.execute("DELETE FROM ivr_zaak_attempts WHERE caller_hash = $1", CALLER_HASH)
    try:
        yield p
    finally:
        await p.execute("DELETE FROM ivr_zaak_attempts WHERE caller_hash = $1", CALLER_HASH)
        await p.close()


class Zaken:
    """A zaak source double (short numbers: fewer keys to press): zaak 71 at 2801 / 1."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, str]] = []

    async def zaak_status(self, zaaknummer: str, postcode: str,
                          huisnummer: str) -> ZaakStatus | None:
        self.asked.append((zaaknummer, postcode, huisnummer))
        if (zaaknummer, postcode, huisnummer) == ("71", "2801", "1"):
            return ZaakStatus("71", "in behandeling", klant_ref="k-71")
        return None


def _harness(kcc_config, ami, pool) -> tuple[IvrHarness, Zaken]:
    config = ivr_config(kcc_config, zaak_tries_per_call=2,
                        zaak_tries_per_number_per_day=PER_DAY)
    harness = IvrHarness(config, ami)
    zaken = Zaken()
    harness.app.deps.zaken = zaken
    harness.app.deps.zaak_gate = PostgresZaakGate(pool, PER_DAY, config.zaken.purpose)
    return harness, zaken


async def _tries_today(pool: asyncpg.Pool) -> int:
    return await pool.fetchval("SELECT tries FROM ivr_zaak_attempts WHERE caller_hash = $1 "
                               "AND day = current_date", CALLER_HASH) or 0


async def test_zaak_guessing_is_limited_per_call_and_logged(ivr_ami, kcc_config,
                                                            pool):
    harness, zaken = _harness(kcc_config, ivr_ami, pool)
    # A wrong guess, the right one, then a third try in the same call.
    harness.script = {"onderwerp": ["6"], "zelfservice": ["1", "1", "1"],
                      "zaak_number": ["72#", "71#", "73#"],
                      "zaak_postcode": ["2801", "2801", "2801"],
                      "zaak_house_number": ["1#", "1#", "1#"],
                      "after_zaak_status": ["2", "2", "0"]}
    _, session = await _queued(harness, ivr_ami, "140182")
    assert zaken.asked == [("72", "2801", "1"), ("71", "2801", "1")], \
        "the third try in one call reached the zaak source"
    assert [c.outcome for c in session.contacts] == ["not_found", "answered", "refused"]
    assert await _tries_today(pool) == 2
    rows = await pool.fetch(
        "SELECT actor, klant_ref, zaken FROM processing_log WHERE action = 'ivr_zaak_status' "
        "AND call_id = $1", session.linkedid or session.uniqueid)
    assert [(r["actor"], r["klant_ref"], list(r["zaken"])) for r in rows] == [
        ("ivr", "k-71", ["71"])]


async def test_zaak_guessing_is_limited_per_number_per_day(ivr_ami, kcc_config,
                                                           pool):
    # Earlier calls today from this number used up the daily tries.
    await pool.execute("INSERT INTO ivr_zaak_attempts VALUES ($1, current_date, $2)",
                       CALLER_HASH, PER_DAY)
    harness, zaken = _harness(kcc_config, ivr_ami, pool)
    harness.script = {"onderwerp": ["6"], "zelfservice": ["1"], "zaak_number": ["71#"],
                      "zaak_postcode": ["2801"], "zaak_house_number": ["1#"],
                      "after_zaak_status": ["0"]}
    _, session = await _queued(harness, ivr_ami, "140182")
    assert zaken.asked == [], "a try past the daily limit reached the zaak source"
    assert [c.outcome for c in session.contacts] == ["refused"]
