"""The wallboard's live figures: computed once for all service instances, from PostgreSQL.

Several instances watch the same Asterisk; if each counted calls in its own memory they
would disagree, and every restart would zero the day. So:

* one instance is the **leader** (a Redis lease, ``{prefix}board:leader``, renewed while
  it lives; another takes over within ``leader_lease_seconds`` when it dies);
* the leader computes the board from **PostgreSQL** — today's and the rolling window's
  figures with the report definitions (``telephony/reports/definitions.py``), open
  call-backs and terugbelnotities — plus the live part it sees on AMI (callers waiting,
  agents' states), stores it in ``{prefix}board`` and publishes it on
  ``{prefix}board:updates``;
* every instance listens, pushes each new board to its supervisors' WebSockets
  (``{"type": "board", ...}``) and sets its Prometheus gauges from it: the wallboard, the
  reports and ``/metrics`` show the same numbers.

The leader recomputes when something changed (a call queued, answered, ended, an agent's
state; after the call record is written) but at most every ``board_min_interval`` s,
and at least every second (waits, time in state, call-backs due).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from prometheus_client import CollectorRegistry, Gauge

from telephony.events import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallQueued,
    CallTransferred,
    DomainEvent,
)
from telephony.reports import definitions as d

if TYPE_CHECKING:
    from telephony.service import KccService

log = logging.getLogger(__name__)
PERIODIC = 1.0
_RENEW = """if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"""
TRIGGERS = (CallQueued, CallAnswered, CallEnded, CallTransferred, AgentStateChanged)
AGENT_STATES = ("available", "ringing", "on_call", "wrap_up", "paused", "unavailable")


class BoardMetrics:
    """Prometheus gauges set from the shared board (every instance shows the same)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        q = ["queue"]
        self.gauges: dict[str, Gauge] = {}
        for name, help_text in (
                ("offered_today", "Calls offered to the queue today (wait over + waiting)"),
                ("answered_today", "Calls answered today"),
                ("abandoned_today", "Callers who gave up today (short abandons apart)"),
                ("short_abandoned_today", "Callers who gave up within short_abandon_seconds"),
                ("callbacks_reached_today", "Call-backs that reached the citizen today"),
                ("service_level_today", "Service level today (0..1)"),
                ("service_level_rolling", "Service level over the rolling window (0..1)"),
                ("asa_today_seconds", "Average speed of answer today"),
                ("aht_today_seconds", "Average handling time today (talk + wrap-up)"),
                ("abandon_rate_today", "Abandon rate today (0..1)"),
                ("transfers_today", "Transfers that happened today"),
                ("refused_transfers_today", "Transfers refused by the transfer limit today"),
                ("registration_today", "Handled contacts with a registered outcome (0..1)"),
                ("waiting", "Callers waiting now"),
                ("longest_wait_seconds", "Longest current wait"),
                ("callbacks_waiting", "Call-backs not yet made"),
                ("callbacks_overdue", "Call-backs past the promised term")):
            self.gauges[name] = Gauge(f"kcc_board_{name}", help_text, q, registry=registry)
        self.agents = Gauge("kcc_board_agents", "Agents per state", ["state"],
                            registry=registry)
        self.notes_overdue = Gauge("kcc_board_notes_overdue",
                                   "Terugbelnotities past their deadline", registry=registry)

    def set(self, board: dict[str, Any]) -> None:
        for tile in [*board["queues"], board["total"]]:
            today, rolling = tile["today"], tile["rolling"]
            values = {
                "offered_today": tile["offered_today"], "answered_today": today["answered"],
                "abandoned_today": today["abandoned"],
                "short_abandoned_today": today["short_abandoned"],
                "callbacks_reached_today": today["callbacks_reached"],
                "service_level_today": today["service_level"],
                "service_level_rolling": rolling["service_level"],
                "asa_today_seconds": today["asa"], "aht_today_seconds": today["aht"],
                "abandon_rate_today": today["abandon_rate"],
                "transfers_today": today["transfers"],
                "refused_transfers_today": today["refused_transfers"],
                "registration_today": today["registration"],
                "waiting": tile["waiting"], "longest_wait_seconds": tile["longest_wait"],
                "callbacks_waiting": tile["callbacks"]["waiting"],
                "callbacks_overdue": tile["callbacks"]["overdue"]}
            for name, value in values.items():
                # No value (no calls yet): NaN, as Prometheus shows "no data".
                self.gauges[name].labels(tile["queue"]).set(
                    float("nan") if value is None else value)
        counts = board["agent_states"]
        for state in AGENT_STATES:
            value = counts.get(state, 0)
            self.agents.labels(state).set(sum(value.values()) if isinstance(value, dict)
                                          else value)
        self.notes_overdue.set(board["total"]["notes_overdue"])


class LiveBoard:
    def __init__(self, service: KccService) -> None:
        self.service = service
        self.cfg = service.config.supervisor
        prefix = service.config.redis.prefix
        self.key = f"{prefix}board"
        self.channel = f"{prefix}board:updates"
        self.lease_key = f"{prefix}board:leader"
        self.instance = f"{service.config.service.instance_id}:{id(self):x}"
        self.latest: dict[str, Any] | None = None
        self.is_leader = False
        self.computed = 0
        self.metrics = BoardMetrics(service.metrics.registry)
        self._dirty = asyncio.Event()
        self._have_board = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._listeners: list[Any] = []

    # -- wiring ------------------------------------------------------------------------
    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._lead(), name="board-leader"),
                       asyncio.create_task(self._listen(), name="board-listen")]

    async def stop(self) -> None:
        from telephony.task_supervisor import cancel_and_wait

        # Re-cancelled until done: Python 3.11's wait_for (in _lead) can swallow a
        # cancel, which hung the service's stop after a PostgreSQL outage.
        for task in self._tasks:
            await cancel_and_wait(task)
        if self.is_leader:
            with contextlib.suppress(Exception):
                # Hand over at once: the next instance need not wait for the lease.
                await self._redis.eval(
                    "if redis.call('get', KEYS[1]) == ARGV[1] then "
                    "return redis.call('del', KEYS[1]) else return 0 end",
                    1, self.lease_key, self.instance)
        self.is_leader = False

    @property
    def _redis(self) -> Any:
        assert self.service.redis is not None
        return self.service.redis.r

    def touch(self) -> None:
        """Something the board shows changed: recompute soon (the leader does)."""
        self._dirty.set()

    async def on_event(self, event: DomainEvent) -> None:
        """Bus subscriber: live changes (waiting, agents) are on the board at once."""
        if isinstance(event, TRIGGERS):
            self.touch()

    def on_board(self, listener: Any) -> None:
        """``await listener(board)`` for every board this instance receives."""
        self._listeners.append(listener)

    # -- leader ------------------------------------------------------------------------
    async def _lead(self) -> None:
        lease_ms = int(self.cfg.leader_lease_seconds * 1000)
        last = 0.0
        renewed = 0.0
        while True:
            try:
                now = time.monotonic()
                if now - renewed > self.cfg.leader_lease_seconds / 3:
                    await self._hold_lease(lease_ms)
                    renewed = now
                if self.is_leader:
                    wait = max(0.0, self.cfg.board_min_interval - (time.monotonic() - last))
                    await asyncio.sleep(wait)
                    self._dirty.clear()
                    board = await self.compute()
                    last = time.monotonic()
                    await self._publish(board)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._dirty.wait(), PERIODIC)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("live board: computing or publishing failed; retrying")
                await asyncio.sleep(1.0)

    async def _hold_lease(self, lease_ms: int) -> None:
        r = self._redis
        if self.is_leader and await r.eval(_RENEW, 1, self.lease_key, self.instance,
                                           lease_ms):
            return
        took = await r.set(self.lease_key, self.instance, nx=True, px=lease_ms)
        if bool(took) != self.is_leader:
            log.info("live board: %s", "this instance computes it" if took
                     else "another instance computes it")
        self.is_leader = bool(took)

    async def _publish(self, board: dict[str, Any]) -> None:
        data = json.dumps(board, ensure_ascii=False, default=str)
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(self.key, data)
        pipe.publish(self.channel, data)
        await pipe.execute()

    # -- every instance: receive, push, metrics --------------------------------------------
    async def _listen(self) -> None:
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                raw = await self._redis.get(self.key)
                if raw:
                    await self._received(raw)
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        await self._received(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("live board: Redis subscription lost; resubscribing",
                            exc_info=True)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _received(self, raw: str) -> None:
        try:
            board = json.loads(raw)
        except ValueError:
            return
        if self.latest is not None and board.get("seq", 0) < self.latest.get("seq", 0) \
                and board.get("leader") == self.latest.get("leader"):
            return  # an older board overtaken by a newer one
        self.latest = board
        self._have_board.set()
        try:
            self.metrics.set(board)
        except (KeyError, TypeError, ValueError):
            log.warning("live board: malformed board in Redis; metrics not updated")
        for listener in self._listeners:
            with contextlib.suppress(Exception):
                await listener(board)

    async def current(self, timeout: float = 5.0) -> dict[str, Any] | None:
        """The latest board (waits a little after a start)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._have_board.wait(), timeout)
        return self.latest

    # -- the figures -----------------------------------------------------------------------
    async def compute(self, now: float | None = None) -> dict[str, Any]:
        t0 = time.perf_counter()
        svc = self.service
        cfg = svc.config
        now = now or time.time()
        at = datetime.fromtimestamp(now, UTC)
        zone = ZoneInfo(cfg.kcc.timezone)
        midnight = at.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
        recent_lo = at - timedelta(seconds=self.cfg.rolling_window_seconds)
        rows = await d.fetch_facts(svc.pool, cfg, min(midnight, recent_lo),
                                   at + timedelta(hours=1), ["queue", "today", "recent"],
                                   now=at, recent_lo=recent_lo, today_lo=midnight)
        callbacks, notes_overdue = await d.open_callbacks(svc.pool, cfg, at)
        queues = [self._tile(q.id, q.name, q.service_level_seconds, q.service_level_target,
                             rows, callbacks, now) for q in cfg.queues]
        total = self._tile("total", "Totaal", None, self.cfg.service_level_target, rows,
                           callbacks, now, tiles=queues)
        total["notes_overdue"] = notes_overdue
        total["norm"]["notes_overdue"] = "ok" if notes_overdue == 0 else "breach"
        agents, states = await self._agents()
        self.computed += 1
        return {"type": "board", "at": now, "leader": self.instance, "seq": self.computed,
                "day": midnight.date().isoformat(),
                "rolling_window_seconds": self.cfg.rolling_window_seconds,
                "norms": {"service_level_target": self.cfg.service_level_target,
                          "abandon_max": self.cfg.abandon_max,
                          "registration_min": self.cfg.registration_min,
                          "warn_margin": self.cfg.warn_margin,
                          "callback_working_days": cfg.kcc.callback_promise_working_days},
                "queues": queues, "total": total, "agents": agents, "agent_states": states,
                "computed_ms": round((time.perf_counter() - t0) * 1000, 1)}

    def _tile(self, queue: str, name: str, sl_seconds: int | None, target: float,
              rows: list[dict[str, Any]], callbacks: dict[str, dict[str, int]], now: float,
              tiles: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        # The total holds every contact (also the IVR's self-service, which has no queue).
        mine = rows if tiles is not None else [r for r in rows if r["queue"] == queue]
        today = d.figures(d.add(r for r in mine if r["today"]))
        rolling = d.figures(d.add(r for r in mine if r["recent"]))
        if tiles is None:
            state = self.service.stats.queues.get(queue)
            waiting_since = list(state.waiting.values()) if state else []
            waiting = len(waiting_since)
            oldest = min(waiting_since) if waiting_since else None
            open_cb = callbacks.get(queue, {"waiting": 0, "due": 0, "overdue": 0})
            ewt = self.service.stats.ewt_seconds(queue, now)
        else:
            waiting = sum(t["waiting"] for t in tiles)
            olds = [t["oldest_queued_at"] for t in tiles if t["oldest_queued_at"]]
            oldest = min(olds) if olds else None
            open_cb = {k: sum(c[k] for c in callbacks.values())
                       for k in ("waiting", "due", "overdue")}
            ewt = None
        margin = self.cfg.warn_margin
        tile = {
            "queue": queue, "name": name, "service_level_seconds": sl_seconds,
            "service_level_target": target, "waiting": waiting,
            "oldest_queued_at": oldest,
            "longest_wait": round(now - oldest, 1) if oldest else 0.0,
            "ewt": ewt, "offered_today": today["offered"] + waiting,
            "today": today, "rolling": rolling, "callbacks": open_cb,
        }
        tile["norm"] = {
            "service_level": d.norm_state(today["service_level"], target, margin,
                                          higher_is_better=True),
            "service_level_rolling": d.norm_state(rolling["service_level"], target, margin,
                                                  higher_is_better=True),
            "abandon_rate": d.norm_state(today["abandon_rate"], self.cfg.abandon_max, margin,
                                         higher_is_better=False),
            "registration": d.norm_state(today["registration"], self.cfg.registration_min,
                                         margin, higher_is_better=True),
            "callbacks": "ok" if open_cb["overdue"] == 0 else "breach",
        }
        return tile

    async def _agents(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        acd = self.service.acd
        records = await self.service.agents_repo.all()
        agents = []
        counts: dict[str, Any] = {s: 0 for s in AGENT_STATES}
        counts["paused"] = {}
        for record in records:
            if not record.active or record.role in ("admin", "privacy_officer"):
                continue
            state = acd.state_of(record.login)
            agents.append({"login": record.login, "name": record.name, "role": record.role,
                           "state": state["state"], "reason": state["reason"],
                           "since": state["since"], "queues": sorted(state["queues"]),
                           "skills": dict(record.skills),
                           "wrapup_until": state.get("wrapup_until")})
            if state["state"] == "paused":
                reason = state["reason"] or "onbekend"
                counts["paused"][reason] = counts["paused"].get(reason, 0) + 1
            elif state["state"] in counts:
                counts[state["state"]] += 1
        return agents, counts
