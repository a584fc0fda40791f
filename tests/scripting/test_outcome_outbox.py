"""The outcome route's path to Open Klant: Scripting.register_outcome with the ZGW source
queues the klantcontact (indicator from the outcome, inhoud with the promised term) and the
internetaak of a terugbelverzoek, files the terugbelnotitie, and the worker delivers them
to the project's fake Open Klant. Real PostgreSQL; the service's other parts are stubs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import MappingProxyType, SimpleNamespace
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestServer

from telephony.config import Config
from telephony.metrics import Metrics
from telephony.scripting.rules import Action
from telephony.scripting.service import Scripting
from telephony.zaken.config import OpenKlantSection, ZakenApiSection, ZakenConfig
from telephony.zaken.privacy import ProcessingLog
from telephony.zaken.sources import ZgwZaakSource
from tests.zaken import fake_zgw
from tests.zaken.fake_zgw import FakeZgw

SCRIPTS = Path(__file__).resolve().parents[2] / "config" / "scripts"


class _Agents:
    async def get(self, login: str) -> Any:
        return SimpleNamespace(name="Anna de Vries")


class _Hub:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def send_to_agent(self, agent: str, message: dict[str, Any]) -> None:
        self.sent.append((agent, message))


@pytest.fixture
async def open_klant(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[FakeZgw, str]]:
    monkeypatch.setenv("KCC_ZAKEN_API_SECRET", fake_zgw.SECRET)
    monkeypatch.setenv("KCC_OPENKLANT_TOKEN", fake_zgw.TOKEN)
    state = FakeZgw()
    server = TestServer(state.app())
    await server.start_server()
    state.base = str(server.make_url("")).rstrip("/")
    try:
        yield state, state.base
    finally:
        await server.close()


async def test_terugbelverzoek_reaches_open_klant_with_its_task(
        pool: asyncpg.Pool, kcc_config: Config, open_klant: tuple[FakeZgw, str]) -> None:
    state, base = open_klant
    partij = state.add_person(("Fatma", "", "Yılmaz"), "111222333", ["+31687654321"])
    source = ZgwZaakSource(ZakenConfig(
        source="zgw", timeout_seconds=1.0,
        zaken_api=ZakenApiSection(base_url=f"{base}/zaken/api/v1"),
        openklant=OpenKlantSection(base_url=f"{base}/klantinteracties/api/v1")))
    hub = _Hub()
    service = SimpleNamespace(
        pool=pool, config=kcc_config, metrics=Metrics(), model=SimpleNamespace(calls={}),
        agents_repo=_Agents(), popper=SimpleNamespace(log=ProcessingLog(pool)),
        zaak_source=source, hub=hub, calls=None)
    scripting = Scripting(service)  # type: ignore[arg-type]
    await scripting.start(seed_folder=SCRIPTS)
    assert scripting.outbox is not None
    call_id = f"oo{time.time_ns()}.1"
    agent = {"login": "anna", "role": "agent"}
    try:
        await scripting.start_call(call_id=call_id, agent="anna", subject="zorg",
                                   municipality="gouda", queue="algemeen")
        assert hub.sent[-1][1]["type"] == "call.script"
        await scripting.act(call_id, "anna", Action("answer", step="vraag", value="zorg"))
        await scripting.act(call_id, "anna", Action("verify", facts=MappingProxyType(
            {"geboortedatum": True, "postcode_huisnummer": True})), klant_ref=partij)
        after = await scripting.register_outcome(
            call_id, agent, outcome="terugbelverzoek", notes="wil teruggebeld worden",
            detail={"vraag": "Bellen over de zorgaanvraag", "team": "algemeen"},
            klant_ref=partij, zaak="")
        assert after.contact["status"] == "voltooid"
        assert after.contact["outcome_detail"]["promise"].startswith("Wij bellen u binnen")
        note = await pool.fetchrow("SELECT vraag, team, deadline FROM taken WHERE call_id = $1"
                                   " AND soort = 'terugbelnotitie'", call_id)
        assert note["vraag"] == "Bellen over de zorgaanvraag" and note["deadline"] is not None
        deadline = time.monotonic() + 10  # the worker is woken at once; 10 s is ample
        while time.monotonic() < deadline:
            if await pool.fetchval("SELECT status FROM openklant_outbox WHERE call_id = $1",
                                   call_id) == "sent":
                break
            await asyncio.sleep(0.05)
        row = await pool.fetchrow("SELECT status, klantcontact_uuid FROM openklant_outbox "
                                  "WHERE call_id = $1", call_id)
        assert row["status"] == "sent"
    finally:
        await scripting.stop()
        await source.close()
    [contact] = [b for kind, b in state.created if kind == "klantcontact"]
    assert contact["klantcontact"]["indicatieContactGelukt"] is True
    assert contact["klantcontact"]["inhoud"].startswith("Uitkomst: Terugbelverzoek. Wij bellen")
    assert contact["betrokkene"]["wasPartij"]["uuid"] == partij
    [task] = [b for kind, b in state.created if kind == "internetaak"]
    assert task["aanleidinggevendKlantcontact"]["uuid"] == row["klantcontact_uuid"]
    assert task["toelichting"] == "Bellen over de zorgaanvraag"
