"""The ZGW adapters (Open Klant 2 + Zaken API) against the local fake API server.

The fake serves the published OAS shapes (see ``fake_zgw.py``) over real HTTP. The Zaken
API side refuses undeclared query parameters like Open Zaak does; for Open Klant, which
ignores them, the fixture checks after each test that every parameter name we sent is
one the published spec lists.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import asyncpg
import jwt
import pytest
from aiohttp.test_utils import TestServer

from telephony.zaken.config import OpenKlantSection, ZakenApiSection, ZakenConfig
from telephony.zaken.http import SourceAuthError, SourceError
from telephony.zaken.schemas import CallbackTask, Klant, KlantQuery, NewContactmoment
from telephony.zaken.sources import SearchNotSupported, ZgwZaakSource
from telephony.zaken.zgw_zaken import BSN_FILTER, KVK_FILTER, KVK_FILTER_STANDARD

from . import fake_zgw
from .fake_zgw import FakeZgw
from .helpers import log_rows, make_call, popper

BSN = "999990019"
KVK = "69599084"
ACTOR = "5b0a3b1e-4f33-4b8e-9d5c-3b0d3c0a9a11"


def query(seen: fake_zgw.Seen) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(seen.path_qs).query))


def path(seen: fake_zgw.Seen) -> str:
    return urlsplit(seen.path_qs).path


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[FakeZgw, TestServer]]:
    monkeypatch.setenv("KCC_ZAKEN_API_SECRET", fake_zgw.SECRET)
    monkeypatch.setenv("KCC_OPENKLANT_TOKEN", fake_zgw.TOKEN)
    state = FakeZgw()
    server = TestServer(state.app())
    await server.start_server()
    state.base = str(server.make_url("")).rstrip("/")
    try:
        yield state, server
    finally:
        await server.close()
    for seen in state.seen:  # only names the Klantinteracties OAS lists for the endpoint
        parts = path(seen).removeprefix(fake_zgw.OK_BASE + "/").split("/")
        if path(seen).startswith(fake_zgw.OK_BASE) and seen.method == "GET":
            assert set(query(seen)) <= fake_zgw.OK_QUERY[parts[0]], seen.path_qs


def zgw_config(server: TestServer, **changes: Any) -> ZakenConfig:
    base = str(server.make_url("")).rstrip("/")
    zaken_api = ZakenApiSection(base_url=f"{base}/zaken/api/v1",
                                **changes.pop("zaken_api", {}))
    return ZakenConfig(source="zgw", timeout_seconds=changes.pop("timeout", 1.0),
                       max_open_zaken=changes.pop("max_open_zaken", 3), zaken_api=zaken_api,
                       openklant=OpenKlantSection(
                           base_url=f"{base}/klantinteracties/api/v1", actor_uuid=ACTOR),
                       **changes)


async def test_phone_to_partij_to_bsn_to_zaken(fake: tuple[FakeZgw, TestServer],
                                               pool: asyncpg.Pool) -> None:
    state, server = fake
    partij = state.add_person(("Kees", "", "Jansen"), BSN, ["06-12 34 56 78", "0612345678"])
    state.add_person(("Other", "", "Person"), "999990020", ["0687654321"])
    for i in range(5):
        state.add_zaak(BSN, f"ZAAK-{i}", startdatum=f"2026-10-0{i + 1}")
    state.add_zaak(BSN, "ZAAK-CLOSED", open_=False)
    source = ZgwZaakSource(zgw_config(server))
    try:
        p = popper(pool, source, zgw_config(server))
        call = make_call("+31612345678")
        pop = await p.build(call, "anna")
        assert [c["ref"] for c in pop["candidates"]] == [partij]
        assert pop["candidates"][0]["naam"] == "Kees Jansen"
        assert pop["candidates"][0]["open_zaken"] == 5
        assert pop["incomplete"] is False
        pop = await p.mark_verified(call["linkedid"], "anna", partij)
        assert [z["identificatie"] for z in pop["zaken"]] == ["ZAAK-4", "ZAAK-3", "ZAAK-2"]
        assert pop["zaken_total"] == 5
        assert pop["zaken"][0]["status"] == "In behandeling"  # via status.statustype
        assert pop["zaken"][0]["zaaktype"] == "Melding openbare ruimte"
        assert pop["zaken"][0]["afdeling"] == ""  # verantwoordelijkeOrganisatie is an RSIN
        details = [r for r in await log_rows(pool, call["linkedid"]) if r["action"] == "details"]
        assert details[0]["zaken"] == ["ZAAK-4", "ZAAK-3", "ZAAK-2"]
    finally:
        await source.close()
    adressen = [s for s in state.seen if path(s).endswith("/digitaleadressen")]
    assert adressen and all(query(s)["soortDigitaalAdres"] == "telefoonnummer"
                            for s in adressen)
    assert {"0612345678", "+31612345678"} <= {query(s)["adres"] for s in adressen}
    zrc = [s for s in state.seen if s.path_qs.startswith("/zaken/")]
    assert zrc, "the Zaken API was asked"
    for seen in state.seen:
        assert BSN not in seen.path_qs, "a BSN must never be in a URL"
        assert "pageSize" not in seen.path_qs, "not a Zaken API 1.5.1 parameter"
    zoek = [s for s in zrc if path(s) == "/zaken/api/v1/zaken/_zoek"]
    assert zoek and all(s.body == {BSN_FILTER: BSN, "einddatum__isnull": True,
                                   "ordering": ["-startdatum"],
                                   "expand": ["zaaktype", "status", "status.statustype"]}
                        for s in zoek)
    assert all(set(query(s)) <= {"page"} for s in zoek)
    # Paging: page size 2, three zaken shown -> exactly two pages, not all three.
    assert [query(s).get("page") for s in zoek].count("2") >= 1
    assert not [s for s in zoek if query(s).get("page") == "3"]
    for seen in zrc:
        assert seen.headers["Accept-Crs"] == "EPSG:4326"
        assert seen.headers.get("Content-Crs") == ("EPSG:4326" if seen.method == "POST"
                                                   else None)
        claims = jwt.decode(seen.headers["Authorization"].removeprefix("Bearer "),
                            fake_zgw.SECRET, algorithms=["HS256"])
        assert claims["iss"] == claims["client_id"] == "kcc-telefonie"
        assert claims["user_id"] == claims["user_representation"] == "anna"
        assert claims["exp"] - claims["iat"] <= 300


async def test_unverified_zgw_pop_fetches_no_zaak_details(fake: tuple[FakeZgw, TestServer],
                                                         pool: asyncpg.Pool) -> None:
    state, server = fake
    state.add_person(("Kees", "", "Jansen"), BSN, ["0612345678"])
    for i in range(3):
        state.add_zaak(BSN, f"ZAAK-{i}")
    source = ZgwZaakSource(zgw_config(server))
    try:
        await popper(pool, source, zgw_config(server)).build(make_call("0612345678"), "anna")
    finally:
        await source.close()
    zoek = [s for s in state.seen if "_zoek" in s.path_qs]
    assert len(zoek) == 1, "only the first page, for the count"


def test_bsn_in_a_query_string_cannot_be_configured(fake: tuple[FakeZgw, TestServer]) -> None:
    """Issue 10, finding 11: the old "get_query" option is refused at load."""
    _state, server = fake
    with pytest.raises(ValueError, match="never put in a query string"):
        zgw_config(server, zaken_api={"bsn_search": "get_query"})


async def test_company_zaken_by_kvk_with_fallback_to_inn_nnp_id(
        fake: tuple[FakeZgw, TestServer]) -> None:
    state, server = fake
    partij = state.add_company("Bakkerij De Korst B.V.", KVK, ["0182123456"])
    state.add_zaak(kvk=KVK, identificatie="ZAAK-NNP-1", startdatum="2026-10-01")
    state.add_zaak(inn_nnp_id=KVK, identificatie="ZAAK-NNP-OUD", startdatum="2026-09-01")
    state.add_zaak(BSN, "ZAAK-PERSOON")
    source = ZgwZaakSource(zgw_config(server))
    try:
        klant = await source.klant(partij, agent="anna")
        assert klant is not None and klant.kvk == KVK and klant.bsn == ""
        assert klant.soort == "niet_natuurlijk_persoon" and klant.naam == "Bakkerij De Korst B.V."
        zaken = await source.open_zaken(klant, 5, agent="anna")
        assert [z.identificatie for z in zaken.zaken] == ["ZAAK-NNP-1"]
        # An Open Zaak before 1.20 refuses kvkNummer (400 unknown-parameters): innNnpId.
        state.supports_kvk_nummer = False
        other = ZgwZaakSource(zgw_config(server))
        try:
            zaken = await other.open_zaken(klant, 5, agent="anna")
            assert [z.identificatie for z in zaken.zaken] == ["ZAAK-NNP-OUD"]
            assert await other.count_open_zaken(klant, agent="anna") == 1
        finally:
            await other.close()
    finally:
        await source.close()
    kvk_asked = [query(s) for s in state.seen if path(s) == "/zaken/api/v1/zaken"]
    assert [next(k for k in q if k.startswith("rol__")) for q in kvk_asked] == [
        KVK_FILTER, KVK_FILTER, KVK_FILTER_STANDARD, KVK_FILTER_STANDARD]
    assert not [s for s in state.seen if "_zoek" in s.path_qs], "KVK searches use GET"


async def test_partij_identificatoren_as_references_are_fetched(
        fake: tuple[FakeZgw, TestServer]) -> None:
    state, server = fake
    partij = state.add_person(("Kees", "van", "Jansen"), BSN, ["0612345678"])
    source = ZgwZaakSource(zgw_config(server))
    try:
        klant = await source.klant(partij, agent="anna")
        assert klant is not None and klant.bsn == BSN and klant.naam == "Kees van Jansen"
        assert not [s for s in state.seen if "partij-identificatoren" in s.path_qs], \
            "embedded identificatoren need no extra request"
        state.identificator_refs_only = True
        klant = await source.klant(partij, agent="anna")
        assert klant is not None and klant.bsn == BSN
        assert [s for s in state.seen if "partij-identificatoren" in s.path_qs]
    finally:
        await source.close()


async def test_404_partij_and_unknown_refs(fake: tuple[FakeZgw, TestServer]) -> None:
    state, server = fake
    state.adressen.append({"uuid": "x", "adres": "0612345678",
                           "soortDigitaalAdres": "telefoonnummer",
                           "verstrektDoorPartij": {"uuid": "2b0d3c0a-0000-4000-8000-000000000000"}})
    source = ZgwZaakSource(zgw_config(server))
    try:
        assert await source.klanten_by_phone("+31612345678", 5) == []
        assert await source.klant("2b0d3c0a-0000-4000-8000-000000000001", agent="a") is None
        assert await source.klant("r-2b0d3c0a-0000-4000-8000-000000000001", agent="a") is None
        assert await source.klant("../../etc", agent="a") is None
    finally:
        await source.close()


async def test_401_is_an_auth_error_and_the_pop_still_arrives(
        fake: tuple[FakeZgw, TestServer], pool: asyncpg.Pool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    state, server = fake
    state.add_person(("Kees", "", "Jansen"), BSN, ["0612345678"])
    monkeypatch.setenv("KCC_OPENKLANT_TOKEN", "wrong")
    source = ZgwZaakSource(zgw_config(server))
    try:
        with pytest.raises(SourceAuthError):
            await source.klanten_by_phone("+31612345678", 5)
        pop = await popper(pool, source, zgw_config(server)).build(make_call("0612345678"),
                                                                   "anna")
        assert pop["incomplete"] is True and pop["missing"] == ["caller_id"]
        assert pop["candidates"] == []
    finally:
        await source.close()


async def test_wrong_jwt_secret_is_refused(fake: tuple[FakeZgw, TestServer],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _state, server = fake
    monkeypatch.setenv("KCC_ZAKEN_API_SECRET", "not-the-secret-but-also-32-bytes-long")
    source = ZgwZaakSource(zgw_config(server))
    try:
        with pytest.raises(SourceAuthError, match="401"):
            await source.zaken_api.count_open_for(user_id="anna", bsn=BSN)
    finally:
        await source.close()


async def test_unknown_client_id_is_forbidden(fake: tuple[FakeZgw, TestServer]) -> None:
    _state, server = fake
    source = ZgwZaakSource(zgw_config(server, zaken_api={"client_id": "someone-else"}))
    try:
        with pytest.raises(SourceAuthError, match="403"):
            await source.zaken_api.count_open_for(user_id="anna", bsn=BSN)
    finally:
        await source.close()


async def test_errors_are_served_in_the_zgw_problem_shape(
        fake: tuple[FakeZgw, TestServer]) -> None:
    state, server = fake
    state.add_zaak(BSN, "ZAAK-1")
    api = ZgwZaakSource(zgw_config(server)).zaken_api
    good = {"Authorization": f"Bearer {api.token('anna')}", "Accept-Crs": "EPSG:4326"}
    fout = {"type", "code", "title", "status", "detail", "instance"}
    cases = [
        ("GET", "/zaken/api/v1/zaken", {}, {}, 401, "not_authenticated"),
        ("GET", "/zaken/api/v1/zaken", {"Authorization": good["Authorization"]}, {}, 412,
         "precondition_failed"),
        ("GET", "/zaken/api/v1/zaken", good, {"pageSize": "5"}, 400, "invalid"),
        ("GET", "/zaken/api/v1/zaken", good, {"page": "9"}, 404, "not_found"),
        ("GET", "/zaken/api/v1/rollen/2b0d3c0a-0000-4000-8000-000000000001", good, {}, 404,
         "not_found"),
        ("GET", "/klantinteracties/api/v1/partijen/x", {"Authorization": "Token nope"}, {},
         401, "authentication_failed"),
    ]
    try:
        async with aiohttp.ClientSession() as session:
            for method, url, headers, params, status, code in cases:
                async with session.request(method, server.make_url(url), headers=headers,
                                           params=params) as resp:
                    body = await resp.json()
                    assert resp.status == status, (url, params)
                    assert resp.content_type == "application/problem+json"
                    assert set(body) == fout | ({"invalidParams"} if status == 400 else set())
                    assert body["status"] == status and body["code"] == code
            async with session.get(server.make_url("/zaken/api/v1/zaken"), headers=good,
                                   params={"pageSize": "5"}) as resp:
                [param] = (await resp.json())["invalidParams"]
                assert param["name"] == "nonFieldErrors"
                assert param["code"] == "unknown-parameters" and "pageSize" in param["reason"]
    finally:
        await api.close()
    source = ZgwZaakSource(zgw_config(server))
    try:  # a 400 is a source error, not a credentials problem
        http = source.zaken_api.http
        with pytest.raises(SourceError, match="HTTP 400") as raised:
            await http.request("GET", http.url("zaken"), source.zaken_api._headers("anna"),
                               params={"ordering": "-startdatum", "onzin": "1"})
        assert not isinstance(raised.value, SourceAuthError)
    finally:
        await source.close()


async def test_paging_shape(fake: tuple[FakeZgw, TestServer]) -> None:
    state, server = fake
    for i in range(5):
        state.add_zaak(BSN, f"ZAAK-{i}")
    source = ZgwZaakSource(zgw_config(server))
    try:
        http, headers = source.zaken_api.http, source.zaken_api._headers("anna")
        page = await http.request("GET", http.url("zaken"), headers, params={"page": "2"})
    finally:
        await source.close()
    assert page is not None and set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == 5 and len(page["results"]) == 2
    assert "page=3" in page["next"] and "page=1" in page["previous"]
    assert all("_expand" not in z for z in page["results"]), "only when asked for"


async def test_slow_zaken_api_times_out_pop_marked_incomplete(
        fake: tuple[FakeZgw, TestServer], pool: asyncpg.Pool) -> None:
    state, server = fake
    partij = state.add_person(("Kees", "", "Jansen"), BSN, ["0612345678"])
    state.add_zaak(BSN, "ZAAK-1")
    state.delays["/_zoek"] = 3.0
    config = zgw_config(server, timeout=0.3)
    source = ZgwZaakSource(config)
    try:
        p = popper(pool, source, config)
        call = make_call("0612345678")
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        pop = await p.build(call, "anna")
        assert loop.time() - t0 < 1.5
        assert pop["incomplete"] is True and "open_zaken_count" in pop["missing"]
        assert pop["candidates"][0]["ref"] == partij
        assert pop["candidates"][0]["open_zaken"] is None
        pop = await p.mark_verified(call["linkedid"], "anna", partij)
        assert pop["incomplete"] is True and "zaken" in pop["missing"]
        assert pop["verified"] is True and pop["zaken"] == []
    finally:
        await source.close()


async def test_next_link_to_another_host_is_not_followed(
        fake: tuple[FakeZgw, TestServer]) -> None:
    state, server = fake
    for i in range(4):
        state.add_zaak(BSN, f"ZAAK-{i}")
    state.foreign_next = True
    source = ZgwZaakSource(zgw_config(server))
    try:
        with pytest.raises(SourceError, match="outside"):
            await source.zaken_api.open_zaken_for(user_id="anna", limit=4, bsn=BSN)
    finally:
        await source.close()


async def test_zaaknummer_identifies_through_the_initiator_rol(
        fake: tuple[FakeZgw, TestServer]) -> None:
    state, server = fake
    zaak = state.add_zaak(BSN, "ZAAK-77")
    state.add_zaak(BSN, "ZAAK-78", open_=False)
    source = ZgwZaakSource(zgw_config(server))
    try:
        [found] = await source.klanten_by_zaaknummer("ZAAK-77", agent="anna")
        assert found.ref.startswith("r-") and found.naam == "Kees Jansen"
        assert found.soort == "natuurlijk_persoon"
        klant = await source.klant(found.ref, agent="anna")
        assert klant is not None and klant.bsn == BSN
        zaken = await source.open_zaken(klant, 5, agent="anna")
        assert [z.identificatie for z in zaken.zaken] == ["ZAAK-77"]
        assert await source.klanten_by_zaaknummer("ZAAK-NOPE", agent="anna") == []
        with pytest.raises(SearchNotSupported):
            await source.search_klanten(KlantQuery(bsn=BSN), 5, agent="anna")
    finally:
        await source.close()
    rollen = [query(s) for s in state.seen if path(s) == "/zaken/api/v1/rollen"]
    assert rollen[0] == {"zaak": zaak["url"], "omschrijvingGeneriek": "initiator"}
    by_id = [query(s) for s in state.seen
             if path(s) == "/zaken/api/v1/zaken" and "identificatie" in query(s)]
    assert by_id[0] == {"identificatie": "ZAAK-77"}


async def test_company_found_through_a_zaaknummer(fake: tuple[FakeZgw, TestServer]) -> None:
    state, server = fake
    state.add_zaak(inn_nnp_id="002564440", identificatie="ZAAK-NNP",
                   statutaire_naam="Gemeentewerken B.V.")
    source = ZgwZaakSource(zgw_config(server))
    try:
        [found] = await source.klanten_by_zaaknummer("ZAAK-NNP", agent="anna")
    finally:
        await source.close()
    assert found.naam == "Gemeentewerken B.V." and found.soort == "niet_natuurlijk_persoon"


async def test_contact_history_registration_and_callback(
        fake: tuple[FakeZgw, TestServer]) -> None:
    state, server = fake
    partij = state.add_person(("Kees", "", "Jansen"), BSN, ["0612345678"])
    for day in (1, 2, 3):
        state.add_klantcontact(partij, onderwerp=f"vraag {day}",
                               plaatsgevonden_op=f"2026-11-0{day}T10:00:00+00:00")
    source = ZgwZaakSource(zgw_config(server))
    try:
        klant = await source.klant(partij, agent="anna")
        assert klant is not None
        contacts = await source.recent_contacts(klant, 2)
        assert [c.onderwerp for c in contacts] == ["vraag 3", "vraag 2"]
        new = await source.register_contact(NewContactmoment(
            call_id="1.2", klant_ref=partij, zaak_identificatie="ZAAK-1", onderwerp="Status",
            tekst="Status doorgegeven " + "x" * 1500), agent="anna")
        assert new
        task = await source.create_callback(CallbackTask(
            call_id="1.2", klant_ref=partij, telefoonnummer="+31612345678",
            toelichting="Graag na 14:00 " + "y" * 1500))
        assert task
        contacts = await source.recent_contacts(klant, 10)
        assert {c.onderwerp for c in contacts} >= {"Status", "Terugbelverzoek"}
    finally:
        await source.close()
    lists = [query(s) for s in state.seen if path(s).endswith("/klantcontacten")]
    assert lists[0] == {"hadBetrokkene__wasPartij__uuid": partij}, "no ordering parameter"
    kinds = [k for k, _ in state.created]
    assert kinds == ["klantcontact", "klantcontact", "internetaak"]
    contact = state.created[0][1]
    assert contact["betrokkene"] == {"wasPartij": {"uuid": partij}, "rol": "klant",
                                     "initiator": True}
    assert contact["onderwerpobject"] == {"onderwerpobjectidentificator": {
        "objectId": "ZAAK-1", "codeObjecttype": "zaak", "codeRegister": "openzaak",
        "codeSoortObjectId": "identificatie"}}
    assert len(contact["klantcontact"]["inhoud"]) == 1000
    assert {"kanaal", "onderwerp", "taal", "vertrouwelijk"} <= set(contact["klantcontact"])
    taak = state.created[2][1]
    assert taak["gevraagdeHandeling"] == "Terugbellen" and taak["status"] == "te_verwerken"
    assert taak["toegewezenAanActoren"] == [{"uuid": ACTOR}]
    assert "toegewezenAanActor" not in taak, "deprecated since Open Klant 2.2.0"
    assert len(taak["toelichting"]) == 1000
    callback_contact = state.created[1][1]
    assert taak["aanleidinggevendKlantcontact"]["uuid"] in {
        c["uuid"] for c in state.klantcontacten if c["onderwerp"] == "Terugbelverzoek"}
    assert "onderwerpobject" not in callback_contact


async def test_recent_contacts_newest_first_across_pages(
        fake: tuple[FakeZgw, TestServer]) -> None:
    state, server = fake
    partij = state.add_person(("Kees", "", "Jansen"), BSN, ["0612345678"])
    other = state.add_person(("Other", "", "Person"), "999990020", [])
    for day in (3, 1, 2):
        state.add_klantcontact(partij, onderwerp=f"vraag {day}",
                               plaatsgevonden_op=f"2026-11-0{day}T10:00:00+00:00")
    state.add_klantcontact(other, onderwerp="niet van Kees",
                           plaatsgevonden_op="2026-11-09T10:00:00+00:00")
    source = ZgwZaakSource(zgw_config(server))
    try:
        contacts = await source.recent_contacts(
            Klant(ref=partij, soort="natuurlijk_persoon", naam="Kees Jansen"), 3)
    finally:
        await source.close()
    assert [c.onderwerp for c in contacts] == ["vraag 3", "vraag 2", "vraag 1"]
    assert contacts[0].uitkomst == "gelukt" and contacts[0].kanaal == "telefoon"


async def test_zaak_reference_as_kiss_records_it(fake: tuple[FakeZgw, TestServer]) -> None:
    state, server = fake
    zaak = state.add_zaak(BSN, "ZAAK-9")
    source = ZgwZaakSource(zgw_config(server))
    try:
        # The source looks the zaak's uuid up from the zaaknummer the agent registered.
        new = await source.register_contact(NewContactmoment(
            call_id="1.9", klant_ref=None, zaak_identificatie="ZAAK-9",
            onderwerp="Vraag over zaak", tekst=""), agent="anna")
    finally:
        await source.close()
    assert new
    [(_, body)] = state.created
    assert "betrokkene" not in body
    assert body["onderwerpobject"]["onderwerpobjectidentificator"] == {
        "objectId": zaak["uuid"], "codeObjecttype": "zgw-Zaak", "codeRegister": "openzaak",
        "codeSoortObjectId": "uuid"}
