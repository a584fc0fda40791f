"""Long-running tasks that restart after any exception, and say how they are doing.

Why: a background loop that dies takes its job with it silently (the retention purge
stopped for good on one asyncpg ``InterfaceError``; an exception outside
``model.apply`` stopped AMI processing while ``/healthz`` still said 200). Every
long-running task of the service runs under :class:`TaskSupervisor`: an exception is
logged with its stack, the task is marked unhealthy, and it is started again after an
exponential backoff with jitter (0.5 s doubling to ``max_backoff``); a run that lasted
``healthy_after`` seconds resets the backoff. ``/healthz`` shows each task's part.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telephony.tasks import cancel_and_wait

log = logging.getLogger(__name__)

Factory = Callable[[], Awaitable[None]]


@dataclass
class Supervised:
    name: str
    factory: Factory
    task: asyncio.Task[None] | None = None
    restarts: int = 0
    last_error: str | None = None
    failed_at: float | None = None
    running_since: float | None = None
    stopping: bool = False
    history: list[float] = field(default_factory=list)

    def health(self) -> dict[str, Any]:
        # Unhealthy while it waits to restart (failed_at set and not running again yet).
        ok = self.task is not None and not self.task.done() and self.failed_at is None
        return {"ok": ok, "restarts": self.restarts, "last_error": self.last_error}


class TaskSupervisor:
    def __init__(self, *, min_backoff: float = 0.5, max_backoff: float = 30.0,
                 healthy_after: float = 30.0,
                 on_restart: Callable[[str], None] | None = None) -> None:
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.healthy_after = healthy_after
        self.on_restart = on_restart
        self.tasks: dict[str, Supervised] = {}

    def start(self, name: str, factory: Factory) -> Supervised:
        """Run ``factory()`` for ever; a coroutine that returns is also restarted."""
        entry = Supervised(name, factory)
        self.tasks[name] = entry
        entry.task = asyncio.create_task(self._keep(entry), name=f"sup-{name}")
        return entry

    async def _keep(self, entry: Supervised) -> None:
        backoff = self.min_backoff
        while not entry.stopping:
            started = time.monotonic()
            entry.running_since = time.time()
            entry.failed_at = None
            try:
                await entry.factory()
                entry.last_error = "returned"
                log.error("supervised task %s returned; restarting", entry.name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if entry.stopping:
                    return
                entry.last_error = f"{type(exc).__name__}: {exc}"[:300]
                log.exception("supervised task %s failed; restarting", entry.name)
            task = asyncio.current_task()
            if entry.stopping or (task is not None and task.cancelling()):
                # A cancel the factory swallowed (returned instead): stop, never restart.
                return
            entry.failed_at = time.time()
            entry.restarts += 1
            if self.on_restart is not None:
                self.on_restart(entry.name)
            if time.monotonic() - started >= self.healthy_after:
                backoff = self.min_backoff
            await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
            backoff = min(backoff * 2, self.max_backoff)

    async def stop_task(self, name: str) -> None:
        """Stop one supervised task for good (service shutdown)."""
        entry = self.tasks.pop(name, None)
        if entry is None or entry.task is None:
            return
        entry.stopping = True
        await cancel_and_wait(entry.task)

    def health(self) -> dict[str, dict[str, Any]]:
        return {name: entry.health() for name, entry in self.tasks.items()}

    async def stop(self) -> None:
        for entry in self.tasks.values():
            entry.stopping = True
        for entry in self.tasks.values():
            if entry.task is not None:
                await cancel_and_wait(entry.task)
        self.tasks.clear()


