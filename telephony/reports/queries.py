"""SQL of the agents' and call-backs' day reports (the contact figures are in
``telephony/reports/definitions.py``), days in the KCC's timezone (``[kcc] timezone``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg

# $1 from, $2 to, $3 timezone, $4 now (intervals are clipped to now).
# kind 'state': seconds per (agent, day, state, reason); kind 'calls': answered calls and
# their talk time per (agent, day of answering).
AGENTS_SQL = """
WITH bounds AS (
    SELECT ($1::date)::timestamp AT TIME ZONE $3 AS lo,
           LEAST(($2::date + 1)::timestamp AT TIME ZONE $3, $4::timestamptz) AS hi
), agent_ids AS (
    -- every agent in the log, one index probe each (a loose index scan), not a scan of
    -- a year of state rows: each agent's state at the start of the range is the last
    -- row before it
    WITH RECURSIVE r(agent) AS (
        (SELECT agent FROM agent_state_log ORDER BY agent LIMIT 1)
        UNION ALL
        SELECT (SELECT l.agent FROM agent_state_log l WHERE l.agent > r.agent
                 ORDER BY l.agent LIMIT 1)
          FROM r WHERE r.agent IS NOT NULL)
    SELECT agent FROM r WHERE agent IS NOT NULL
), rows AS (
    SELECT l.id, l.agent, l.state, l.reason, l.at
      FROM agent_state_log l, bounds WHERE l.at >= bounds.lo AND l.at < bounds.hi
    UNION ALL
    SELECT p.id, p.agent, p.state, p.reason, p.at
      FROM agent_ids g, bounds,
           LATERAL (SELECT l.id, l.agent, l.state, l.reason, l.at FROM agent_state_log l
                     WHERE l.agent = g.agent AND l.at < bounds.lo
                     ORDER BY l.at DESC, l.id DESC LIMIT 1) AS p
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


async def agent_rows(pool: asyncpg.Pool, start: date, end: date, tz: str,
                     now: datetime) -> list[dict[str, Any]]:
    async with pool.acquire() as conn, conn.transaction():
        # The planner cannot see that a day has a few thousand state rows (the days come
        # from generate_series), so it costs the query in millions and JIT-compiles it:
        # 0.4 s of compiling for 50 ms of work over a year of a large KCC.
        await conn.execute("SET LOCAL jit = off")
        return [dict(r) for r in await conn.fetch(AGENTS_SQL, start, end, tz, now)]


async def callback_rows(pool: asyncpg.Pool, start: date, end: date, tz: str,
                        now: datetime) -> list[dict[str, Any]]:
    return [dict(r) for r in await pool.fetch(CALLBACKS_SQL, start, end, tz, now)]


# $1 from, $2 to, $3 timezone. Contactmomenten of the call scripts (issue 11) per day of
# the contact, agent and queue: how many were registered, left 'onvolledig' or are open.
REGISTRATION_SQL = """
SELECT (created_at AT TIME ZONE $3)::date AS day, agent_login AS agent, queue, kanaal,
       count(*) AS contacts,
       count(*) FILTER (WHERE status = 'voltooid') AS registered,
       count(*) FILTER (WHERE status = 'onvolledig') AS incomplete,
       count(*) FILTER (WHERE status = 'open') AS open,
       count(*) FILTER (WHERE resolved) AS resolved
  FROM call_contactmomenten
 WHERE created_at >= ($1::date)::timestamp AT TIME ZONE $3
   AND created_at < ($2::date + 1)::timestamp AT TIME ZONE $3
 GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
"""

# $1 from, $2 to, $3 timezone. Actions the call-script rules refused, per day and rule.
REFUSALS_SQL = """
SELECT (at AT TIME ZONE $3)::date AS day, action, code, count(*) AS refused,
       count(DISTINCT agent_login) AS agents
  FROM rule_refusals
 WHERE at >= ($1::date)::timestamp AT TIME ZONE $3
   AND at < ($2::date + 1)::timestamp AT TIME ZONE $3
 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""


async def registration_rows(pool: asyncpg.Pool, start: date, end: date,
                            tz: str) -> list[dict[str, Any]]:
    rows = [dict(r) for r in await pool.fetch(REGISTRATION_SQL, start, end, tz)]
    for r in rows:
        r["day"] = r["day"].isoformat()
        r["completeness"] = round(r["registered"] / r["contacts"], 3) if r["contacts"] else None
    return rows


async def refusal_rows(pool: asyncpg.Pool, start: date, end: date,
                       tz: str) -> list[dict[str, Any]]:
    return [{**dict(r), "day": r["day"].isoformat()}
            for r in await pool.fetch(REFUSALS_SQL, start, end, tz)]
