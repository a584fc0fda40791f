"""Zaak status for the IVR's self-service, from the built-in PostgreSQL store.

The caller proves they may hear the status by keying zaaknummer + the four digits of the
postcode + house number (see ivr/selfservice.py). Any mismatch answers None, so a wrong
guess and an unknown zaak sound the same. Only status and expected end date leave here.
"""

from __future__ import annotations

import re

import asyncpg

from ivr.selfservice import ZaakStatus

_SQL = """
SELECT z.identificatie, z.status, z.uiterlijke_einddatum
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
                          expected_end=row["uiterlijke_einddatum"])
