"""The screen-pop on the real PostgreSQL: restricted until verified, logged when shown."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import pytest

from telephony.zaken.popper import PopNotFound
from telephony.zaken.sources import PostgresZaakSource

from .helpers import log_rows, make_call, popper

DETAIL_KEYS = ("geboortedatum", "postcode", "woonplaats", "adres", "omschrijving",
               "identificatie", "email")


def _no_details(pop: dict[str, Any]) -> None:
    assert pop["verified"] is False
    assert pop["klant"] is None and pop["zaken"] == [] and pop["contacten"] == []
    assert pop["links"] == {}
    text = json.dumps(pop)
    for key in DETAIL_KEYS:
        assert f'"{key}"' not in text


async def test_unverified_pop_greets_only(pool: asyncpg.Pool) -> None:
    call = make_call("0612345678", subject="paspoort", zaaknummer="", transcript="ik bel over")
    pop = await popper(pool).build(call, "anna", verified=False, chosen_klant=None)
    _no_details(pop)
    [cand] = pop["candidates"]
    assert cand["naam"] == "Zoë Şahin" and cand["open_zaken"] >= 2
    assert set(cand) == {"ref", "naam", "soort", "open_zaken"}
    assert pop["selected"] == cand["ref"]
    assert pop["call"]["caller_e164"] == "+31612345678"
    assert pop["call"]["subject"] == "paspoort" and pop["call"]["transcript"] == "ik bel over"
    assert 29 <= pop["call"]["wait_seconds"] <= 40
    assert pop["incomplete"] is False
    rows = await log_rows(pool, call["linkedid"])
    assert [(r["action"], r["actor"], r["klant_ref"]) for r in rows] == [
        ("greeting", "anna", cand["ref"])]


async def test_verified_pop_has_details_and_logs_them(pool: asyncpg.Pool) -> None:
    call = make_call("+31612345678")
    p = popper(pool)
    first = await p.build(call, "anna")
    ref = first["selected"]
    pop = await p.mark_verified(call["linkedid"], "anna", ref)
    assert pop["verified"] is True
    assert pop["klant"]["naam"] == "Zoë Şahin" and "bsn" not in pop["klant"]
    assert 2 <= len(pop["zaken"]) <= p.config.max_open_zaken
    assert pop["zaken_total"] >= len(pop["zaken"])
    assert all(z["status"] for z in pop["zaken"])
    assert 1 <= len(pop["contacten"]) <= p.config.max_contacts
    assert pop["links"]["klant"] == f"https://kiss.test/personen/{ref}"
    assert set(pop["links"]["zaken"]) == {z["identificatie"] for z in pop["zaken"]}
    rows = await log_rows(pool, call["linkedid"])
    details = [r for r in rows if r["action"] == "details"]
    assert len(details) == 1
    assert details[0]["klant_ref"] == ref and details[0]["actor"] == "anna"
    assert sorted(details[0]["zaken"]) == sorted(z["identificatie"] for z in pop["zaken"])
    assert details[0]["purpose"]
    # Every later detail view is logged again.
    await p.rebuild(call["linkedid"], "anna")
    assert len([r for r in await log_rows(pool, call["linkedid"])
                if r["action"] == "details"]) == 2


async def test_several_matches_agent_chooses_and_verification_is_per_klant(
        pool: asyncpg.Pool) -> None:
    call = make_call("0182123456")
    p = popper(pool)
    pop = await p.build(call, "mehmet")
    assert sorted(c["naam"] for c in pop["candidates"]) == ["Jan de Boer", "Marieke de Boer"]
    assert pop["selected"] is None
    _no_details(pop)
    jan = next(c["ref"] for c in pop["candidates"] if c["naam"] == "Jan de Boer")
    marieke = next(c["ref"] for c in pop["candidates"] if c["naam"] == "Marieke de Boer")
    chosen = await p.choose(call["linkedid"], "mehmet", jan)
    assert chosen["selected"] == jan
    _no_details(chosen)
    verified = await p.mark_verified(call["linkedid"], "mehmet", jan)
    assert verified["klant"]["naam"] == "Jan de Boer"
    # Picking someone else drops the verification: details of Marieke need their own check.
    other = await p.choose(call["linkedid"], "mehmet", marieke)
    assert other["selected"] == marieke
    _no_details(other)


async def test_only_the_offered_agent_can_act(pool: asyncpg.Pool) -> None:
    call = make_call("0612345678")
    p = popper(pool)
    pop = await p.build(call, "anna")
    ref = pop["selected"]
    for action in (p.mark_verified, p.choose):
        with pytest.raises(PopNotFound):
            await action(call["linkedid"], "zoe", ref)
    with pytest.raises(PopNotFound):
        await p.rebuild(call["linkedid"], "zoe")
    # And the offered agent cannot choose a klant that is no candidate of this call.
    stranger = await pool.fetchval("SELECT ref::text FROM klanten ORDER BY id DESC LIMIT 1")
    with pytest.raises(PopNotFound):
        await p.mark_verified(call["linkedid"], "anna", stranger)


@pytest.mark.parametrize("caller", ["anonymous", "", "0201234567", "<script>", "06123"])
async def test_anonymous_or_unknown_gives_empty_card(pool: asyncpg.Pool, caller: str) -> None:
    call = make_call(caller)
    pop = await popper(pool).build(call, "anna")
    assert pop["candidates"] == [] and pop["selected"] is None
    _no_details(pop)
    assert pop["call"]["anonymous"] is (caller != "0201234567")
    assert await log_rows(pool, call["linkedid"]) == []


async def test_zaaknummer_from_ivr_identifies(pool: asyncpg.Pool) -> None:
    row = await pool.fetchrow(
        """SELECT z.identificatie, k.ref::text AS ref FROM zaken z JOIN klanten k
           ON k.id = z.klant_id WHERE k.id > 20 AND z.einddatum IS NULL LIMIT 1""")
    call = make_call("anonymous", zaaknummer=row["identificatie"])
    pop = await popper(pool).build(call, "anna")
    assert pop["identification"]["method"] == "zaaknummer"
    assert [c["ref"] for c in pop["candidates"]] == [row["ref"]]
    bad = await popper(pool).build(make_call("anonymous", zaaknummer="'; DROP--"), "anna")
    assert bad["candidates"] == [] and bad["call"]["zaaknummer"] == ""


class SlowSource(PostgresZaakSource):
    async def open_zaken(self, *args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(5)
        raise AssertionError("unreachable")


async def test_slow_source_pop_arrives_incomplete(pool: asyncpg.Pool) -> None:
    p = popper(pool, SlowSource(pool),
               config=popper(pool).config.model_copy(update={"timeout_seconds": 0.2}))
    call = make_call("0612345678")
    first = await p.build(call, "anna")
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    pop = await p.mark_verified(call["linkedid"], "anna", first["selected"])
    assert loop.time() - t0 < 2
    assert pop["incomplete"] is True and pop["missing"] == ["zaken"]
    assert pop["verified"] is True and pop["zaken"] == [] and pop["contacten"]


async def test_zaaknummer_keyed_as_digits(pool: asyncpg.Pool) -> None:
    row = await pool.fetchrow(
        """SELECT z.identificatie, k.ref::text AS ref FROM zaken z JOIN klanten k
           ON k.id = z.klant_id WHERE k.id > 30 LIMIT 1""")
    digits = "".join(c for c in row["identificatie"] if c.isdigit())
    pop = await popper(pool).build(make_call("anonymous", zaaknummer=digits), "anna")
    assert [c["ref"] for c in pop["candidates"]] == [row["ref"]]


async def test_forget_call_drops_pop_state(pool: asyncpg.Pool) -> None:
    p = popper(pool)
    call = make_call("0612345678")
    await p.build(call, "anna")
    await p.forget_call(call["linkedid"])
    with pytest.raises(PopNotFound):
        await p.rebuild(call["linkedid"], "anna")
    assert await log_rows(pool, call["linkedid"]), "the processing log stays"
