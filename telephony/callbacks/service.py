"""Wiring of the callback capability into one service instance.

Reads the live view (ACD agent states, queue statistics, call model) through small
callables, so the dispatcher itself stays testable without a whole service.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from telephony.ami.link import AmiUnavailable
from telephony.callbacks.destinations import DestinationPolicy
from telephony.callbacks.dialer import Dialer
from telephony.callbacks.dispatcher import Dispatcher, linkedid_of
from telephony.callbacks.offer import notifier
from telephony.callbacks.results import CallbackResultRoute
from telephony.callbacks.store import CallbackStore

if TYPE_CHECKING:
    from telephony.service import KccService

log = logging.getLogger(__name__)


def astdb_namespace(dsn: str) -> str:
    """A short name of this service's database for its AstDB keys (``kcc_cb/<ns>-…``).

    Two KCC databases on one Asterisk (test and production, two municipalities' KCCs)
    must never read each other's call-back results: the id sequences overlap.
    """
    url = urlsplit(dsn)
    where = f"{url.hostname or ''}:{url.port or 5432}/{url.path.lstrip('/')}"
    return hashlib.sha256(where.encode()).hexdigest()[:10]


class CallbackService:
    def __init__(self, service: KccService) -> None:
        self.service = service
        self.cfg = service.config.callbacks
        self.store: CallbackStore | None = None
        self.dispatcher: Dispatcher | None = None
        self.policy = DestinationPolicy(self.cfg, on_refused=self._refused)
        self.result_route = CallbackResultRoute(self._record)
        self.namespace = ""

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

    def _refused(self, code: str, where: str) -> None:
        self.service.metrics.callback_refused.labels(code, where).inc()

    def start(self) -> None:
        s = self.service
        tz = s.config.kcc.timezone
        self.store = CallbackStore(s.pool)
        self.policy.pool = s.pool
        s.ivr.callback_route.policy = self.policy
        self.namespace = astdb_namespace(s.config.database_dsn())
        dialer = Dialer(self.cfg, s.link, s.acd, notify=notifier(s),
                        policy=self.policy, namespace=self.namespace)
        self.dispatcher = Dispatcher(
            self.cfg, self.store, dialer, instance=s.config.service.instance_id,
            free_agents=self.free_agents, earliest_caller=self.earliest_caller,
            live_linkedids=lambda: set(s.model.calls),
            is_open=lambda now: s.config.hours.is_open(now, tz),
            next_open=lambda at: s.config.hours.next_open(at, tz),
            ready=lambda: s.link.connected and s._resyncs >= 1,
            fetch_result=self.fetch_result, on_result=self._count,
            on_counts=s.stats.set_callbacks_waiting)
        self.dispatcher.on_agent_answered = self._agent_answered
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
        store = self.store
        assert store is not None
        call = self.service.model.calls.get(linkedid)
        subject = str(data.get("subject") or "")
        if window is not None:
            start, end = window

            async def scheduled(conn: Any, e164: str) -> int:
                return await store.create(kind="scheduled", queue=queue, number=e164,
                                          queued_at=start, due_at=start, window_end=end,
                                          subject=subject, linkedid=linkedid, ivr=data,
                                          created_by="ivr", conn=conn)

            cid = await self.policy.book(number, "ivr", scheduled)
        else:
            first = call.queued_at if call is not None and call.queued_at else time.time()
            queued_at = datetime.fromtimestamp(first, UTC)

            async def keep_place(conn: Any, e164: str) -> int:
                return await store.create(kind="virtual_hold", queue=queue, number=e164,
                                          queued_at=queued_at, due_at=datetime.now(UTC),
                                          subject=subject, linkedid=linkedid, ivr=data,
                                          created_by="ivr", conn=conn)

            cid = await self.policy.book(number, "ivr", keep_place)
        self.service.stats.left_for_callback(linkedid)
        return cid

    async def _agent_answered(self, claim: Any) -> None:
        """A call-back call is a contact too: its script and contactmoment start here
        (the agent was dialled first, so no queue's AgentConnect announces it)."""
        await self.service.scripting.start_call(
            call_id=linkedid_of(claim.id, claim.attempt), agent=claim.agent,
            subject=claim.subject or claim.queue, municipality=str(
                (claim.ivr or {}).get("municipality") or ""), queue=claim.queue,
            kanaal="terugbellen")

    async def stop(self) -> None:
        if self.dispatcher is not None:
            await self.dispatcher.stop()

    async def fetch_result(self, callback_id: int, attempt: int) -> tuple[str, str] | None:
        """The result the dialplan left in AstDB for an attempt whose AGI report was lost.

        The service cannot delete the key itself (DBDel needs AMI write class
        ``system``, which the service's user deliberately lacks, and ``DB_DELETE`` via
        Getvar is refused as a dangerous function): the dialplan deletes it when the AGI
        report arrives and at the start of the same attempt, and the key carries the
        database's namespace, so a stale key can never settle another attempt.
        Raises AmiUnavailable when AMI is down: "cannot ask" is not "no result", and
        settling the attempt as lost then could call the citizen a second time.
        """
        key = f"{self.namespace}-{callback_id}-{attempt}"
        # DBGet answers an event list when the key exists and an error otherwise, which
        # the list reader does not see as the end: hence the short timeout.
        try:
            reply = await self.service.link.action("DBGet", Family="kcc_cb", Key=key,
                                                   as_list=True, timeout=2)
        except AmiUnavailable:
            raise
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
