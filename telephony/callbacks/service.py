"""Wiring of the callback capability into one service instance.

Reads the live view (ACD agent states, queue statistics, call model) through small
callables, so the dispatcher itself stays testable without a whole service.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from telephony.callbacks.dialer import Dialer
from telephony.callbacks.dispatcher import Dispatcher
from telephony.callbacks.offer import notifier
from telephony.callbacks.results import CallbackResultRoute
from telephony.callbacks.store import CallbackStore

if TYPE_CHECKING:
    from telephony.service import KccService

log = logging.getLogger(__name__)


class CallbackService:
    def __init__(self, service: KccService) -> None:
        self.service = service
        self.cfg = service.config.callbacks
        self.store: CallbackStore | None = None
        self.dispatcher: Dispatcher | None = None
        self.result_route = CallbackResultRoute(self._record)

    async def _record(self, callback_id: int, attempt: int, outcome: str,
                      dialstatus: str) -> object:
        if self.dispatcher is None:
            return None
        status = await self.dispatcher.record(callback_id, attempt, outcome, dialstatus)
        if status is not None and self.store is not None:
            # The row forgets its agent when the attempt ends; the attempt keeps it.
            agent = await self.store.attempt_agent(callback_id, attempt)
            message = {"type": "callback.result", "callback_id": callback_id,
                       "attempt": attempt, "outcome": outcome, "status": status}
            if agent:
                await self.service.hub.send_to_agent(agent, message)
        return status

    def start(self) -> None:
        s = self.service
        tz = s.config.kcc.timezone
        self.store = CallbackStore(s.pool)
        dialer = Dialer(self.cfg, s.link, s.acd, notify=notifier(s))
        self.dispatcher = Dispatcher(
            self.cfg, self.store, dialer, instance=s.config.service.instance_id,
            free_agents=self.free_agents, earliest_caller=self.earliest_caller,
            live_linkedids=lambda: set(s.model.calls),
            is_open=lambda now: s.config.hours.is_open(now, tz),
            next_open=lambda at: s.config.hours.next_open(at, tz),
            ready=lambda: s.link.connected and s._resyncs >= 1,
            fetch_result=self.fetch_result, on_result=self._count,
            on_counts=s.stats.set_callbacks_waiting)
        if self.cfg.enabled:
            s.ivr.callback_route.booker = self.book_virtual_hold
            s.acd.hold_for_callback = self.hold_for_callback
            self.dispatcher.start()

    def _count(self, row: dict[str, Any], outcome: str, status: str) -> None:
        """Queue statistics: a reached callback is answered (wait from its original place);
        one that became a task for the team is a failed callback. Retries count nothing."""
        if outcome != "reached" and status != "task":
            return
        queued_at = row.get("queued_at")
        if isinstance(queued_at, str):
            queued_at = datetime.fromisoformat(queued_at)
        if isinstance(queued_at, datetime):
            self.service.stats.callback_result(str(row.get("queue", "")),
                                               queued_at.timestamp(), time.time(),
                                               outcome == "reached")

    async def book_virtual_hold(self, queue: str, number: str, linkedid: str,
                                data: dict[str, Any],
                                window: tuple[datetime, datetime] | None = None) -> int:
        """Store a keep-my-place callback. Its place is when the call first queued (the
        live model knows; the caller has only just left the queue), else now. With a
        ``window`` the caller chose a terugbelafspraak instead."""
        assert self.store is not None
        call = self.service.model.calls.get(linkedid)
        self.service.stats.left_for_callback(linkedid)
        if window is not None:
            start, end = window
            return await self.store.create(kind="scheduled", queue=queue, number=number,
                                           queued_at=start, due_at=start, window_end=end,
                                           subject=str(data.get("subject") or ""),
                                           linkedid=linkedid, ivr=data, created_by="ivr")
        first = call.queued_at if call is not None and call.queued_at else time.time()
        queued_at = datetime.fromtimestamp(first, UTC)
        subject = str(data.get("subject") or "")
        return await self.store.create(kind="virtual_hold", queue=queue, number=number,
                                       queued_at=queued_at, due_at=datetime.now(UTC),
                                       subject=subject, linkedid=linkedid, ivr=data,
                                       created_by="ivr")

    async def stop(self) -> None:
        if self.dispatcher is not None:
            await self.dispatcher.stop()

    async def fetch_result(self, callback_id: int, attempt: int) -> tuple[str, str] | None:
        """The result the dialplan left in AstDB for an attempt whose AGI report was lost."""
        # DBGet answers an event list when the key exists and an error otherwise, which
        # the list reader does not see as the end: hence the short timeout.
        try:
            reply = await self.service.link.action("DBGet", Family="kcc_cb",
                                                   Key=f"{callback_id}-{attempt}",
                                                   as_list=True, timeout=2)
        except Exception:
            return None
        messages = reply if isinstance(reply, list) else [reply]
        for message in messages:
            value = message.get("Val") if hasattr(message, "get") else None
            if value and ":" in value:
                dialstatus, confirm = value.split(":", 1)
                return re.sub(r"[^A-Z]", "", dialstatus)[:20], confirm[:4]
        return None

    async def hold_for_callback(self, login: str) -> bool:
        """ACD hook: reserve an agent who is about to become free for an older callback."""
        if self.dispatcher is None:
            return False
        agent = self.service.model.agents.agents.get(login)
        if agent is None:
            return False
        queues = [q for q, _m in sorted(agent.memberships.items(),
                                        key=lambda item: item[1].penalty)]
        return await self.dispatcher.claim_for(login, queues)

    def free_agents(self) -> dict[str, list[str]]:
        """Available agents and their queues, best skill (lowest penalty) first."""
        out: dict[str, list[str]] = {}
        for login, agent in self.service.model.agents.agents.items():
            if self.service.acd.state_of(login)["state"] != "available":
                continue
            out[login] = [q for q, _m in sorted(agent.memberships.items(),
                                                key=lambda item: item[1].penalty)]
        return out

    def earliest_caller(self, queue: str) -> float | None:
        state = self.service.stats.queues.get(queue)
        return min(state.waiting.values()) if state and state.waiting else None

    def is_open(self, now: datetime) -> bool:
        return self.service.config.hours.is_open(now, self.service.config.kcc.timezone)

    def snapshot(self) -> dict[str, Any]:
        d = self.dispatcher
        return {"dispatched": d.dispatched if d else 0,
                "active": sorted(d.active) if d else []}
