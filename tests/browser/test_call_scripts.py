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
