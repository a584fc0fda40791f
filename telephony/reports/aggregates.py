"""Closed days pre-aggregated, so a year of a large KCC answers in well under a second.

A report over a year computed straight from the call records runs FACTS_SQL's correlated
look-ups (outcome, wrap-up, repeat call) for a million contacts: half a minute. Instead
each *closed* local day (ended more than :data:`CLOSE_AFTER` ago: every call queued on
it has ended and its wrap-up is known) is stored once in ``report_day_facts`` as the
counters of :data:`definitions.FACTS_SQL` per hour x queue x subject x channel x
outcome: the same SQL, so the same definitions. A report reads the fresh closed days
from there and computes the rest (today, days not built, days whose data changed) live,
then adds the two with :func:`definitions.add`.

A built day is *fresh* when it was built with the current definitions and settings
(:func:`fingerprint`: FACTS_SQL's text, the queues' thresholds, short abandon, FCR
settings, timezone, opening hours) and no late data arrived since: triggers
(migration 0081) bump ``report_days.dirty_seq`` when a call, outcome, call-back, IVR
session or wrap-up of a built day changes, or a later call makes one of its calls a
repeat. A stale day reads live until rebuilt: by the :class:`AggregateJob` (every
``[supervisor] aggregate_interval_seconds``) or on demand by the report that needs it.
Building is idempotent (the day's rows are replaced in one transaction) and safe with
several instances (an advisory lock per day; a second builder finds it fresh).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from telephony.config import Config
from telephony.reports import definitions

log = logging.getLogger(__name__)

# A day is closed this long after its local midnight: calls queued before midnight have
# ended and the last wrap-up is known (FACTS_SQL caps an open one at an hour).
CLOSE_AFTER = timedelta(hours=2)
# The dimensions a built day is kept at; any report grouping by a subset (or by week or
# month, derived from the day) can read them.
BUILT_DIMS = ("day", "hour", "queue", "subject", "channel", "outcome")
# Grouping expressions over report_day_facts, per report dimension.
READ_DIMS: dict[str, str] = {
    "day": "day",
    "week": "date_trunc('week', day::timestamp)::date",
    "month": "date_trunc('month', day::timestamp)::date",
    "hour": "hour", "queue": "queue", "subject": "subject", "channel": "channel",
    "outcome": "outcome",
}
# A report builds at most this many closed days itself; more are left to the job.
ON_DEMAND_MAX = 3
_LOCK_BASE = 0x6B636300  # advisory lock key space: 'kcc' + day ordinal


def day_bounds(config: Config, day: date) -> tuple[datetime, datetime]:
    from telephony.reports.api import local_bounds

    return local_bounds(config.kcc.timezone, day, day)


def is_closed(config: Config, day: date, now: datetime) -> bool:
    return day_bounds(config, day)[1] + CLOSE_AFTER <= now


def fingerprint(config: Config) -> str:
    """What a built day depends on besides the data: changes make it unusable."""
    s = config.supervisor
    material = {
        "sql": definitions.FACTS_SQL,
        "queues": [[q.id, q.service_level_seconds] for q in config.queues],
        "default_sl": config.general_queue.service_level_seconds,
        "tz": config.kcc.timezone, "short": config.acd.short_abandon_seconds,
        "repeat_days": s.fcr_repeat_days, "fcr_outcomes": list(s.fcr_outcomes),
        "promise_days": config.kcc.callback_promise_working_days,
        "hours": config.hours.model_dump(mode="json"),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:32]


def read_sql(dims: Sequence[str]) -> str:
    """Counters of the built days ``$1`` (a date array, from ``$2`` to ``$3``: the range
    lets the primary key's index narrow the scan), grouped by ``dims``."""
    select = "".join(f"{READ_DIMS[d]} AS {d}, " for d in dims)
    counters = ", ".join(
        f"max({c}) AS {c}" if c in definitions.MAX_COUNTERS
        else f"sum({c}) AS {c}" if c in definitions.EXACT_COUNTERS
        else f"sum({c})::bigint AS {c}"
        for c in definitions.COUNTERS)
    group = ("GROUP BY " + ", ".join(READ_DIMS[d] for d in dims)) if dims else ""
    return (f"SELECT {select}{counters} FROM report_day_facts"
            f" WHERE day BETWEEN $2 AND $3 AND day = ANY($1::date[]) {group}")


async def fresh_days(pool: asyncpg.Pool, config: Config, start: date, end: date,
                     now: datetime) -> set[date]:
    """The closed days in [start, end] whose built counters may be read."""
    rows = await pool.fetch(
        """SELECT day FROM report_days WHERE day BETWEEN $1 AND $2 AND fingerprint = $3
             AND built_seq = dirty_seq""", start, end, fingerprint(config))
    return {r["day"] for r in rows if is_closed(config, r["day"], now)}


async def build_day(pool: asyncpg.Pool, config: Config, day: date, *,
                    now: datetime | None = None, force: bool = False) -> bool:
    """Store the day's counters; False when it was fresh already (nothing done)."""
    now = now or datetime.now(UTC)
    if not is_closed(config, day, now):
        raise ValueError(f"{day} is not closed yet")
    lo, hi = day_bounds(config, day)
    stamp = fingerprint(config)
    # The row exists (never fresh: built_seq -1) before the build reads anything, so the
    # triggers see it and a write racing with the build marks it.
    await pool.execute(
        """INSERT INTO report_days (day, lo, hi, fingerprint, repeat_days, built_seq)
           VALUES ($1, $2, $3, '', $4, -1) ON CONFLICT (day) DO NOTHING""",
        day, lo, hi, config.supervisor.fcr_repeat_days)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_BASE + day.toordinal())
        row = await conn.fetchrow("SELECT * FROM report_days WHERE day = $1", day)
        if (not force and row["fingerprint"] == stamp
                and row["built_seq"] == row["dirty_seq"]):
            return False
        seq = row["dirty_seq"]
        facts = await definitions.fetch_facts(conn, config, lo, hi, BUILT_DIMS, now=now,
                                              exact=True)
        await conn.execute("DELETE FROM report_day_facts WHERE day = $1", day)
        columns = (*BUILT_DIMS, *definitions.COUNTERS)
        await conn.copy_records_to_table(
            "report_day_facts", columns=columns,
            records=[tuple(f[c] for c in columns) for f in facts])
        await conn.execute(
            """UPDATE report_days SET lo = $2, hi = $3, fingerprint = $4, repeat_days = $5,
                      built_seq = $6, built_at = now() WHERE day = $1""",
            day, lo, hi, stamp, config.supervisor.fcr_repeat_days, seq)
    return True


def _merge(rows: Iterable[Mapping[str, Any]], dims: Sequence[str]) -> list[dict[str, Any]]:
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(r[d] for d in dims), []).append(r)
    out = [{**dict(zip(dims, key, strict=True)), **definitions.add(part)}
           for key, part in groups.items()]
    return sorted(out, key=lambda r: tuple(r[d] for d in dims))


def _runs(days: Sequence[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) runs."""
    runs: list[tuple[date, date]] = []
    for d in sorted(days):
        if runs and runs[-1][1] + timedelta(days=1) == d:
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    return runs


async def fetch(pool: asyncpg.Pool, config: Config, start: date, end: date,
                dims: Sequence[str], *, now: datetime | None = None,
                on_demand: int = ON_DEMAND_MAX) -> list[dict[str, Any]]:
    """Counters of the contacts of local days [start, end] grouped by ``dims``: the
    same rows as :func:`definitions.fetch_facts` over those days, from built days where
    fresh (building up to ``on_demand`` missing closed days first) and live elsewhere."""
    now = now or datetime.now(UTC)
    if any(d not in READ_DIMS for d in dims):
        lo, hi = day_bounds(config, start)[0], day_bounds(config, end)[1]
        return await definitions.fetch_facts(pool, config, lo, hi, dims, now=now)
    return [definitions.as_floats(r) for r in await _fetch_exact(pool, config, start, end,
                                                                 dims, now, on_demand)]


async def _fetch_exact(pool: asyncpg.Pool, config: Config, start: date, end: date,
                       dims: Sequence[str], now: datetime,
                       on_demand: int) -> list[dict[str, Any]]:
    all_days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    fresh = await fresh_days(pool, config, start, end, now)
    missing = [d for d in all_days if d not in fresh and is_closed(config, d, now)]
    if missing and len(missing) <= on_demand:
        for day in missing:
            await build_day(pool, config, day, now=now)
        fresh = await fresh_days(pool, config, start, end, now)
    rows: list[dict[str, Any]] = []
    if fresh:
        days = sorted(fresh)
        rows += [dict(r) for r in await pool.fetch(read_sql(dims), days, days[0], days[-1])]
    for first, last in _runs([d for d in all_days if d not in fresh]):
        rows += await definitions.fetch_facts(pool, config, day_bounds(config, first)[0],
                                              day_bounds(config, last)[1], dims, now=now,
                                              exact=True)
    if not dims:
        return [definitions.add(rows)]
    return _merge(rows, dims)


class AggregateJob:
    """Builds the closed days of the last ``days_back`` days that are not fresh, every
    ``interval`` seconds, at most ``per_round`` days a round (a year after a fresh
    install takes a few rounds, not one long stall of the database)."""

    def __init__(self, pool: asyncpg.Pool, config: Config, *, interval: float,
                 days_back: int = 400, per_round: int = 31) -> None:
        self.pool, self.config = pool, config
        self.interval, self.days_back, self.per_round = interval, days_back, per_round
        self.built = 0
        self._task: asyncio.Task[None] | None = None

    async def run_once(self, now: datetime | None = None) -> int:
        """Build the days that need it; how many were built."""
        now = now or datetime.now(UTC)
        cfg = self.config
        end = now.astimezone(ZoneInfo(cfg.kcc.timezone)).date()
        days = [end - timedelta(days=i) for i in range(self.days_back)]
        days = [d for d in days if is_closed(cfg, d, now)]
        fresh = await fresh_days(self.pool, cfg, days[-1], days[0], now) if days else set()
        todo = [d for d in days if d not in fresh][: self.per_round]
        built = 0
        for day in todo:  # newest first: the days reports ask most
            built += await build_day(self.pool, cfg, day, now=now)
        self.built += built
        return built

    async def _loop(self) -> None:
        while True:
            try:
                built = await self.run_once()
                if built:
                    log.info("report aggregates: built %d closed days", built)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be away: try again next round
                log.exception("report aggregates: a round failed")
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="report-aggregates")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
