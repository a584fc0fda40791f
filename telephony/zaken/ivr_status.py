"""Zaak status for the IVR's self-service, from the built-in PostgreSQL store.

The caller proves they may hear the status by keying zaaknummer + the four digits of the
postcode + house number (see ivr/selfservice.py). Any mismatch answers None, so a wrong
guess and an unknown zaak sound the same. Only status and expected end date leave here.
"""

from __future__ import annotations

import hashlib
import re

import asyncpg

from ivr.selfservice import ZaakStatus
from telephony.zaken.phone import normalise
from telephony.zaken.privacy import ProcessingLog

_SQL = """
SELECT z.identificatie, z.status, z.uiterlijke_einddatum, k.ref::text AS klant_ref
FROM zaken z JOIN klanten k ON k.id = z.klant_id
WHERE (z.identificatie = $1 OR regexp_replace(z.identificatie, '[^0-9]', '', 'g') = $2)
  AND left(k.postcode, 4) = $3 AND k.huisnummer = $4
LIMIT 1
"""


class PostgresZaakStatus:
    def __init__(self, pool: asyncpg.Pool | None) -> None:
        self.pool = pool

    async def zaak_status(self, zaaknummer: str, postcode: str,
                          huisnummer: str) -> ZaakStatus | None:
        digits = re.sub(r"\D", "", zaaknummer)[:32]
        pc = re.sub(r"\D", "", postcode)[:4]
        if (self.pool is None or not digits or len(pc) != 4 or not huisnummer.isdigit()
                or len(huisnummer) > 6):
            return None
        row = await self.pool.fetchrow(_SQL, zaaknummer[:40], digits, pc, int(huisnummer))
        if row is None:
            return None
        return ZaakStatus(zaaknummer=row["identificatie"], status_nl=row["status"],
                          expected_end=row["uiterlijke_einddatum"],
                          klant_ref=row["klant_ref"])


class PostgresZaakGate:
    """The IVR's zaak status gate (issue 10, finding 7): tries per caller number per day
    counted in PostgreSQL (all instances), each disclosure on the processing log."""

    def __init__(self, pool: asyncpg.Pool | None, per_day: int, purpose: str) -> None:
        self.pool = pool
        self.per_day = per_day
        self.purpose = purpose

    async def allow(self, caller_number: str) -> bool:
        if self.pool is None:
            return False
        e164 = normalise(caller_number or "") or "anonymous"
        key = hashlib.sha256(e164.encode()).hexdigest()
        tries = await self.pool.fetchval(
            """WITH old AS (DELETE FROM ivr_zaak_attempts WHERE day < current_date - 7)
               INSERT INTO ivr_zaak_attempts (caller_hash, day, tries)
               VALUES ($1, current_date, 1)
               ON CONFLICT (caller_hash, day)
                   DO UPDATE SET tries = ivr_zaak_attempts.tries + 1
               RETURNING tries""", key)
        return int(tries) <= self.per_day

    async def disclosed(self, call_id: str, status: ZaakStatus) -> None:
        if self.pool is None:
            raise RuntimeError("no database: a zaak status cannot be logged")
        await ProcessingLog(self.pool).record(
            actor="ivr", actor_role="caller", action="ivr_zaak_status",
            purpose=self.purpose, call_id=call_id[:64], klant_ref=status.klant_ref,
            zaken=[status.zaaknummer], source="ivr")
