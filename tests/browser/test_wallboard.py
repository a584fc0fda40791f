"""The wallboard in headless Chromium under the scripted supervisor day (issue 14):
tiles show the board's figures, a supervisor pauses an agent and switches a
municipality's calamity message from the screen (both audited), an agent cannot; the
reports page draws the day with Chart.js.

A screenshot of the board is kept as a test artefact: tests/artifacts/wallboard.png
(git-ignored; CI keeps the folder).
"""

from __future__ import annotations

import os

import aiohttp
import pytest
from traffic import Traffic, figures_config, start_service  # (conftest: on sys.path)

from tests.throwaway_db import create, drop, dsn_of

from .conftest import REPO, base_url, open_panel, until, wait_for

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]
DB = f"{os.environ.get('KCC_TEST_DATABASE') or 'kcc_test'}_wallboard"
ARTIFACTS = REPO / "tests" / "artifacts"


@pytest.fixture
async def day(kcc_config, sandbox):
    from harness import hangup_all

    await create(DB)
    h = await start_service(figures_config(kcc_config, dsn_of(DB)))
    await hangup_all(h)
    for login in ("anna", "mehmet", "zoe"):
        await h.service.acd.logout(login)
    try:
        yield h, await Traffic(h).run()
    finally:
        try:
            await hangup_all(h)
            for login in ("anna", "mehmet", "zoe"):
                await h.service.acd.logout(login)
            assert h.service.redis is not None
            await h.service.redis.r.delete(f"{h.config.redis.prefix}calamity:gouda")
        finally:
            await h.stop()
            await drop(DB)


def _tile(page, queue: str, field: str):
    return page.locator(f'#tile-{queue} [data-field="{field}"]')


async def _audit(h, action: str, actor: str) -> dict | None:
    return await h.service.pool.fetchrow(
        "SELECT * FROM supervisor_actions WHERE action = $1 AND actor = $2 ORDER BY id DESC "
        "LIMIT 1", action, actor)


async def test_wallboard_under_traffic_and_steering(day, browser) -> None:
    h, _ = day
    svc = h.service
    page = await open_panel(browser, h, "sanne", "/wallboard")
    await page.wait_for_selector("#tile-algemeen", timeout=15_000)
    board = await wait_for(lambda: (svc.board.latest or {}).get("total", {}).get(
        "today", {}).get("callbacks_reached") == 1 and svc.board.latest, what="board")
    await until(page, "window.kccWallboard.latest && "
                      "window.kccWallboard.latest.total.today.callbacks_reached === 1")

    # The tiles say what the board says (and the board was checked by hand in
    # tests/integration/test_supervisor_figures.py).
    assert await _tile(page, "algemeen", "sl_today").text_content() == "25% buiten de norm"
    assert await _tile(page, "algemeen", "sl_today").get_attribute("data-norm") == "breach"
    assert (await _tile(page, "algemeen", "abandon").text_content()).startswith("25% (1)")
    assert await _tile(page, "algemeen", "short").text_content() == "1"
    assert await _tile(page, "total", "offered").text_content() == "6 / 3"
    assert await _tile(page, "total", "transfers").text_content() == "1 / 1"
    assert await _tile(page, "burgerzaken", "sl_today").get_attribute("data-norm") == "ok"
    asa = board["total"]["today"]["asa"]
    assert await _tile(page, "total", "asa").text_content() == f"{round(asa)} s"
    assert await page.locator('#agent-states li[data-state="available"] strong'
                              ).text_content() == "1"
    zoe_row = page.locator('tr[data-agent="zoe"]')
    assert await zoe_row.get_attribute("data-state") == "available"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "wallboard.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    print(f"\nwallboard screenshot: {shot}")
    assert page.errors == []  # type: ignore[attr-defined]

    # A supervisor pauses zoe from the screen: Asterisk, the board and the audit log.
    await zoe_row.locator("select.pause-reason").select_option("overleg")
    await zoe_row.locator("button.btn-pause").click()
    await wait_for(lambda: svc.acd.state_of("zoe")["state"] == "paused", what="zoe paused")
    assert svc.acd.state_of("zoe")["reason"] == "overleg"
    await until(page, "document.querySelector('tr[data-agent=\"zoe\"]')"
                      ".dataset.state === 'paused'")
    row = await wait_for(lambda: _audit(h, "agent.pause", "sanne"), what="audited")
    assert (row["target"], row["status"], row["result"]) == ("zoe", 200, "ok")
    assert '"overleg"' in row["details"]

    # ... and switches Gouda's calamity message on: Gouda's callers hear it, Zuidplas's not.
    text = "Door een storing is het Stadskantoor Gouda vandaag gesloten."
    await page.select_option("#calamity-municipality", "gouda")
    await page.fill("#calamity-nl", text)
    await page.click("#calamity-on")
    await page.wait_for_selector('#calamity-now li[data-municipality="gouda"]')
    calamity = svc.ivr.deps.calamity
    assert (await calamity.current("gouda")).text_nl == text
    assert await calamity.current("zuidplas") is None
    row = await wait_for(lambda: _audit(h, "calamity.on", "sanne"), what="audited")
    assert (row["target"], row["status"]) == ("gouda", 200) and text in row["details"]

    # An agent cannot: not on the page, not through the API (and the attempt is logged).
    agent_page = await open_panel(browser, h, "zoe", "/wallboard")
    await agent_page.wait_for_selector("#login-error:has-text('alleen voor teamleiders')")
    assert await agent_page.is_hidden("#board")
    headers = {"Authorization": f"Bearer {await h.token('zoe')}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.post(f"{base_url(h)}/api/acd/agents/anna/pause",
                             json={"reason": "pauze"}) as resp:
            assert resp.status == 403
        async with http.put(f"{base_url(h)}/api/ivr/calamity/gouda",
                            json={"text_nl": "nep"}) as resp:
            assert resp.status == 403
        async with http.get(f"{base_url(h)}/api/supervisor/board") as resp:
            assert resp.status == 403
    assert (await calamity.current("gouda")).text_nl == text
    refused = await _audit(h, "calamity.on", "zoe")
    assert refused is not None and (refused["status"], refused["result"]) == (403, "forbidden")

    # The reports page (same day): a chart drawn with the locally served Chart.js.
    await page.goto(base_url(h) + "/reports")
    await page.select_option("#r-by", "hour")
    await page.select_option("#r-group", "channel")
    await page.click("#r-submit")
    await until(page, "window.kccReports.chart && window.kccReports.rows.length > 0")
    rows = await page.evaluate("window.kccReports.rows")
    assert sum(r["offered"] for r in rows) == 6
    assert sum(r["callbacks_reached"] for r in rows) == 1
    assert await page.evaluate("typeof Chart") == "function", "Chart.js served locally"
    assert page.errors == []  # type: ignore[attr-defined]
