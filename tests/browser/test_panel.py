"""The agent panel in headless Chromium against the real service and sandbox Asterisk.

Agents here are the demo's scripted ones (queue member ``Local/<login>@kcc-test-agent``,
which answers at once): what is under test is the page — login, states, the pop as the
WebSocket delivers it, AVG verification, search, contactmoment. The softphone has its own
tests (test_softphone.py).
"""

from __future__ import annotations

import json

import pytest

from .conftest import Harness, base_url, open_panel, queue_call, until, wait_for

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]
CALLER = "Zoë Şahin"
DETAIL_WORDS = ("Geboortedatum", "Open zaken", "Laatste contacten")


async def _state(page) -> str:
    return await page.get_attribute("#state-badge", "data-state") or ""


async def _available(page) -> None:
    await page.wait_for_selector("#panel-view:not([hidden])", timeout=10_000)
    await page.click("#btn-available")
    await wait_for(lambda: _is(page, "available"), timeout=10, what="agent available")


async def _is(page, state: str) -> bool:
    return await _state(page) == state


async def test_pop_appears_restricted_until_verified_and_only_to_the_offered_agent(
        kcc: Harness, browser) -> None:
    zoe = await open_panel(browser, kcc, "zoe")
    anna = await open_panel(browser, kcc, "anna")
    await _available(zoe)
    await _available(anna)
    # The token is in sessionStorage, never in the URL.
    assert "token" not in zoe.url and await zoe.evaluate(
        "JSON.parse(sessionStorage.getItem('kcc.session')).login") == "zoe"
    assert await zoe.text_content("#state-label") == "Beschikbaar"

    # algemeen: zoe has level 6 (penalty 4), anna level 4 (penalty 6): zoe gets the call.
    await queue_call(kcc, CALLER, "0612345678", data="12",
                     variables="__KCC_SUBJECT=paspoort,__KCC_TRANSCRIPT=ik bel over mijn paspoort")
    await zoe.wait_for_selector("#pop-card:not([hidden])", timeout=15_000)
    assert await zoe.text_content("#pop-caller-name") == CALLER
    assert await zoe.text_content("#pop-caller-number") == "+31612345678"
    assert await zoe.text_content("#pop-subject") == "paspoort"
    assert await zoe.text_content("#pop-transcript") == "ik bel over mijn paspoort"
    assert (await zoe.text_content("#pop-wait")).endswith(" s")
    cand = zoe.locator("#pop-candidates li.candidate")
    assert await cand.count() == 1
    assert await cand.locator(".cand-name").text_content() == CALLER
    assert "open zaken" in await cand.locator(".cand-zaken").text_content()

    # Before verification: names and counts only, in the page and in what it received.
    assert await zoe.locator("#pop-details").count() == 0
    card_text = await zoe.text_content("#pop-card")
    for word in DETAIL_WORDS:
        assert word not in card_text
    received = await zoe.evaluate("window.kccPanel.pop.pop")
    assert received["verified"] is False and received["klant"] is None
    assert received["zaken"] == [] and received["contacten"] == []
    assert "geboortedatum" not in json.dumps(received)

    # anna, logged in and available in another browser, saw nothing.
    assert await anna.is_hidden("#pop-card")
    assert await anna.evaluate("window.kccPanel.pop") is None

    # The call script (default: the subject has none of its own) is beside the pop; its
    # verify step replaces a bare "verified" button (issue 11).
    await zoe.wait_for_selector("#script-card:not([hidden])", timeout=15_000)
    assert "identiteit" in await zoe.text_content("#script-missing")
    rule = zoe.locator("#script-rules li[data-rule=view_details]")
    assert await rule.get_attribute("data-allowed") == "no"
    await zoe.fill("#script-input-vraag", "vraag over mijn paspoort")
    await zoe.click("button[data-answer=vraag]")
    await until(zoe, "!document.getElementById('script-missing').textContent"
                     ".includes('vraag')")
    for box in await zoe.locator("#script-card input[data-fact]").all():
        await box.check()
    await zoe.click("#btn-script-verify")
    await zoe.wait_for_selector("#pop-details", timeout=10_000)
    assert await zoe.text_content("#script-verify-result") == "Geslaagd"
    assert await rule.get_attribute("data-allowed") == "yes"
    assert await zoe.text_content("#pop-verified") == "Identiteit geverifieerd"
    assert await zoe.text_content("#klant-naam") == CALLER
    assert await zoe.text_content("#klant-geboortedatum")
    rows = zoe.locator("#pop-zaken tbody tr")
    assert await rows.count() >= 2
    statuses = await zoe.locator("#pop-zaken .zaak-status").all_text_contents()
    assert all(s.strip() for s in statuses)
    assert await zoe.locator("#pop-contacten li").count() >= 1
    assert await anna.evaluate("window.kccPanel.pop") is None

    # Register the contactmoment on the first open zaak.
    zaak = await rows.first.get_attribute("data-zaak")
    await zoe.select_option("#contact-zaak", zaak)
    await zoe.fill("#contact-tekst", "Afspraak paspoort besproken")
    await zoe.select_option("#contact-uitkomst", "Informatie gegeven")
    await zoe.click("#contact-submit")
    await until(zoe, "document.getElementById('contact-result').textContent"
                     ".startsWith('Contactmoment')")
    async with kcc.service.pool.acquire() as conn:
        stored = await conn.fetchrow(
            "SELECT * FROM contactmomenten WHERE medewerker = 'zoe' ORDER BY id DESC LIMIT 1")
    assert stored is not None and stored["uitkomst"] == "Informatie gegeven"

    # The caller hangs up: nawerk, which ends only with the call's outcome registered.
    await wait_for(lambda: _is(zoe, "wrap_up"), timeout=20, what="nawerk after the call")
    assert (await zoe.text_content("#state-label")) == "Nawerk"
    await until(zoe, "document.getElementById('btn-end-wrapup').disabled")
    assert "uitkomst" in (await zoe.get_attribute("#btn-end-wrapup", "title") or "")
    # The server refuses it too (a stale page, another client): 409 outcome_required.
    status = await zoe.evaluate("""async () => (await fetch('/api/me/end-wrapup', {
        method: 'POST', headers: {Authorization: 'Bearer ' + JSON.parse(
        sessionStorage.getItem('kcc.session')).token}})).status""")
    assert status == 409 and await _is(zoe, "wrap_up")
    await zoe.select_option("#script-outcome", "beantwoord")
    await zoe.fill("#script-notes", "Paspoortaanvraag uitgelegd")
    await zoe.click("#btn-outcome")
    await zoe.wait_for_selector("#script-registered", timeout=10_000)
    await until(zoe, "!document.getElementById('btn-end-wrapup').disabled")
    await zoe.click("#btn-end-wrapup")
    await wait_for(lambda: _is(zoe, "available"), timeout=10, what="available after nawerk")
    async with kcc.service.pool.acquire() as conn:
        registered = await conn.fetchrow(
            "SELECT status, outcome, notes, hung_up_at FROM call_contactmomenten "
            "WHERE agent_login = 'zoe' ORDER BY created_at DESC LIMIT 1")
    assert (registered["status"], registered["outcome"]) == ("voltooid", "beantwoord")
    assert registered["hung_up_at"] is not None  # registered after the citizen hung up
    acks = await zoe.evaluate("window.kccPanel.scriptAcks")
    assert len(acks) == 3 and all(a > 0 for a in acks)
    assert zoe.errors == [] and anna.errors == []


async def test_hostile_caller_id_and_transcript_are_shown_as_text(kcc: Harness, browser) -> None:
    zoe = await open_panel(browser, kcc, "zoe")
    await _available(zoe)
    hostile = "<img src=x onerror=window.__pwned=1>"
    await queue_call(kcc, hostile, "0699999999", data="6",
                     variables="__KCC_TRANSCRIPT=<script>window.__pwned=2</script>")
    await zoe.wait_for_selector("#pop-card:not([hidden])", timeout=15_000)
    assert await zoe.text_content("#pop-caller-name") == hostile
    assert await zoe.text_content("#pop-transcript") == "<script>window.__pwned=2</script>"
    assert await zoe.locator("#pop-card img, #pop-card script").count() == 0
    assert await zoe.evaluate("window.__pwned") is None
    # Unknown number: no candidates, the agent is pointed at the search.
    assert "zoek de klant hieronder" in await zoe.text_content("#pop-candidates")

    # Search by name + birth date for this call; the result becomes choosable.
    await zoe.select_option("#search-kind", "naam")
    await zoe.fill("#search-achternaam", "Şahin")
    birth = await _birth_date(kcc, "Zoë", "Şahin")
    await zoe.fill("#search-geboortedatum", birth)
    await zoe.click("#search-submit")
    result = zoe.locator("#search-results li[data-ref] button.choose").first
    await result.wait_for(timeout=10_000)
    await result.click()
    await zoe.wait_for_selector("#pop-candidates li.candidate.selected", timeout=10_000)
    await until(zoe, "!document.getElementById('btn-script-verify').disabled")
    assert zoe.errors == []


async def _birth_date(h: Harness, voornamen: str, achternaam: str) -> str:
    async with h.service.pool.acquire() as conn:
        value = await conn.fetchval("SELECT geboortedatum FROM klanten WHERE voornamen = $1 "
                                    "AND achternaam = $2 LIMIT 1", voornamen, achternaam)
    assert value is not None, f"demo klant {voornamen} {achternaam} has no birth date"
    return value.isoformat()


async def test_pause_with_reason_logout_and_login_again(kcc: Harness, browser) -> None:
    page = await open_panel(browser, kcc, "mehmet")
    await _available(page)
    await page.select_option("#pause-reason", "overleg")
    await page.click("#btn-pause")
    await wait_for(lambda: _is(page, "paused"), timeout=10, what="paused")
    assert await page.text_content("#state-detail") == "(overleg)"
    assert kcc.service.acd.state_of("mehmet")["reason"] == "overleg"
    await page.click("#btn-available")
    await wait_for(lambda: _is(page, "available"), timeout=10, what="resumed")
    await page.click("#btn-signout")
    await page.wait_for_selector("#login-view:not([hidden])", timeout=10_000)
    assert await page.evaluate("sessionStorage.getItem('kcc.session')") is None
    assert kcc.service.acd.state_of("mehmet")["state"] == "logged_out"
    # A reload after sign-out shows the login form, not the panel.
    await page.reload()
    assert await page.is_visible("#login-form")
    await page.fill("#login-user", "mehmet")
    await page.fill("#login-pass", "wrong")
    await page.click("#login-submit")
    await until(page, "document.getElementById('login-error').textContent"
                      ".includes('verkeerd wachtwoord')")


async def test_wallboard_shows_the_waiting_call_and_agent_states(kcc: Harness, browser) -> None:
    await kcc.service.acd.login("anna")
    await kcc.service.acd.pause("anna", "training")
    board = await open_panel(browser, kcc, "sanne", path="/wallboard")
    await board.wait_for_selector("#board:not([hidden])", timeout=10_000)
    row = board.locator("#tile-algemeen")
    assert await row.locator('[data-field="waiting"]').text_content() == "0"
    assert await board.locator("#agents tr[data-agent='anna'] .badge").text_content() == "Pauze"
    await queue_call(kcc, "Wachtende Beller", "0611111111", data="30")
    await until(board, "document.querySelector('#tile-algemeen [data-field=\"waiting\"]')"
                       ".textContent === '1'")
    assert (await row.locator(".longest").text_content()).endswith(" s")
    # a tile per queue and one for the whole KCC
    assert await board.locator("#tiles .tile").count() == len(kcc.config.queues) + 1
    # An agent state change arrives live.
    await kcc.service.acd.resume("anna")
    await until(board, "document.querySelector(\"#agents tr[data-agent='anna']\")"
                       ".dataset.state !== 'paused'")


async def test_wallboard_refuses_an_agent(kcc: Harness, browser) -> None:
    page = await open_panel(browser, kcc, "zoe", path="/wallboard")
    await until(page, "document.getElementById('login-error').textContent"
                      ".includes('teamleiders')")
    assert await page.is_hidden("#board")


async def test_pages_carry_a_strict_csp_and_config_needs_a_token(kcc: Harness) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        for path in ("/", "/panel", "/wallboard"):
            async with http.get(base_url(kcc) + path) as r:
                assert r.status == 200
                csp = r.headers["Content-Security-Policy"]
                assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        async with http.get(base_url(kcc) + "/panel/config") as r:
            assert r.status == 401
        async with http.get(base_url(kcc) + "/static/..%2Fpages.py") as r:
            assert r.status == 404
        async with http.get(base_url(kcc) + "/static/vendor/jssip.min.js") as r:
            assert r.status == 200, "JsSIP bundle missing: run scripts/bootstrap (npm ci)"


async def test_incomplete_pop_is_marked_and_unsafe_links_are_dropped(kcc: Harness,
                                                                     browser) -> None:
    """Rendering only: a pop the service marked incomplete (zaak source down or slow) and
    a deep link that is not http(s), fed into the page as the WebSocket would."""
    page = await open_panel(browser, kcc, "zoe")
    await page.wait_for_selector("#panel-view:not([hidden])")
    await page.evaluate("""() => window.kccPanel.receive({
      type: "call.offered", linkedid: "t1.1", queue: "algemeen",
      call: {caller_number: "0612345678", caller_name: "Bron Traag", queued_at: null},
      pop: {incomplete: true}})""")
    await page.wait_for_selector("#pop-incomplete")
    assert "Onvolledig" in await page.text_content("#pop-incomplete")
    assert "bron niet bereikbaar" in await page.text_content("#pop-candidates")
    await page.evaluate("""() => window.kccPanel.receive({
      type: "call.offered", linkedid: "t1.2", queue: "algemeen", call: {},
      pop: {verified: true, incomplete: true, missing: ["contacten"], selected: "k1",
            candidates: [{ref: "k1", naam: "Test", soort: "natuurlijk_persoon",
                          open_zaken: 1}],
            klant: {naam: "Test"}, zaken_total: 1, contacten: [],
            zaken: [{identificatie: "Z-1", status: "Ontvangen"}],
            links: {klant: "javascript:window.__pwned=3", zaken: {"Z-1": "https://x.test/z"}},
            call: {caller_e164: "+31612345678"}}})""")
    await page.wait_for_selector("#pop-details")
    assert "contacten" in await page.text_content("#pop-incomplete")
    hrefs = await page.eval_on_selector_all("#pop-card a", "as => as.map(a => a.href)")
    assert hrefs == ["https://x.test/z"]


def _call_named(h: Harness, name: str):
    found = [c for c in h.service.model.calls.values() if c.caller_name == name]
    return found[0] if found else None


async def test_transfer_from_the_panel_once_then_refused(kcc: Harness, browser) -> None:
    """"Never bounce a citizen around": zoe transfers to burgerzaken, where anna answers;
    anna's second transfer is refused in her panel and she keeps the citizen."""
    zoe = await open_panel(browser, kcc, "zoe")
    anna = await open_panel(browser, kcc, "anna")
    await _available(zoe)
    await _available(anna)
    name = "Doorverbonden Burger"
    await queue_call(kcc, name, "0612345678", data="40")
    await zoe.wait_for_selector("#pop-card:not([hidden])", timeout=15_000)
    await wait_for(lambda: (c := _call_named(kcc, name)) and c.answered_by == "zoe",
                   what="zoe answered")
    targets = await zoe.locator("#transfer-to option").evaluate_all(
        "options => options.map(o => o.value)")
    assert "burgerzaken" in targets and "agent-anna" in targets and "agent-zoe" not in targets
    await zoe.select_option("#transfer-to", "burgerzaken")
    # Without a handover note and a reason the service refuses; zoe keeps the citizen.
    await zoe.click("#btn-transfer")
    await until(zoe, "document.getElementById('transfer-error').textContent"
                     ".includes('overdrachtsnotitie')")
    assert _call_named(kcc, name).answered_by == "zoe"
    await zoe.select_option("#transfer-to", "burgerzaken")
    await zoe.fill("#transfer-note", "vraag over verhuizing")
    await zoe.fill("#transfer-reason", "specialist")
    await zoe.click("#btn-transfer")
    await until(zoe, "document.getElementById('transfer-result').textContent"
                     ".startsWith('Doorverbonden naar')")
    await anna.wait_for_selector("#pop-card:not([hidden])", timeout=15_000)
    await wait_for(lambda: _call_named(kcc, name).answered_by == "anna", what="anna answered")
    await anna.select_option("#transfer-to", "algemeen")
    await anna.fill("#transfer-note", "terug naar algemeen")
    await anna.fill("#transfer-reason", "verkeerde wachtrij")
    await anna.click("#btn-transfer")
    await until(anna, "document.getElementById('transfer-error').textContent"
                      ".includes('maximum 1')")
    call = _call_named(kcc, name)
    assert call.transfer_count == 1 and call.answered_by == "anna"
    assert zoe.errors == [] and anna.errors == []
