"""Storage and exactly-once claiming against the real PostgreSQL (no Asterisk needed)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg

from telephony.callbacks.store import CallbackStore

NOW = datetime.now(UTC)


async def _add(store: CallbackStore, n: int, queue: str = "algemeen",
               start: datetime | None = None) -> list[int]:
    start = start or NOW - timedelta(minutes=10)
    return [await store.create(kind="virtual_hold", queue=queue, number="+31612340001",
                               queued_at=start + timedelta(seconds=i), due_at=start)
            for i in range(n)]


async def test_two_instances_claim_every_callback_exactly_once(pool: asyncpg.Pool):
    store = CallbackStore(pool)
    ids = await _add(store, 300)
    claimed: dict[str, list[int]] = {"kcc-1": [], "kcc-2": []}

    async def agent_loop(instance: str, agent: str) -> None:
        # Each agent takes a callback, "talks" for no time, and takes the next.
        while True:
            claim = await store.claim(queue="algemeen", before=None, agent=agent,
                                      instance=instance, lease_seconds=30)
            if claim is None:
                return
            claimed[instance].append(claim.id)
            assert await store.finish(claim.id, claim.attempt, "reached", "ANSWER",
                                      status="done")

    await asyncio.gather(*(agent_loop(inst, f"{inst}-a{i}")
                           for inst in claimed for i in range(8)))
    both = claimed["kcc-1"] + claimed["kcc-2"]
    assert sorted(both) == ids, "every callback claimed, none twice"
    assert claimed["kcc-1"] and claimed["kcc-2"], "both instances worked"
    attempts = await pool.fetchval("SELECT count(*) FROM callback_attempts WHERE "
                                   "callback_id = ANY($1::bigint[])", ids)
    assert attempts == len(ids)


async def test_one_agent_is_never_reserved_twice(pool: asyncpg.Pool):
    store = CallbackStore(pool)
    await _add(store, 5)
    results = await asyncio.gather(*(store.claim(queue="algemeen", before=None, agent="zoe",
                                                 instance=f"kcc-{i}", lease_seconds=30)
                                     for i in range(6)))
    assert sum(r is not None for r in results) == 1


async def test_first_come_order_and_live_callers_ahead(pool: asyncpg.Pool):
    store = CallbackStore(pool)
    ids = await _add(store, 3)
    # A live caller queued before every callback: none may be served.
    early = NOW - timedelta(hours=1)
    assert await store.claim(queue="algemeen", before=early, agent="a", instance="i",
                             lease_seconds=30) is None
    claim = await store.claim(queue="algemeen", before=None, agent="a", instance="i",
                              lease_seconds=30)
    assert claim is not None and claim.id == ids[0], "oldest place first"
    # Another queue's callbacks are not served to this queue.
    assert await store.claim(queue="afval", before=None, agent="b", instance="i",
                             lease_seconds=30) is None


async def test_not_due_and_passed_windows_are_not_claimed(pool: asyncpg.Pool):
    store = CallbackStore(pool)
    await store.create(kind="scheduled", queue="algemeen", number="+31612340001",
                       queued_at=NOW, due_at=NOW + timedelta(hours=1),
                       window_end=NOW + timedelta(hours=2))
    await store.create(kind="scheduled", queue="algemeen", number="+31612340001",
                       queued_at=NOW, due_at=NOW - timedelta(hours=2),
                       window_end=NOW - timedelta(hours=1))
    assert await store.claim(queue="algemeen", before=None, agent="a", instance="i",
                             lease_seconds=30) is None


async def test_finish_is_recorded_once_and_a_task_is_made_with_it(pool: asyncpg.Pool):
    store = CallbackStore(pool)
    (cid,) = await _add(store, 1)
    claim = await store.claim(queue="algemeen", before=None, agent="a", instance="i",
                              lease_seconds=30)
    assert claim is not None
    assert await store.finish(cid, 1, "no_answer", "NOANSWER", status="task",
                              task_reason="terugbellen mislukt na 1 pogingen")
    assert not await store.finish(cid, 1, "reached", "ANSWER", status="done"), \
        "a late or duplicate report changes nothing"
    row = await store.get(cid)
    assert row["status"] == "task" and row["outcome"] == "no_answer"
    task = await pool.fetchrow("SELECT * FROM taken WHERE uuid = $1::uuid", row["task_uuid"])
    assert task["soort"] == "terugbellen" and "mislukt" in task["toelichting"]


async def test_malformed_numbers_cannot_even_be_stored(pool: asyncpg.Pool):
    store = CallbackStore(pool)
    try:
        await store.create(kind="virtual_hold", queue="algemeen", number="0612;Dial",
                           queued_at=NOW, due_at=NOW)
    except asyncpg.CheckViolationError:
        return
    raise AssertionError("the table accepted a non-E.164 number")
