"""Every supervisor figure, defined once: the wallboard, the reports and the Prometheus
metrics all come from here, so they show the same number for the same calls.

A *contact* is one row of :data:`FACTS_SQL`, in one of three channels:

* ``direct`` — a call that queued (``calls``; its wait is over: answered, or ended);
  it counts in the queue that answered it (after overflow: the overflow queue), at the
  moment it *first* queued (a call queued at 23:59 and answered after midnight belongs
  wholly to the first day);
* ``callback`` — a call-back that ended (``callbacks`` done or become a task), at the
  moment of its result; reached = the citizen pressed 1;
* ``ivr`` — an IVR session that gave a self-service answer (opening hours, address, zaak
  status) and did not go on to a person.

Figures (counts are summed over any grouping; ratios derived by :func:`derive`):

* **wait** = from when the call first queued until answered / hung up;
* **short abandon** = gave up within ``[acd] short_abandon_seconds``: left out of the
  service level and the abandon rate, shown apart; a caller who left the queue with a
  call-back (``calls.callback``) is no abandon;
* **service level** = (direct answered within the queue's ``service_level_seconds`` +
  call-backs reached within it, counted from the caller's original place) ÷ (direct
  answered + abandoned + call-backs reached);
* **ASA** = mean wait of answered direct calls;
* **AHT** = (talk + wrap-up) ÷ handled contacts (answered direct calls and reached
  call-backs); wrap-up is the agent's ``nawerk`` pause that follows the call
  (``agent_state_log``); a call-back's handling is its last attempt from the agent's
  answer to its end;
* **abandon rate** = abandoned ÷ (answered + abandoned + left for a call-back);
* **cut off** = direct calls not answered whose end was a system failure (``calls.
  end_reason`` 'system': an Asterisk shutdown or restart) or not seen ('unobserved'):
  counted apart, never as abandons (they are in ``offered`` only);
* **transfers per call** = transfers that happened ÷ answered; **refused transfers** =
  those the transfer limit refused (``calls.refused_transfers``);
* **registration completeness** = handled contacts with a registered outcome (the call
  script's completed contactmoment, or a contactmoment with an ``uitkomst`` for the call)
  ÷ handled contacts;
* **first-contact resolution (outcome)** = registered contacts resolved by their outcome
  (the call script outcome's ``resolved`` flag; without a script outcome: an ``uitkomst``
  in ``[supervisor] fcr_outcomes``) ÷ registered contacts;
* **first-contact resolution (repeat)** = answered direct calls from a known number
  (not ``anonymous``) with no later call from that number on the same subject within
  ``[supervisor] fcr_repeat_days`` ÷ those calls (the last N days are provisional);
* **call-backs on time** = reached call-backs whose result came before the promised term
  (a terugbelafspraak's ``window_end``; a keep-my-place call-back: the end of the N-th
  working day after it was made, ``telephony/callbacks/notes.promised_deadline``) ÷
  call-backs ended.

The grouping dimensions (period day/week/month, hour of day, queue, subject, channel,
outcome) are whitelisted SQL expressions: nothing a request sends reaches the SQL text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from telephony.config import Config

# The outcome registered for a contact: the call script's completed contactmoment (issue
# 11), else the newest contactmoment of the call registered by hand. This is the one place
# that reads it; RESOLVED_SQL is the script outcome's own 'resolved' flag (NULL without).
OUTCOME_SQL = """COALESCE((SELECT s.outcome FROM call_contactmomenten s
                            WHERE s.call_id = {ref} AND s.status = 'voltooid'),
                          (SELECT m.uitkomst FROM contactmomenten m
                            WHERE m.call_id = {ref} AND m.call_id <> ''
                            ORDER BY m.registered_at DESC, m.id DESC LIMIT 1), '')"""
RESOLVED_SQL = """(SELECT s.resolved FROM call_contactmomenten s
                    WHERE s.call_id = {ref} AND s.status = 'voltooid')"""

# Named parameters (:name) are turned into $n by _bind.
FACTS_SQL = """
WITH cfg AS (
    SELECT * FROM unnest(:queue_ids::text[], :queue_sl::int[]) AS t(queue, sl_seconds)
), promise AS (
    SELECT * FROM unnest(:promise_days::date[], :promise_deadlines::timestamptz[])
           AS p(day, deadline)
), direct AS (
    SELECT c.queued_at AS t, c.queue, c.subject, 'direct'::text AS channel,
           c.linkedid AS ref, c.caller_number,
           c.answered_at IS NOT NULL AS answered,
           c.answered_at IS NULL AND c.abandoned AND c.callback = '' AS gave_up,
           c.answered_at IS NULL AND c.abandoned AND c.callback <> '' AS left_for_callback,
           c.answered_at IS NULL AND c.end_reason IN ('system', 'unobserved') AS cut_off,
           COALESCE(EXTRACT(EPOCH FROM COALESCE(c.answered_at, c.ended_at) - c.queued_at),
                    c.wait_seconds)::float8 AS wait,
           COALESCE(c.talk_seconds, 0)::float8 AS talk,
           c.transfer_count AS transfers, c.refused_transfers,
           c.answered_by AS agent, c.ended_at,
           COALESCE(cfg.sl_seconds, :default_sl) AS sl_seconds,
           NULL::timestamptz AS deadline
      FROM calls c LEFT JOIN cfg ON cfg.queue = c.queue
     WHERE c.queue <> '' AND c.queued_at >= :lo AND c.queued_at < :hi
       AND (c.answered_at IS NOT NULL OR c.ended_at IS NOT NULL)
), callback AS (
    SELECT b.updated_at AS t, b.queue, b.subject, 'callback'::text,
           'cb-' || b.id || '-' || b.attempts, b.number,
           b.outcome = 'reached', false, false, false,
           EXTRACT(EPOCH FROM b.updated_at - b.queued_at)::float8,
           COALESCE(EXTRACT(EPOCH FROM a.ended_at - a.agent_answered_at), 0)::float8,
           COALESCE(k.transfer_count, 0), COALESCE(k.refused_transfers, 0),
           b.agent, a.ended_at,
           COALESCE(cfg.sl_seconds, :default_sl),
           COALESCE(b.window_end, p.deadline)
      FROM callbacks b
      LEFT JOIN cfg ON cfg.queue = b.queue
      LEFT JOIN promise p ON p.day = (b.created_at AT TIME ZONE :tz)::date
      LEFT JOIN callback_attempts a ON a.callback_id = b.id AND a.attempt = b.attempts
      LEFT JOIN calls k ON k.linkedid = 'cb-' || b.id || '-' || b.attempts
     WHERE b.status IN ('done', 'task') AND b.updated_at >= :lo AND b.updated_at < :hi
), ivr AS (
    SELECT s.started_at, '', s.subject, 'ivr'::text, s.linkedid, s.caller_number,
           false, false, false, false, 0::float8, 0::float8, 0, 0, '', s.ended_at,
           0, NULL::timestamptz
      FROM ivr_sessions s
     WHERE s.started_at >= :lo AND s.started_at < :hi
       AND s.outcome NOT IN ('queue', 'agent', 'agent_after_tries', 'agent_after_service')
       AND EXISTS (SELECT 1 FROM ivr_contacts k WHERE k.uniqueid = s.uniqueid
                    AND k.kind IN ('hours', 'address', 'zaak_status')
                    AND k.outcome = 'answered')
), u AS (
    SELECT * FROM direct UNION ALL SELECT * FROM callback UNION ALL SELECT * FROM ivr
), f AS (
    SELECT u.*,
           (u.channel = 'direct' AND u.answered) OR (u.channel = 'callback' AND u.answered)
               AS handled,
           CASE WHEN u.channel = 'ivr' THEN '' ELSE """ + OUTCOME_SQL.format(ref="u.ref") + """
           END AS outcome,
           CASE WHEN u.channel <> 'ivr' THEN """ + RESOLVED_SQL.format(ref="u.ref") + """
           END AS resolved,
           CASE WHEN u.channel = 'direct' AND u.answered AND u.agent <> '' THEN
               (SELECT EXTRACT(EPOCH FROM COALESCE(
                        (SELECT n.at FROM agent_state_log n
                          WHERE n.agent = w.agent AND (n.at, n.id) > (w.at, w.id)
                          ORDER BY n.at, n.id LIMIT 1), LEAST(:now, w.at + interval '1 hour'))
                        - w.at)::float8
                  FROM agent_state_log w
                 WHERE w.agent = u.agent AND w.state = 'paused' AND w.reason = 'nawerk'
                   AND w.at >= u.ended_at - interval '1 second'
                   AND w.at < u.ended_at + interval '15 seconds'
                 ORDER BY w.at LIMIT 1)
           END AS wrapup,
           CASE WHEN u.channel = 'direct' AND u.answered
                     AND u.caller_number NOT IN ('', 'anonymous') THEN
               EXISTS (SELECT 1 FROM calls r
                        WHERE r.caller_number = u.caller_number AND r.subject = u.subject
                          AND r.queued_at > u.t
                          AND r.queued_at <= u.t + make_interval(days => :repeat_days)
                          AND r.linkedid <> u.ref)
           END AS repeated
      FROM u
)
SELECT {dims}
       count(*) FILTER (WHERE channel = 'direct') AS offered,
       count(*) FILTER (WHERE channel = 'direct' AND answered) AS answered,
       count(*) FILTER (WHERE channel = 'direct' AND answered AND wait <= sl_seconds)
           AS answered_within,
       count(*) FILTER (WHERE gave_up AND wait >= :short) AS abandoned,
       count(*) FILTER (WHERE gave_up AND wait < :short) AS short_abandoned,
       count(*) FILTER (WHERE left_for_callback) AS left_for_callback,
       count(*) FILTER (WHERE cut_off) AS cut_off,
       COALESCE(sum(round(wait::numeric, 3)) FILTER (WHERE channel = 'direct' AND answered),
                0) AS answered_wait,
       COALESCE(max(wait) FILTER (WHERE channel = 'direct'), 0) AS max_wait,
       count(*) FILTER (WHERE channel = 'callback') AS callbacks_ended,
       count(*) FILTER (WHERE channel = 'callback' AND answered) AS callbacks_reached,
       count(*) FILTER (WHERE channel = 'callback' AND answered AND wait <= sl_seconds)
           AS callbacks_within,
       count(*) FILTER (WHERE channel = 'callback' AND answered
                          AND (deadline IS NULL OR t <= deadline)) AS callbacks_kept,
       count(*) FILTER (WHERE channel = 'ivr') AS self_service,
       count(*) FILTER (WHERE handled) AS handled,
       COALESCE(sum(round(talk::numeric, 3)) FILTER (WHERE handled), 0) AS talk,
       COALESCE(sum(round(wrapup::numeric, 3)) FILTER (WHERE handled), 0) AS wrapup,
       COALESCE(sum(transfers) FILTER (WHERE handled), 0)::bigint AS transfers,
       COALESCE(sum(refused_transfers), 0)::bigint AS refused_transfers,
       count(*) FILTER (WHERE handled AND outcome <> '') AS registered,
       count(*) FILTER (WHERE handled AND (resolved OR (resolved IS NULL
                        AND lower(outcome) = ANY(:fcr_outcomes::text[]))))
           AS resolved_by_outcome,
       count(*) FILTER (WHERE repeated IS NOT NULL) AS repeat_base,
       count(*) FILTER (WHERE repeated = false) AS resolved_no_repeat
  FROM f
 {group}
"""

COUNTERS = ("offered", "answered", "answered_within", "abandoned", "short_abandoned",
            "left_for_callback", "cut_off", "answered_wait", "max_wait", "callbacks_ended",
            "callbacks_reached", "callbacks_within", "callbacks_kept", "self_service",
            "handled", "talk", "wrapup", "transfers", "refused_transfers", "registered",
            "resolved_by_outcome", "repeat_base", "resolved_no_repeat")
# Every counter adds up over any grouping except these (a maximum): what lets closed days
# be pre-aggregated (telephony/reports/aggregates.py) and summed back. The sums of
# seconds are exact decimals (each contact's to the millisecond), so a sum of per-day sums
# is the very same number as the sum over the period, bit for bit.
MAX_COUNTERS = ("max_wait",)
EXACT_COUNTERS = ("answered_wait", "talk", "wrapup")

# Whitelisted grouping expressions over the facts row ``f``.
DIMENSIONS: dict[str, str] = {
    "day": "(t AT TIME ZONE :tz)::date",
    "week": "date_trunc('week', t AT TIME ZONE :tz)::date",
    "month": "date_trunc('month', t AT TIME ZONE :tz)::date",
    "hour": "EXTRACT(HOUR FROM t AT TIME ZONE :tz)::int",
    "queue": "queue",
    "subject": "subject",
    "channel": "channel",
    "outcome": "outcome",
    "recent": "(t >= :recent_lo)",   # the wallboard's rolling window
    "today": "(t >= :today_lo)",
}

# Call-backs not yet made, per queue: waiting, due (may be dialled now), overdue (past
# the promised term: a terugbelafspraak's window_end, else the promise calendar).
OPEN_CALLBACKS_SQL = """
WITH promise AS (
    SELECT * FROM unnest(:promise_days::date[], :promise_deadlines::timestamptz[])
           AS p(day, deadline))
SELECT b.queue, count(*) AS waiting,
       count(*) FILTER (WHERE b.due_at <= :now) AS due,
       count(*) FILTER (WHERE COALESCE(b.window_end, p.deadline) < :now) AS overdue
  FROM callbacks b LEFT JOIN promise p ON p.day = (b.created_at AT TIME ZONE :tz)::date
 WHERE b.status IN ('waiting', 'dialling')
 GROUP BY b.queue
"""
# Terugbelnotities past their deadline and not done.
NOTES_OVERDUE_SQL = """SELECT count(*) FROM taken WHERE soort = 'terugbelnotitie'
                        AND status <> 'afgerond' AND deadline < :now"""

_PARAM = re.compile(r"(?<![:\w]):([a-z_]+)")


def _bind(sql: str, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """``:name`` placeholders to ``$n`` (``::type`` casts are left alone)."""
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in order:
            order.append(name)
        return f"${order.index(name) + 1}"

    text = _PARAM.sub(number, sql)
    return text, [values[name] for name in order]


def facts_sql(dims: Sequence[str]) -> str:
    for dim in dims:
        if dim not in DIMENSIONS:
            raise ValueError(f"unknown dimension {dim!r}")
    select = "".join(f"{DIMENSIONS[d]} AS {d}, " for d in dims)
    group = ("GROUP BY " + ", ".join(DIMENSIONS[d] for d in dims)
             + " ORDER BY " + ", ".join(DIMENSIONS[d] for d in dims)) if dims else ""
    return FACTS_SQL.replace("{dims}", select).replace("{group}", group)


_PROMISE_CACHE: dict[tuple[int, date, date], tuple[Config, tuple[list[date], list[datetime]]]] = {}


def promise_calendar(config: Config, start: date, end: date) -> tuple[list[date], list[datetime]]:
    """The promised call-back deadline for a call-back made on each local day.

    The live board asks for the same two months on every recompute (several times a
    second under load): answered from a small cache keyed by the config object and the
    days. The lists are shared: read them, do not change them.
    """
    key = (id(config), start, end)
    hit = _PROMISE_CACHE.get(key)
    if hit is not None and hit[0] is config:
        return hit[1]
    result = _promise_calendar(config, start, end)
    if len(_PROMISE_CACHE) >= 16:
        _PROMISE_CACHE.clear()
    _PROMISE_CACHE[key] = (config, result)
    return result


def _promise_calendar(config: Config, start: date, end: date
                      ) -> tuple[list[date], list[datetime]]:
    from telephony.callbacks.notes import promised_deadline

    days, deadlines = [], []
    day = start
    tz = config.kcc.timezone
    while day <= end:
        noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        days.append(day)
        deadlines.append(promised_deadline(config.hours, tz, noon,
                                           config.kcc.callback_promise_working_days))
        day += timedelta(days=1)
    return days, deadlines


def _calendar_values(config: Config, lo: datetime, hi: datetime) -> dict[str, Any]:
    zone = ZoneInfo(config.kcc.timezone)
    cal_start = (lo.astimezone(zone) - timedelta(days=62)).date()
    days, deadlines = promise_calendar(config, cal_start, hi.astimezone(zone).date())
    return {"promise_days": days, "promise_deadlines": deadlines}


async def open_callbacks(pool: asyncpg.Pool, config: Config, now: datetime
                         ) -> tuple[dict[str, dict[str, int]], int]:
    """Waiting/due/overdue call-backs per queue, and overdue terugbelnotities."""
    values = {**_calendar_values(config, now - timedelta(days=60), now), "now": now,
              "tz": config.kcc.timezone}
    sql, args = _bind(OPEN_CALLBACKS_SQL, values)
    per_queue = {r["queue"]: {"waiting": r["waiting"], "due": r["due"],
                              "overdue": r["overdue"]} for r in await pool.fetch(sql, *args)}
    sql, args = _bind(NOTES_OVERDUE_SQL, {"now": now})
    return per_queue, int(await pool.fetchval(sql, *args))


def facts_values(config: Config, lo: datetime, hi: datetime, *, now: datetime,
                 recent_lo: datetime | None = None,
                 today_lo: datetime | None = None) -> dict[str, Any]:
    """The named parameters of :data:`FACTS_SQL` for contacts in [lo, hi)."""
    return {**_calendar_values(config, lo, hi),
        "queue_ids": [q.id for q in config.queues],
        "queue_sl": [q.service_level_seconds for q in config.queues],
        "default_sl": config.general_queue.service_level_seconds,
        "lo": lo, "hi": hi, "now": now, "tz": config.kcc.timezone,
        "short": float(config.acd.short_abandon_seconds),
        "repeat_days": config.supervisor.fcr_repeat_days,
        "fcr_outcomes": list(config.supervisor.fcr_outcomes),
        "recent_lo": recent_lo or lo, "today_lo": today_lo or lo,
    }


async def fetch_facts(pool: asyncpg.Pool | asyncpg.Connection, config: Config, lo: datetime,
                      hi: datetime, dims: Sequence[str], *, now: datetime | None = None,
                      recent_lo: datetime | None = None,
                      today_lo: datetime | None = None,
                      exact: bool = False) -> list[dict[str, Any]]:
    """Counters of every contact in [lo, hi), grouped by ``dims`` (``exact``: the sums
    of seconds as decimals, to add them up without rounding)."""
    values = facts_values(config, lo, hi, now=now or datetime.now(UTC),
                          recent_lo=recent_lo, today_lo=today_lo)
    sql, args = _bind(facts_sql(dims), values)
    rows = [dict(r) for r in await pool.fetch(sql, *args)]
    return rows if exact else [as_floats(r) for r in rows]


def as_floats(row: Mapping[str, Any]) -> dict[str, Any]:
    """The exact sums (decimals) as floats, as the board, metrics and API use them."""
    return {k: float(v) if isinstance(v, Decimal) else v for k, v in row.items()}


def add(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Counters summed (max for the longest wait): a total over any grouping."""
    out: dict[str, Any] = dict.fromkeys(COUNTERS, 0)
    for r in rows:
        for key in COUNTERS:
            value = r.get(key) or 0
            out[key] = max(out[key], value) if key in MAX_COUNTERS else out[key] + value
    return out


def ratio(num: float, den: float) -> float | None:
    return round(num / den, 3) if den else None


def _r1(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


def derive(c: Mapping[str, Any]) -> dict[str, Any]:
    """The ratios and means of a set of counters (see the module docstring)."""
    answered, cb = c["answered"], c["callbacks_reached"]
    handled = c["handled"]
    return {
        "service_level": ratio(c["answered_within"] + c["callbacks_within"],
                               answered + c["abandoned"] + cb),
        "asa": _r1(c["answered_wait"] / answered) if answered else None,
        "aht": _r1((c["talk"] + c["wrapup"]) / handled) if handled else None,
        "avg_talk": _r1(c["talk"] / handled) if handled else None,
        "abandon_rate": ratio(c["abandoned"],
                              answered + c["abandoned"] + c["left_for_callback"]),
        "transfers_per_call": ratio(c["transfers"], handled),
        "registration": ratio(c["registered"], handled),
        "fcr_outcome": ratio(c["resolved_by_outcome"], c["registered"]),
        "fcr_repeat": ratio(c["resolved_no_repeat"], c["repeat_base"]),
        "callbacks_on_time": ratio(c["callbacks_kept"], c["callbacks_ended"]),
    }


def figures(c: Mapping[str, Any]) -> dict[str, Any]:
    """Counters (floats rounded) and their derived figures, as the API shows them."""
    out = {k: (_r1(v) if isinstance(v, float) else int(v)) for k, v in c.items()
           if k in COUNTERS}
    out.update(derive(c))
    return out


def norm_state(value: float | None, norm: float, margin: float, *,
               higher_is_better: bool) -> str | None:
    """``ok`` / ``warn`` / ``breach`` of a figure against its norm (tile colour)."""
    if value is None:
        return None
    if higher_is_better:
        return "ok" if value >= norm else "warn" if value >= norm - margin else "breach"
    return "ok" if value <= norm else "warn" if value <= norm + margin else "breach"
