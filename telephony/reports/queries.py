"""SQL of the supervisor reports: one parameterised statement per report, days in the
KCC's timezone (``[kcc] timezone``, Europe/Amsterdam).

The definitions are those of the live wallboard (``telephony/acd/stats.py``), so a day
report and the wallboard agree:

* wait = from when the call *first* queued (``calls.queued_at``) until answered / hung up;
  the call counts in the queue that answered it (``calls.queue``: after overflow the
  overflow queue);
* an abandon shorter than ``[acd] short_abandon_seconds`` is a short abandon: left out of
  the service level and shown separately; a caller who left the queue with a callback
  (``calls.callback`` set) is not an abandon;
* a reached callback (``callbacks`` status done, outcome reached) counts as answered in the
  service level, its wait from its original place (``callbacks.queued_at``) until the
  result (``callbacks.updated_at``), on the day of that result;
* service level = answered within the queue's ``service_level_seconds`` ÷ (answered +
  abandoned + callbacks reached); ASA = mean wait of answered calls.

A call belongs to the day (local) it first queued: a call queued at 23:59 and answered
after midnight is in the first day's figures, wholly.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg

# $1 from, $2 to (dates, inclusive), $3 timezone, $4 short abandon seconds,
# $5 queue ids, $6 their service-level seconds (same order).
QUEUES_SQL = """
WITH cfg AS (
    SELECT * FROM unnest($5::text[], $6::int[]) AS t(queue, sl_seconds)
), c AS (
    SELECT c.queue, (c.queued_at AT TIME ZONE $3)::date AS day,
           c.answered_at IS NOT NULL AS answered,
           c.answered_at IS NULL AND c.abandoned AND c.callback = '' AS gave_up,
           c.answered_at IS NULL AND c.abandoned AND c.callback <> '' AS left_for_callback,
           COALESCE(EXTRACT(EPOCH FROM COALESCE(c.answered_at, c.ended_at) - c.queued_at),
                    c.wait_seconds)::float8 AS wait,
           c.talk_seconds, c.transfer_count, c.callback <> '' AS callback_requested,
           EXISTS (SELECT 1 FROM taken t WHERE t.soort = 'terugbelnotitie'
                    AND t.call_id = c.linkedid AND c.linkedid <> '') AS note_made,
           COALESCE(cfg.sl_seconds, 20) AS sl_seconds
      FROM calls c LEFT JOIN cfg ON cfg.queue = c.queue
     WHERE c.queue <> '' AND c.queued_at IS NOT NULL
       AND c.queued_at >= ($1::date)::timestamp AT TIME ZONE $3
       AND c.queued_at < ($2::date + 1)::timestamp AT TIME ZONE $3
), per_call AS (
    SELECT queue, day,
           count(*) AS offered,
           count(*) FILTER (WHERE answered) AS answered,
           count(*) FILTER (WHERE answered AND wait <= sl_seconds) AS answered_within,
           count(*) FILTER (WHERE gave_up AND wait >= $4) AS abandoned,
           count(*) FILTER (WHERE gave_up AND wait < $4) AS short_abandoned,
           count(*) FILTER (WHERE left_for_callback) AS left_for_callback,
           sum(wait) FILTER (WHERE answered) AS answered_wait_sum,
           avg(wait) AS avg_wait,
           max(wait) AS max_wait,
           avg(talk_seconds) FILTER (WHERE answered) AS avg_talk,
           COALESCE(sum(transfer_count) FILTER (WHERE answered), 0) AS transfers,
           count(*) FILTER (WHERE answered AND transfer_count >= 1) AS transferred_calls,
           count(*) FILTER (WHERE answered AND transfer_count = 0 AND NOT note_made)
               AS resolved_first_contact,
           count(*) FILTER (WHERE callback_requested) AS callback_requests
      FROM c GROUP BY queue, day
), cb AS (
    SELECT b.queue, (b.updated_at AT TIME ZONE $3)::date AS day,
           count(*) AS callbacks_reached,
           count(*) FILTER (WHERE EXTRACT(EPOCH FROM b.updated_at - b.queued_at)
                                  <= COALESCE(cfg.sl_seconds, 20)) AS callbacks_within
      FROM callbacks b LEFT JOIN cfg ON cfg.queue = b.queue
     WHERE b.status = 'done' AND b.outcome = 'reached'
       AND b.updated_at >= ($1::date)::timestamp AT TIME ZONE $3
       AND b.updated_at < ($2::date + 1)::timestamp AT TIME ZONE $3
     GROUP BY b.queue, day
)
SELECT COALESCE(p.queue, cb.queue) AS queue, COALESCE(p.day, cb.day) AS day,
       COALESCE(p.offered, 0) AS offered, COALESCE(p.answered, 0) AS answered,
       COALESCE(p.answered_within, 0) AS answered_within,
       COALESCE(p.abandoned, 0) AS abandoned,
       COALESCE(p.short_abandoned, 0) AS short_abandoned,
       COALESCE(p.left_for_callback, 0) AS left_for_callback,
       p.answered_wait_sum, p.avg_wait, p.max_wait, p.avg_talk,
       COALESCE(p.transfers, 0) AS transfers,
       COALESCE(p.transferred_calls, 0) AS transferred_calls,
       COALESCE(p.resolved_first_contact, 0) AS resolved_first_contact,
       COALESCE(p.callback_requests, 0) AS callback_requests,
       COALESCE(cb.callbacks_reached, 0) AS callbacks_reached,
       COALESCE(cb.callbacks_within, 0) AS callbacks_within
  FROM per_call p FULL JOIN cb ON cb.queue = p.queue AND cb.day = p.day
 ORDER BY day, queue
"""

# $1 from, $2 to, $3 timezone, $4 now (intervals are clipped to now).
# kind 'state': seconds per (agent, day, state, reason); kind 'calls': answered calls and
# their talk time per (agent, day of answering).
AGENTS_SQL = """
WITH bounds AS (
    SELECT ($1::date)::timestamp AT TIME ZONE $3 AS lo,
           LEAST(($2::date + 1)::timestamp AT TIME ZONE $3, $4::timestamptz) AS hi
), rows AS (
    SELECT l.id, l.agent, l.state, l.reason, l.at
      FROM agent_state_log l, bounds WHERE l.at >= bounds.lo AND l.at < bounds.hi
    UNION ALL
    SELECT * FROM (
        SELECT DISTINCT ON (l.agent) l.id, l.agent, l.state, l.reason, l.at
          FROM agent_state_log l, bounds WHERE l.at < bounds.lo
         ORDER BY l.agent, l.at DESC, l.id DESC) AS before_range
), iv AS (
    SELECT agent, state, reason, at AS s,
           COALESCE(LEAD(at) OVER (PARTITION BY agent ORDER BY at, id),
                    (SELECT hi FROM bounds)) AS e
      FROM rows
), days AS (
    SELECT d::date AS day, d::timestamp AT TIME ZONE $3 AS day_lo,
           (d::date + 1)::timestamp AT TIME ZONE $3 AS day_hi
      FROM generate_series($1::date, $2::date, interval '1 day') AS d
), pieces AS (
    SELECT iv.agent, days.day, iv.state, iv.reason,
           EXTRACT(EPOCH FROM LEAST(iv.e, days.day_hi, bounds.hi)
                            - GREATEST(iv.s, days.day_lo))::float8 AS seconds
      FROM iv JOIN days ON iv.s < days.day_hi AND iv.e > days.day_lo, bounds
     WHERE iv.state <> 'logged_out'
)
SELECT 'state' AS kind, agent, day, state, reason, sum(seconds) AS seconds,
       0::bigint AS calls
  FROM pieces WHERE seconds > 0 GROUP BY agent, day, state, reason
UNION ALL
SELECT 'calls', answered_by, (answered_at AT TIME ZONE $3)::date, 'answered', '',
       COALESCE(sum(talk_seconds), 0)::float8, count(*)
  FROM calls
 WHERE answered_by <> '' AND answered_at IS NOT NULL
   AND answered_at >= ($1::date)::timestamp AT TIME ZONE $3
   AND answered_at < ($2::date + 1)::timestamp AT TIME ZONE $3
 GROUP BY answered_by, (answered_at AT TIME ZONE $3)::date
ORDER BY day, agent, kind, state, reason
"""

# $1 from, $2 to, $3 timezone, $4 now. Per day of the request and kind of callback.
CALLBACKS_SQL = """
WITH notes AS (
    SELECT (created_at AT TIME ZONE $3)::date AS day, 'terugbelnotitie'::text AS kind,
           status = 'afgerond' AS done, status <> 'afgerond' AS open,
           afgerond_at AS done_at, deadline, false AS to_task, false AS cancelled
      FROM taken
     WHERE soort = 'terugbelnotitie'
       AND created_at >= ($1::date)::timestamp AT TIME ZONE $3
       AND created_at < ($2::date + 1)::timestamp AT TIME ZONE $3
), dialled AS (
    SELECT (created_at AT TIME ZONE $3)::date, kind,
           status = 'done', status IN ('waiting', 'dialling'),
           CASE WHEN status = 'done' THEN updated_at END, window_end,
           status = 'task', status = 'cancelled'
      FROM callbacks
     WHERE created_at >= ($1::date)::timestamp AT TIME ZONE $3
       AND created_at < ($2::date + 1)::timestamp AT TIME ZONE $3
), a AS (SELECT * FROM notes UNION ALL SELECT * FROM dialled)
SELECT day, kind,
       count(*) AS requested,
       count(*) FILTER (WHERE done) AS done,
       count(*) FILTER (WHERE done AND deadline IS NOT NULL AND done_at <= deadline)
           AS done_on_time,
       count(*) FILTER (WHERE done AND deadline IS NOT NULL AND done_at > deadline)
           AS done_late,
       count(*) FILTER (WHERE open) AS open,
       count(*) FILTER (WHERE open AND deadline IS NOT NULL AND deadline < $4)
           AS open_past_deadline,
       count(*) FILTER (WHERE to_task) AS failed_to_task,
       count(*) FILTER (WHERE cancelled) AS cancelled,
       count(*) FILTER (WHERE deadline IS NULL) AS without_deadline
  FROM a GROUP BY day, kind ORDER BY day, kind
"""


async def queue_rows(pool: asyncpg.Pool, start: date, end: date, tz: str,
                     short_abandon: int, thresholds: dict[str, int]) -> list[dict[str, Any]]:
    ids = list(thresholds)
    rows = await pool.fetch(QUEUES_SQL, start, end, tz, float(short_abandon), ids,
                            [thresholds[q] for q in ids])
    return [dict(r) for r in rows]


async def agent_rows(pool: asyncpg.Pool, start: date, end: date, tz: str,
                     now: datetime) -> list[dict[str, Any]]:
    return [dict(r) for r in await pool.fetch(AGENTS_SQL, start, end, tz, now)]


async def callback_rows(pool: asyncpg.Pool, start: date, end: date, tz: str,
                        now: datetime) -> list[dict[str, Any]]:
    return [dict(r) for r in await pool.fetch(CALLBACKS_SQL, start, end, tz, now)]
