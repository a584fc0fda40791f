"""AMI drops while a call-back's Originate is pending: the claim is not given back.

Focused unit test with a fake store and dialer (the lease mechanics against PostgreSQL
are in test_restart_and_instances.py). Before the fix, ``AmiUnavailable`` went to the
catch-all, the claim was released and the next tick could dial the citizen again while
Asterisk was still dialling the first time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from telephony.callbacks.config import CallbacksConfig
from telephony.callbacks.dialer import DialUncertain
from telephony.callbacks.dispatcher import Dispatcher
from telephony.callbacks.store import Claim


class FakeStore:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.lease_expired = False

    async def release(self, cid, attempt, reason):
        self.calls.append(("release", cid))
        return True

    async def mark_agent_answered(self, cid, attempt):
        self.calls.append(("answered", cid))

    async def still_mine(self, ids, instance):
        return set(ids)

    async def renew(self, ids, instance, lease):
        self.calls.append(("renew", tuple(ids)))

    async def expired(self):
        if not self.lease_expired:
            return []
        return [{"id": 7, "attempts": 1, "agent": "anna", "window_end": None}]

    async def finish(self, cid, attempt, outcome, dialstatus, **kw):
        self.calls.append(("finish", outcome))
        return True

    async def waiting_counts(self):
        return {}

    async def overdue_windows(self):
        return []


class UncertainDialer:
    def __init__(self) -> None:
        self.unreserved: list[str] = []

    async def dial(self, claim, linkedid):
        raise DialUncertain("connection lost")

    async def unreserve(self, agent):
        self.unreserved.append(agent)


async def test_uncertain_originate_keeps_the_claim_until_asterisk_says():
    store, dialer = FakeStore(), UncertainDialer()
    live: set[str] = set()
    asked: list[tuple[int, int]] = []

    async def fetch_result(cid, attempt):
        asked.append((cid, attempt))
        return ("ANSWER", "1")  # the citizen was reached while we could not see it

    d = Dispatcher(CallbacksConfig(), store, dialer, instance="i1",  # type: ignore[arg-type]
                   free_agents=dict, earliest_caller=lambda q: None,
                   live_linkedids=lambda: live, is_open=lambda now: True,
                   next_open=lambda at: None, fetch_result=fetch_result)
    claim = Claim(id=7, attempt=1, agent="anna", number="+31612345678", queue="algemeen",
                  queued_at=datetime.now(UTC), subject="", linkedid="x", ivr={})
    d._start_dial(claim)
    for task in list(d._dials):
        await task
    assert ("release", 7) not in store.calls, "released while Asterisk may be dialling"
    assert 7 in d.active
    # Asterisk shows the call (cb-7-1) after the reconnect: the lease is renewed.
    live.add("cb-7-1")
    await d.maintain()
    assert ("renew", (7,)) in store.calls
    # The call ended without a report and the lease ran out: AstDB settles it, once.
    live.clear()
    store.lease_expired = True
    await d.maintain()
    assert asked == [(7, 1)]
    assert [c for c in store.calls if c[0] == "finish"] == [("finish", "reached")]
    assert ("release", 7) not in store.calls
    assert dialer.unreserved == ["anna"], "the agent's reservation ends with the attempt"
