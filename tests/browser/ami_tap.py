"""A second AMI connection for tests: every event Asterisk sends, with when it arrived.

The service consumes its own AMI stream; a test that must see what Asterisk itself
reports (Hold, MusicOnHoldStart, a scripted citizen's UserEvent) listens here instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from telephony.ami.link import AmiLink
from telephony.ami.protocol import AmiSnapshot


class AmiTap:
    def __init__(self, config: Any) -> None:
        c = config.asterisk
        self.link = AmiLink(c.ami_host, c.ami_port, c.ami_user, config.ami_secret())
        self.events: list[tuple[float, dict[str, str]]] = []
        self._task: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()

    async def __aenter__(self) -> AmiTap:
        self.link.start()
        await self.link.wait_connected(15)
        self._task = asyncio.create_task(self._drain())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.link.stop()

    async def _drain(self) -> None:
        while True:
            item = await self.link.next_item()
            if isinstance(item, AmiSnapshot):
                continue
            self.events.append((time.monotonic(), {k: str(v) for k, v in dict(item).items()}))
            self._arrived.set()

    async def wait(self, match: Any, timeout: float, what: str,
                   since: float = 0.0) -> tuple[float, dict[str, str]]:
        """The first event (arrived after ``since``) for which ``match(event)`` is true."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for at, event in self.events[seen:]:
                if at >= since and match(event):
                    return at, event
            seen = len(self.events)
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)
