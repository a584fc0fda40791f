"""A call-back in the agent's panel: the card is painted before the citizen's phone rings.

The service (callback dispatcher, real sandbox Asterisk) reserves browser agent zoe,
sends ``callback.offered``, rings her softphone (which answers by itself) and only then
has Asterisk dial the scripted citizen (``kcc-test-citizen``: answers, presses 1).
Ordering uses one clock on both sides: the panel stamps the card with the epoch time of
the frame that painted it; Asterisk stamps its DialBegin to the citizen (timestampevents).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.callbacks.cbharness import REACHED, CbHarness, cb_config

from .ami_tap import AmiTap
from .conftest import open_panel, running_kcc, until, wait_for

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]


@pytest.fixture
async def cb(kcc_config, sandbox) -> AsyncIterator[CbHarness]:
    async def no_callbacks(h: CbHarness) -> None:
        await h.service.pool.execute("DELETE FROM callbacks")

    async with running_kcc(cb_config(kcc_config), no_callbacks, make=CbHarness) as h:
        yield h


async def test_callback_card_is_painted_before_the_citizen_rings(cb: CbHarness, browser
                                                                  ) -> None:
    await cb.service.acd.ensure_demo_agents(endpoint_template="PJSIP/agent-{login}")
    page = await open_panel(browser, cb, "zoe")
    await until(page, "document.getElementById('sp-status').dataset.state === 'registered'",
                timeout=15)
    async with AmiTap(cb.config) as tap:
        await page.click("#btn-available")
        await wait_for(lambda: cb.state("zoe") == "available", timeout=10,
                       what="zoe available")
        cid = await cb.add(REACHED, subject="paspoort verlengen",
                           ivr={"subject": "paspoort verlengen", "zaaknummer": "ZAAK-2026-0042"})

        await page.wait_for_selector("#callback:not([hidden])", timeout=15_000)
        painted = float(await until(page, "document.getElementById('callback')"
                                          ".dataset.paintedAt || ''", timeout=5)) / 1000
        assert await page.text_content("#callback-who") == REACHED
        assert await page.text_content("#callback-why") == "paspoort verlengen"
        assert await page.text_content("#callback-zaak") == "ZAAK-2026-0042"
        assert "behoud van plaats" in await page.text_content("#callback-promise")
        assert await page.text_content("#callback-deadline")  # the promised term
        # The zaken pop of the citizen, by the pop's renderer, for the call-back's call.
        await page.wait_for_selector("#pop-card:not([hidden])", timeout=5_000)
        assert await page.get_attribute("#pop-card", "data-linkedid") == f"cb-{cid}-1"

        _, dial = await tap.wait(
            lambda e: e.get("Event") == "DialBegin"
            and e.get("DestChannel", "").startswith(f"Local/{REACHED}@kcc-test-citizen"),
            timeout=20, what="Asterisk dials the citizen")
        rings = float(dial["Timestamp"])
        assert painted < rings, (painted, rings)

        row = await cb.until_status(cid, "done")
        assert row["outcome"] == "reached"
        await until(page, "document.getElementById('callback').dataset.outcome === 'reached'")
        assert "Burger bereikt" in await page.text_content("#callback-result")
    assert page.errors == []
