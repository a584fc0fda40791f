"""The built-in zaak store on the real PostgreSQL (demo municipality)."""

from __future__ import annotations

import asyncpg
import pytest

from telephony.zaken.phone import normalise
from telephony.zaken.schemas import KlantQuery
from telephony.zaken.sources import PostgresZaakSource

AGENT = "anna"


@pytest.mark.parametrize(("caller", "naam"), [
    ("0612345678", "Zoë Şahin"), ("+31612345678", "Zoë Şahin"),
    ("0031612345678", "Zoë Şahin"), ("612345678", "Zoë Şahin"),
    ("0687654321", "Fatma Yılmaz"), ("+31180654321", "Renée van Dijk"),
    ("0031612121212", "Ömer Çelik"), ("+31612121212", "Ömer Çelik"),
    ("0610101010", "Anouk Bakker"), ("0180777888", "Doğan Installatietechniek B.V."),
])
async def test_demo_callers_are_found_in_every_format(pool: asyncpg.Pool, caller: str,
                                                      naam: str) -> None:
    e164 = normalise(caller)
    assert e164 is not None
    found = await PostgresZaakSource(pool).klanten_by_phone(e164, 5)
    assert [k.naam for k in found] == [naam]


async def test_shared_landline_gives_two_matches(pool: asyncpg.Pool) -> None:
    found = await PostgresZaakSource(pool).klanten_by_phone("+31182123456", 5)
    assert sorted(k.naam for k in found) == ["Jan de Boer", "Marieke de Boer"]


async def test_company_has_kvk_and_no_bsn(pool: asyncpg.Pool) -> None:
    source = PostgresZaakSource(pool)
    [summary] = await source.klanten_by_phone("+31180777888", 5)
    klant = await source.klant(summary.ref, agent=AGENT)
    assert klant is not None and klant.soort == "niet_natuurlijk_persoon"
    assert klant.kvk and not klant.bsn


async def test_agent_searches(pool: asyncpg.Pool) -> None:
    source = PostgresZaakSource(pool)
    [zoe] = await source.klanten_by_phone("+31612345678", 5)
    klant = await source.klant(zoe.ref, agent=AGENT)
    assert klant is not None and klant.geboortedatum is not None
    by_bsn = await source.search_klanten(KlantQuery(bsn=klant.bsn), 5, agent=AGENT)
    assert [k.ref for k in by_bsn] == [zoe.ref]
    by_name = await source.search_klanten(
        KlantQuery(achternaam="ŞAHIN",
                   geboortedatum=klant.geboortedatum), 5, agent=AGENT)
    assert zoe.ref in [k.ref for k in by_name]
    row = await pool.fetchrow("SELECT postcode, huisnummer FROM klanten WHERE ref = $1::uuid",
                              zoe.ref)
    by_address = await source.search_klanten(
        KlantQuery(postcode=row["postcode"], huisnummer=row["huisnummer"]), 5, agent=AGENT)
    assert zoe.ref in [k.ref for k in by_address]
    zaken = await source.open_zaken(klant, 10, agent=AGENT)
    by_zaak = await source.search_klanten(
        KlantQuery(zaaknummer=zaken.zaken[0].identificatie), 5, agent=AGENT)
    assert [k.ref for k in by_zaak] == [zoe.ref]


async def test_open_zaken_limit_and_total(pool: asyncpg.Pool) -> None:
    source = PostgresZaakSource(pool)
    [zoe] = await source.klanten_by_phone("+31612345678", 5)
    klant = await source.klant(zoe.ref, agent=AGENT)
    assert klant is not None
    total = await source.count_open_zaken(klant, agent=AGENT)
    assert total >= 2  # the demo forces two open zaken per demo caller
    one = await source.open_zaken(klant, 1, agent=AGENT)
    assert one.total == total and len(one.zaken) == 1


async def test_unknown_and_malformed_refs(pool: asyncpg.Pool) -> None:
    source = PostgresZaakSource(pool)
    assert await source.klant("00000000-0000-4000-8000-000000000000", agent=AGENT) is None
    assert await source.klant("not-a-uuid", agent=AGENT) is None
    assert await source.klanten_by_phone("+31699999999", 5) == []


async def test_processing_log_is_append_only(pool: asyncpg.Pool) -> None:
    new_id = await pool.fetchval(
        "INSERT INTO processing_log (actor, action, purpose) VALUES ('t', 'greeting', 'test')"
        " RETURNING id")
    for sql in ("UPDATE processing_log SET actor = 'x' WHERE id = $1",
                "DELETE FROM processing_log WHERE id = $1"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await pool.execute(sql, new_id)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await pool.execute("TRUNCATE processing_log")
    assert await pool.fetchval("SELECT actor FROM processing_log WHERE id = $1", new_id) == "t"


async def test_generated_numbers_are_valid_e164(pool: asyncpg.Pool) -> None:
    numbers = [r["e164"] for r in await pool.fetch("SELECT e164 FROM klant_telefoonnummers")]
    assert len(numbers) > 500
    assert [n for n in numbers if normalise(n) != n] == []


async def test_greeting_is_names_and_counts_in_the_order_given(pool: asyncpg.Pool) -> None:
    """The pop's greeting in one query: only the name and the open-zaak count, unknown or
    malformed refs left out, candidates in the order identification found them."""
    source = PostgresZaakSource(pool)
    jan, marieke = sorted(await source.klanten_by_phone("+31182123456", 5),
                          key=lambda k: k.naam)
    unknown = "00000000-0000-4000-8000-000000000000"
    greeting = await source.greeting([marieke.ref, "'; DROP TABLE klanten; --", unknown,
                                      jan.ref], agent=AGENT, timeout=2.0)
    assert greeting.missing == []
    assert [c.summary.naam for c in greeting.cards] == ["Marieke de Boer", "Jan de Boer"]
    for card in greeting.cards:
        klant = await source.klant(card.summary.ref, agent=AGENT)
        assert klant is not None
        assert card.open_zaken == await source.count_open_zaken(klant, agent=AGENT)
        assert set(card.to_dict()) == {"ref", "naam", "soort", "open_zaken"}
    assert (await source.greeting([], agent=AGENT, timeout=2.0)).cards == []
