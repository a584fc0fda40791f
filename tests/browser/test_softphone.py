"""The JsSIP softphone in headless Chromium against the sandbox Asterisk's PJSIP over WSS.

Registration is checked on Asterisk's side (``pjsip show contacts`` on the sandbox's CLI:
the AMI user of the service has no "system" write permission for PJSIPShowContacts).
The call test makes the agent's queue member ``PJSIP/agent-zoe`` (the browser), so the
queue really rings the browser, which answers; the caller leg runs Echo(), so the audio
the browser sends (Chromium's fake microphone) comes back, and the browser's own WebRTC
statistics show RTP flowing both ways.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from telephony import sandbox as sandbox_mod

from .conftest import Harness, open_panel, queue_call, until, wait_for

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]

RTP_STATS = """async () => {
  const s = window.kccSoftphone.session;
  if (!s || !s.connection) return null;
  const out = {state: s.connection.connectionState, sent: 0, received: 0, level: 0};
  // getStats() of a connection stuck in ICE/DTLS may never settle: answer null after 2 s
  // so the probe is polled again instead of hanging on one promise.
  const stats = await Promise.race([s.connection.getStats(),
                                    new Promise((ok) => setTimeout(() => ok(null), 2000))]);
  if (!stats) return null;
  stats.forEach((r) => {
    if (r.type === "outbound-rtp" && r.kind === "audio") out.sent += r.packetsSent || 0;
    if (r.type === "inbound-rtp" && r.kind === "audio") {
      out.received += r.packetsReceived || 0;
      out.level = Math.max(out.level, r.totalAudioEnergy || 0);
    }
  });
  return out;
}"""


async def contacts(login: str) -> list[str]:
    """Asterisk's registered contacts of the agent's AOR, from the sandbox CLI."""
    text = await asyncio.to_thread(sandbox_mod.cli, "pjsip show contacts")
    return [line for line in text.splitlines()
            if re.match(rf"^\s*Contact:\s+agent-{login}/sip:", line)]


async def avail_contacts(login: str) -> list[str]:
    return [line for line in await contacts(login) if "Avail" in line]


async def registered(page) -> bool:
    return await page.get_attribute("#sp-status", "data-state") == "registered"


async def test_softphone_registers_rings_answers_with_audio_and_stays_registered(
        kcc: Harness, browser) -> None:
    # The browser is zoe's phone: the queue rings PJSIP/agent-zoe.
    await kcc.service.acd.ensure_demo_agents(endpoint_template="PJSIP/agent-{login}")
    page = await open_panel(browser, kcc, "zoe")
    await wait_for(lambda: registered(page), timeout=15, what="softphone registered")
    registered_at = time.monotonic()
    assert await page.text_content("#sp-status") == "Softphone: geregistreerd"
    # Qualified (OPTIONS answered over the WSS): the contact is listed at once but
    # "Unknown" until the first qualify answers, so wait for "Avail" rather than assert it.
    await wait_for(lambda: avail_contacts("zoe"), timeout=15,
                   what="Asterisk lists agent-zoe's contact as Avail")

    await page.click("#btn-available")
    await wait_for(lambda: kcc.service.acd.state_of("zoe")["state"] == "available",
                   timeout=10, what="zoe available")
    await queue_call(kcc, "Zoë Şahin", "0612345678", app="Echo", data="")
    await page.wait_for_selector("#pop-card:not([hidden])", timeout=15_000)
    await until(page, "window.kccSoftphone.answered === 1", timeout=15)
    await wait_for(lambda: kcc.service.acd.state_of("zoe")["state"] == "on_call",
                   timeout=10, what="Asterisk sees zoe on the call")
    assert await page.get_attribute("#state-badge", "data-state") == "on_call"

    async def media() -> dict | None:
        stats = await page.evaluate(RTP_STATS)
        # Chromium's fake microphone beeps about once a second: after 2 s of packets the
        # echoed beep must have come back with real energy, not silence.
        if stats and stats["state"] == "connected" and stats["sent"] > 100 \
                and stats["received"] > 100 and stats["level"] > 0.01:
            return stats
        return None

    await wait_for(media, timeout=15, what="RTP both ways (ICE + DTLS-SRTP up) carrying the "
                                           "echoed beep")

    await page.click("#sp-hangup")
    await wait_for(lambda: kcc.service.acd.state_of("zoe")["state"] == "wrap_up",
                   timeout=10, what="nawerk after the agent hung up")
    await until(page, "document.getElementById('state-badge').dataset.state === 'wrap_up'")

    # PJSIP closes a quiet WSS connection after ~32 s: still registered well after that.
    left = 40 - (time.monotonic() - registered_at)
    if left > 0:
        await asyncio.sleep(left)
    assert await registered(page), await page.text_content("#sp-text")
    assert await contacts("zoe"), "the contact was dropped after 40 s"
    assert page.errors == []


async def test_panel_works_without_the_softphone(kcc: Harness, browser) -> None:
    """No JsSIP (not installed, blocked): a visible status, and pop and states still work."""
    context = await browser.new_context(ignore_https_errors=True)
    await context.route("**/jssip.min.js", lambda route: route.abort())
    page = await context.new_page()
    from .conftest import base_url

    await page.goto(base_url(kcc) + "/")
    await page.fill("#login-user", "zoe")
    await page.fill("#login-pass", "demo-zoe")
    await page.click("#login-submit")
    await page.wait_for_selector("#panel-view:not([hidden])")
    await until(page, "document.getElementById('sp-status').dataset.state === 'unavailable'")
    assert "niet beschikbaar" in await page.text_content("#sp-status")
    await page.click("#btn-available")
    await until(page, "document.getElementById('state-badge').dataset.state === 'available'")
    await queue_call(kcc, "Jan de Boer", "0182123456", data="5")
    await page.wait_for_selector("#pop-card:not([hidden])", timeout=15_000)
    assert await page.text_content("#pop-caller-name") == "Jan de Boer"


async def test_supervisor_softphone_config_and_no_token_no_sip_password(kcc: Harness) -> None:
    import aiohttp

    from .conftest import base_url

    async with aiohttp.ClientSession() as http:
        async with http.get(base_url(kcc) + "/panel/config",
                            headers={"Authorization": "Bearer forged"}) as r:
            assert r.status == 401 and "password" not in await r.text()
        token = await kcc.token("zoe")
        async with http.get(base_url(kcc) + "/panel/config",
                            headers={"Authorization": f"Bearer {token}"}) as r:
            config = await r.json()
    assert config["softphone"]["username"] == "agent-zoe"
    # Her own SIP password, not the master secret, and not one a colleague could use.
    from telephony.asterisk_conf import agent_sip_password, sip_secret

    assert config["softphone"]["password"] == agent_sip_password("zoe")
    assert config["softphone"]["password"] not in (sip_secret(), agent_sip_password("anna"))
    assert config["softphone"]["wss_url"] == \
        f"wss://127.0.0.1:{kcc.config.asterisk.wss_port}/ws"
    assert "pauze" in config["pause_reasons"]
