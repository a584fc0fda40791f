"""Wiring of one service instance: ``kcc run``.

Data flows one way: AMI link -> call model -> event bus -> subscribers (PostgreSQL,
Redis; the agent panel's WebSocket hub later). The consumer task is the only writer of
the model, so it needs no locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Coroutine
from typing import Any

import asyncpg
from aiohttp import web

from agent_ui.hub import Hub
from ivr.agi_server import AgiServer
from ivr.app import IvrApp
from telephony.acd.agents_repo import AgentRepository
from telephony.acd.service import AcdService
from telephony.acd.stats import QueueStats
from telephony.ami.link import AmiLink
from telephony.ami.protocol import AmiSnapshot
from telephony.auth import Sessions
from telephony.callbacks.service import CallbackService
from telephony.config import Config, ConfigError, normalise_number
from telephony.events import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallQueued,
    CallRecordCorrected,
    CallStarted,
    CallTransferred,
    DomainEvent,
    EventBus,
    ResyncCompleted,
)
from telephony.live.redis_state import RedisState
from telephony.logs import setup_logging
from telephony.metrics import Metrics
from telephony.model.calls import CallModel
from telephony.reports.board import LiveBoard
from telephony.store import db
from telephony.store.calls_repo import CallRepository
from telephony.store.record_writer import UNREACHABLE, RecordWriter
from telephony.store.spool import Spool
from telephony.task_supervisor import TaskSupervisor
from telephony.zaken.ivr_status import PostgresZaakStatus
from telephony.zaken.popper import ScreenPopper
from telephony.zaken.sources import make_source

log = logging.getLogger(__name__)
RETENTION_EVERY_SECONDS = 3600.0


# CallQueued too: a crash between the queue join and the answer must not leave a row
# without its queue (the resync cannot see the queue of a call already answered).
RECORD_MOMENTS = (CallStarted, CallQueued, CallAnswered, CallTransferred)


class _StatsEwt:
    """The IVR's EWT source: the ACD's live queue statistics."""

    def __init__(self, stats: QueueStats) -> None:
        self.stats = stats

    def ewt_seconds(self, queue: str) -> float | None:
        return self.stats.ewt_seconds(queue, time.time())


def _caller_normaliser(raw: str) -> str:
    """Call records keep the caller as E.164 or 'anonymous' (reports count repeat callers)."""
    from telephony.zaken.phone import normalise

    return normalise(raw) or "anonymous"


def _dialled_normaliser(digits: str) -> str:
    try:
        return normalise_number(digits)
    except ValueError:
        return digits


class KccService:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.metrics = Metrics()
        a = config.asterisk
        self.link = AmiLink(a.ami_host, a.ami_port, a.ami_user, config.ami_secret(),
                            action_timeout=a.ami_action_timeout,
                            ping_interval=a.ami_ping_interval)
        self.model = CallModel(dialled_normaliser=_dialled_normaliser,
                               caller_normaliser=_caller_normaliser)
        self.bus = EventBus()
        self.supervisor = TaskSupervisor(
            on_restart=lambda name: self.metrics.task_restarts.labels(name).inc())
        self.spool: Spool | None = None
        self.writer: RecordWriter = None  # type: ignore[assignment]
        self.asterisk_shutdown_at: float | None = None
        self._shutdown_connects = 0
        self._retention_error: str | None = None
        self._redis_stale = False
        self._redis_drops_seen = 0
        self.pool: Any = None
        self.calls: CallRepository | None = None
        self.redis: RedisState | None = None
        self.agi = AgiServer(config.service.agi_host, config.service.agi_port)
        self.stats = QueueStats(config)
        self.zaak_status = PostgresZaakStatus(None)  # pool arrives in start()
        self.ivr = IvrApp(config, zaken=self.zaak_status, ewt=_StatsEwt(self.stats))
        self.agi.add_route("inbound", self.ivr.route.handle)
        self.agi.add_route("callback", self.ivr.callback_route.handle)
        self.callbacks = CallbackService(self)
        self.agi.add_route("callback-result", self.callbacks.result_route.handle)
        self.hub = Hub()
        self.board = LiveBoard(self)
        self.zaak_source: Any = None
        self.popper: ScreenPopper | None = None
        self.agents_repo: AgentRepository = None  # type: ignore[assignment]
        self.acd: AcdService = None  # type: ignore[assignment]
        self.sessions: Sessions = None  # type: ignore[assignment]
        self._stats_task: asyncio.Task[None] | None = None
        self._retention_task: asyncio.Task[None] | None = None
        self._pop_tasks: set[asyncio.Task[None]] = set()
        self._consumer: asyncio.Task[None] | None = None
        self._web_runner: web.AppRunner | None = None
        self._resyncs = 0
        self.started_at = time.time()

    # -- lifecycle -----------------------------------------------------------------
    async def start(self, *, web_enabled: bool = True) -> None:
        self.pool = await db.connect(self.config.database_dsn(), self.config.database.min_pool,
                                     self.config.database.max_pool)
        self.calls = CallRepository(self.pool, self.config.service.instance_id)
        dbc = self.config.database
        self.spool = await asyncio.to_thread(Spool, dbc.spool_path, dbc.spool_max_rows)
        if self.spool.size:
            log.warning("%d record writes spooled by an earlier run: replaying",
                        self.spool.size)
        self.writer = RecordWriter(self.calls, self.spool, write_timeout=dbc.write_timeout,
                                   count=lambda what: self.metrics.spool.labels(what).inc())
        self.redis = RedisState.from_url(self.config.redis_url(), self.config.redis.prefix)
        await self.redis.ping()
        self.agents_repo = AgentRepository(self.pool)
        self.zaak_status.pool = self.pool
        self.zaak_source = make_source(self.pool, self.config.zaken)
        self.popper = ScreenPopper(self.zaak_source, self.pool, self.config.zaken)
        self.acd = AcdService(self.config, self.link, self.model, self.agents_repo)
        self.sessions = Sessions(self.redis.r, self.config.redis.prefix,
                                 self.config.acd.session_hours * 3600,
                                 still_valid=self._agent_still_valid)
        # Records and the ACD: back-pressure. Live-only views: drop oldest (events.py).
        self.bus.subscribe("postgres", self._to_postgres)
        self.bus.subscribe("redis", self._to_redis, drop_oldest=True)
        self.bus.subscribe("acd", self._to_acd)
        self.bus.subscribe("websocket", self._to_websocket, drop_oldest=True)
        self.bus.subscribe("board", self.board.on_event, drop_oldest=True)
        self.bus.start()
        self.supervisor.start("spool-replay", self.writer.run_replay)
        await self.ivr.start(self.pool, self.redis.r)
        await self.agi.start()
        self.link.start()
        self._consumer = self.supervisor.start("ami-consumer", self._consume).task
        self.callbacks.start()
        self._stats_task = self.supervisor.start("queue-stats", self._push_stats).task
        self.board.on_board(self.hub.send_to_supervisors)
        self.board.start()
        self._retention_task = self.supervisor.start("retention", self._retention).task
        if web_enabled:
            from telephony.web import build_app

            self._web_runner = web.AppRunner(build_app(self), access_log=None)
            await self._web_runner.setup()
            site = web.TCPSite(self._web_runner, self.config.service.http_host,
                               self.config.service.http_port)
            await site.start()
            log.info("HTTP on http://%s:%s", self.config.service.http_host,
                     self.config.service.http_port)

    async def stop(self) -> None:
        await self.hub.close_all()
        if self._web_runner is not None:
            await self._web_runner.cleanup()
        await self.callbacks.stop()
        await self.board.stop()
        if self.acd is not None:
            await self.acd.stop()
        await self.agi.stop()
        # Let IVR sessions in progress finish storing (a cut session falls back to the
        # general queue in the dialplan, so no caller is lost either way).
        for _ in range(30):
            if self.agi.active == 0:
                break
            await asyncio.sleep(0.1)
        await self.link.stop()
        tasks = self.supervisor.tasks
        replay = tasks.get("spool-replay")
        for name in [n for n in tasks if n != "spool-replay"]:
            await self.supervisor.stop_task(name)
        with contextlib.suppress(TimeoutError):
            await self.bus.drain(timeout=5)
        await self.bus.stop()
        if replay is not None and self.spool is not None and self.spool.size:
            # One last chance to hand the spool over; what is left stays in the file.
            with contextlib.suppress(TimeoutError, *UNREACHABLE):
                await asyncio.wait_for(self.writer.replay_once(), 5)
        await self.supervisor.stop()
        if self.spool is not None:
            self.spool.close()
        with contextlib.suppress(Exception):
            await self.ivr.stop()
        if self.zaak_source is not None:
            with contextlib.suppress(Exception):
                await self.zaak_source.close()
        if self.redis is not None:
            await self.redis.close()
        if self.pool is not None:
            # close() waits for every connection to be given back; after a database
            # outage one may never be (a reconnect in progress): then cut them.
            try:
                await asyncio.wait_for(self.pool.close(), 10)
            except TimeoutError:
                log.warning("PostgreSQL pool did not close in 10 s; terminating it")
                self.pool.terminate()

    # -- AMI -> model -> bus -------------------------------------------------------
    async def _consume(self) -> None:
        while True:
            item = await self.link.next_item()
            self._watch_shutdown(item)
            t0 = time.perf_counter()
            try:
                events = self.model.apply(item)
            except Exception:
                log.exception("call model failed on an AMI item; skipped")
                continue
            self.metrics.apply_seconds.observe(time.perf_counter() - t0)
            self.metrics.ami_events.inc()
            for event in events:
                self.stats.apply(event)
                self.metrics.domain_events.labels(event.name).inc()
                if isinstance(event, CallEnded):
                    self.metrics.calls_ended.labels(event.record.get("direction", "")).inc()
                await self.bus.publish(event)
            if isinstance(item, AmiSnapshot) and item.action == "QueueStatus":
                # The second resync action: the model now mirrors Asterisk again.
                self._resyncs += 1
                await self.bus.publish(ResyncCompleted(
                    linkedid="", at=time.time(), live_linkedids=tuple(self.model.calls),
                    first=self._resyncs == 1))
            self.metrics.live_calls.set(len(self.model.calls))
            self.metrics.ami_backlog.set(self.link.backlog)
            self.metrics.ami_connected.set(1 if self.link.connected else 0)

    def _watch_shutdown(self, item: Any) -> None:
        """Health goes 503 the moment Asterisk announces a shutdown (the AMI socket
        stays open for about a second after), until the link is back up."""
        if isinstance(item, AmiSnapshot):
            return
        if item.get("Event") == "Shutdown":
            self.asterisk_shutdown_at = time.time()
            self._shutdown_connects = self.link.connects
            log.warning("Asterisk is shutting down (%s)", item.get("Shutdown", ""))

    @property
    def asterisk_shutting_down(self) -> bool:
        if self.asterisk_shutdown_at is None:
            return False
        if self.link.connects > self._shutdown_connects and self.link.connected:
            self.asterisk_shutdown_at = None  # reconnected to a new Asterisk
            return False
        return True

    async def _to_postgres(self, event: DomainEvent) -> None:
        """Every write goes through the RecordWriter: spooled when PostgreSQL is away."""
        write = self.writer.write
        if isinstance(event, CallEnded | CallRecordCorrected):
            await write("call", event.record)
        elif isinstance(event, AgentStateChanged):
            await write("agent_state", {"agent": event.agent, "queue": event.queue,
                                        "state": event.state, "reason": event.reason,
                                        "at": event.at})
        elif isinstance(event, ResyncCompleted):
            for linkedid in event.live_linkedids:
                call = self.model.calls.get(linkedid)
                if call is not None:
                    await write("call", call.to_record())
            await write("close_orphans", {"live": list(event.live_linkedids),
                                          "reason": "ended while the service was not watching"})
        elif isinstance(event, RECORD_MOMENTS):
            # Started (a crash leaves a row), queued, answered, transferred: enough to
            # recover from; offered/hold would be a write per event for nothing, since
            # the full record is written at CallEnded.
            call = self.model.calls.get(event.linkedid)
            if call is not None:
                await write("call", call.to_record())
        self.board.touch()  # the record is written: the live board may recompute

    async def _to_acd(self, event: DomainEvent) -> None:
        if isinstance(event, ResyncCompleted):
            await self.acd.reconcile()
        else:
            await self.acd.on_event(event)

    async def _to_websocket(self, event: DomainEvent) -> None:
        if isinstance(event, AgentStateChanged):
            message = {"type": "agent.state", **self.acd.state_of(event.agent)}
            await self.hub.send_to_agent(event.agent, message)
            await self.hub.send_to_supervisors(message)
        elif isinstance(event, CallOffered) and event.agent:
            # Its own task: one pop waiting on the zaak source must not hold up the next
            # call's pop or the state pushes behind it in this subscriber's queue.
            self._pop_task(self._deliver_pop(event), event.linkedid)
        elif isinstance(event, CallEnded) and self.popper is not None:
            # Off this queue too: the DELETE must not delay the next call's pop.
            self._pop_task(self._forget_pops(event.linkedid), event.linkedid)

    def _pop_task(self, coro: Coroutine[Any, Any, None], linkedid: str) -> None:
        task = asyncio.create_task(coro, name=f"pop:{linkedid}")
        self._pop_tasks.add(task)
        task.add_done_callback(self._pop_tasks.discard)

    async def _deliver_pop(self, event: CallOffered) -> None:
        await self.hub.send_to_agent(event.agent, await self.screen_pop(event))

    async def _forget_pops(self, linkedid: str) -> None:
        """Drop a call's pop state once its pops are built (a pop still being built
        would otherwise write its state after the delete)."""
        assert self.popper is not None
        current = asyncio.current_task()
        pending = [t for t in self._pop_tasks
                   if t is not current and t.get_name() == f"pop:{linkedid}"]
        await asyncio.gather(*pending, return_exceptions=True)
        try:
            await self.popper.forget_call(linkedid)
        except (OSError, asyncpg.PostgresError):
            log.warning("pop state of a call not deleted (the periodic purge will)",
                        extra={"linkedid": linkedid})

    async def screen_pop(self, event: CallOffered) -> dict[str, Any]:
        """What the offered agent's panel shows before answering.

        The pop (telephony/zaken/popper.py) is greet-level until the agent verifies the
        caller's identity (AVG); if the zaak source fails or is slow the message still
        goes out, marked incomplete, because a late pop is worse than a thin one.
        """
        call = self.model.calls.get(event.linkedid)
        record = call.to_record() if call else {"linkedid": event.linkedid}
        message: dict[str, Any] = {
            "type": "call.offered", "linkedid": event.linkedid, "queue": event.queue,
            "offered_at": event.at,
            "call": {k: record.get(k) for k in (
                "caller_number", "caller_name", "dialled", "municipality", "language",
                "subject", "queue", "queued_at", "zaaknummer", "transcript")}}
        if self.popper is not None:
            try:
                message["pop"] = await self.popper.build(record, event.agent)
            except Exception:
                log.exception("screen-pop build failed", extra={"linkedid": event.linkedid})
                message["pop"] = {"incomplete": True}
        return message

    async def _retention(self, every: float = RETENTION_EVERY_SECONDS) -> None:
        """AVG storage limitation, hourly: leftover pop state and processing-log entries
        past the municipality's term. Idempotent, so every instance may run it."""
        while True:
            await self.purge_expired()
            await asyncio.sleep(every)

    async def purge_expired(self) -> dict[str, int]:
        cfg = self.config.zaken
        assert self.popper is not None
        done = {}
        try:
            done["pop_state"] = await self.popper.state.purge(cfg.pop_state_hours * 3600)
            done["processing_log"] = await self.popper.log.purge(
                cfg.processing_log_retention_days)
            self._retention_error = None
        except (*UNREACHABLE, asyncpg.PostgresError) as exc:
            self._retention_error = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("retention purge failed; retried in an hour", exc_info=True)
        if any(done.values()):
            log.info("retention purge: %s", done)
        return done

    async def _push_stats(self) -> None:
        while True:
            await asyncio.sleep(2.0)
            if self.hub.supervisors:
                await self.hub.send_to_supervisors({"type": "queue.stats",
                                                    "queues": self.stats.all(time.time())})

    async def _to_redis(self, event: DomainEvent) -> None:
        """Live state in Redis. After a failed write (Redis down) the first event that
        gets through rebuilds the whole live state from the model: what changed while
        Redis was away is not replayed event by event (live-only view)."""
        assert self.redis is not None
        dropped = self.bus.dropped.get("redis", 0)
        if dropped != self._redis_drops_seen:  # events skipped: rebuild, do not patch
            self._redis_drops_seen = dropped
            self._redis_stale = True
        try:
            await self._redis_write(event)
        except Exception:
            self._redis_stale = True
            raise
        self._redis_stale = False

    async def _redis_write(self, event: DomainEvent) -> None:
        assert self.redis is not None
        if isinstance(event, ResyncCompleted) or self._redis_stale:
            await self.redis.replace_all([c.to_record() for c in self.model.calls.values()],
                                         [a.to_dict() for a in self.model.agents.agents.values()])
            if isinstance(event, ResyncCompleted):
                return
        call = self.model.calls.get(event.linkedid) if event.linkedid else None
        agent = None
        if isinstance(event, AgentStateChanged):
            found = self.model.agents.agents.get(event.agent)
            agent = found.to_dict() if found else None
        await self.redis.handle(event, call.to_record() if call else None, agent)

    async def _agent_still_valid(self, login: str, role: str) -> bool:
        """Redis down: a locally cached session counts only while PostgreSQL still has
        the agent, active, with that role."""
        record = await self.agents_repo.get(login)
        return record is not None and record.active and record.role == role

    # -- health --------------------------------------------------------------------
    async def health(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        shutting_down = self.asterisk_shutting_down
        checks["ami"] = {"ok": self.link.connected and not shutting_down,
                         "connects": self.link.connects, "last_error": self.link.last_error,
                         "asterisk_shutting_down": shutting_down}
        try:
            await asyncio.wait_for(self.pool.fetchval("SELECT 1"), 2)
            checks["postgres"] = {"ok": True}
        except Exception as exc:
            checks["postgres"] = {"ok": False, "error": type(exc).__name__}
        try:
            assert self.redis is not None
            await asyncio.wait_for(self.redis.ping(), 2)
            checks["redis"] = {"ok": True}
        except Exception as exc:
            checks["redis"] = {"ok": False, "error": type(exc).__name__}
        if self.writer is not None:
            checks["spool"] = self.writer.health()
        tasks = self.supervisor.health()
        if "retention" in tasks:
            tasks["retention"]["last_purge_error"] = self._retention_error
            tasks["retention"]["ok"] = tasks["retention"]["ok"] and self._retention_error is None
        for name, part in tasks.items():
            checks[f"task:{name}"] = part
        backlog, capacity = self.bus.backlog(), self.bus.capacity()
        checks["bus"] = {"ok": all(backlog[n] < capacity[n] for n in backlog if capacity[n]),
                         "backlog": backlog, "dropped": dict(self.bus.dropped)}
        return {"ok": all(c["ok"] for c in checks.values()), "checks": checks,
                "live_calls": len(self.model.calls),
                "instance": self.config.service.instance_id,
                "uptime_seconds": round(time.time() - self.started_at, 1)}


async def run_service(config: Config) -> int:
    setup_logging(config.service.log_level)
    try:
        service = KccService(config)
    except ConfigError as exc:
        for problem in exc.problems:
            log.error(problem)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await service.start()
    log.info("kcc-telefonie running", extra={"instance": config.service.instance_id})
    await stop.wait()
    await service.stop()
    return 0
