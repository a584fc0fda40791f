"""Terugbelnotities in the agent's panel against the real service and PostgreSQL.

zoe (skill: algemeen) sees her own notities and her team's, overdue and due first; she
picks one up (a colleague can then no longer take it; a notitie of a team she is not in
is not hers to pick up), calls the citizen from it (her softphone rings first: the
click-to-dial route) and closes it with the result, which the database keeps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from telephony.callbacks.notes import NotesStore

from .conftest import Harness, base_url, open_panel, until, wait_for

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]


async def _note(store: NotesStore, subject: str, deadline: timedelta, *, team: str = "",
                person: str = "", number: str = "+31612340009") -> int:
    note = await store.create(onderwerp=subject, vraag=f"Vraag over {subject}", number=number,
                              deadline=datetime.now(UTC) + deadline, team=team,
                              person=person, by="anna")
    return int(note["id"])


async def _pickup(h: Harness, login: str, note_id: int) -> int:
    token = await h.token(login)
    async with aiohttp.ClientSession() as http, http.post(
            f"{base_url(h)}/api/callbacks/notes/{note_id}/pickup", json={},
            headers={"Authorization": f"Bearer {token}"}) as r:
        return r.status


async def test_agent_lists_picks_up_calls_and_closes_a_terugbelnotitie(kcc: Harness,
                                                                       browser) -> None:
    await kcc.service.acd.ensure_demo_agents(endpoint_template="PJSIP/agent-{login}")
    await kcc.service.pool.execute("DELETE FROM taken WHERE soort = 'terugbelnotitie'")
    store = NotesStore(kcc.service.pool)
    later = await _note(store, "Parkeervergunning", timedelta(days=3), team="algemeen")
    overdue = await _note(store, "Paspoort", timedelta(hours=-2), team="algemeen")
    due = await _note(store, "Verhuizing", timedelta(hours=3), team="algemeen")
    own = await _note(store, "Bezwaar", timedelta(days=2), person="zoe")
    other_team = await _note(store, "Container", timedelta(hours=1), team="afval")

    page = await open_panel(browser, kcc, "zoe")
    await until(page, "document.querySelectorAll('#notes-team li.note').length === 3",
                timeout=10)
    team_ids = await page.eval_on_selector_all(
        "#notes-team li.note", "els => els.map(e => [+e.dataset.noteId, e.dataset.urgency])")
    assert team_ids == [[overdue, "overdue"], [due, "due"], [later, "later"]]
    mine = await page.eval_on_selector_all("#notes-mine li.note",
                                           "els => els.map(e => +e.dataset.noteId)")
    assert mine == [own]
    assert other_team not in [i for i, _ in team_ids]

    # Pick up the overdue one: it is hers now, and no colleague can take it as well.
    await page.click(f"#notes-team li[data-note-id='{overdue}'] .note-pickup")
    await until(page, f"!!document.querySelector(\"#notes-mine li[data-note-id='{overdue}']\")")
    row = await kcc.service.pool.fetchrow("SELECT * FROM taken WHERE id = $1", overdue)
    assert row["status"] == "in_behandeling" and row["toegewezen_aan"] == "zoe"
    assert await _pickup(kcc, "anna", overdue) == 409
    assert await _pickup(kcc, "zoe", other_team) == 404  # not her team: not even "exists"
    logged = dict(await kcc.service.pool.fetch(
        "SELECT action, count(*) FROM processing_log WHERE actor = 'zoe' AND source = $1 "
        "GROUP BY action", f"terugbelnotitie:{overdue}"))
    # The pick-up showed the details once; each list that showed the note logged a read.
    assert logged.pop("details") == 1
    assert set(logged) == {"callback_note_read"} and logged["callback_note_read"] >= 1

    # Call the citizen from it: through the service, her own softphone rings first.
    await until(page, "document.getElementById('sp-status').dataset.state === 'registered'",
                timeout=15)
    await page.click(f"#notes-mine li[data-note-id='{overdue}'] .note-call")
    await until(page, "document.getElementById('sp-dial-result').dataset.linkedid || ''",
                timeout=10)
    await until(page, "window.kccSoftphone.calls === 1", timeout=15)
    await wait_for(lambda: any(c.linkedid.startswith("out-")
                               for c in kcc.service.model.calls.values()),
                   timeout=10, what="the outgoing call in the service's model")
    await until(page, "document.getElementById('sp-hangup').disabled === false")
    await page.click("#sp-hangup")

    # Close it with the result.
    item = f"#notes-mine li[data-note-id='{overdue}']"
    await page.click(f"{item} .note-finish")
    await page.fill(f"{item} .note-result", "Burger gebeld: nieuwe afspraak gemaakt.")
    await page.click(f"{item} .note-close-submit")
    await until(page, f"!document.querySelector(\"li[data-note-id='{overdue}']\")")
    row = await kcc.service.pool.fetchrow("SELECT * FROM taken WHERE id = $1", overdue)
    assert row["status"] == "afgerond" and row["afgerond_door"] == "zoe"
    assert row["resultaat"] == "Burger gebeld: nieuwe afspraak gemaakt."
    assert page.errors == []
