"""ACD: agents' login, pause, wrap-up and skills, kept consistent with Asterisk.

Asterisk's app_queue rings agents; the service owns who is a member of which queue (from
skills), why an agent is paused, and wrap-up (nawerk). Truth is split on purpose:

* Asterisk says what *is* (member of which queue, ringing, in a call, paused) — the call
  model's AgentBook mirrors it, including pauses made in Asterisk itself;
* PostgreSQL says what the service *decided* (logged in, wrap-up until, pause reason),
  so that after a service restart wrap-up timers resume, and after an Asterisk restart
  logged-in agents are added back if Asterisk lost them. Asterisk itself keeps members
  (``persistentmembers = yes``, in its astdb, with pause and reason), so agents keep
  taking calls after an Asterisk restart while the service is down; when the service
  returns it adds nobody twice and removes members PostgreSQL says logged out.

Agent-facing states: logged_out, available, ringing, on_call, wrap_up, paused(reason).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from telephony.acd.agents_repo import AgentError, AgentRecord, AgentRepository
from telephony.ami.link import AmiError, AmiLink
from telephony.config import Config
from telephony.events import CallEnded, DomainEvent
from telephony.model.calls import CallModel

log = logging.getLogger(__name__)

WRAPUP_REASON = "nawerk"


async def _always(kind: str, key: str) -> bool:
    return True


def penalty(level: int) -> int:
    """Skill level 1..10 -> Asterisk penalty 9..0: the better-skilled are rung first."""
    return max(0, min(9, 10 - level))


class AcdService:
    def __init__(self, config: Config, link: AmiLink, model: CallModel,
                 repo: AgentRepository) -> None:
        self.config = config
        self.link = link
        self.model = model
        self.repo = repo
        self.queues = {q.id: q for q in config.queues}
        self._wrapup_tasks: dict[str, asyncio.Task[None]] = {}
        self.wrapup_until: dict[str, float] = {}
        # Called when nawerk ends without the agent (its time ran out): the call script
        # marks unregistered contactmomenten 'onvolledig'.
        self.on_nawerk_forced: Callable[[str], Awaitable[object]] | None = None
        # Set by the callbacks module: offered a paused agent who is about to become
        # available; True when it reserved them for an older callback (first come).
        self.hold_for_callback: Callable[[str], Awaitable[bool]] | None = None
        # Set by the service (telephony/live/cluster.py): True for exactly one instance
        # per (kind, key), so each nawerk is started and ended once however many
        # instances run. Alone, every claim is won.
        self.claim: Callable[[str, str], Awaitable[bool]] = _always

    async def _held(self, login: str) -> bool:
        if self.hold_for_callback is None:
            return False
        try:
            return await self.hold_for_callback(login)
        except Exception:
            log.exception("callback hold check failed for %s", login)
            return False

    # -- views -----------------------------------------------------------------------
    def state_of(self, login: str) -> dict[str, Any]:
        """The agent-facing state: Asterisk's view plus wrap-up, which only we know."""
        agent = self.model.agents.agents.get(login)
        if agent is None or not agent.memberships:
            return {"login": login, "state": "logged_out", "reason": "", "since": None,
                    "queues": {}}
        state, reason = agent.state, agent.reason
        if state == "paused" and reason == WRAPUP_REASON:
            state, reason = "wrap_up", ""
        out = {"login": login, "state": state, "reason": reason, "since": agent.since,
               "queues": {q: {"penalty": m.penalty, "paused": m.paused}
                          for q, m in agent.memberships.items()}}
        if state == "wrap_up" and login in self.wrapup_until:
            out["wrapup_until"] = self.wrapup_until[login]
        return out

    # -- agent actions -------------------------------------------------------------------
    async def _record(self, login: str) -> AgentRecord:
        record = await self.repo.get(login)
        if record is None or not record.active:
            raise AgentError("not_found", f"no active agent {login!r}")
        return record

    async def login(self, login: str) -> dict[str, Any]:
        record = await self._record(login)
        if not record.skills:
            raise AgentError("no_skills", f"agent {login} has no skills: no queue to join")
        for queue, level in record.skills.items():
            if queue not in self.queues:
                continue
            try:
                await self.link.action("QueueAdd", Queue=queue, Interface=record.endpoint,
                                       MemberName=login, Penalty=str(penalty(level)),
                                       Paused="false")
            except AmiError as exc:
                if "Already there" not in str(exc):
                    raise
        await self.repo.save_session(login, logged_in=True)
        # Return once Asterisk's QueueMemberAdded has reached the model, so that the
        # next request (pause, ...) sees the agent as logged in.
        for _ in range(40):
            if self.state_of(login)["state"] != "logged_out":
                break
            await asyncio.sleep(0.05)
        return self.state_of(login)

    async def logout(self, login: str) -> dict[str, Any]:
        record = await self._record(login)
        agent = self.model.agents.agents.get(login)
        queues = set(agent.memberships) if agent else set()
        queues |= set(record.skills)
        for queue in queues:
            # The phone on record and the one Asterisk has (they differ when the endpoint
            # was changed while the agent was logged in: that one must go too).
            member = agent.memberships.get(queue) if agent else None
            interfaces = {record.endpoint} | ({member.interface} if member else set())
            for interface in sorted(interfaces):
                with contextlib.suppress(AmiError):
                    await self.link.action("QueueRemove", Queue=queue, Interface=interface)
        self._cancel_wrapup(login)
        await self.repo.save_session(login, logged_in=False)
        return {"login": login, "state": "logged_out"}

    async def pause(self, login: str, reason: str) -> dict[str, Any]:
        if reason not in self.config.acd.pause_reasons:
            raise AgentError("bad_reason", "reason must be one of "
                             + ", ".join(self.config.acd.pause_reasons))
        record = await self._require_logged_in(login)
        self._cancel_wrapup(login)
        await self._set_paused(record, True, reason)
        await self.repo.save_session(login, logged_in=True, pause_reason=reason)
        return self.state_of(login)

    async def resume(self, login: str) -> dict[str, Any]:
        record = await self._require_logged_in(login)
        self._cancel_wrapup(login)
        # Before app_queue can offer them a waiting call: an older callback goes first.
        if not await self._held(login):
            await self._set_paused(record, False, "")
        await self.repo.save_session(login, logged_in=True)
        return self.state_of(login)

    async def end_wrapup(self, login: str) -> dict[str, Any]:
        """The agent is done with the paperwork early."""
        if self.state_of(login)["state"] != "wrap_up":
            raise AgentError("bad_transition", f"agent {login} is not in wrap-up")
        return await self.resume(login)

    async def set_skills(self, login: str, skills: dict[str, int]) -> dict[str, Any]:
        """Change skills; a logged-in agent's memberships change live."""
        record = await self._record(login)
        await self.repo.set_skills(login, skills)
        agent = self.model.agents.agents.get(login)
        if agent is not None and agent.memberships:
            for queue in set(agent.memberships) - set(skills):
                with contextlib.suppress(AmiError):
                    await self.link.action("QueueRemove", Queue=queue,
                                           Interface=record.endpoint)
            paused = any(m.paused for m in agent.memberships.values())
            for queue, level in skills.items():
                if queue in agent.memberships:
                    await self.link.action("QueuePenalty", Queue=queue,
                                           Interface=record.endpoint,
                                           Penalty=str(penalty(level)))
                else:
                    await self.link.action("QueueAdd", Queue=queue, Interface=record.endpoint,
                                           MemberName=login, Penalty=str(penalty(level)),
                                           Paused="true" if paused else "false")
        return {"login": login, "skills": skills, **self.state_of(login)}

    async def _require_logged_in(self, login: str) -> AgentRecord:
        record = await self._record(login)
        if self.state_of(login)["state"] == "logged_out":
            raise AgentError("bad_transition", f"agent {login} is not logged in")
        return record

    async def _set_paused(self, record: AgentRecord, paused: bool, reason: str) -> None:
        # Without Queue= the pause applies to the interface in every queue.
        fields = {"Interface": record.endpoint, "Paused": "true" if paused else "false"}
        if reason:
            fields["Reason"] = reason
        await self.link.action("QueuePause", **fields)

    async def reserve(self, login: str, reason: str) -> AgentRecord:
        """Hold a free agent for a callback: paused in Asterisk, so app_queue offers them
        no queue call while the service dials. Not saved as the agent's own pause: a
        reservation ends with its callback (``unreserve``), also after a restart."""
        record = await self._require_logged_in(login)
        await self._set_paused(record, True, reason)
        return record

    async def unreserve(self, login: str, reason: str) -> None:
        """End a callback reservation, unless the agent meanwhile chose another state."""
        state = self.state_of(login)
        if state["state"] == "paused" and state["reason"] not in ("", reason):
            return
        record = await self._record(login)
        if not await self._held(login):
            await self._set_paused(record, False, "")

    # -- wrap-up ---------------------------------------------------------------------
    async def on_event(self, event: DomainEvent) -> None:
        """Bus subscriber: start wrap-up when an answered queue call ends."""
        if not isinstance(event, CallEnded):
            return
        login = event.record.get("answered_by") or ""
        queue = self.queues.get(event.record.get("queue") or "")
        if not login or queue is None or queue.wrapup_seconds <= 0:
            return
        try:
            record = await self._record(login)
        except AgentError:
            return
        if self.state_of(login)["state"] in ("logged_out", "paused"):
            return  # logged out meanwhile, or took a real pause: do not override it
        # From the call's end as Asterisk stamped it: every instance computes the same.
        until = min(event.at, time.time()) + queue.wrapup_seconds
        key = f"{login}:{event.linkedid}"
        if not await self.claim("wrapup", key):
            # Another instance pauses the agent; this one shows the countdown and stands
            # by to end the nawerk on time should that instance die meanwhile.
            self._schedule_wrapup_end(login, until, key)
            return
        self.wrapup_until[login] = until  # visible before Asterisk reports the pause
        await self._set_paused(record, True, WRAPUP_REASON)
        await self.repo.save_session(login, logged_in=True, pause_reason=WRAPUP_REASON,
                                     wrapup_until=datetime.fromtimestamp(until, UTC))
        self._schedule_wrapup_end(login, until, key)

    def _schedule_wrapup_end(self, login: str, until: float, key: str = "") -> None:
        self._cancel_wrapup(login)
        self.wrapup_until[login] = until
        key = key or f"{login}:until:{until:.3f}"
        self._wrapup_tasks[login] = asyncio.create_task(
            self._wrapup_timer(login, until, key), name=f"wrapup-{login}")

    async def _wrapup_timer(self, login: str, until: float, key: str) -> None:
        await asyncio.sleep(max(0.0, until - time.time()))
        self._wrapup_tasks.pop(login, None)
        self.wrapup_until.pop(login, None)
        if self.state_of(login)["state"] == "wrap_up" and await self.claim("wrapup-end", key):
            try:
                if self.on_nawerk_forced is not None:
                    await self.on_nawerk_forced(login)
                await self.resume(login)
            except Exception:
                log.exception("could not end wrap-up of %s", login)

    def _cancel_wrapup(self, login: str) -> None:
        task = self._wrapup_tasks.pop(login, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        self.wrapup_until.pop(login, None)

    # -- after (re)connect -----------------------------------------------------------
    async def reconcile(self) -> None:
        """After a resync: bring Asterisk in line with what the service decided.

        * logged in per PostgreSQL but not a member (Asterisk restarted): add back,
          paused again if they were paused (same reason);
        * wrap-up that was running when the service stopped: resume its timer, or end it
          now if its time has passed.
        """
        sessions = await self.repo.sessions()
        for login, session in sessions.items():
            if not session["logged_in"]:
                agent = self.model.agents.agents.get(login)
                if agent is not None and agent.memberships:
                    # Persisted by Asterisk but logged out here (a logout while Asterisk
                    # was away): an agent who went home must not get calls.
                    try:
                        await self.logout(login)
                    except Exception:
                        log.exception("could not remove logged-out agent %s", login)
                continue
            try:
                await self._reconcile_one(login, session, time.time())
            except Exception:
                # One agent that cannot be restored must not keep the others from it.
                log.exception("could not restore agent %s", login)

    async def _reconcile_one(self, login: str, session: dict[str, Any], now: float) -> None:
        agent = self.model.agents.agents.get(login)
        if agent is None or not agent.memberships:
            await self.login(login)
            if session["pause_reason"] and session["pause_reason"] != WRAPUP_REASON:
                record = await self._record(login)
                await self._set_paused(record, True, session["pause_reason"])
        until = session["wrapup_until"]
        if until is not None and session["pause_reason"] == WRAPUP_REASON:
            if until.timestamp() > now:
                record = await self._record(login)
                self._schedule_wrapup_end(login, until.timestamp())
                await self._set_paused(record, True, WRAPUP_REASON)
            else:
                if self.on_nawerk_forced is not None:
                    await self.on_nawerk_forced(login)
                await self.resume(login)

    async def ensure_demo_agents(self, *, endpoint_template: str = "Local/{login}@kcc-test-agent",
                                 password_template: str = "demo-{login}") -> None:
        """Create the config's demo agents (demo and tests only)."""
        for agent in self.config.agents:
            skills = {q: agent.levels.get(q, 5) for q in agent.queues}
            await self.repo.upsert_demo(agent.login, agent.name,
                                        endpoint_template.format(login=agent.login), skills,
                                        password_template.format(login=agent.login),
                                        role=agent.role)

    async def stop(self) -> None:
        for task in list(self._wrapup_tasks.values()):
            task.cancel()
        self._wrapup_tasks.clear()
