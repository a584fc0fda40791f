"""Issue 14: scripted traffic through the real sandbox Asterisk; every wallboard figure
equals a hand-computed expectation and the reports and the Prometheus metrics show the
same numbers; Asterisk's own queue_log agrees; after a restart the board is the same.

The scenario is tests/integration/traffic.py (one of each: short abandon, abandon,
answered after and within the service level, transferred + refused transfer, a
keep-my-place call-back). Counts are exact; the time figures (ASA, AHT) are computed here
in Python from the call records and the agent state log, and the waits are checked
against app_queue's queue_log.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from harness import Harness, hangup_all, wait_for
from traffic import Day, Traffic, figures_config, start_service

from telephony import sandbox as sandbox_mod
from telephony.reports import aggregates, api, definitions
from tests.throwaway_db import create, drop, dsn_of

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]
DB = f"{os.environ.get('KCC_TEST_DATABASE') or 'kcc_test'}_figures"


@pytest.fixture
async def day(kcc_config, sandbox) -> AsyncIterator[tuple[Harness, Day]]:
    await create(DB)
    config = figures_config(kcc_config, dsn_of(DB))
    h = await start_service(config)
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
        finally:
            await h.stop()
            await drop(DB)


async def _get(h: Harness, path: str) -> Any:
    url = f"http://127.0.0.1:{h.config.service.http_port}{path}"
    headers = {"Authorization": f"Bearer {await h.token('sanne')}"}
    async with aiohttp.ClientSession(headers=headers) as http, http.get(url) as resp:
        assert resp.status == 200, await resp.text()
        return await (resp.json() if "json" in resp.content_type else resp.text())


async def _settled_board(h: Harness, since: float) -> dict[str, Any]:
    """The board once it holds every call of the day (it is pushed, not polled: wait)."""
    def complete() -> dict[str, Any] | None:
        board = h.service.board.latest
        if board is None or board["at"] < since:
            return None
        t = board["total"]["today"]
        done = (t["offered"], t["callbacks_reached"], board["agent_states"]["available"])
        return board if done == (6, 1, 1) else None
    return await wait_for(complete, timeout=20, what="board with the whole day")


def _expected_time_figures(calls: list[dict], attempt: dict, states: list[dict],
                           queue: str | None) -> dict[str, float | None]:
    """ASA and AHT from the raw records, by the definitions in the issue."""
    mine = [c for c in calls if queue is None or c["queue"] == queue]
    answered = [c for c in mine if c["answered_at"] is not None]
    waits = [(c["answered_at"] - c["queued_at"]).total_seconds() for c in answered]
    talk = sum(c["talk_seconds"] or 0 for c in answered)
    wrapup = 0.0
    for c in answered:
        rows = [s for s in states if s["agent"] == c["answered_by"]]
        for i, s in enumerate(rows):
            gap = (s["at"] - c["ended_at"]).total_seconds()
            if s["state"] == "paused" and s["reason"] == "nawerk" and -1 <= gap < 15:
                wrapup += (rows[i + 1]["at"] - s["at"]).total_seconds()
                break
    handled = len(answered)
    if queue in (None, "algemeen"):  # the call-back's queue
        talk += (attempt["ended_at"] - attempt["agent_answered_at"]).total_seconds()
        handled += 1
    return {"asa": round(sum(waits) / len(waits), 1) if waits else None,
            "aht": round((talk + wrapup) / handled, 1) if handled else None}


def _queue_log(since: float) -> list[list[str]]:
    path = sandbox_mod.sandbox_dir() / "var/log/asterisk/queue_log"
    out = []
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split("|")
        if len(parts) >= 5 and parts[0].isdigit() and int(parts[0]) >= int(since):
            out.append(parts)
    return out


def _metric(text: str, name: str, queue: str) -> float:
    match = re.search(rf'^{name}{{queue="{queue}"}} (\S+)$', text, re.MULTILINE)
    assert match, f"{name} for {queue} not in /metrics"
    return float(match.group(1))


async def test_figures_agree_everywhere_and_survive_a_restart(day) -> None:
    h, d = day
    board = await _settled_board(h, time.time())
    tiles = {t["queue"]: t for t in board["queues"]}
    alg, bz, total = tiles["algemeen"]["today"], tiles["burgerzaken"]["today"], board["total"]

    # -- counts, by hand from the scenario ---------------------------------------------
    assert {k: alg[k] for k in ("offered", "answered", "answered_within", "abandoned",
                                "short_abandoned", "left_for_callback", "callbacks_reached",
                                "callbacks_within", "transfers", "refused_transfers")} == {
        "offered": 5,            # short, abandon, late, quick, callback (transfer: bz)
        "answered": 2,           # late, quick
        "answered_within": 1,    # quick (late waited ~7 s > 5 s)
        "abandoned": 1, "short_abandoned": 1, "left_for_callback": 1,
        "callbacks_reached": 1,  # waited more than 5 s from its original place
        "callbacks_within": 0, "transfers": 0, "refused_transfers": 0}
    assert alg["service_level"] == 0.25      # 1 / (2 answered + 1 abandoned + 1 call-back)
    assert alg["abandon_rate"] == 0.25       # 1 / (2 + 1 + 1 left for a call-back)
    assert tiles["algemeen"]["norm"]["service_level"] == "breach"
    assert tiles["algemeen"]["norm"]["abandon_rate"] == "breach"   # 25 % > 5 %
    assert (bz["offered"], bz["answered"], bz["answered_within"], bz["transfers"],
            bz["refused_transfers"], bz["service_level"]) == (1, 1, 1, 1, 1, 1.0)
    assert bz["transfers_per_call"] == 1.0
    t = total["today"]
    assert (t["offered"], t["answered"], t["abandoned"], t["short_abandoned"],
            t["handled"], t["transfers"], t["refused_transfers"]) == (6, 3, 1, 1, 4, 1, 1)
    assert t["service_level"] == 0.4          # (1 + 1) / (3 + 1 + 1)
    assert t["transfers_per_call"] == 0.25    # 1 / 4 handled
    assert t["registration"] == 0.0           # nothing registered in this scenario
    assert total["offered_today"] == 6 and total["waiting"] == 0
    assert tiles["algemeen"]["rolling"]["service_level"] == 0.25  # all within 30 min
    assert board["agent_states"]["available"] == 1  # zoe, after the call-back
    assert next(a for a in board["agents"] if a["login"] == "zoe")["state"] == "available"

    # -- time figures, by hand from the records ------------------------------------------
    pool = h.service.pool
    calls = [dict(r) for r in await pool.fetch(
        "SELECT * FROM calls WHERE queue <> '' AND queued_at IS NOT NULL")]
    attempt = dict(await pool.fetchrow("SELECT * FROM callback_attempts WHERE callback_id = $1",
                                       d.callback_id))
    states = [dict(r) for r in await pool.fetch("SELECT * FROM agent_state_log ORDER BY at, id")]
    for queue, figures in (("algemeen", alg), ("burgerzaken", bz), (None, t)):
        assert {k: figures[k] for k in ("asa", "aht")} == _expected_time_figures(
            calls, attempt, states, queue), queue
    assert 6.5 <= next(c for c in calls if c["linkedid"] == d.calls["late"])[
        "wait_seconds"] <= 12
    # caller numbers normalised in the records, whatever spelling the trunk sent
    numbers = {c["linkedid"]: c["caller_number"] for c in calls}
    assert numbers[d.calls["abandon"]] == "+31612340012"      # was 0031612340012
    assert numbers[d.calls["quick"]] == "+31612340014"        # was 06-12340014

    # -- the reports: same numbers -----------------------------------------------------------
    today = board["day"]
    report = await _get(h, f"/api/reports/contacts?from={today}&to={today}&by=day&group=queue")
    rows = {r["queue"]: r for r in report["rows"]}
    for queue, tile in tiles.items():
        if tile["today"]["offered"] or tile["today"]["callbacks_ended"]:
            assert {k: v for k, v in rows[queue].items() if k not in ("day", "queue")} == \
                tile["today"], queue
    total_row = (await _get(h, f"/api/reports/contacts?from={today}&to={today}&by=total"
                               f"&group=total"))["rows"][0]
    assert total_row == t
    by_channel = {r["channel"]: r for r in (await _get(
        h, f"/api/reports/contacts?from={today}&to={today}&by=total&group=channel"))["rows"]}
    assert (by_channel["direct"]["offered"], by_channel["callback"]["callbacks_reached"]) == (
        6, 1)

    # -- the day pre-aggregated (as the job builds it once closed) reads the same ---------
    later = datetime.now(UTC) + timedelta(days=2)  # the day is closed by then
    closed_day = date.fromisoformat(today)
    cfg = h.service.config
    assert await aggregates.build_day(pool, cfg, closed_day, now=later)
    assert closed_day in await aggregates.fresh_days(pool, cfg, closed_day, closed_day, later)
    for dims in (["queue"], ["hour", "channel"], []):
        built = await aggregates.fetch(pool, cfg, closed_day, closed_day, dims, now=later,
                                       on_demand=0)
        lo, hi = api.local_bounds(cfg.kcc.timezone, closed_day, closed_day)
        direct = await definitions.fetch_facts(pool, cfg, lo, hi, dims, now=later)
        assert {tuple(r[k] for k in dims): r for r in built} == {
            tuple(r[k] for k in dims): r for r in direct}, dims
    built_total = definitions.add(built)
    assert {k: built_total[k] for k in ("offered", "answered", "abandoned", "short_abandoned",
                                        "handled", "transfers", "refused_transfers")} == {
        k: t[k] for k in ("offered", "answered", "abandoned", "short_abandoned", "handled",
                          "transfers", "refused_transfers")}

    # -- Prometheus: same numbers ----------------------------------------------------------------
    metrics = await _get(h, "/metrics")
    for queue, figures in (("algemeen", alg), ("burgerzaken", bz), ("total", t)):
        assert _metric(metrics, "kcc_board_answered_today", queue) == figures["answered"]
        assert _metric(metrics, "kcc_board_abandoned_today", queue) == figures["abandoned"]
        assert _metric(metrics, "kcc_board_short_abandoned_today", queue) == \
            figures["short_abandoned"]
        assert _metric(metrics, "kcc_board_service_level_today", queue) == \
            figures["service_level"]
        assert _metric(metrics, "kcc_board_asa_today_seconds", queue) == figures["asa"]
        assert _metric(metrics, "kcc_board_aht_today_seconds", queue) == figures["aht"]
        assert _metric(metrics, "kcc_board_refused_transfers_today", queue) == \
            figures["refused_transfers"]
    assert _metric(metrics, "kcc_board_offered_today", "total") == 6
    assert math.isnan(_metric(metrics, "kcc_board_service_level_today", "afval"))

    # -- Asterisk's queue_log says the same (it counts per queue entry, without the
    #    transfer the service made; totals per call are compared) --------------------------
    log = _queue_log(d.started)
    # time|callid|queue|agent|event|data...: CONNECT holdtime|..., ABANDON
    # position|origposition|waittime, EXITWITHKEY key|position|...
    first_connect: dict[str, int] = {}
    for p in log:
        if p[4] == "CONNECT" and p[1] not in first_connect:
            first_connect[p[1]] = int(p[5])           # holdtime, whole seconds
    abandons = [int(p[7]) for p in log if p[4] == "ABANDON"]
    keyed = [p for p in log if p[4] == "EXITWITHKEY" and p[5] == "1"]
    assert len(first_connect) == t["answered"] == 3
    assert sorted(w >= 2 for w in abandons) == [False, True]   # one short, one abandon
    assert len(keyed) == 1                                      # left with a call-back
    asa_log = sum(first_connect.values()) / len(first_connect)
    assert abs(asa_log - t["asa"]) <= 1.0, (asa_log, t["asa"])
    within_log = sum(1 for holdtime in first_connect.values() if holdtime <= 5)
    assert within_log == alg["answered_within"] + bz["answered_within"] == 2

    # -- restart mid-day: the next instance rebuilds the same board from PostgreSQL ---------
    before = {q["queue"]: (q["today"], q["rolling"]) for q in board["queues"]}
    await h.stop()
    h2 = await start_service(h.config)
    h.service = h2.service  # the fixture's cleanup stops this one
    # (the old board is still in Redis: wait for one the new instance computed)
    again = await wait_for(lambda: (h2.service.board.latest or {}).get("leader") not in (
        None, board["leader"]) and h2.service.board.latest, timeout=20,
        what="a board computed after the restart")
    assert {q["queue"]: (q["today"], q["rolling"]) for q in again["queues"]} == before
    assert again["total"]["today"] == t
