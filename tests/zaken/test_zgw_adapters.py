"""The ZGW adapters (Open Klant 2 + Zaken API) against the local fake API server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import jwt
import pytest
from aiohttp.test_utils import TestServer

from telephony.zaken.config import OpenKlantSection, ZakenApiSection, ZakenConfig
from telephony.zaken.http import SourceAuthError, SourceError
from telephony.zaken.schemas import CallbackTask, KlantQuery, NewContactmoment
from telephony.zaken.sources import SearchNotSupported, ZgwZaakSource

from . import fake_zgw
from .fake_zgw import FakeZgw
from .helpers import log_rows, make_call, popper

BSN = "999990019"


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


def zgw_config(server: TestServer, **changes: Any) -> ZakenConfig:
    base = str(server.make_url("")).rstrip("/")
    return ZakenConfig(source="zgw", timeout_seconds=changes.pop("timeout", 1.0),
                       max_open_zaken=changes.pop("max_open_zaken", 3),
                       zaken_api=ZakenApiSection(base_url=f"{base}/zaken/api/v1"),
                       openklant=OpenKlantSection(
                           base_url=f"{base}/klantinteracties/api/v1",
                           actor_uuid="5b0a3b1e-4f33-4b8e-9d5c-3b0d3c0a9a11"), **changes)


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
        assert pop["zaken"][0]["status"] == "In behandeling"
        assert pop["zaken"][0]["zaaktype"] == "Melding openbare ruimte"
        details = [r for r in await log_rows(pool, call["linkedid"]) if r["action"] == "details"]
        assert details[0]["zaken"] == ["ZAAK-4", "ZAAK-3", "ZAAK-2"]
    finally:
        await source.close()
    zrc = [s for s in state.seen if s.path_qs.startswith("/zaken/")]
    assert zrc, "the Zaken API was asked"
    for seen in state.seen:
        assert BSN not in seen.path_qs, "a BSN must never be in a URL"
    zoek = [s for s in zrc if s.path_qs.startswith("/zaken/api/v1/zaken/_zoek")]
    assert zoek and all(s.body[fake_zgw_bsn_filter()] == BSN for s in zoek)
    assert all("expand=status%2Czaaktype" in s.path_qs or "expand=status,zaaktype" in s.path_qs
               for s in zoek)
    # Paging: page size 2, three zaken shown -> exactly two pages, not all three.
    assert len([s for s in zoek if "page=2" in s.path_qs]) >= 1
    assert not [s for s in zoek if "page=3" in s.path_qs]
    for seen in zrc:
        assert seen.headers["Accept-Crs"] == "EPSG:4326"
        claims = jwt.decode(seen.headers["Authorization"].removeprefix("Bearer "),
                            fake_zgw.SECRET, algorithms=["HS256"])
        assert claims["client_id"] == "kcc-telefonie" and claims["user_id"] == "anna"
        assert claims["exp"] - claims["iat"] <= 300


def fake_zgw_bsn_filter() -> str:
    return "rol__betrokkeneIdentificatie__natuurlijkPersoon__inpBsn"


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
        with pytest.raises(SourceAuthError):
            await source.zaken_api.count_open_for(user_id="anna", bsn=BSN)
    finally:
        await source.close()


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
    state.add_zaak(BSN, "ZAAK-77")
    state.add_zaak(BSN, "ZAAK-78", open_=False)
    source = ZgwZaakSource(zgw_config(server))
    try:
        [found] = await source.klanten_by_zaaknummer("ZAAK-77", agent="anna")
        assert found.ref.startswith("r-") and found.naam == "Kees Jansen"
        klant = await source.klant(found.ref, agent="anna")
        assert klant is not None and klant.bsn == BSN
        zaken = await source.open_zaken(klant, 5, agent="anna")
        assert [z.identificatie for z in zaken.zaken] == ["ZAAK-77"]
        assert await source.klanten_by_zaaknummer("ZAAK-NOPE", agent="anna") == []
        with pytest.raises(SearchNotSupported):
            await source.search_klanten(KlantQuery(bsn=BSN), 5, agent="anna")
    finally:
        await source.close()


async def test_contact_history_registration_and_callback(
        fake: tuple[FakeZgw, TestServer]) -> None:
    state, server = fake
    partij = state.add_person(("Kees", "", "Jansen"), BSN, ["0612345678"])
    for day in (3, 1, 2):
        state.klantcontacten.append({"uuid": f"c{day}", "_partij": partij, "kanaal": "telefoon",
                                     "onderwerp": f"vraag {day}", "inhoud": "...",
                                     "indicatieContactGelukt": True,
                                     "plaatsgevondenOp": f"2026-11-0{day}T10:00:00+00:00"})
    source = ZgwZaakSource(zgw_config(server))
    try:
        klant = await source.klant(partij, agent="anna")
        assert klant is not None
        contacts = await source.recent_contacts(klant, 2)
        assert [c.onderwerp for c in contacts] == ["vraag 3", "vraag 2"]
        new = await source.register_contact(NewContactmoment(
            call_id="1.2", klant_ref=partij, zaak_identificatie="ZAAK-1", onderwerp="Status",
            tekst="Status doorgegeven"), agent="anna")
        assert new
        task = await source.create_callback(CallbackTask(
            call_id="1.2", klant_ref=partij, telefoonnummer="+31612345678",
            toelichting="Graag na 14:00"))
        assert task
    finally:
        await source.close()
    kinds = [k for k, _ in state.created]
    assert kinds == ["klantcontact", "klantcontact", "internetaak"]
    contact = state.created[0][1]
    assert contact["betrokkene"]["wasPartij"] == {"uuid": partij}
    assert contact["onderwerpobject"]["onderwerpobjectidentificator"]["objectId"] == "ZAAK-1"
    taak = state.created[2][1]
    assert taak["gevraagdeHandeling"] == "Terugbellen" and taak["status"] == "te_verwerken"
    assert taak["toegewezenAanActoren"] == [{"uuid": "5b0a3b1e-4f33-4b8e-9d5c-3b0d3c0a9a11"}]
