"""The report queries on real PostgreSQL against hand-computed figures."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from telephony.config import Config
from telephony.reports import api, queries

from .fixtures import AMS, D1, D2, at, load

TZ = "Europe/Amsterdam"


@pytest.fixture
async def loaded(pool: asyncpg.Pool) -> asyncpg.Pool:
    await load(pool)
    return pool


async def _queues(pool: asyncpg.Pool, cfg: Config) -> dict[tuple[str, str], dict]:
    rows = await queries.queue_rows(pool, D1, D2, TZ, cfg.acd.short_abandon_seconds,
                                    {q.id: q.service_level_seconds for q in cfg.queues})
    shaped = api.shape_queues(rows, {q.id: q.service_level_target for q in cfg.queues})
    return {(r["day"], r["queue"]): r for r in shaped}


async def test_queue_report_figures(loaded: asyncpg.Pool, kcc_config: Config) -> None:
    assert kcc_config.acd.short_abandon_seconds == 5
    got = await _queues(loaded, kcc_config)
    assert set(got) == {("2025-03-10", "algemeen"), ("2025-03-10", "belastingen"),
                        ("2025-03-11", "afval")}  # c0 (D0) is outside the range
    algemeen = got[("2025-03-10", "algemeen")]
    assert algemeen == {
        "day": "2025-03-10", "queue": "algemeen",
        "offered": 8,               # c1..c8; c6 (queued 23:59:50, answered after 0:00) in D1
        "answered": 5,              # c1 c2 c3 c6 c7
        "abandoned": 1,             # c5 (40 s)
        "short_abandoned": 1,       # c4 (3 s < 5 s): not in the service level
        "left_for_callback": 1,     # c8: not an abandon
        "callbacks_reached": 1,     # the keep-my-place callback, reached after 30 min
        "service_level": 0.571,     # within 20 s: c1 c3 c6 c7 = 4 / (5 + 1 + 1)
        "service_level_target": 0.8, "service_level_met": False,
        "asa": 15.0,                # (10 + 30 + 15 + 15 + 5) / 5
        "avg_wait": 22.4,           # (10+30+15+3+40+15+5+61) / 8
        "max_wait": 61.0,
        "avg_talk": 140.0,          # (300 + 120 + 60 + 120 + 100) / 5
        "transfers": 1,             # c3; c2's transfer was refused by the dialplan
        "transferred_calls": 1, "transferred_share": 0.2,
        "first_contact_resolution": 0.6,  # c1 c2 c6: no transfer, no terugbelnotitie (c7)
        "callback_requests": 1,
    }
    afval = got[("2025-03-11", "afval")]
    assert (afval["service_level"], afval["asa"], afval["service_level_met"]) == (1.0, 22.0,
                                                                                  True)
    belastingen = got[("2025-03-10", "belastingen")]  # only a reached callback (wait 1 h)
    assert (belastingen["offered"], belastingen["callbacks_reached"],
            belastingen["service_level"], belastingen["asa"]) == (0, 1, 0.0, None)


async def test_queue_report_local_days(loaded: asyncpg.Pool, kcc_config: Config) -> None:
    """A one-day report of D1 holds c1 (23:30 UTC the day before) but not c9 (D2)."""
    rows = await queries.queue_rows(loaded, D1, D1, TZ, 5, {"algemeen": 20})
    assert [(r["day"].isoformat(), r["queue"], r["offered"]) for r in rows] == [
        ("2025-03-10", "algemeen", 8), ("2025-03-10", "belastingen", 0)]


async def test_agent_report(loaded: asyncpg.Pool) -> None:
    rows = await queries.agent_rows(loaded, D1, D2, TZ, datetime.now(UTC))
    got = {(a["day"], a["agent"]): a for a in api.shape_agents(rows)}
    assert set(got) == {("2025-03-10", "anna"), ("2025-03-10", "bob"),
                        ("2025-03-11", "anna"), ("2025-03-11", "bob")}
    anna1 = got[("2025-03-10", "anna")]
    assert anna1 == {
        "day": "2025-03-10", "agent": "anna",
        "logged_in": 86400.0,      # available since D0 23:00 carries into D1 from 0:00
        "available": 8 * 3600 + 15 * 3600 + 19 * 60,   # 0:00-8:00 and 8:11-23:30
        "ringing": 0.0, "on_call": 600.0, "wrap_up": 60.0, "unavailable": 0.0,
        "paused": {"pauze": 1800.0},                    # 23:30-24:00, the rest on D2
        "calls_answered": 3, "talk": 520.0,             # c1 c2 c7 (not c0: D0)
        "aht": 193.3,                                   # (520 + 60) / 3
    }
    anna2 = got[("2025-03-11", "anna")]
    assert (anna2["logged_in"], anna2["paused"], anna2["calls_answered"], anna2["aht"]) == (
        1800.0, {"pauze": 1800.0}, 1, 60.0)
    bob1 = got[("2025-03-10", "bob")]
    assert (bob1["logged_in"], bob1["available"], bob1["paused"], bob1["calls_answered"],
            bob1["aht"]) == (3600.0, 1800.0, {"overleg": 1800.0}, 1, 60.0)
    bob2 = got[("2025-03-11", "bob")]  # c6: queued on D1, answered after midnight
    assert (bob2["logged_in"], bob2["calls_answered"], bob2["aht"]) == (0.0, 1, 120.0)


async def test_agent_report_clipped_to_now(loaded: asyncpg.Pool) -> None:
    now = at(D1, "12:00:00")
    rows = await queries.agent_rows(loaded, D1, D2, TZ, now)
    got = {(a["day"], a["agent"]): a for a in api.shape_agents(rows)}
    anna = got[("2025-03-10", "anna")]
    assert (anna["logged_in"], anna["available"], anna["on_call"], anna["wrap_up"]) == (
        12 * 3600.0, 8 * 3600 + 3 * 3600 + 49 * 60.0, 600.0, 60.0)
    assert ("2025-03-11", "anna") in got and got[("2025-03-11", "anna")]["logged_in"] == 0.0


async def test_callback_report(loaded: asyncpg.Pool) -> None:
    now = datetime(2025, 3, 20, 12, 0, tzinfo=AMS)
    rows = api.shape_callbacks(await queries.callback_rows(loaded, D1, D2, TZ, now))
    got = {(r["day"], r["kind"]): r for r in rows}
    zero = {"done": 0, "done_on_time": 0, "done_late": 0, "open": 0, "open_past_deadline": 0,
            "failed_to_task": 0, "cancelled": 0, "without_deadline": 0}
    assert got == {
        ("2025-03-10", "terugbelnotitie"): {
            "day": "2025-03-10", "kind": "terugbelnotitie", **zero, "requested": 3,
            "done": 2, "done_on_time": 1, "done_late": 1, "open": 1,
            "open_past_deadline": 1},
        ("2025-03-11", "terugbelnotitie"): {
            "day": "2025-03-11", "kind": "terugbelnotitie", **zero, "requested": 1,
            "open": 1},
        ("2025-03-10", "virtual_hold"): {
            "day": "2025-03-10", "kind": "virtual_hold", **zero, "requested": 1, "done": 1,
            "without_deadline": 1},
        ("2025-03-10", "scheduled"): {
            "day": "2025-03-10", "kind": "scheduled", **zero, "requested": 3, "done": 1,
            "done_on_time": 1, "open": 1, "open_past_deadline": 1, "failed_to_task": 1},
    }
