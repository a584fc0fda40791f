"""The loop that claims due callbacks and has them dialled — exactly once.

Exactly-once mechanism: PostgreSQL row locks, ``SELECT ... FOR UPDATE SKIP LOCKED`` in a
short transaction that flips the row to ``dialling`` with this instance's id and a lease
expiry (store.claim). Why PostgreSQL and not a Redis lease: the callback row *is* the
record, so the claim and the record change in one atomic commit — there is no window in
which Redis says "mine" and PostgreSQL still says "waiting" (or the reverse after a Redis
failover, which can lose a lease). SKIP LOCKED makes instances pass over each other's
rows instead of queueing on them, so two dispatchers never block and never both get a
row. A partial unique index (one ``dialling`` row per agent) stops two instances reserving
the same free agent.

Crash safety: an owner renews its leases while its calls live. When an instance dies its
leases expire; any instance then looks at the live call model: if the call still exists
(linkedid ``cb-<id>-<attempt>``, set with Originate's ChannelId) it adopts the claim and
the call finishes normally (its result comes by AGI to whichever instance Asterisk
reaches); if not, the result the dialplan wrote to AstDB (``kcc_cb/<id>-<attempt>``,
written before the AGI report) settles it, so a citizen reached while no service was
listening is not called again; only without that the attempt is ``lost`` and retried.

First-come order: a callback is served only when no live caller in its queue has an
earlier place (``before`` = the earliest first-queued time of the live callers), and only
to an agent the ACD shows as available in that queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from telephony.callbacks.config import CallbacksConfig
from telephony.callbacks.destinations import DestinationRefused
from telephony.callbacks.dialer import Dialer, DialUncertain
from telephony.callbacks.policy import next_step, outcome_of
from telephony.callbacks.store import CallbackStore, Claim

log = logging.getLogger(__name__)
FetchResult = Callable[[int, int], Awaitable[tuple[str, str] | None]]
OnResult = Callable[[dict[str, Any], str, str], None]  # (row, outcome, new status): stats


def linkedid_of(callback_id: int, attempt: int) -> str:
    return f"cb-{callback_id}-{attempt}"


class Dispatcher:
    def __init__(self, cfg: CallbacksConfig, store: CallbackStore, dialer: Dialer, *,
                 instance: str, free_agents: Callable[[], dict[str, list[str]]],
                 earliest_caller: Callable[[str], float | None],
                 live_linkedids: Callable[[], set[str]],
                 is_open: Callable[[datetime], bool],
                 next_open: Callable[[datetime], datetime | None],
                 ready: Callable[[], bool] = lambda: True,
                 fetch_result: FetchResult | None = None,
                 on_result: OnResult | None = None,
                 on_counts: Callable[[dict[str, int]], None] | None = None) -> None:
        self.cfg = cfg
        self.store = store
        self.dialer = dialer
        self.instance = instance
        self.free_agents = free_agents          # login -> queues they are free for
        self.earliest_caller = earliest_caller  # queue -> epoch of the first live caller
        self.live_linkedids = live_linkedids
        self.is_open = is_open
        self.next_open = next_open
        self.ready = ready
        self.fetch_result = fetch_result
        self.on_result = on_result
        self.on_counts = on_counts
        # Set by the service: the agent answered a call-back (its call script starts).
        self.on_agent_answered: Callable[[Claim], Awaitable[None]] | None = None
        self._originating: set[int] = set()
        self.active: dict[int, Claim] = {}      # callback id -> claim held by us
        self.dispatched = 0
        self._task: asyncio.Task[None] | None = None
        self._dials: set[asyncio.Task[None]] = set()
        self._last_maintenance = 0.0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="callback-dispatcher")

    async def stop(self) -> None:
        """Stop claiming. Calls in flight keep going in Asterisk; their leases run out and
        are adopted (or recorded lost) by whichever instance runs next."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._dials):
            task.cancel()
        for task in list(self._dials):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _run(self) -> None:
        while True:
            try:
                if self.ready():
                    await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("callback dispatcher tick failed")
            # Jitter: instances started together would otherwise poll in lock-step and
            # the one a few microseconds ahead would win every newly free agent.
            await asyncio.sleep(self.cfg.poll_seconds * random.uniform(0.5, 1.5))

    async def tick(self) -> int:
        """One round: maintenance now and then, then claim for every free agent."""
        now = time.time()
        if now - self._last_maintenance >= self.cfg.lease_seconds / 3:
            self._last_maintenance = now
            await self.maintain()
        if not self.is_open(datetime.now(UTC)):
            return 0
        claimed = 0
        busy = {c.agent for c in self.active.values()}
        free = list(self.free_agents().items())
        # Random order: two instances walking the same list in the same order would
        # have the one that ticks first win every agent, the other losing every race.
        random.shuffle(free)
        for login, queues in free:
            if login not in busy and await self._claim_in(login, queues):
                claimed += 1
        return claimed

    async def claim_for(self, login: str, queues: list[str]) -> bool:
        """An agent is about to become available (ACD resume): if a due callback is older
        than every live caller in one of their queues, reserve them for it now — before
        app_queue could give them a newer waiting call. This is what makes callbacks and
        waiting calls one first-come line; the poll loop alone would lose that race."""
        if not self.ready() or not self.is_open(datetime.now(UTC)) \
                or any(c.agent == login for c in self.active.values()):
            return False
        return await self._claim_in(login, queues)

    async def _claim_in(self, login: str, queues: list[str]) -> bool:
        """Claim for ``login`` the first due callback, queue by queue, that is older than
        every live caller of its queue, and start dialling it."""
        for queue in queues:
            first = self.earliest_caller(queue)
            before = datetime.fromtimestamp(first, UTC) if first is not None else None
            claim = await self.store.claim(queue=queue, before=before, agent=login,
                                           instance=self.instance,
                                           lease_seconds=self.cfg.lease_seconds)
            if claim is not None:
                self._start_dial(claim)
                return True
        return False

    def _start_dial(self, claim: Claim) -> None:
        self.active[claim.id] = claim
        self.dispatched += 1
        task = asyncio.create_task(self._dial(claim), name=f"callback-{claim.id}")
        self._dials.add(task)
        task.add_done_callback(self._dials.discard)

    async def _dial(self, claim: Claim) -> None:
        self._originating.add(claim.id)
        try:
            ok = await self.dialer.dial(claim, linkedid_of(claim.id, claim.attempt))
        except DestinationRefused as exc:
            # Never dialled: no attempt is used, and the team gets a task with the reason.
            log.warning("callback %s: destination refused (%s)", claim.id, exc.code)
            self._originating.discard(claim.id)
            self.active.pop(claim.id, None)
            await self.store.release(claim.id, claim.attempt, "destination refused")
            await self.store.to_task(claim.id, "refused_destination",
                                     f"terugbellen geweigerd: {exc.dutch}")
        except DialUncertain:
            # Keep the claim (not released: Asterisk may be dialling). Its lease is
            # renewed only while the call lives; then maintain() adopts it, records the
            # AstDB result, or records it lost and retries — never a second dial.
            return
        except Exception:
            log.exception("callback %s: dial failed", claim.id)
            ok = False
        finally:
            self._originating.discard(claim.id)
        try:
            if ok:
                await self.store.mark_agent_answered(claim.id, claim.attempt)
            else:
                self.active.pop(claim.id, None)
                await self.store.release(claim.id, claim.attempt, "agent not reached")
        except Exception:
            # PostgreSQL away: the claim stays "dialling" with a lease that runs out;
            # maintain() settles it from the live calls and AstDB when it is back.
            log.exception("callback %s: claim not updated; its lease will settle it",
                          claim.id)
        if ok and self.on_agent_answered is not None:
            try:  # the call script and its contactmoment (issue 11)
                await self.on_agent_answered(claim)
            except Exception:
                log.exception("callback %s: call script not started", claim.id)

    async def maintain(self) -> None:
        """Renew our leases; adopt or close expired ones; expire passed windows."""
        live = self.live_linkedids()
        mine = await self.store.still_mine(list(self.active), self.instance)
        for cid in [c for c in self.active if c not in mine and c not in self._originating]:
            self.active.pop(cid, None)  # settled by another instance: the agent is free
        # Renew only claims still being set up or whose call lives: a claim whose call
        # ended without a report lets its lease run out and is settled below.
        keep = [cid for cid, c in self.active.items()
                if cid in self._originating or linkedid_of(cid, c.attempt) in live]
        await self.store.renew(keep, self.instance, self.cfg.lease_seconds)
        for row in await self.store.expired():
            cid, attempt = row["id"], row["attempts"]
            if linkedid_of(cid, attempt) in live:
                await self.store.adopt(cid, attempt, self.instance, self.cfg.lease_seconds)
                continue
            found = await self.fetch_result(cid, attempt) if self.fetch_result else None
            if found is not None:
                dialstatus, confirm = found
                await self.record(cid, attempt, outcome_of(dialstatus, confirm), dialstatus,
                                  row=row)
            else:
                await self.record(cid, attempt, "lost", "", row=row)
        if self.on_counts is not None:
            self.on_counts(await self.store.waiting_counts())
        for row in await self.store.overdue_windows():
            await self.store.to_task(row["id"], "window_passed",
                                     "terugbelafspraak: tijdvak verstreken zonder poging")

    async def record(self, callback_id: int, attempt: int, outcome: str, dialstatus: str,
                     row: dict[str, Any] | None = None) -> str | None:
        """An attempt's outcome -> the callback's next state. Returns the new status, or
        None when this report was a duplicate (already recorded)."""
        claim = self.active.pop(callback_id, None)
        if outcome == "agent_cancelled":
            await self.store.release(callback_id, attempt, "agent hung up")
            await self._unreserve(claim, row)
            return "waiting"
        if row is None:
            row = await self.store.get(callback_id)
            if row is None:
                return None
        window_end = row.get("window_end")
        if isinstance(window_end, str):
            window_end = datetime.fromisoformat(window_end)
        step = next_step(outcome, attempt, self.cfg.max_attempts, datetime.now(UTC),
                         timedelta(seconds=self.cfg.retry_spacing_seconds), self.next_open,
                         window_end)
        done = await self.store.finish(callback_id, attempt, outcome, dialstatus,
                                       status=step.status, due_at=step.due_at,
                                       task_reason=step.reason)
        await self._unreserve(claim, row)
        if done and self.on_result is not None:
            self.on_result(row, outcome, step.status)
        return step.status if done else None

    async def _unreserve(self, claim: Claim | None, row: dict[str, Any] | None) -> None:
        agent = claim.agent if claim else (row or {}).get("agent", "")
        if agent:
            await self.dialer.unreserve(agent)
