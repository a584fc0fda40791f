"""Open Klant through the outbox: down during registration, up later — the klantcontact
arrives once, with the indicator the outcome gives, and a terugbelverzoek's internetaak
hangs on it. Real PostgreSQL, the project's fake Open Klant over real HTTP."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestServer

from telephony.scripting.outbox import OutboxWorker
from telephony.scripting.rules import Action
from telephony.scripting.store import CallScripts, ScriptStore
from telephony.zaken.config import OpenKlantSection, ZakenApiSection, ZakenConfig
from telephony.zaken.schemas import NewContactmoment
from telephony.zaken.sources import ZgwZaakSource
from tests.zaken import fake_zgw
from tests.zaken.fake_zgw import FakeZgw

SCRIPTS = Path(__file__).resolve().parents[2] / "config" / "scripts"
ACTOR = "5b0a3b1e-4f33-4b8e-9d5c-3b0d3c0a9a11"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def zgw(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[FakeZgw, int,
                                                                       ZgwZaakSource]]:
    monkeypatch.setenv("KCC_ZAKEN_API_SECRET", fake_zgw.SECRET)
    monkeypatch.setenv("KCC_OPENKLANT_TOKEN", fake_zgw.TOKEN)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    state = FakeZgw()
    state.base = base
    source = ZgwZaakSource(ZakenConfig(
        source="zgw", timeout_seconds=1.0,
        zaken_api=ZakenApiSection(base_url=f"{base}/zaken/api/v1"),
        openklant=OpenKlantSection(base_url=f"{base}/klantinteracties/api/v1",
                                   actor_uuid=ACTOR)))
    try:
        yield state, port, source
    finally:
        await source.close()


def worker(pool: asyncpg.Pool, source: ZgwZaakSource, delays: list[float]) -> OutboxWorker:
    async def send_contact(contact: NewContactmoment, agent: str, gelukt: bool) -> str:
        return await source.klantcontact(contact, agent=agent, gelukt=gelukt)

    async def send_task(contact_uuid: str, toelichting: str) -> str:
        return await source.openklant.internetaak(contact_uuid=contact_uuid,
                                                  toelichting=toelichting)

    return OutboxWorker(pool, send_contact, send_task, on_delivered=delays.append)


async def _register(calls: CallScripts, call_id: str, outcome: str, partij: str,
                    internetaak: dict[str, str] | None) -> None:
    await calls.start(call_id=call_id, agent="anna", subject="zorg", municipality="gouda",
                      queue="algemeen")
    await calls.act(call_id, "anna", Action("answer", step="vraag", value="over zorg"))
    await calls.act(call_id, "anna", Action("verify", facts=MappingProxyType(
        {"geboortedatum": True, "postcode_huisnummer": True})))
    contact = NewContactmoment(call_id=call_id, klant_ref=partij, onderwerp="Zorg",
                               tekst=f"Uitkomst: {outcome}.", uitkomst=outcome)
    decision, _ = await calls.act(call_id, "anna", Action("outcome", outcome=outcome),
                                  complete={"outbox": {
                                      "contact": contact.model_dump(mode="json"),
                                      "gelukt": outcome != "geen-antwoord",
                                      "internetaak": internetaak}})
    assert decision.allowed, decision


async def test_down_then_up_arrives_once_with_the_right_indicator(
        pool: asyncpg.Pool, zgw: tuple[FakeZgw, int, ZgwZaakSource]) -> None:
    state, port, source = zgw
    partij = state.add_person(("Fatma", "", "Yılmaz"), "111222333", ["+31687654321"])
    store = ScriptStore(pool)
    await store.seed(SCRIPTS)
    calls = CallScripts(pool, store, max_transfers=1)
    stamp = time.time_ns()
    failed, callback = f"ob{stamp}.1", f"ob{stamp}.2"
    await _register(calls, failed, "geen-antwoord", partij, None)
    await _register(calls, callback, "terugbelverzoek", partij,
                    {"toelichting": "Bellen over de zorgaanvraag"})
    delays: list[float] = []
    outbox = worker(pool, source, delays)
    # Open Klant is down: both attempts fail fast, nothing is lost, the rows wait.
    assert await outbox.run_once() and await outbox.run_once()
    rows = await pool.fetch("SELECT status, attempts, last_error FROM openklant_outbox "
                            "WHERE call_id = ANY($1)", [failed, callback])
    assert [(r["status"], r["attempts"]) for r in rows] == [("pending", 1)] * 2
    assert all(r["last_error"] for r in rows)
    overview = await outbox.overview()
    assert overview["counts"]["pending"] >= 2
    # Open Klant comes back on the same address; the worker delivers within its backoff.
    server = TestServer(state.app(), host="127.0.0.1", port=port)
    await server.start_server()
    outbox.start()
    try:
        deadline = time.monotonic() + 15  # first backoff 0.5 s, then 1 s: 15 s is ample
        while time.monotonic() < deadline:
            sent = await pool.fetchval(
                "SELECT count(*) FROM openklant_outbox WHERE call_id = ANY($1) "
                "AND status = 'sent'", [failed, callback])
            if sent == 2:
                break
            await asyncio.sleep(0.1)
        assert sent == 2, "the outbox did not deliver after Open Klant came back"
        # A few more worker rounds send nothing twice.
        for _ in range(3):
            outbox.wake.set()
            await asyncio.sleep(0.05)
    finally:
        await outbox.stop()
        await server.close()
    contacts = [body["klantcontact"] for kind, body in state.created if kind == "klantcontact"]
    ours = {c["inhoud"]: c for c in contacts}
    assert len(contacts) == 2, contacts
    assert ours["Uitkomst: geen-antwoord."]["indicatieContactGelukt"] is False
    assert ours["Uitkomst: terugbelverzoek."]["indicatieContactGelukt"] is True
    assert all(c["kanaal"] == "telefoon" for c in contacts)
    tasks: list[dict[str, Any]] = [b for kind, b in state.created if kind == "internetaak"]
    assert len(tasks) == 1 and tasks[0]["gevraagdeHandeling"] == "Terugbellen"
    row = await pool.fetchrow("SELECT klantcontact_uuid, internetaak_uuid FROM "
                              "openklant_outbox WHERE call_id = $1", callback)
    assert tasks[0]["aanleidinggevendKlantcontact"]["uuid"] == row["klantcontact_uuid"]
    assert row["internetaak_uuid"] and len(delays) == 2
