"""Domain events and the in-process bus that carries them to subscribers.

The call model turns AMI events into these; subscribers (PostgreSQL writer, Redis
publisher, WebSocket hub, statistics) consume them. Each subscriber gets its own ordered
queue and task, so a slow database never delays the Redis fan-out and nobody reaches back
into the AMI layer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DomainEvent:
    name: ClassVar[str] = "event"
    linkedid: str
    at: float  # unix time the event happened (Asterisk's clock where known)

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.name, **asdict(self)}


@dataclass(frozen=True)
class CallStarted(DomainEvent):
    name: ClassVar[str] = "call.started"
    caller_number: str = ""
    caller_name: str = ""
    dialled: str = ""
    direction: str = "inbound"


@dataclass(frozen=True)
class CallQueued(DomainEvent):
    name: ClassVar[str] = "call.queued"
    queue: str = ""
    position: int = 0


@dataclass(frozen=True)
class CallOffered(DomainEvent):
    name: ClassVar[str] = "call.offered"
    queue: str = ""
    agent: str = ""
    interface: str = ""


@dataclass(frozen=True)
class CallAnswered(DomainEvent):
    name: ClassVar[str] = "call.answered"
    queue: str = ""
    agent: str = ""
    wait_seconds: float = 0.0


@dataclass(frozen=True)
class CallTransferred(DomainEvent):
    name: ClassVar[str] = "call.transferred"
    kind: str = "blind"  # blind | attended
    by_agent: str = ""
    target: str = ""
    transfer_count: int = 1


@dataclass(frozen=True)
class CallHoldChanged(DomainEvent):
    name: ClassVar[str] = "call.hold"
    on_hold: bool = True
    channel: str = ""


@dataclass(frozen=True)
class CallEnded(DomainEvent):
    name: ClassVar[str] = "call.ended"
    record: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AgentStateChanged(DomainEvent):
    """``linkedid`` is empty for agent events; ``agent`` names the agent."""

    name: ClassVar[str] = "agent.state"
    agent: str = ""
    queue: str = ""
    state: str = ""
    paused: bool = False
    reason: str = ""


@dataclass(frozen=True)
class CallRecordCorrected(DomainEvent):
    """A call already ended turns out to have been cut by an Asterisk shutdown (whose
    AMI ``Shutdown`` event comes after the hangups): only the record is rewritten."""

    name: ClassVar[str] = "call.corrected"
    record: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ResyncCompleted(DomainEvent):
    """The model was just re-synchronised with Asterisk; these calls are live."""

    name: ClassVar[str] = "resync.completed"
    live_linkedids: tuple[str, ...] = ()
    first: bool = False


Handler = Callable[[DomainEvent], Awaitable[None]]
BatchHandler = Callable[[list[DomainEvent]], Awaitable[None]]


DEFAULT_QUEUE_SIZE = 10_000


class EventBus:
    """Fan-out with one ordered, bounded queue per subscriber.

    Two policies per subscriber, chosen when it subscribes:

    * ``drop_oldest=False`` (records, ACD): :meth:`publish` waits for room. A hanging
      subscriber then holds up the AMI consumer, and the AMI link's own back-pressure
      takes it from there: memory stays bounded and no record is skipped.
    * ``drop_oldest=True`` (live-only views: Redis, WebSockets, the board): the oldest
      queued event is dropped to make room, counted in ``dropped`` (metric
      ``kcc_bus_dropped_total``). Those views are rebuilt from the model at the next
      resync and by the next event about the same call or agent, so a slow Redis never
      stops call records.
    """

    def __init__(self) -> None:
        self._subs: list[tuple[str, asyncio.Queue[DomainEvent], Handler]] = []
        self._drop_oldest: dict[str, bool] = {}
        self._batch: dict[str, tuple[BatchHandler, int]] = {}
        self._order: list[tuple[str, asyncio.Queue[DomainEvent], Handler]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.published = 0
        self.failures = 0
        self.dropped: dict[str, int] = {}
        self._started = False

    def subscribe(self, name: str, handler: Handler, *, maxsize: int = DEFAULT_QUEUE_SIZE,
                  drop_oldest: bool = False) -> None:
        """Add a subscriber; one added after :meth:`start` starts receiving at once."""
        sub = (name, asyncio.Queue[DomainEvent](maxsize), handler)
        self._subs.append(sub)
        self._drop_oldest[name] = drop_oldest
        self._order = sorted(self._subs, key=lambda s: not self._drop_oldest[s[0]])
        self.dropped[name] = 0
        if self._started:
            self._tasks.append(asyncio.create_task(self._pump(*sub), name=f"bus-{name}"))

    def subscribe_batch(self, name: str, handler: BatchHandler, max_batch: int = 200, *,
                        drop_oldest: bool = False) -> None:
        """Like :meth:`subscribe`, but ``handler`` gets a list: the next event plus all
        that queued up behind it (at most ``max_batch``), in order. For a subscriber
        whose cost is per round trip (Redis): under load it makes one, not one per event.
        """
        async def one_by_one(event: DomainEvent) -> None:  # the pump batches instead
            await handler([event])

        self._batch[name] = (handler, max_batch)  # before subscribe starts the pump
        self.subscribe(name, one_by_one, drop_oldest=drop_oldest)

    async def publish(self, event: DomainEvent) -> None:
        """Queue ``event`` for every subscriber (waits for room where records need it)."""
        self.published += 1
        # Live-only views first: they never wait, so a record subscriber holding the
        # publisher back does not also hold back this event's live fan-out.
        for name, queue, _ in self._order:
            if queue.full() and self._drop_oldest[name]:
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                    queue.task_done()
                self.dropped[name] += 1
                if self.dropped[name] in (1, 100) or self.dropped[name] % 10_000 == 0:
                    log.warning("subscriber %s too slow: %d live events dropped so far",
                                name, self.dropped[name])
            await queue.put(event)

    def start(self) -> None:
        self._started = True
        for name, queue, handler in self._subs:
            self._tasks.append(asyncio.create_task(self._pump(name, queue, handler),
                                                   name=f"bus-{name}"))

    async def _pump(self, name: str, queue: asyncio.Queue[DomainEvent], handler: Handler) -> None:
        if name in self._batch:
            await self._pump_batch(name, queue, *self._batch[name])
            return
        # Checked each round: Python 3.11's wait_for can swallow a cancel (the inner
        # awaitable finished at the same moment), and a handler using it would then
        # keep this loop, and stop(), waiting for ever.
        while self._started:
            event = await queue.get()
            try:
                await handler(event)
            except Exception:
                self.failures += 1
                log.exception("subscriber %s failed on %s", name, event.name)
            finally:
                queue.task_done()

    async def _pump_batch(self, name: str, queue: asyncio.Queue[DomainEvent],
                          handler: BatchHandler, max_batch: int) -> None:
        while self._started:
            batch = [await queue.get()]
            while len(batch) < max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            try:
                await handler(batch)
            except Exception:
                self.failures += 1
                log.exception("subscriber %s failed on %d events (first %s)", name,
                              len(batch), batch[0].name)
            finally:
                for _ in batch:
                    queue.task_done()

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until every subscriber has handled everything published so far."""
        await asyncio.wait_for(asyncio.gather(*(q.join() for _, q, _ in self._subs)), timeout)

    def backlog(self) -> dict[str, int]:
        return {name: q.qsize() for name, q, _ in self._subs}

    def capacity(self) -> dict[str, int]:
        return {name: q.maxsize for name, q, _ in self._subs}

    async def stop(self) -> None:
        self._started = False
        pending = set(self._tasks)
        for _ in range(50):  # re-cancel: one cancel may be swallowed (see _pump)
            if not pending:
                break
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=0.1)
        for task in self._tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                log.error("bus pump %s ended with %r", task.get_name(), task.exception())
        self._tasks.clear()
