"""Keyboard first and accessible: a whole call by keyboard only, axe-core in every state.

axe-core (npm, pinned in agent_ui/package.json, installed by scripts/bootstrap) is
injected into the page (the test context bypasses the page's CSP for that one script) and
must find no serious or critical violation on the panel when idle, ringing, in a call and
in nawerk, nor on the wallboard idle and with a caller waiting. The call itself is driven
by the keyboard only: login form, Alt+letter shortcuts, the help overlay, Escape.
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import REPO, Harness, base_url, queue_call, until, wait_for

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]

AXE = REPO / "agent_ui" / "node_modules" / "axe-core" / "axe.min.js"
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" "))}));
}"""


async def axe_violations(page: Any) -> list[dict]:
    assert AXE.is_file(), f"{AXE} is missing: scripts/bootstrap runs npm ci in agent_ui"
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    return await page.evaluate(AXE_RUN)


async def state_is(page: Any, state: str) -> bool:
    return await page.get_attribute("#state-badge", "data-state") == state


async def keyboard_to(page: Any, key: str, element_id: str | None, *,
                      selector: str = "") -> None:
    """Press ``key`` until the focus is on ``element_id`` (or an element matching
    ``selector``): the script re-renders after each answer, so the first press may land
    on a step without a field."""
    probe = (f"document.activeElement.id === {element_id!r}" if element_id else
             f"document.activeElement.matches({selector!r})")
    for _ in range(6):
        await page.keyboard.press(key)
        if await page.evaluate(probe):
            return
    raise AssertionError(f"{key} never brought the focus to {element_id or selector}")


async def test_a_whole_call_by_keyboard_with_no_serious_axe_violations(kcc: Harness,
                                                                       browser) -> None:
    await kcc.service.acd.ensure_demo_agents(endpoint_template="PJSIP/agent-{login}")
    context = await browser.new_context(ignore_https_errors=True, bypass_csp=True)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(base_url(kcc) + "/")
    found: dict[str, list[dict]] = {}

    # Log in by keyboard: the user field has focus after one Tab from the page start.
    await page.focus("#login-user")
    await page.keyboard.type("zoe")
    await page.keyboard.press("Tab")
    await page.keyboard.type("demo-zoe")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#panel-view:not([hidden])")
    await until(page, "document.getElementById('sp-status').dataset.state === 'registered'",
                timeout=15)
    # Answer by hand (the shortcut), not automatically: Space on the focused checkbox.
    await page.focus("#sp-autoanswer")
    await page.keyboard.press("Space")
    assert not await page.is_checked("#sp-autoanswer")
    # Focus is visible on whatever the keyboard reaches.
    await page.keyboard.press("Tab")
    outline = await page.evaluate(
        "getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), outline

    # The help overlay: "?" opens it, it lists the shortcuts, Escape closes it.
    await page.focus("#btn-available")
    await page.keyboard.press("?")
    await until(page, "document.getElementById('shortcuts-help').open === true")
    assert "Wachtstand" in await page.text_content("#shortcuts-help")
    found["help overlay"] = await axe_violations(page)
    await page.keyboard.press("Escape")
    await until(page, "document.getElementById('shortcuts-help').open === false")

    await page.keyboard.press("Alt+b")  # Beschikbaar
    await wait_for(lambda: state_is(page, "available"), timeout=10, what="available")
    found["idle"] = await axe_violations(page)

    # A demo klant's number: the pop has her as the one candidate, so the script's verify
    # step can be done (by keyboard, below).
    await queue_call(kcc, "Noor Toetsenbord", "0612345678", app="Echo", data="")
    await until(page, "document.getElementById('sp-answer').disabled === false", timeout=15)
    await page.wait_for_selector("#pop-card:not([hidden])", timeout=5_000)
    found["ringing"] = await axe_violations(page)

    await page.keyboard.press("Alt+a")  # Opnemen
    await until(page, "window.kccSoftphone.answered === 1", timeout=10)
    await wait_for(lambda: kcc.service.acd.state_of("zoe")["state"] == "on_call",
                   timeout=10, what="on the call")
    call = next(c for c in kcc.service.model.calls.values()
                if c.caller_name == "Noor Toetsenbord")
    await until(page, "document.getElementById('sp-hold').disabled === false")
    await page.keyboard.press("Alt+w")  # Wachtstand
    await wait_for(lambda: call.on_hold, timeout=10, what="Asterisk reports the hold")
    await page.keyboard.press("Alt+w")
    await wait_for(lambda: not call.on_hold, timeout=10, what="Asterisk reports the unhold")
    await page.keyboard.press("Alt+m")  # Microfoon uit
    assert await page.get_attribute("#sp-mute", "aria-pressed") == "true"
    await page.keyboard.press("Alt+m")
    await page.keyboard.press("Alt+t")  # to the transfer field
    assert await page.evaluate("document.activeElement.id") == "transfer-to"
    found["in call"] = await axe_violations(page)

    # The call script (issue 11) by keyboard: Alt+N to the open step, type, Tab, Enter.
    await keyboard_to(page, "Alt+n", "script-input-vraag")
    await page.keyboard.type("vraag over de afvalpas")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")  # Opslaan
    await until(page, "!document.getElementById('script-missing').textContent"
                      ".includes('vraag')")
    await until(page, "!document.getElementById('btn-script-verify').disabled")
    await keyboard_to(page, "Alt+n", None, selector="#script-card input[data-fact]")
    facts = await page.locator("#script-card input[data-fact]").count()
    for _ in range(facts):
        await page.keyboard.press("Space")  # "... klopt"
        await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "btn-script-verify"
    await page.keyboard.press("Enter")
    await until(page, "document.getElementById('script-verify-result').textContent"
                      " === 'Geslaagd'")

    await page.keyboard.press("Alt+h")  # Ophangen
    await wait_for(lambda: state_is(page, "wrap_up"), timeout=10, what="nawerk")
    found["nawerk"] = await axe_violations(page)
    await keyboard_to(page, "Alt+u", "script-outcome")  # the outcome, by arrow keys
    for _ in range(10):
        if await page.evaluate("document.activeElement.value") == "beantwoord":
            break
        await page.keyboard.press("ArrowDown")
    assert await page.evaluate("document.activeElement.value") == "beantwoord"
    await page.keyboard.press("Tab")  # the notes
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "btn-outcome"
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#script-registered", timeout=10_000)
    await until(page, "!document.getElementById('btn-end-wrapup').disabled")
    await page.keyboard.press("Alt+e")  # Nawerk beëindigen
    await wait_for(lambda: state_is(page, "available"), timeout=10, what="available again")

    assert {state: v for state, v in found.items() if v} == {}
    assert errors == []


async def test_wallboard_has_no_serious_axe_violations(kcc: Harness, browser) -> None:
    context = await browser.new_context(ignore_https_errors=True, bypass_csp=True)
    page = await context.new_page()
    await page.goto(base_url(kcc) + "/wallboard")
    await page.fill("#login-user", "sanne")
    await page.fill("#login-pass", "demo-sanne")
    await page.click("#login-submit")
    await page.wait_for_selector("#tile-algemeen", timeout=15_000)
    idle = await axe_violations(page)
    await queue_call(kcc, "Wacht Even", "0612345671", data="20")
    await until(page, "document.querySelector('#tile-algemeen [data-field=waiting]')"
                      ".textContent === '1'", timeout=10)
    waiting = await axe_violations(page)
    assert {"idle": idle, "waiting": waiting} == {"idle": [], "waiting": []}
