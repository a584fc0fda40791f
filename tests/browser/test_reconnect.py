"""Network drops: the panel reconnects, re-registers and shows the right state.

Two drops, both from the server side, against the real service and sandbox Asterisk:
* the service closes the panel's WebSocket (a service restart or a proxy timeout looks
  the same) while the agent's state changes; the panel reconnects and the hub's hello
  puts the state it missed on screen;
* the TCP connections of Asterisk's WSS listener are killed (``ss -K``: the kernel
  resets them, as a network drop does); JsSIP reconnects, registers again and Asterisk
  lists the contact as reachable again.
"""

from __future__ import annotations

import asyncio
import subprocess

import pytest

from .conftest import Harness, open_panel, until, wait_for
from .test_softphone import avail_contacts, contacts

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]

WATCH = """() => {
  window.__seen = {hub: [], sp: []};
  const watch = (id, into) => new MutationObserver(() => {
    into.push(document.getElementById(id).dataset.state);
  }).observe(document.getElementById(id), {attributes: true, attributeFilter: ["data-state"]});
  watch("hub-status", window.__seen.hub);
  watch("sp-status", window.__seen.sp);
}"""


async def test_panel_reconnects_after_websocket_and_wss_drops(kcc: Harness, browser) -> None:
    await kcc.service.acd.ensure_demo_agents(endpoint_template="PJSIP/agent-{login}")
    page = await open_panel(browser, kcc, "zoe")
    await until(page, "document.getElementById('sp-status').dataset.state === 'registered'",
                timeout=15)
    await until(page, "document.getElementById('hub-status').dataset.state === 'open'")
    await page.click("#btn-available")
    await until(page, "document.getElementById('state-badge').dataset.state === 'available'")
    await page.evaluate(WATCH)

    # --- 1. The service closes the panel's WebSocket; the state changes meanwhile.
    sockets = list(kcc.service.hub.by_login.get("zoe", ()))
    assert sockets, "zoe's panel has no WebSocket on the hub"
    for ws in sockets:
        await ws.close(code=1012, message=b"service restart")
    await kcc.service.acd.pause("zoe", "overleg")
    await until(page, "window.__seen.hub.includes('closed')", timeout=5)
    await until(page, "document.getElementById('hub-status').dataset.state === 'open'",
                timeout=10)
    await until(page, "document.getElementById('state-badge').dataset.state === 'paused'",
                timeout=5)
    assert "overleg" in await page.text_content("#state-detail")
    assert set(kcc.service.hub.by_login.get("zoe", ())) - set(sockets), "no new WebSocket"

    # --- 2. The WSS connection to Asterisk is reset; JsSIP reconnects and re-registers.
    port = kcc.config.asterisk.wss_port
    killed = await asyncio.to_thread(
        subprocess.run, ["ss", "-K", "-t", "state", "established", f"( sport = :{port} )"],
        capture_output=True, text=True, timeout=10)
    assert killed.returncode == 0, killed.stderr
    assert str(port) in killed.stdout, f"no WSS connection was reset: {killed.stdout!r}"
    await until(page, "window.__seen.sp.includes('disconnected')", timeout=10)
    await until(page, "document.getElementById('sp-status').dataset.state === 'registered'",
                timeout=20)
    await wait_for(lambda: avail_contacts("zoe"), timeout=30,
                   what="Asterisk lists agent-zoe's new contact as Avail")
    assert len(await contacts("zoe")) >= 1
    # The agent's state survived both drops.
    assert await page.get_attribute("#state-badge", "data-state") == "paused"
    assert page.errors == []
