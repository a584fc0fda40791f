"""Attended transfer between browser agents, within the limit, and past it.

Three headless-Chromium softphones (zoe, anna, mehmet) on the sandbox Asterisk. A
citizen's call reaches zoe; she consults anna (the citizen waits on hold), then hands
the citizen over with a SIP REFER with Replaces. Asterisk reports the attended transfer,
the citizen is bridged with anna, and anna's panel shows the citizen's pop and zoe's
note. With ``max_transfers = 1`` anna may not pass the citizen on: the service refuses
the consult (409), and with the service stopped the dialplan refuses the consult call
itself, before mehmet's phone rings.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from telephony import sandbox as sandbox_mod
from telephony.acd.transfer import agent_leg

from .ami_tap import AmiTap
from .conftest import (
    Harness,
    _reset_agents,
    _test_config,
    hangup_all,
    open_panel,
    queue_call,
    until,
    wait_for,
)

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]
NOTE = "Vraagt naar haar paspoortaanvraag; identiteit is geverifieerd."
CONSULT_DIRECT = """(target) => new Promise((done) => {
  const host = String(window.kccPanel.config.softphone.uri).split("@")[1];
  const s = window.kccSoftphone.ua.call(`sip:${target}@${host}`, {
    mediaConstraints: {audio: true, video: false}, pcConfig: {iceServers: []}});
  s.on("icecandidate", (e) => setTimeout(e.ready, 300));
  s.on("failed", (e) => done("failed:" + e.cause));
  s.on("confirmed", () => { done("confirmed"); s.terminate(); });
})"""


@pytest.fixture
async def kcc3(kcc_config, sandbox) -> AsyncIterator[Harness]:
    """The service; the test may stop it (then cleanup goes through the sandbox CLI)."""
    from telephony.demo import load_demo_municipality

    h = Harness(_test_config(kcc_config))
    h.stopped = False  # type: ignore[attr-defined]
    await h.start()
    await load_demo_municipality(h.service)
    await hangup_all(h)
    await _reset_agents(h)
    try:
        yield h
    finally:
        with contextlib.suppress(Exception):
            sandbox_mod.cli("channel request hangup all")
        if not h.stopped:  # type: ignore[attr-defined]
            with contextlib.suppress(Exception):
                await _reset_agents(h)
            await h.stop()
        else:
            # zoe's softphone is still in the queues: a service logs her out while her
            # endpoint is the softphone (logout removes the endpoint on record).
            again = Harness(h.config)
            await again.start()
            try:
                await again.service.acd.ensure_demo_agents(
                    endpoint_template="PJSIP/agent-{login}")
                await _reset_agents(again)
            finally:
                await again.stop()


async def registered(page) -> None:
    await until(page, "document.getElementById('sp-status').dataset.state === 'registered'",
                timeout=20)


async def test_attended_transfer_within_the_limit_and_refused_past_it(kcc3: Harness,
                                                                      browser) -> None:
    h = kcc3
    await h.service.acd.ensure_demo_agents(endpoint_template="PJSIP/agent-{login}")
    zoe = await open_panel(browser, h, "zoe")
    anna = await open_panel(browser, h, "anna")
    mehmet = await open_panel(browser, h, "mehmet")
    for page in (zoe, anna, mehmet):
        await registered(page)
    async with AmiTap(h.config) as tap:
        await zoe.click("#btn-available")
        await wait_for(lambda: h.service.acd.state_of("zoe")["state"] == "available",
                       timeout=10, what="zoe available")
        await queue_call(h, "Fleur Overdracht", "0612345672", app="Echo", data="")
        await until(zoe, "window.kccSoftphone.answered === 1", timeout=15)
        call = await wait_for(lambda: next((c for c in h.service.model.calls.values()
                                            if c.caller_name == "Fleur Overdracht"), None),
                              timeout=5, what="the call in the model")
        await wait_for(lambda: agent_leg(h.service.model, call, "zoe"), timeout=10,
                       what="zoe bridged with the citizen")
        await until(zoe, "document.getElementById('consult-start').disabled === false")

        # --- consult anna, then hand the citizen over.
        await zoe.click("#consult-box summary")
        await zoe.select_option("#consult-to", "agent-anna")
        await zoe.fill("#consult-note", NOTE)
        await zoe.click("#consult-start")
        await wait_for(lambda: call.on_hold, timeout=10, what="the citizen on hold")
        await until(anna, "window.kccSoftphone.answered === 1", timeout=15)
        await until(zoe, "document.getElementById('consult-complete').disabled === false",
                    timeout=10)
        await zoe.click("#consult-complete")
        _, done = await tap.wait(lambda e: e.get("Event") == "AttendedTransfer",
                                 timeout=15, what="Asterisk's AttendedTransfer")
        assert done["Result"] == "Success", done
        assert done["TransferTargetChannel"].startswith("PJSIP/agent-anna-"), done
        peer = await h.service.link.action("Getvar", Channel=done["TransfereeChannel"],
                                           Variable="BRIDGEPEER", timeout=5)
        assert peer.get("Value", "").startswith("PJSIP/agent-anna-"), peer
        assert [t["kind"] for t in call.transfers] == ["attended"]
        # anna gets the pop and the note.
        await until(anna, "document.getElementById('handover-note') && "
                          "document.getElementById('handover-note').textContent.length > 0",
                    timeout=10)
        assert await anna.text_content("#handover-note") == NOTE
        assert await anna.get_attribute("#pop-card", "data-linkedid") == call.linkedid

        # --- past the limit: the service refuses the consult before anything rings.
        await until(anna, "document.getElementById('consult-start').disabled === false")
        await anna.click("#consult-box summary")
        await anna.select_option("#consult-to", "agent-mehmet")
        await anna.click("#consult-start")
        await until(anna, "document.getElementById('consult-state').textContent"
                          ".includes('niet mogelijk')", timeout=10)
        assert "doorverbonden" in await anna.text_content("#consult-state")

        # --- and with the service stopped, the dialplan refuses the consult call itself.
        await h.stop()
        h.stopped = True  # type: ignore[attr-defined]
        result = await wait_for(lambda: anna.evaluate(CONSULT_DIRECT, "agent-mehmet"),
                                timeout=15, what="the direct consult call ends")
        assert result.startswith("failed:"), result
        _, refused = await tap.wait(
            lambda e: e.get("Event") == "UserEvent" and e.get("UserEvent") ==
            "KccTransferRefused" and e.get("Kind") == "attended",
            timeout=5, what="the dialplan's refusal")
        assert refused["Reason"] == "limit"
        # Refused before Dial(): mehmet's phone never rang (the consult has ended, so
        # nothing can still ring him).
        assert await mehmet.evaluate("window.kccSoftphone.calls") == 0
        assert zoe.errors == [] and anna.errors == [] and mehmet.errors == []
