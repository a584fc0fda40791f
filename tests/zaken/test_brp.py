"""The BRP API Personen adapter and the ZGW source's BRP search, over real HTTP.

The fake (``fake_brp.py``) serves the published shapes and errors. Throughout, the
requests the fakes saw are checked: a BSN, name or postcode is only ever in a POST body,
never in a path or query string, and klant refs never carry a BSN.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import ValidationError

from telephony.zaken import api
from telephony.zaken.brp import (
    DETAIL_FIELDS,
    SEARCH_FIELDS,
    BrpPersonen,
    PersonRefs,
    brp_datum,
    split_voorvoegsel,
)
from telephony.zaken.config import BrpSection, OpenKlantSection, ZakenApiSection, ZakenConfig
from telephony.zaken.http import SourceAuthError, SourceError, SourceTimeout
from telephony.zaken.schemas import REF, KlantQuery
from telephony.zaken.sources import SearchNotSupported, ZgwZaakSource

from . import fake_brp, fake_zgw
from .fake_brp import FakeBrp
from .fake_zgw import FakeZgw
from .helpers import log_rows, make_call, popper
from .test_api import as_, fake_auth

BSN = "999990019"
BSN2 = "999990020"  # elfproef not needed for the BRP; these are RvIG-style test numbers
BSN3 = "999990032"
OTHER = "999990044"


@pytest.fixture
async def brp(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[FakeBrp, TestServer]]:
    monkeypatch.setenv("KCC_BRP_API_KEY", fake_brp.API_KEY)
    monkeypatch.setenv("KCC_BRP_REF_KEY", fake_brp.REF_KEY)
    monkeypatch.setenv("KCC_ZAKEN_API_SECRET", fake_zgw.SECRET)
    monkeypatch.setenv("KCC_OPENKLANT_TOKEN", fake_zgw.TOKEN)
    state = FakeBrp()
    state.add_person(BSN, "Kees", "", "Jansen", "1983-05-26")
    state.add_person(BSN2, "Anna Maria", "de", "Boer", "1970-01-01", postcode="2801CD",
                     huisnummer=3, straat="Lange Tiendeweg")
    state.add_person(BSN3, "Bram", "", "Aalders", "1990-02-03", postcode="2801CD",
                     huisnummer=3, straat="Lange Tiendeweg")
    state.add_person(OTHER, "Karel", "", "De Gucht", "1954-01-27", gemeente="0599")
    server = TestServer(state.app())
    await server.start_server()
    try:
        yield state, server
    finally:
        await server.close()
    for seen in state.seen:  # never personal data outside the body
        assert seen.method == "POST" and urlsplit(seen.path_qs).query == "", seen.path_qs
        assert urlsplit(seen.path_qs).path == f"{fake_brp.BASE}/personen"


def brp_section(server: TestServer, **changes: Any) -> BrpSection:
    return BrpSection(enabled=True, base_url=str(server.make_url(fake_brp.BASE)), **changes)


def client(server: TestServer, timeout: float = 1.0, **changes: Any) -> BrpPersonen:
    return BrpPersonen(brp_section(server, **changes), timeout)


def no_pii_in_urls(seen: list[Any], *values: str) -> None:
    for s in seen:
        for value in values:
            assert value not in s.path_qs, f"{value!r} in a URL: {s.path_qs}"


async def test_search_by_bsn_only_in_the_body(brp: tuple[FakeBrp, TestServer]) -> None:
    state, server = brp
    c = client(server, user_header="X-User")
    try:
        [found] = await c.search(KlantQuery(bsn=BSN), 5, agent="anna")
        assert found.naam == "Kees Jansen" and found.soort == "natuurlijk_persoon"
        assert found.ref.startswith("p-") and BSN not in found.ref
        assert await c.search(KlantQuery(bsn="111222333"), 5, agent="anna") == []
    finally:
        await c.close()
    first = state.seen[0]
    assert first.body == {"type": "RaadpleegMetBurgerservicenummer",
                          "burgerservicenummer": [BSN], "fields": list(SEARCH_FIELDS)}
    assert first.headers["X-API-KEY"] == fake_brp.API_KEY
    assert first.headers["X-User"] == "anna"
    assert first.headers["Content-Type"].startswith("application/json")
    no_pii_in_urls(state.seen, BSN, "111222333")


async def test_search_by_naam_and_geboortedatum(brp: tuple[FakeBrp, TestServer]) -> None:
    state, server = brp
    c = client(server)
    try:
        [anna] = await c.search(KlantQuery(achternaam="De Boer", geboortedatum="1970-01-01"),
                                5, agent="anna")
        assert anna.naam == "Anna Maria de Boer"
        assert state.seen[-1].body == {
            "type": "ZoekMetGeslachtsnaamEnGeboortedatum", "geboortedatum": "1970-01-01",
            "geslachtsnaam": "Boer", "voorvoegsel": "de", "fields": list(SEARCH_FIELDS)}
        # Case-insensitive, without the voorvoegsel: found too, same ref.
        [again] = await c.search(KlantQuery(achternaam="boer", geboortedatum="1970-01-01"),
                                 5, agent="anna")
        assert again.ref == anna.ref
        # "De" belonging to the geslachtsnaam: the split finds no one, the whole name does.
        n = len(state.seen)
        [karel] = await c.search(KlantQuery(achternaam="De Gucht",
                                            geboortedatum="1954-01-27"), 5, agent="anna")
        assert karel.naam == "Karel De Gucht"
        assert [s.body["geslachtsnaam"] for s in state.seen[n:]] == ["Gucht", "De Gucht"]
        # Other birth date: nobody. A name no BRP record can have: not even sent.
        assert await c.search(KlantQuery(achternaam="Boer", geboortedatum="1970-01-02"),
                              5, agent="anna") == []
        n = len(state.seen)
        assert await c.search(KlantQuery(achternaam="Бойко", geboortedatum="1970-01-01"),
                              5, agent="anna") == []
        assert len(state.seen) == n
        # A typographic apostrophe is sent as the BRP's plain one.
        await c.search(KlantQuery(achternaam="D\u2019Hondt", geboortedatum="1970-01-01"), 5,
                       agent="anna")
        assert state.seen[-1].body["geslachtsnaam"] == "D'Hondt"
    finally:
        await c.close()
    no_pii_in_urls(state.seen, "Boer", "Gucht", "1970", "1954")


async def test_search_by_postcode_and_huisnummer(brp: tuple[FakeBrp, TestServer]) -> None:
    state, server = brp
    c = client(server)
    try:
        found = await c.search(KlantQuery(postcode="2801 cd", huisnummer=3), 5, agent="anna")
        assert [f.naam for f in found] == ["Bram Aalders", "Anna Maria de Boer"]  # by name
        assert len(await c.search(KlantQuery(postcode="2801CD", huisnummer=3), 1,
                                  agent="anna")) == 1
        assert await c.search(KlantQuery(postcode="2801CD", huisnummer=4), 5,
                              agent="anna") == []
    finally:
        await c.close()
    assert state.seen[0].body == {"type": "ZoekMetPostcodeEnHuisnummer", "postcode": "2801CD",
                                  "huisnummer": 3, "fields": list(SEARCH_FIELDS)}
    no_pii_in_urls(state.seen, "2801", "CD")


async def test_gemeente_van_inschrijving_limits_the_search(
        brp: tuple[FakeBrp, TestServer]) -> None:
    state, server = brp
    c = client(server, gemeente_van_inschrijving="0513")
    try:
        assert await c.search(KlantQuery(achternaam="Gucht", geboortedatum="1954-01-27"), 5,
                              agent="anna") == []
        assert len(await c.search(KlantQuery(bsn=BSN), 5, agent="anna")) == 1
    finally:
        await c.close()
    assert all(s.body["gemeenteVanInschrijving"] == "0513" for s in state.seen)


async def test_klant_details_by_ref(brp: tuple[FakeBrp, TestServer]) -> None:
    state, server = brp
    state.add_person("999990056", "Jan", "", "Jaartal", "1961-01-01", jaar_only=True)
    c = client(server)
    try:
        [found] = await c.search(KlantQuery(bsn=BSN), 5, agent="anna")
        n = len(state.seen)
        klant = await c.klant(found.ref, agent="anna")
        assert klant is not None and klant.bsn == BSN and klant.ref == found.ref
        assert klant.naam == "Kees Jansen" and klant.geboortedatum == date(1983, 5, 26)
        assert (klant.adres, klant.postcode, klant.woonplaats) == ("Markt 12", "2801AB",
                                                                    "Gouda")
        assert "bsn" not in klant.to_dict() and BSN not in repr(klant)
        assert state.seen[n].body == {"type": "RaadpleegMetBurgerservicenummer",
                                      "burgerservicenummer": [BSN],
                                      "fields": list(DETAIL_FIELDS)}
        # A year-only birth date is no date; a ref for a BSN the BRP lacks is no klant.
        jan = await c.klant(c.refs.ref("999990056"), agent="anna")
        assert jan is not None and jan.geboortedatum is None
        assert await c.klant(c.refs.ref("111222333"), agent="anna") is None
    finally:
        await c.close()
    no_pii_in_urls(state.seen, BSN, "999990056", "111222333")


def test_refs_are_opaque_stable_and_tamper_proof() -> None:
    refs = PersonRefs(fake_brp.REF_KEY)
    ref = refs.ref(BSN)
    assert ref == refs.ref(BSN) == PersonRefs(fake_brp.REF_KEY).ref(BSN)  # stable
    assert ref != refs.ref(BSN2)
    assert REF.match(ref) and len(ref) <= 64
    assert BSN not in ref and BSN[3:] not in ref
    assert refs.bsn(ref) == BSN
    # Another key: a foreign ref. Any change to a ref: nothing.
    assert PersonRefs("another-ref-key-that-is-long-enough-0123456789").bsn(ref) is None
    for i in range(2, len(ref)):
        flipped = "b" if ref[i] != "b" else "c"
        assert refs.bsn(ref[:i] + flipped + ref[i + 1:]) is None
    for bad in ("p-", "p-" + "a" * 40, ref.upper(), ref[:-1], ref + "a", "p-" + "=" * 40,
                "r-" + ref[2:], ref[2:], "", "p-" + "é" * 40, "p-" + "a" * 1000):
        assert refs.bsn(bad) is None, bad
    with pytest.raises(ValueError):
        refs.ref("12345")


async def test_tampered_ref_asks_nobody(brp: tuple[FakeBrp, TestServer]) -> None:
    state, server = brp
    c = client(server)
    try:
        ref = c.refs.ref(BSN)
        tampered = ref[:-1] + ("a" if ref[-1] != "a" else "b")
        assert await c.klant(tampered, agent="anna") is None
        assert await c.klant("p-" + "a" * 40, agent="anna") is None
    finally:
        await c.close()
    assert state.seen == []


def test_ref_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KCC_BRP_REF_KEY", raising=False)
    monkeypatch.delenv("KCC_DEMO", raising=False)
    with pytest.raises(ValueError, match="KCC_BRP_REF_KEY"):
        BrpSection(enabled=True).ref_key()
    monkeypatch.setenv("KCC_DEMO", "1")
    assert len(BrpSection(enabled=True).ref_key()) >= 32
    monkeypatch.setenv("KCC_BRP_REF_KEY", "short")
    with pytest.raises(ValueError, match="at least 32"):
        BrpSection(enabled=True).ref_key()
    assert BrpSection(api_key_env="").api_key() == ""


@pytest.mark.parametrize("section", [
    {"unknown": 1}, {"base_url": "ftp://x"}, {"gemeente_van_inschrijving": "513"},
    {"api_key_header": "X API"}, {"user_header": "a:b"},
])
def test_brp_config_is_strict(section: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ZakenConfig.model_validate({"brp": section})


def test_split_voorvoegsel_and_datum() -> None:
    assert split_voorvoegsel("van der Berg") == ("van der", "Berg")
    assert split_voorvoegsel("De Boer") == ("de", "Boer")
    assert split_voorvoegsel("Jansen") == ("", "Jansen")
    assert split_voorvoegsel("van") == ("", "van")  # nothing left: not a voorvoegsel
    assert split_voorvoegsel("van de van der Berg") == ("", "van de van der Berg")  # > 10
    assert brp_datum({"type": "Datum", "datum": "2018-07-01"}) == date(2018, 7, 1)
    for partial in ({"type": "JaarMaandDatum", "jaar": 2018, "maand": 7},
                    {"type": "DatumOnbekend", "onbekend": True}, None, "2018-07-01",
                    {"type": "Datum", "datum": "2018-13-01"}):
        assert brp_datum(partial) is None


# ------------------------------------------------------------------ errors
async def test_fake_answers_with_the_published_error_shapes(
        brp: tuple[FakeBrp, TestServer]) -> None:
    """The fake's 400s as the OAS and fout-cases features give them."""
    _, server = brp
    c = client(server)
    try:
        with pytest.raises(SourceError) as exc:  # restricted person: no verblijfplaats
            await c.personen({"type": "ZoekMetPostcodeEnHuisnummer", "postcode": "2801CD",
                              "huisnummer": 3,
                              "fields": ["verblijfplaats.verblijfadres.postcode"]},
                             agent="anna")
        assert exc.value.status == 400
        session = c.http._client()
        url = c.http.url("personen")
        headers = {"X-API-KEY": fake_brp.API_KEY}
        async with session.post(url, headers=headers, json={
                "type": "ZoekMetGeslachtsnaamEnGeboortedatum",
                "fields": ["burgerservicenummer"]}) as resp:
            problem = await resp.json(content_type=None)
            assert resp.status == 400
            assert resp.headers["Content-Type"].startswith("application/problem+json")
        assert problem["code"] == "paramsCombination" and problem["status"] == 400
        assert set(problem) == {"type", "title", "status", "detail", "code", "instance",
                                "invalidParams"}
        assert [(p["code"], p["name"]) for p in problem["invalidParams"]] == [
            ("required", "geboortedatum"), ("required", "geslachtsnaam")]
        async with session.post(url, headers=headers, json={
                "type": "ZoekMetGeslachtsnaamEnGeboortedatum", "geslachtsnaam": "*sen",
                "geboortedatum": "26 mei 1983", "fields": ["inOnderzoek"]}) as resp:
            problem = await resp.json(content_type=None)
        assert problem["code"] == "paramsValidation"
        assert {(p["code"], p["name"]) for p in problem["invalidParams"]} == {
            ("field", "fields[0]"), ("pattern", "geslachtsnaam"), ("date", "geboortedatum")}
    finally:
        await c.close()


async def test_auth_errors(brp: tuple[FakeBrp, TestServer],
                           monkeypatch: pytest.MonkeyPatch) -> None:
    state, server = brp
    monkeypatch.setenv("KCC_BRP_API_KEY", "wrong")
    c = client(server)
    try:
        with pytest.raises(SourceAuthError) as exc:
            await c.search(KlantQuery(bsn=BSN), 5, agent="anna")
        assert exc.value.status == 401 and BSN not in str(exc.value)
    finally:
        await c.close()
    monkeypatch.setenv("KCC_BRP_API_KEY", fake_brp.API_KEY)
    state.forbidden_types = {"ZoekMetPostcodeEnHuisnummer"}
    c = client(server)
    try:
        with pytest.raises(SourceAuthError) as exc:
            await c.search(KlantQuery(postcode="2801CD", huisnummer=3), 5, agent="anna")
        assert exc.value.status == 403
        assert len(await c.search(KlantQuery(bsn=BSN), 5, agent="anna")) == 1
    finally:
        await c.close()


async def test_wrong_base_url_and_slow_answer(brp: tuple[FakeBrp, TestServer]) -> None:
    state, server = brp
    wrong = BrpPersonen(BrpSection(enabled=True, base_url=str(server.make_url("/nope"))),
                        1.0)
    try:
        with pytest.raises(SourceError) as exc:  # /personen has no 404 of its own
            await wrong.search(KlantQuery(bsn=BSN), 5, agent="anna")
        assert exc.value.status == 404
    finally:
        await wrong.close()
    state.seen.clear()  # that request went to /nope (checked by the fixture otherwise)
    state.delay = 1.0
    c = client(server, timeout=0.2)
    try:
        with pytest.raises(SourceTimeout):
            await c.klant(c.refs.ref(BSN), agent="anna")
    finally:
        await c.close()


# ------------------------------------------------------------------ the ZGW source
@pytest.fixture
async def zgw(brp: tuple[FakeBrp, TestServer]) -> AsyncIterator[tuple[FakeZgw, TestServer]]:
    state = FakeZgw()
    server = TestServer(state.app())
    await server.start_server()
    state.base = str(server.make_url("")).rstrip("/")
    try:
        yield state, server
    finally:
        await server.close()


def source_config(zgw_server: TestServer, brp_server: TestServer | None) -> ZakenConfig:
    base = str(zgw_server.make_url("")).rstrip("/")
    return ZakenConfig(
        source="zgw", timeout_seconds=1.0, max_open_zaken=3,
        zaken_api=ZakenApiSection(base_url=f"{base}/zaken/api/v1"),
        openklant=OpenKlantSection(base_url=f"{base}/klantinteracties/api/v1"),
        brp=brp_section(brp_server) if brp_server is not None else BrpSection())


async def test_zgw_source_pop_flow_with_brp_search(
        brp: tuple[FakeBrp, TestServer], zgw: tuple[FakeZgw, TestServer],
        pool: asyncpg.Pool) -> None:
    brp_state, brp_server = brp
    zgw_state, zgw_server = zgw
    for i in range(4):
        zgw_state.add_zaak(BSN2, f"ZAAK-B{i}", startdatum=f"2026-10-0{i + 1}")
    zgw_state.add_zaak(BSN2, "ZAAK-B-DICHT", open_=False)
    zgw_state.add_zaak(BSN, "ZAAK-K")
    config = source_config(zgw_server, brp_server)
    source = ZgwZaakSource(config)
    try:
        p = popper(pool, source, config)
        call = make_call("anonymous")
        assert (await p.build(call, "anna"))["candidates"] == []
        found = await source.search_klanten(
            KlantQuery(achternaam="de Boer", geboortedatum="1970-01-01"), 5, agent="anna")
        [ref] = [k.ref for k in found]
        assert await p.add_search_results(call["linkedid"], "anna", [ref])
        pop = await p.choose(call["linkedid"], "anna", ref)
        assert pop["selected"] == ref and pop["klant"] is None
        assert pop["candidates"][0]["naam"] == "Anna Maria de Boer"
        assert pop["candidates"][0]["open_zaken"] == 4
        pop = await p.mark_verified(call["linkedid"], "anna", ref)
        assert pop["verified"] is True and pop["klant"]["naam"] == "Anna Maria de Boer"
        assert pop["klant"]["geboortedatum"] == "1970-01-01"
        assert pop["klant"]["postcode"] == "2801CD"
        assert [z["identificatie"] for z in pop["zaken"]] == ["ZAAK-B3", "ZAAK-B2", "ZAAK-B1"]
        assert pop["zaken_total"] == 4 and pop["contacten"] == []
        assert pop["incomplete"] is False
        rows = await log_rows(pool, call["linkedid"])
        assert {r["klant_ref"] for r in rows} == {ref}
        # The privacy officer's query by BSN finds these entries: same ref, no lookup.
        assert await source.ref_for_bsn(BSN2) == ref
        assert [r["zaken"] for r in rows if r["action"] == "details"] == [
            ["ZAAK-B3", "ZAAK-B2", "ZAAK-B1"]]
        klant = await source.klant(ref, agent="anna")
        assert klant is not None
        assert await source.recent_contacts(klant, 5) == []
        assert await source.klant("p-" + "a" * 40, agent="anna") is None
    finally:
        await source.close()
    assert BSN2 not in str(pop)
    no_pii_in_urls(zgw_state.seen + brp_state.seen, BSN, BSN2, "Boer", "2801")
    zoek = [s for s in zgw_state.seen if urlsplit(s.path_qs).path.endswith("/zaken/_zoek")]
    assert zoek and all(BSN2 in str(s.body) for s in zoek)
    assert not [s for s in zgw_state.seen if s.path_qs.startswith(fake_zgw.OK_BASE)
                and "klantcontacten" in s.path_qs]


async def test_zgw_source_without_brp_refuses_as_before(
        brp: tuple[FakeBrp, TestServer], zgw: tuple[FakeZgw, TestServer]) -> None:
    brp_state, _ = brp
    _, zgw_server = zgw
    source = ZgwZaakSource(source_config(zgw_server, None))
    try:
        assert source.brp is None
        for q in (KlantQuery(bsn=BSN), KlantQuery(postcode="2801CD", huisnummer=3),
                  KlantQuery(achternaam="Boer", geboortedatum="1970-01-01")):
            with pytest.raises(SearchNotSupported):
                await source.search_klanten(q, 5, agent="anna")
        ref = PersonRefs(fake_brp.REF_KEY).ref(BSN)
        assert await source.klant(ref, agent="anna") is None
        with pytest.raises(SearchNotSupported):
            await source.ref_for_bsn(BSN)
    finally:
        await source.close()
    assert brp_state.seen == []


Client = TestClient[web.Request, web.Application]


async def test_http_api_search_with_the_brp(
        brp: tuple[FakeBrp, TestServer], zgw: tuple[FakeZgw, TestServer],
        pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture,
        aiohttp_client: Callable[[web.Application], Awaitable[Client]]) -> None:
    caplog.set_level(logging.DEBUG)
    brp_state, brp_server = brp
    zgw_state, zgw_server = zgw
    zgw_state.add_zaak(BSN, "ZAAK-K1")
    config = source_config(zgw_server, brp_server)
    app = web.Application(middlewares=[fake_auth])
    p = api.setup_zaken(app, pool, config, source=ZgwZaakSource(config))
    for method, path, handler in api.ROUTES:
        app.router.add_route(method, path, handler)
    http = await aiohttp_client(app)
    call = make_call("anonymous")
    await p.build(call, "anna")
    resp = await http.post("/api/zaken/klanten/search", headers=as_("anna"),
                           json={"achternaam": "Jansen", "geboortedatum": "1983-05-26",
                                 "call_id": call["linkedid"]})
    text = await resp.text()
    assert resp.status == 200 and BSN not in text
    [found] = (await resp.json())["results"]
    assert found["naam"] == "Kees Jansen" and found["ref"].startswith("p-")
    resp = await http.post("/api/zaken/klanten/search", headers=as_("anna"),
                           json={"bsn": BSN})
    assert [r["ref"] for r in (await resp.json())["results"]] == [found["ref"]]
    resp = await http.post(f"/api/zaken/calls/{call['linkedid']}/verify",
                           headers=as_("anna"), json={"klant_ref": found["ref"]})
    pop = await resp.json()
    assert resp.status == 200 and pop["klant"]["naam"] == "Kees Jansen"
    assert [z["identificatie"] for z in pop["zaken"]] == ["ZAAK-K1"]
    logged = await pool.fetch("SELECT action, klant_ref, purpose FROM processing_log "
                              "WHERE call_id = $1 ORDER BY id", call["linkedid"])
    assert [r["action"] for r in logged] == ["search", "details"]
    assert {r["klant_ref"] for r in logged} == {found["ref"]}
    assert "naam_geboortedatum" in logged[0]["purpose"]
    # A BRP failure is a clean 502/504, not a traceback with personal data.
    brp_state.delay = 2.0
    resp = await http.post("/api/zaken/klanten/search", headers=as_("anna"),
                           json={"postcode": "2801AB", "huisnummer": 12})
    assert resp.status == 504 and "2801" not in await resp.text()
    brp_state.delay = 0.0
    no_pii_in_urls(zgw_state.seen + brp_state.seen, BSN, "Jansen", "2801")
    assert caplog.records, "the flow logs something (else this proves nothing)"
    for record in caplog.records:
        text = f"{record.getMessage()} {record.args!r} {record.exc_text or ''}"
        assert BSN not in text and "Jansen" not in text, record.getMessage()[:200]
