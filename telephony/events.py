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
class ResyncCompleted(DomainEvent):
    """The model was just re-synchronised with Asterisk; these calls are live."""

    name: ClassVar[str] = "resync.completed"
    live_linkedids: tuple[str, ...] = ()
    first: bool = False


Handler = Callable[[DomainEvent], Awaitable[None]]
BatchHandler = Callable[[list[DomainEvent]], Awaitable[None]]


class EventBus:
    """Fan-out with one ordered queue per subscriber."""

    def __init__(self) -> None:
        self._subs: list[tuple[str, asyncio.Queue[DomainEvent], Handler]] = []
        self._batch: dict[str, tuple[BatchHandler, int]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.published = 0
        self.failures = 0
        self._started = False

    def subscribe(self, name: str, handler: Handler) -> None:
        """Add a subscriber; one added after :meth:`start` starts receiving at once."""
        sub = (name, asyncio.Queue[DomainEvent](), handler)
        self._subs.append(sub)
        if self._started:
            self._tasks.append(asyncio.create_task(self._pump(*sub), name=f"bus-{name}"))

    def subscribe_batch(self, name: str, handler: BatchHandler, max_batch: int = 200) -> None:
        """Like :meth:`subscribe`, but ``handler`` gets a list: the next event plus all
        that queued up behind it (at most ``max_batch``), in order. For a subscriber
        whose cost is per round trip (Redis): under load it makes one, not one per event.
        """
        async def one_by_one(event: DomainEvent) -> None:  # the pump batches instead
            await handler([event])

        self._batch[name] = (handler, max_batch)  # before subscribe starts the pump
        self.subscribe(name, one_by_one)

    def publish(self, event: DomainEvent) -> None:
        self.published += 1
        for _, queue, _ in self._subs:
            queue.put_nowait(event)

    def start(self) -> None:
        self._started = True
        for name, queue, handler in self._subs:
            self._tasks.append(asyncio.create_task(self._pump(name, queue, handler),
                                                   name=f"bus-{name}"))

    async def _pump(self, name: str, queue: asyncio.Queue[DomainEvent], handler: Handler) -> None:
        if name in self._batch:
            await self._pump_batch(name, queue, *self._batch[name])
            return
        while True:
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
        while True:
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

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._started = False
