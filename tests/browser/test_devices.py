"""Audio devices, ringtone and desktop notification on a real incoming call.

Chromium's fake devices stand in for the agent's headset. The chosen microphone is the
one the answered call sends from; the ringtone plays while the call rings (auto-answer
off) and stops on answer; with the tab hidden and notifications allowed, the incoming
call shows a desktop notification.
"""

from __future__ import annotations

import pytest

from .conftest import Harness, base_url, queue_call, until, wait_for

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]


async def test_chosen_microphone_ringtone_and_notification(kcc: Harness, browser) -> None:
    await kcc.service.acd.ensure_demo_agents(endpoint_template="PJSIP/agent-{login}")
    context = await browser.new_context(ignore_https_errors=True)
    await context.grant_permissions(["notifications", "microphone"], origin=base_url(kcc))
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(base_url(kcc) + "/")
    await page.fill("#login-user", "zoe")
    await page.fill("#login-pass", "demo-zoe")
    await page.click("#login-submit")
    await until(page, "document.getElementById('sp-status').dataset.state === 'registered'",
                timeout=15)

    # Choose a microphone other than the default (Chromium's fake devices list several).
    await page.click("#devices-box summary")
    await until(page, "document.querySelectorAll('#dev-mic option').length > 1", timeout=10)
    mic = await page.evaluate("""() => { const o = [...document.querySelectorAll(
        '#dev-mic option')].filter((x) => x.value); return [o[o.length - 1].value,
        o[o.length - 1].textContent]; }""")
    await page.select_option("#dev-mic", mic[0])
    assert mic[0] in await page.evaluate("localStorage.getItem('kcc.devices')")
    await page.click("#dev-notify")
    await until(page, "Notification.permission === 'granted'")

    await page.uncheck("#sp-autoanswer")
    await page.evaluate("Object.defineProperty(document, 'hidden', "
                        "{configurable: true, get: () => true})")
    await page.click("#btn-available")
    await wait_for(lambda: kcc.service.acd.state_of("zoe")["state"] == "available",
                   timeout=10, what="zoe available")
    await queue_call(kcc, "Bel Toon", "0612345673", app="Echo", data="")
    await until(page, "window.kccDevices.ringing === true", timeout=15)
    await until(page, "window.kccDevices.notified >= 1", timeout=5)
    await page.click("#sp-answer")
    await until(page, "window.kccSoftphone.answered === 1", timeout=10)
    assert await page.evaluate("window.kccDevices.ringing") is False
    label = await page.evaluate("""() => window.kccSoftphone.session.connection.getSenders()
        .map((s) => s.track && s.track.label).filter(Boolean)[0]""")
    assert label == mic[1], (label, mic)
    await page.click("#sp-hangup")
    assert errors == []
