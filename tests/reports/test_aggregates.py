"""Closed days pre-aggregated (telephony/reports/aggregates.py) give the same figures as
computing them straight from the records, for every grouping the reports offer, on the
fixture days (a call queued before midnight and answered after it, a short abandon, a
refused transfer, call-backs, IVR self-service); late data makes a built day stale
until it is rebuilt, and a changed setting makes every built day unusable."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import asyncpg
import pytest

from telephony.config import Config
from telephony.reports import aggregates, api, definitions

from .fixtures import D0, D1, D2, ZOE, at, load

NOW = at(D2 + timedelta(days=30), "12:00:00")  # every fixture day long closed
GROUPINGS = [(by, group) for by in api.PERIODS for group in api.GROUPS]


@pytest.fixture
async def loaded(pool: asyncpg.Pool) -> asyncpg.Pool:
    await load(pool)
    return pool


def _keyed(rows: list[dict[str, Any]], dims: list[str]) -> dict[tuple, dict[str, Any]]:
    return {tuple(r[d] for d in dims): definitions.figures(r) for r in rows}


async def _direct(pool: asyncpg.Pool, cfg: Config, start: date, end: date,
                  dims: list[str]) -> dict[tuple, dict[str, Any]]:
    lo, hi = api.local_bounds(cfg.kcc.timezone, start, end)
    rows = await definitions.fetch_facts(pool, cfg, lo, hi, dims, now=NOW)
    if not dims:
        rows = [definitions.add(rows)]
    return _keyed(rows, dims)


async def _aggregated(pool: asyncpg.Pool, cfg: Config, start: date, end: date,
                      dims: list[str], on_demand: int = 0) -> dict[tuple, dict[str, Any]]:
    rows = await aggregates.fetch(pool, cfg, start, end, dims, now=NOW, on_demand=on_demand)
    return _keyed(rows, dims)


async def _build(pool: asyncpg.Pool, cfg: Config, *days: date) -> None:
    for day in days:
        await aggregates.build_day(pool, cfg, day, now=NOW, force=True)


async def test_aggregated_equals_direct_for_every_grouping(
        loaded: asyncpg.Pool, kcc_config: Config) -> None:
    await _build(loaded, kcc_config, D0, D1, D2)
    assert await aggregates.fresh_days(loaded, kcc_config, D0, D2, NOW) == {D0, D1, D2}
    for by, group in GROUPINGS:
        dims = [d for d in (by, group) if d != "total"]
        direct = await _direct(loaded, kcc_config, D0, D2, dims)
        assert await _aggregated(loaded, kcc_config, D0, D2, dims) == direct, (by, group)
    # The fixture's figures really are in there (not two empty answers that agree).
    total = (await _aggregated(loaded, kcc_config, D1, D1, []))[()]
    assert (total["offered"], total["answered"], total["short_abandoned"],
            total["refused_transfers"], total["self_service"]) == (8, 5, 1, 1, 1)
    days = await _aggregated(loaded, kcc_config, D1, D2, ["day"])
    assert days[(D1,)]["answered"] == 5  # c6: queued 23:59:50, answered after midnight


async def test_mixed_built_and_live_days(loaded: asyncpg.Pool, kcc_config: Config) -> None:
    """Only D1 built: D0 and D2 are computed live; the counters of the sum are the very
    same numbers as computed over the whole range, also for seconds that floats cannot
    hold exactly (0.1 + 0.2 + 0.7 s of talk spread over the days)."""
    for n, (day, talk) in enumerate([(D0, 0.1), (D1, 0.2), (D2, 0.7), (D1, 1 / 3)]):
        queued = at(day, "16:00:00") + timedelta(seconds=n)
        await loaded.execute(
            """INSERT INTO calls (linkedid, direction, queue, started_at, queued_at,
                   answered_at, ended_at, talk_seconds, answered_by, caller_number)
               VALUES ($1, 'inbound', 'afval', $2, $2, $3, $4, $5, 'bob', 'anonymous')""",
            f"f{n}", queued, queued + timedelta(seconds=talk),
            queued + timedelta(seconds=2 * talk), talk)
    await _build(loaded, kcc_config, D1)
    for dims in (["week", "queue"], ["month"], ["hour"], ["day", "channel"], []):
        lo, hi = api.local_bounds(kcc_config.kcc.timezone, D0, D2)
        direct = await definitions.fetch_facts(loaded, kcc_config, lo, hi, dims, now=NOW)
        got = await aggregates.fetch(loaded, kcc_config, D0, D2, dims, now=NOW, on_demand=0)
        keyed = {tuple(r[d] for d in dims): r for r in got}
        assert keyed == {tuple(r[d] for d in dims): r for r in direct}, dims


async def test_on_demand_builds_closed_days_only(loaded: asyncpg.Pool,
                                                 kcc_config: Config) -> None:
    rows = await aggregates.fetch(loaded, kcc_config, D0, D2, ["day"], now=NOW)
    assert {r["day"] for r in rows} == {D0, D1, D2}
    assert await aggregates.fresh_days(loaded, kcc_config, D0, D2, NOW) == {D0, D1, D2}
    # On D2 at 01:00 D2 is open and D1 is not closed yet (closes 2 h after midnight).
    early = at(D2, "01:00:00")
    await loaded.execute("TRUNCATE report_day_facts, report_days")
    await aggregates.fetch(loaded, kcc_config, D0, D2, ["day"], now=early)
    assert await aggregates.fresh_days(loaded, kcc_config, D0, D2, NOW) == {D0}
    with pytest.raises(ValueError, match="not closed"):
        await aggregates.build_day(loaded, kcc_config, D2, now=early)


async def test_build_is_idempotent(loaded: asyncpg.Pool, kcc_config: Config) -> None:
    await _build(loaded, kcc_config, D1)
    first = await loaded.fetch("SELECT * FROM report_day_facts ORDER BY 1, 2, 3, 4, 5, 6")
    await _build(loaded, kcc_config, D1)
    assert await loaded.fetch("SELECT * FROM report_day_facts ORDER BY 1, 2, 3, 4, 5, 6") \
        == first
    assert not await aggregates.build_day(loaded, kcc_config, D1, now=NOW)  # fresh: no-op


async def _stale_then_rebuilt(pool: asyncpg.Pool, cfg: Config, day: date,
                              change: str, *args: Any) -> None:
    """``change`` makes ``day`` stale; read live it equals direct; rebuilt it is fresh
    and still equal."""
    await _build(pool, cfg, D0, D1, D2)
    before = await _direct(pool, cfg, D0, D2, ["day", "queue"])
    await pool.execute(change, *args)
    assert day not in await aggregates.fresh_days(pool, cfg, D0, D2, NOW), change
    after = await _direct(pool, cfg, D0, D2, ["day", "queue"])
    assert after != before, "the change should move a figure"
    assert await _aggregated(pool, cfg, D0, D2, ["day", "queue"]) == after
    assert await aggregates.build_day(pool, cfg, day, now=NOW)
    assert day in await aggregates.fresh_days(pool, cfg, D0, D2, NOW)
    assert await _aggregated(pool, cfg, D0, D2, ["day", "queue"]) == after


async def test_late_outcome_makes_the_day_stale(loaded: asyncpg.Pool,
                                                kcc_config: Config) -> None:
    await _stale_then_rebuilt(
        loaded, kcc_config, D1,
        """INSERT INTO contactmomenten (kanaal, onderwerp, uitkomst, call_id)
           VALUES ('telefoon', 'vraag', 'beantwoord', 'c6')""")


async def test_late_call_record_makes_the_day_stale(loaded: asyncpg.Pool,
                                                    kcc_config: Config) -> None:
    await _stale_then_rebuilt(loaded, kcc_config, D2,
                              "UPDATE calls SET answered_at = NULL, abandoned = true "
                              "WHERE linkedid = 'c9'")


async def test_repeat_call_makes_an_earlier_day_stale(loaded: asyncpg.Pool,
                                                      kcc_config: Config) -> None:
    """A call on D2 from c2's number on c2's subject makes c2 (D1) a repeat."""
    await _stale_then_rebuilt(
        loaded, kcc_config, D1,
        """INSERT INTO calls (linkedid, direction, queue, started_at, queued_at, ended_at,
                              abandoned, caller_number, subject)
           VALUES ('r1', 'inbound', 'algemeen', $1, $1, $1, true, $2, 'paspoort')""",
        at(D2, "16:00:00"), ZOE)


async def test_late_wrapup_makes_the_day_stale(loaded: asyncpg.Pool,
                                               kcc_config: Config) -> None:
    """bob's nawerk after c3 (ended D1 11:01:15) is logged late: D1's AHT changes."""
    await _build(loaded, kcc_config, D0, D1, D2)
    await loaded.execute(
        "INSERT INTO agent_state_log (agent, state, reason, at) VALUES ('bob', 'paused', "
        "'nawerk', $1)", at(D1, "11:01:16"))
    assert D1 not in await aggregates.fresh_days(loaded, kcc_config, D0, D2, NOW)
    await _build(loaded, kcc_config, D1)
    await loaded.execute(
        "INSERT INTO agent_state_log (agent, state, reason, at) VALUES ('bob', 'available', "
        "'', $1)", at(D1, "11:02:16"))   # ends that wrap-up: 60 s
    assert D1 not in await aggregates.fresh_days(loaded, kcc_config, D0, D2, NOW)
    direct = await _direct(loaded, kcc_config, D1, D1, [])
    assert direct[()]["wrapup"] == 90.0  # anna's 30 s after c7 + bob's 60 s
    await _build(loaded, kcc_config, D1)
    assert await _aggregated(loaded, kcc_config, D1, D1, []) == direct


async def test_other_settings_make_built_days_unusable(loaded: asyncpg.Pool,
                                                       kcc_config: Config) -> None:
    await _build(loaded, kcc_config, D0, D1, D2)
    other = kcc_config.model_copy(update={"supervisor": kcc_config.supervisor.model_copy(
        update={"fcr_repeat_days": 1})})
    assert aggregates.fingerprint(other) != aggregates.fingerprint(kcc_config)
    assert await aggregates.fresh_days(loaded, other, D0, D2, NOW) == set()
    assert await _aggregated(loaded, other, D0, D2, ["day"]) == await _direct(
        loaded, other, D0, D2, ["day"])


async def test_job_builds_closed_days(loaded: asyncpg.Pool, kcc_config: Config) -> None:
    job = aggregates.AggregateJob(loaded, kcc_config, interval=60, days_back=5)
    now = at(D2, "03:00:00")  # D2 is today: not closed; D1 closed at 02:00
    assert await job.run_once(now) == 5 - 1
    fresh = await aggregates.fresh_days(loaded, kcc_config, D2 - timedelta(days=10), D2, now)
    assert fresh == {D2 - timedelta(days=i) for i in range(1, 5)}
    assert await job.run_once(now) == 0  # nothing changed: nothing rebuilt
