"""A batch subscriber gets every event once, in order, and drain() waits for it."""

from __future__ import annotations

import asyncio

from telephony.events import CallStarted, EventBus


async def test_batch_subscriber_gets_all_in_order_and_drain_waits() -> None:
    bus = EventBus()
    batches: list[list[str]] = []

    async def slow(events):
        await asyncio.sleep(0.01)  # while it works, more events queue up behind it
        batches.append([e.linkedid for e in events])

    bus.subscribe_batch("redis", slow, max_batch=50)
    bus.start()
    for i in range(120):
        await bus.publish(CallStarted(linkedid=str(i), at=0.0))
        if i % 40 == 0:
            await asyncio.sleep(0)
    await bus.drain(timeout=5)
    seen = [linkedid for batch in batches for linkedid in batch]
    assert seen == [str(i) for i in range(120)]
    assert len(batches) < 120 and max(len(b) for b in batches) <= 50
    await bus.stop()
