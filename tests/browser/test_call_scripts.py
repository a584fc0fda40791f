"""Call scripts in headless Chromium on the real service and sandbox Asterisk (issue 11):
a nawerk a supervisor ends leaves an 'onvolledig' contactmoment; the script editor
validates with line and key and saves versions with who and when. (The whole script flow
— verify, answer, outcome in nawerk — is in test_panel.py's first test.)"""

from __future__ import annotations

import aiohttp
import pytest

from .conftest import Harness, base_url, open_panel, queue_call, until, wait_for

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]


async def _state(page) -> str:
    return await page.get_attribute("#state-badge", "data-state") or ""


async def test_forced_nawerk_end_leaves_an_onvolledig_contactmoment(kcc: Harness,
                                                                   browser) -> None:
    zoe = await open_panel(browser, kcc, "zoe")
    await zoe.wait_for_selector("#panel-view:not([hidden])", timeout=10_000)
    await zoe.click("#btn-available")
    await wait_for(lambda: _state(zoe), what="a state")
    await wait_for(lambda: zoe_is(zoe, "available"), timeout=10, what="zoe available")
    await queue_call(kcc, "Vergeten Registratie", "0612345678", data="3")
    await zoe.wait_for_selector("#script-card:not([hidden])", timeout=15_000)
    # Keyboard: Alt+N goes to the current step's input.
    await zoe.keyboard.press("Alt+n")
    await until(zoe, "document.activeElement && document.activeElement.id === "
                     "'script-input-vraag'")
    linkedid = await zoe.get_attribute("#script-card", "data-linkedid")
    await wait_for(lambda: zoe_is(zoe, "wrap_up"), timeout=20, what="nawerk")
    rule = zoe.locator("#script-rules li[data-rule=end_nawerk]")
    await until(zoe, "document.querySelector('#script-rules li[data-rule=end_nawerk]')"
                     ".dataset.allowed === 'no'")
    assert "uitkomst" in await rule.text_content()
    # The supervisor ends zoe's nawerk from the wallboard's steering (same API).
    headers = {"Authorization": f"Bearer {await kcc.token('sanne')}"}
    async with aiohttp.ClientSession(headers=headers) as http, \
            http.post(f"{base_url(kcc)}/api/acd/agents/zoe/resume") as resp:
        assert resp.status == 200
    await wait_for(lambda: zoe_is(zoe, "available"), timeout=10, what="zoe available")
    async with kcc.service.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT status, completed_by FROM call_contactmomenten "
                                  "WHERE call_id = $1", linkedid)
    record = await kcc.service.agents_repo.get("zoe")
    assert record is not None and tuple(row) == ("onvolledig", record.name)
    assert zoe.errors == []


async def zoe_is(page, state: str) -> bool:
    return await _state(page) == state


async def test_script_editor_validates_with_line_and_key_and_versions(kcc: Harness,
                                                                     browser) -> None:
    page = await open_panel(browser, kcc, "sanne", "/wallboard")
    await until(page, "!!sessionStorage.getItem('kcc.session')")
    await page.goto(base_url(kcc) + "/panel/scripts")
    await page.click("#script-list button[data-subject=afval]")
    await until(page, "document.getElementById('ed-toml').value.includes('grofvuil')")
    text = await page.input_value("#ed-toml")
    await page.fill("#ed-toml", text.replace('answer = "choice"', 'answer = "kleur"'))
    await page.click("#ed-save")
    await page.wait_for_selector("#ed-problems li", timeout=10_000)
    problem = await page.text_content("#ed-problems li")
    assert problem.startswith("afval.toml:") and "steps[2].answer" in problem
    line = int(problem.split(":")[1])
    assert 'answer = "kleur"' in (await page.input_value("#ed-toml")).splitlines()[line - 1]
    await page.fill("#ed-toml", text.replace('"Afval en grofvuil"', '"Afval (bijgewerkt)"'))
    await page.click("#ed-save")
    await until(page, "document.getElementById('ed-result').textContent"
                      ".startsWith('Opgeslagen als versie')")
    await until(page, "document.querySelector('#ed-changes li') && document.querySelector("
                      "'#ed-changes li').textContent.includes('sanne')")
    assert page.errors == []
    # An agent may not read or save scripts.
    headers = {"Authorization": f"Bearer {await kcc.token('zoe')}"}
    async with aiohttp.ClientSession(headers=headers) as http, \
            http.put(f"{base_url(kcc)}/api/scripts/afval", json={"toml": text}) as resp:
        assert resp.status == 403


@pytest.fixture
async def kcc_ivr(kcc_config, sandbox):
    """The service with its IVR on (quick timeouts, a clock inside opening hours)."""
    from datetime import UTC, datetime

    from harness import _test_config

    from .conftest import running_kcc

    base = _test_config(kcc_config)
    ivr = base.ivr.model_copy(update={
        "enabled": True, "input_timeout": 2.0, "ask_language": False,
        "prompts": base.ivr.prompts.model_copy(update={"speed": 260})})
    def open_now(h: Harness) -> None:
        h.service.ivr.deps.clock = lambda: datetime(2025, 11, 24, 9, 0, tzinfo=UTC)

    async with running_kcc(base.model_copy(update={"ivr": ivr}), open_now) as h:
        yield h


async def test_a_call_through_the_14_number_and_the_ivr_follows_the_script(
        kcc_ivr: Harness, browser) -> None:
    """The citizen dials 14 0182, the IVR hears nothing and sends them to a person; zoe
    follows the script in her panel (answer, verify), the citizen hangs up, zoe registers
    the outcome in nawerk and ends it."""
    h = kcc_ivr
    zoe = await open_panel(browser, h, "zoe")
    await zoe.wait_for_selector("#panel-view:not([hidden])", timeout=10_000)
    await zoe.click("#btn-available")
    await wait_for(lambda: zoe_is(zoe, "available"), timeout=10, what="zoe available")
    await h.service.link.action(
        "Originate", Channel="Local/140182@kcc-inbound", Context="kcc-test-caller",
        Exten="s", Priority="1", CallerID='"Via Het Keuzemenu" <0612345678>',
        Async="true", timeout=10)
    await zoe.wait_for_selector("#script-card:not([hidden])", timeout=45_000)
    call = next(c for c in h.service.model.calls.values()
                if c.caller_name == "Via Het Keuzemenu")
    assert call.dialled.endswith("140182") and call.queue == "algemeen"
    await zoe.wait_for_selector("#pop-candidates li.candidate.selected", timeout=10_000)
    await zoe.fill("#script-input-vraag", "vraag via het keuzemenu")
    await zoe.click("button[data-answer=vraag]")
    for box in await zoe.locator("#script-card input[data-fact]").all():
        await box.check()
    await zoe.click("#btn-script-verify")
    await zoe.wait_for_selector("#pop-details", timeout=10_000)
    # The citizen hangs up.
    channels = await h.service.link.action("CoreShowChannels", as_list=True)
    citizen = next(str(m.get("Channel")) for m in channels
                   if str(m.get("Channel", "")).startswith("Local/140182@kcc-inbound")
                   and str(m.get("Channel", "")).endswith(";1"))
    await h.service.link.action("Hangup", Channel=citizen, Cause="16")
    await wait_for(lambda: zoe_is(zoe, "wrap_up"), timeout=20, what="nawerk")
    await zoe.select_option("#script-outcome", "beantwoord")
    await zoe.click("#btn-outcome")
    await zoe.wait_for_selector("#script-registered", timeout=10_000)
    await zoe.click("#btn-end-wrapup")
    await wait_for(lambda: zoe_is(zoe, "available"), timeout=10, what="available again")
    async with h.service.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT status, outcome, hung_up_at FROM "
                                  "call_contactmomenten WHERE call_id = $1", call.linkedid)
    assert (row["status"], row["outcome"]) == ("voltooid", "beantwoord")
    assert row["hung_up_at"] is not None and zoe.errors == []
