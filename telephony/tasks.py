"""Stopping background tasks for certain.

``task.cancel()`` once is not enough on Python 3.11: ``asyncio.wait_for`` drops a
cancellation that arrives just as the awaited thing completes (a known race, gone with
3.12's rewrite of wait_for), and the task then runs its loop on. A busy live-board
leader hung ``kcc run``'s shutdown (and a test's teardown) that way, waiting for ever on
a task that had swallowed its one cancel. :func:`cancel_and_wait` cancels again until
the task is really done; loops that must end also check a stop flag.
"""

from __future__ import annotations

import asyncio
import contextlib


async def cancel_and_wait(task: asyncio.Task[object] | None, timeout: float = 10.0) -> None:
    """Cancel ``task`` and wait for its end, re-cancelling a task that ignored it."""
    if task is None:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not task.done() and loop.time() < deadline:
        task.cancel()
        await asyncio.wait({task}, timeout=0.2)
    if task.done():
        with contextlib.suppress(asyncio.CancelledError, Exception):
            task.result()
