"""Softphone call controls on real calls: hold/resume, mute and the DTMF keypad.

Headless Chromium (fake microphone: a beep about once a second) is agent zoe's phone,
registered over WSS on the sandbox Asterisk; the queue rings ``PJSIP/agent-zoe``.
What happened is read from Asterisk itself on a second AMI connection (``AmiTap``):
Hold/Unhold on the agent's channel, MusicOnHoldStart on the citizen's, the scripted
citizen's UserEvent with the digits its Read() got. The hold time is read from the call
record the service wrote to PostgreSQL.
"""

from __future__ import annotations

import json
import time

import pytest

from .ami_tap import AmiTap
from .conftest import Harness, open_panel, until, wait_for

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]

# Received audio energy of the call (the echoed beep) and whether media flows.
INBOUND = """async () => {
  const s = window.kccSoftphone.session;
  if (!s || !s.connection) return null;
  const stats = await Promise.race([s.connection.getStats(),
                                    new Promise((ok) => setTimeout(() => ok(null), 2000))]);
  if (!stats) return null;
  const out = {state: s.connection.connectionState, received: 0, energy: 0};
  stats.forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "audio") {
      out.received += r.packetsReceived || 0;
      out.energy += r.totalAudioEnergy || 0;
    }
  });
  return out;
}"""


async def _answered_call(kcc: Harness, browser, name: str, **originate: str):
    """zoe's browser registered, available, and on a call from ``name`` with media up."""
    await kcc.service.acd.ensure_demo_agents(endpoint_template="PJSIP/agent-{login}")
    page = await open_panel(browser, kcc, "zoe")
    await until(page, "document.getElementById('sp-status').dataset.state === 'registered'",
                timeout=15)
    await page.click("#btn-available")
    await wait_for(lambda: kcc.service.acd.state_of("zoe")["state"] == "available",
                   timeout=10, what="zoe available")
    await kcc.service.link.action("Originate", timeout=10, Channel="Local/algemeen@kcc-queue",
                                  CallerID=f'"{name}" <0612345678>', Async="true", **originate)
    await until(page, "window.kccSoftphone.answered === 1", timeout=15)

    async def media() -> dict | None:
        stats = await page.evaluate(INBOUND)
        return stats if stats and stats["state"] == "connected" and stats["received"] > 25 \
            else None

    await wait_for(media, timeout=15, what="RTP from Asterisk (ICE + DTLS-SRTP up)")
    call = await wait_for(lambda: next((c for c in kcc.service.model.calls.values()
                                        if c.caller_name == name), None),
                          timeout=5, what="the call in the service's model")
    return page, call


async def _energy_gain(page, seconds: float) -> float:
    """Received audio energy gained over ``seconds`` of wall time."""
    before = (await page.evaluate(INBOUND))["energy"]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await page.wait_for_timeout(250)
    return (await page.evaluate(INBOUND))["energy"] - before


async def test_mute_silences_the_agent_and_hold_gives_the_citizen_music(
        kcc: Harness, browser) -> None:
    async with AmiTap(kcc.config) as tap:
        # The citizen's leg echoes what it hears: the agent's microphone comes back.
        page, call = await _answered_call(kcc, browser, "Mila Echo", Application="Echo")
        linkedid = call.linkedid

        # --- mute: the track is disabled, so the echoed beep stops arriving.
        # The fake microphone beeps about once a second: 2.5 s holds two beeps or more.
        assert await page.is_enabled("#sp-mute")
        speaking = await _energy_gain(page, 2.5)
        assert speaking > 0.01, speaking
        await page.click("#sp-mute")
        assert await page.get_attribute("#sp-mute", "aria-pressed") == "true"
        await page.wait_for_timeout(500)  # audio already in flight (jitter buffer, echo)
        muted = await _energy_gain(page, 2.5)
        assert muted < speaking * 0.05, (muted, speaking)
        await page.click("#sp-mute")
        await wait_for(lambda: _energy_gain(page, 1.5), timeout=8,
                       what="the beep comes back after unmute")

        # --- hold: Asterisk reports it and the citizen's side gets music on hold.
        clicked = time.monotonic()
        await page.click("#sp-hold")
        held_at, held = await tap.wait(
            lambda e: e.get("Event") == "Hold" and e.get("Linkedid") == linkedid,
            timeout=10, what="Asterisk's Hold event", since=clicked)
        assert held["Channel"].startswith("PJSIP/agent-zoe-"), held
        _, moh = await tap.wait(
            lambda e: e.get("Event") == "MusicOnHoldStart" and e.get("Linkedid") == linkedid
            and not e.get("Channel", "").startswith("PJSIP/agent-"),
            timeout=10, what="music on hold on the citizen's side", since=clicked)
        await until(page, "document.getElementById('sp-hold').textContent === 'Hervatten'")
        await wait_for(lambda: call.on_hold, timeout=5, what="the model sees the hold")

        await page.wait_for_timeout(1500)
        await page.click("#sp-hold")
        unheld_at, _ = await tap.wait(
            lambda e: e.get("Event") == "Unhold" and e.get("Linkedid") == linkedid,
            timeout=10, what="Asterisk's Unhold event", since=held_at)
        await tap.wait(lambda e: e.get("Event") == "MusicOnHoldStop"
                       and e.get("Channel") == moh["Channel"],
                       timeout=10, what="music on hold stops", since=held_at)

        await page.click("#sp-hangup")
        row = await wait_for(lambda: _ended_row(kcc, linkedid), timeout=10,
                             what="the call record written at the end")
        held_for = unheld_at - held_at
        assert abs(row["hold_seconds"] - held_for) < 0.5, (row["hold_seconds"], held_for)
        assert len(json.loads(row["holds"])) == 1
        assert page.errors == []


async def _ended_row(kcc: Harness, linkedid: str) -> dict | None:
    row = await kcc.row(linkedid)
    return row if row and row["ended_at"] is not None else None


async def test_keypad_digits_reach_the_citizen_as_rfc4733(kcc: Harness, browser) -> None:
    async with AmiTap(kcc.config) as tap:
        page, call = await _answered_call(kcc, browser, "Daan Toetsen",
                                          Context="kcc-test-reader", Exten="s", Priority="1")
        await page.click("#sp-keypad-box summary")
        for key in "1947":
            await page.click(f"#sp-keypad button[data-key='{key}']")
        assert await page.text_content("#sp-dtmf-sent") == "1947"
        _, event = await tap.wait(
            lambda e: e.get("Event") == "UserEvent" and e.get("UserEvent") == "KccTestDigits"
            and e.get("Linkedid") == call.linkedid,
            timeout=15, what="the scripted citizen's Read() result")
        assert event["Digits"] == "1947", event
        got = await kcc.service.link.action("Getvar", Channel=event["Channel"],
                                            Variable="KCC_TEST_DIGITS", timeout=5)
        assert got.get("Value") == "1947", got
        # DTMF travelled in RTP (RFC 4733), which Asterisk reports as such.
        digits = [e for _, e in tap.events if e.get("Event") == "DTMFEnd"
                  and e.get("Channel", "").startswith("PJSIP/agent-zoe-")
                  and e.get("Direction") == "Received"]
        assert "".join(e["Digit"] for e in digits) == "1947", digits
        assert page.errors == []
