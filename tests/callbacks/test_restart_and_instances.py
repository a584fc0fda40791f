"""Restarts and two instances on the real sandbox: no callback lost, none dialled twice.

"Dialled" is counted where it happens: the calls with linkedid ``cb-<id>-<attempt>``
that Asterisk reported (CallEnded), besides the attempt rows in PostgreSQL.
"""

from __future__ import annotations

import asyncio

import pytest
from harness import hangup_all, wait_for

from telephony.events import CallEnded
from tests.callbacks.cbharness import REACHED, CbHarness, cb_config

pytestmark = pytest.mark.asterisk


def _collect_cb_calls(h: CbHarness, into: list[str]) -> None:
    async def collect(event) -> None:
        if isinstance(event, CallEnded) and event.linkedid.startswith("cb-"):
            into.append(event.linkedid)

    h.service.bus.subscribe("test-cb-calls", collect)


async def _attempt_count(h: CbHarness, ids: list[int]) -> int:
    return await h.service.pool.fetchval(
        "SELECT count(*) FROM callback_attempts WHERE callback_id = ANY($1::bigint[])", ids)


async def test_restart_mid_call_loses_nothing_and_dials_nothing_twice(kcc_config, sandbox,
                                                                      pool):
    config = cb_config(kcc_config)
    h1 = CbHarness(config)
    await h1.start()
    await hangup_all(h1)
    await h1.logout_all()
    ids = [await h1.add(REACHED, ago=30 - i) for i in range(3)]
    await h1.service.acd.login("zoe")
    first = f"cb-{ids[0]}-1"
    await wait_for(lambda: first in h1.service.model.calls, what="first call")
    await h1.stop()  # mid-call: its report will find no service listening
    await asyncio.sleep(4)  # the call ends while no service runs
    h2 = CbHarness(config)
    calls: list[str] = []
    await h2.start()
    _collect_cb_calls(h2, calls)
    try:
        for cid in ids:
            row = await h2.until_status(cid, "done", timeout=60)
            assert row["outcome"] == "reached" and row["attempts"] == 1, row
        assert await _attempt_count(h2, ids) == 3
        assert sorted(calls) == sorted(f"cb-{cid}-1" for cid in ids[1:]), calls
        await wait_for(lambda: h2.state("zoe") == "available", what="reservation ended")
    finally:
        await h2.logout_all()
        await hangup_all(h2)
        await h2.stop()


async def test_restart_while_callbacks_wait(kcc_config, sandbox, pool):
    config = cb_config(kcc_config)
    h1 = CbHarness(config, open_now=False)  # closed: they only wait
    await h1.start()
    await h1.logout_all()
    ids = [await h1.add(REACHED, ago=20 - i) for i in range(3)]
    await h1.service.acd.login("zoe")
    await asyncio.sleep(1)
    await h1.stop()
    h2 = CbHarness(config)
    await h2.start()
    try:
        for cid in ids:
            row = await h2.until_status(cid, "done", timeout=60)
            assert row["attempts"] == 1
        assert await _attempt_count(h2, ids) == 3
    finally:
        await h2.logout_all()
        await hangup_all(h2)
        await h2.stop()


async def test_two_instances_dial_each_callback_once(kcc_config, sandbox, pool):
    h1 = CbHarness(cb_config(kcc_config, instance="kcc-cb-1"))
    h2 = CbHarness(cb_config(kcc_config, instance="kcc-cb-2", http_offset=102,
                             agi_offset=1))
    await h1.start()
    await h2.start()
    calls: list[str] = []
    _collect_cb_calls(h1, calls)
    try:
        await hangup_all(h1)
        await h1.logout_all()
        tries = {"n": 0, "lost": 0}
        d2 = h2.service.callbacks.dispatcher
        real_claim = d2.store.claim

        async def counting_claim(**kw):
            tries["n"] += 1
            got = await real_claim(**kw)
            tries["lost"] += got is None
            return got

        d2.store.claim = counting_claim
        ids = [await h1.add(REACHED, ago=60 - i) for i in range(9)]
        for login in ("anna", "mehmet", "zoe"):
            await h1.service.acd.login(login)
        for cid in ids:
            row = await h1.until_status(cid, "done", timeout=90)
            assert row["outcome"] == "reached" and row["attempts"] == 1
        assert await _attempt_count(h1, ids) == 9
        await wait_for(lambda: len(calls) >= 9, what="all calls ended")
        await asyncio.sleep(1)
        assert sorted(calls) == sorted(f"cb-{cid}-1" for cid in ids), "each dialled once"
        owners = await h1.service.pool.fetch(
            "SELECT instance, count(*) FROM callback_attempts WHERE callback_id = "
            "ANY($1::bigint[]) GROUP BY instance", ids)
        await asyncio.sleep(h2.config.callbacks.lease_seconds / 3 + 0.5)  # a maintenance
        assert not h2.service.callbacks.dispatcher.active, \
            "claims settled through the other instance are let go (their agents are free)"
        per = {r["instance"]: r["count"] for r in owners}
        print("claims per instance:", per, "instance 2 claim tries/lost:", tries)
        assert tries["n"] > 0, "the second instance competed"
    finally:
        await h1.logout_all()
        await hangup_all(h1)
        await h2.stop()
        await h1.stop()


async def test_a_call_longer_than_the_lease_is_not_dialled_again(kcc_config, sandbox, pool):
    """Lease 3 s, call ~4.5 s: the owner renews while the call lives; the other instance
    sees a live call and never takes the callback over."""
    h1 = CbHarness(cb_config(kcc_config, instance="kcc-cb-1", lease_seconds=3))
    h2 = CbHarness(cb_config(kcc_config, instance="kcc-cb-2", http_offset=102,
                             agi_offset=1, lease_seconds=3))
    await h1.start()
    await h2.start()
    calls: list[str] = []
    _collect_cb_calls(h1, calls)
    try:
        await hangup_all(h1)
        await h1.logout_all()
        cid = await h1.add(REACHED)
        await h1.service.acd.login("zoe")
        row = await h1.until_status(cid, "done", timeout=40)
        assert row["outcome"] == "reached" and row["attempts"] == 1
        attempt = await h1.service.pool.fetchrow(
            "SELECT * FROM callback_attempts WHERE callback_id = $1", cid)
        assert (attempt["ended_at"] - attempt["claimed_at"]).total_seconds() > 3, \
            "the call outlived the lease"
        await wait_for(lambda: calls, what="call ended")
        assert calls == [f"cb-{cid}-1"]
    finally:
        await h1.logout_all()
        await hangup_all(h1)
        await h2.stop()
        await h1.stop()
