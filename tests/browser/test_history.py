"""Contact history in the pop: earlier calls, call-backs and terugbelnotities of the
caller's number, shown after verification only, only to the agent the call was offered
to, and on the processing log (real service, PostgreSQL, sandbox Asterisk, Chromium)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from telephony.callbacks.notes import NotesStore

from .conftest import Harness, base_url, open_panel, queue_call, until, verify_by_script, wait_for

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]
CALLER, NUMBER = "Zoë Şahin", "+31612345678"


async def _history(h: Harness, login: str, linkedid: str) -> int:
    token = await h.token(login)
    async with aiohttp.ClientSession() as http, http.get(
            f"{base_url(h)}/api/zaken/calls/{linkedid}/history",
            headers={"Authorization": f"Bearer {token}"}) as r:
        return r.status


async def test_history_after_verification_for_the_offered_agent_only(kcc: Harness,
                                                                     browser) -> None:
    pool = kcc.service.pool
    earlier = f"hist-{uuid.uuid4().hex[:8]}"
    week_ago = datetime.now(UTC) - timedelta(days=7)
    # Only this test's history for the number (earlier tests called from it too).
    await pool.execute("DELETE FROM calls WHERE caller_number = $1", NUMBER)
    await pool.execute(
        """INSERT INTO calls (linkedid, direction, caller_number, subject, queue,
               started_at, answered_by, talk_seconds)
           VALUES ($1, 'inbound', $2, 'afvalpas', 'algemeen', $3, 'anna', 95)""",
        earlier, NUMBER, week_ago)
    await pool.execute("DELETE FROM callbacks WHERE number = $1", NUMBER)
    await pool.execute(
        """INSERT INTO callbacks (kind, status, queue, number, queued_at, due_at, subject,
               outcome) VALUES ('virtual_hold', 'done', 'algemeen', $1, $2, $2,
               'parkeervergunning', 'reached')""", NUMBER, week_ago)
    await pool.execute("DELETE FROM taken WHERE soort = 'terugbelnotitie'")
    notes = NotesStore(pool)
    await notes.create(onderwerp="Bezwaar WOZ", vraag="Wil teruggebeld worden", number=NUMBER,
                       deadline=datetime.now(UTC) + timedelta(days=1), team="algemeen",
                       person="", by="anna")
    await notes.create(onderwerp="Iemand anders", vraag="-", number="+31612340009",
                       deadline=datetime.now(UTC) + timedelta(days=1), team="algemeen",
                       person="", by="anna")

    zoe = await open_panel(browser, kcc, "zoe")
    await zoe.click("#btn-available")
    await wait_for(lambda: kcc.service.acd.state_of("zoe")["state"] == "available",
                   timeout=10, what="zoe available")
    await queue_call(kcc, CALLER, "0612345678", data="15")
    await zoe.wait_for_selector("#pop-card:not([hidden])", timeout=15_000)
    linkedid = await zoe.get_attribute("#pop-card", "data-linkedid")
    assert await _history(kcc, "zoe", linkedid) == 403  # not verified yet
    assert await zoe.is_hidden("#history")

    await verify_by_script(zoe)
    await zoe.wait_for_selector("#history:not([hidden]) #history-calls", timeout=10_000)
    calls = await zoe.text_content("#history-calls")
    assert "afvalpas" in calls and "met anna" in calls
    assert "parkeervergunning" in await zoe.text_content("#history-callbacks")
    notes_text = await zoe.text_content("#history-notes")
    assert "Bezwaar WOZ" in notes_text and "Iemand anders" not in notes_text
    # Not anna's call: she learns nothing about it; and it was logged for zoe.
    assert await _history(kcc, "anna", linkedid) == 404
    logged = await pool.fetchval(
        "SELECT count(*) FROM processing_log WHERE actor = 'zoe' AND call_id = $1 "
        "AND source = 'contact_history'", linkedid)
    assert logged >= 1
    await until(zoe, "document.getElementById('history').dataset.linkedid !== undefined")
    assert zoe.errors == []
