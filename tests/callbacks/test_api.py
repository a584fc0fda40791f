"""The callbacks HTTP API on a running service (real PostgreSQL, Redis, Asterisk)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from harness import hangup_all

from tests.callbacks.cbharness import CbHarness, cb_config

pytestmark = pytest.mark.asterisk


@pytest.fixture
async def api(kcc_config, sandbox, pool):
    h = CbHarness(cb_config(kcc_config), open_now=False)  # nothing gets dialled here
    await h.start()
    await pool.execute("DELETE FROM taken WHERE soort = 'terugbelnotitie'")
    token = await h.token("anna")
    base = f"http://127.0.0.1:{h.config.service.http_port}"
    async with aiohttp.ClientSession(base, headers={"Authorization": f"Bearer {token}"}) as s:
        yield h, s
    await hangup_all(h)
    await h.stop()


def _open_window(h: CbHarness) -> tuple[datetime, datetime]:
    start = h.config.hours.next_open(datetime.now(UTC) + timedelta(days=1),
                                     h.config.kcc.timezone)
    return start, start + timedelta(hours=1)


async def test_scheduled_callback_is_stored_for_its_window(api):
    h, s = api
    start, end = _open_window(h)
    async with s.post("/api/callbacks", json={
            "number": "06-12340001", "queue": "afval", "subject": "grofvuil",
            "window_start": start.isoformat(), "window_end": end.isoformat()}) as r:
        assert r.status == 201, await r.text()
        body = await r.json()
    assert body["number"] == "+31612340001" and body["kind"] == "scheduled"
    assert body["created_by"] == "anna" and body["status"] == "waiting"
    assert datetime.fromisoformat(body["due_at"]) == start
    async with s.get("/api/callbacks", params={"queue": "afval"}) as r:
        assert [c["id"] for c in (await r.json())["callbacks"]] == [body["id"]]


@pytest.mark.parametrize(("number", "code"), [
    ("0900-1234567", "premium_rate"), ("06;Dial", "malformed"), ("", "no_number"),
    ("0612", "invalid")])
async def test_bad_numbers_are_refused_with_a_reason(api, number, code):
    h, s = api
    start, end = _open_window(h)
    async with s.post("/api/callbacks", json={
            "number": number, "window_start": start.isoformat(),
            "window_end": end.isoformat()}) as r:
        assert r.status == 400
        assert (await r.json())["error"]["code"] == code


async def test_window_outside_opening_hours_is_refused(api):
    h, s = api
    start, _ = _open_window(h)
    night = start.replace(hour=0, minute=30) + timedelta(days=1)
    async with s.post("/api/callbacks", json={
            "number": "0612340001", "window_start": night.isoformat(),
            "window_end": (night + timedelta(hours=2)).isoformat()}) as r:
        assert r.status == 400 and (await r.json())["error"]["code"] == "closed_window"


async def test_terugbelnotitie_promise_due_overdue_and_close(api):
    h, s = api
    async with s.post("/api/callbacks/notes", json={
            "number": "010 123 4567", "subject": "bezwaar WOZ",
            "question": "Wanneer krijg ik uitspraak?", "team": "belastingen"}) as r:
        assert r.status == 201, await r.text()
        note = await r.json()
    assert "2 werkdagen" in note["promise"] and note["telefoonnummer"] == "+31101234567"
    deadline = datetime.fromisoformat(note["deadline"])
    assert deadline > datetime.now(UTC) + timedelta(days=1)
    # An overdue one (deadline passed): made directly, as time cannot be moved here.
    await h.service.pool.execute(
        "UPDATE taken SET deadline = now() - interval '1 hour' WHERE id = $1", note["id"])
    async with s.get("/api/callbacks/notes", params={"which": "overdue",
                                                     "team": "belastingen"}) as r:
        notes = (await r.json())["notes"]
    assert [n["id"] for n in notes] == [note["id"]] and notes[0]["overdue"]
    async with s.post(f"/api/callbacks/notes/{note['id']}/close",
                      json={"result": "teruggebeld, uitspraak volgt"}) as r:
        closed = await r.json()
    assert closed["status"] == "afgerond" and closed["afgerond_door"] == "anna"
    async with s.post(f"/api/callbacks/notes/{note['id']}/close",
                      json={"result": "nog eens"}) as r:
        assert r.status == 409
    async with s.post("/api/callbacks/notes/999999999/close", json={"result": "x"}) as r:
        assert r.status == 404


async def test_notitie_needs_team_or_person_and_login(api):
    h, s = api
    async with s.post("/api/callbacks/notes", json={
            "number": "0612340001", "subject": "x", "question": "y"}) as r:
        assert r.status == 400 and (await r.json())["error"]["code"] == "bad_assignee"
    base = f"http://127.0.0.1:{h.config.service.http_port}"
    async with aiohttp.ClientSession(base) as anon, anon.get("/api/callbacks") as r:
        assert r.status == 401
