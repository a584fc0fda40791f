"""The IVR's zaak-status self-service against the real PostgreSQL store."""

from __future__ import annotations

import re

from telephony.zaken.ivr_status import PostgresZaakStatus


async def test_status_after_keypad_verification_and_no_oracle(pool):
    row = await pool.fetchrow(
        """SELECT z.identificatie, z.status, k.postcode, k.huisnummer
           FROM zaken z JOIN klanten k ON k.id = z.klant_id
           WHERE k.postcode <> '' AND k.huisnummer IS NOT NULL LIMIT 1""")
    source = PostgresZaakStatus(pool)
    digits = re.sub(r"\D", "", row["identificatie"])
    pc4, nr = row["postcode"][:4], str(row["huisnummer"])
    found = await source.zaak_status(digits, pc4, nr)  # keyed in: digits only
    assert found is not None and found.zaaknummer == row["identificatie"]
    assert found.status_nl == row["status"]
    # A wrong postcode or house number sounds exactly like an unknown zaak.
    wrong_pc = "1000" if pc4 != "1000" else "2000"
    assert await source.zaak_status(digits, wrong_pc, nr) is None
    assert await source.zaak_status(digits, pc4, str(int(nr) + 1)) is None
    assert await source.zaak_status("999999999999", pc4, nr) is None
    # Garbage input is refused before any query.
    for bad in (("", pc4, nr), (digits, "12", nr), (digits, pc4, "1a"), (digits, pc4, "1234567")):
        assert await source.zaak_status(*bad) is None
    assert await PostgresZaakStatus(None).zaak_status(digits, pc4, nr) is None
