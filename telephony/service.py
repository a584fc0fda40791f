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
from typing import Any

from aiohttp import web

from ivr.agi_server import AgiServer
from ivr.inbound import InboundRoute
from telephony.ami.link import AmiLink
from telephony.ami.protocol import AmiSnapshot
from telephony.config import Config, ConfigError, normalise_number
from telephony.events import (
    AgentStateChanged,
    CallEnded,
    DomainEvent,
    EventBus,
    ResyncCompleted,
)
from telephony.live.redis_state import RedisState
from telephony.logs import setup_logging
from telephony.metrics import Metrics
from telephony.model.calls import CallModel
from telephony.store import db
from telephony.store.calls_repo import CallRepository

log = logging.getLogger(__name__)


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
        self.model = CallModel(dialled_normaliser=_dialled_normaliser)
        self.bus = EventBus()
        self.pool: Any = None
        self.calls: CallRepository | None = None
        self.redis: RedisState | None = None
        self.agi = AgiServer(config.service.agi_host, config.service.agi_port)
        self.agi.add_route("inbound", InboundRoute(config).handle)
        self._consumer: asyncio.Task[None] | None = None
        self._web_runner: web.AppRunner | None = None
        self._resyncs = 0
        self.started_at = time.time()

    # -- lifecycle -----------------------------------------------------------------
    async def start(self, *, web_enabled: bool = True) -> None:
        self.pool = await db.connect(self.config.database_dsn(), self.config.database.min_pool,
                                     self.config.database.max_pool)
        self.calls = CallRepository(self.pool, self.config.service.instance_id)
        self.redis = RedisState.from_url(self.config.redis_url(), self.config.redis.prefix)
        await self.redis.ping()
        self.bus.subscribe("postgres", self._to_postgres)
        self.bus.subscribe("redis", self._to_redis)
        self.bus.start()
        await self.agi.start()
        self.link.start()
        self._consumer = asyncio.create_task(self._consume(), name="model-consumer")
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
        if self._web_runner is not None:
            await self._web_runner.cleanup()
        await self.agi.stop()
        await self.link.stop()
        if self._consumer is not None:
            self._consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._consumer
        with contextlib.suppress(TimeoutError):
            await self.bus.drain(timeout=5)
        await self.bus.stop()
        if self.redis is not None:
            await self.redis.close()
        if self.pool is not None:
            await self.pool.close()

    # -- AMI -> model -> bus -------------------------------------------------------
    async def _consume(self) -> None:
        while True:
            item = await self.link.next_item()
            t0 = time.perf_counter()
            try:
                events = self.model.apply(item)
            except Exception:
                log.exception("call model failed on an AMI item; skipped")
                continue
            self.metrics.apply_seconds.observe(time.perf_counter() - t0)
            self.metrics.ami_events.inc()
            for event in events:
                self.metrics.domain_events.labels(event.name).inc()
                if isinstance(event, CallEnded):
                    self.metrics.calls_ended.labels(event.record.get("direction", "")).inc()
                self.bus.publish(event)
            if isinstance(item, AmiSnapshot) and item.action == "QueueStatus":
                # The second resync action: the model now mirrors Asterisk again.
                self._resyncs += 1
                self.bus.publish(ResyncCompleted(
                    linkedid="", at=time.time(), live_linkedids=tuple(self.model.calls),
                    first=self._resyncs == 1))
            self.metrics.live_calls.set(len(self.model.calls))
            self.metrics.ami_backlog.set(self.link.backlog)
            self.metrics.ami_connected.set(1 if self.link.connected else 0)

    async def _to_postgres(self, event: DomainEvent) -> None:
        assert self.calls is not None
        if isinstance(event, CallEnded):
            await self.calls.upsert(event.record)
        elif isinstance(event, AgentStateChanged):
            await self.calls.log_agent_state(event.agent, event.queue, event.state,
                                             event.reason, event.at)
        elif isinstance(event, ResyncCompleted):
            for linkedid in event.live_linkedids:
                call = self.model.calls.get(linkedid)
                if call is not None:
                    await self.calls.upsert(call.to_record())
            closed = await self.calls.close_orphans(
                set(event.live_linkedids), "ended while the service was not watching")
            if closed:
                log.info("closed %d call records that ended while away", closed)
        elif event.linkedid:
            call = self.model.calls.get(event.linkedid)
            if call is not None:
                await self.calls.upsert(call.to_record())

    async def _to_redis(self, event: DomainEvent) -> None:
        assert self.redis is not None
        if isinstance(event, ResyncCompleted):
            await self.redis.replace_all([c.to_record() for c in self.model.calls.values()],
                                         [a.to_dict() for a in self.model.agents.agents.values()])
            return
        call = self.model.calls.get(event.linkedid) if event.linkedid else None
        agent = None
        if isinstance(event, AgentStateChanged):
            found = self.model.agents.agents.get(event.agent)
            agent = found.to_dict() if found else None
        await self.redis.handle(event, call.to_record() if call else None, agent)

    # -- health --------------------------------------------------------------------
    async def health(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        checks["ami"] = {"ok": self.link.connected, "connects": self.link.connects,
                         "last_error": self.link.last_error}
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
