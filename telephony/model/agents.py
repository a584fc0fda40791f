"""Agent state as Asterisk's queue members show it.

An agent is a queue member whose ``MemberName`` is the agent's login (the service adds
members with that name). Asterisk is the truth for ringing/in-use/paused; the ACD
service (later) adds what Asterisk cannot know (wrap-up intent, pause reasons it set).
A pause done in Asterisk itself (CLI, another tool) shows up here the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from telephony.events import AgentStateChanged, DomainEvent

# Asterisk device states as QueueMemberStatus reports them.
DEVICE_STATES = {
    "0": "unknown", "1": "not_inuse", "2": "inuse", "3": "busy", "4": "invalid",
    "5": "unavailable", "6": "ringing", "7": "ringinuse", "8": "onhold",
}


def _int(value: object) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return 0


def derive_state(device: str, paused: bool) -> str:
    """One agent-facing state from Asterisk's device state and pause flag."""
    if device in ("ringing", "ringinuse"):
        return "ringing"
    if device in ("inuse", "busy", "onhold"):
        return "on_call"
    if paused:
        return "paused"
    if device in ("invalid", "unavailable"):
        return "unavailable"
    return "available"


@dataclass
class Membership:
    queue: str
    interface: str
    device: str = "unknown"
    paused: bool = False
    reason: str = ""
    penalty: int = 0
    calls_taken: int = 0


@dataclass
class Agent:
    login: str
    memberships: dict[str, Membership] = field(default_factory=dict)
    state: str = "logged_out"
    reason: str = ""
    since: float = 0.0
    ringing_for: str = ""  # linkedid of the call offered now (AgentCalled .. Connect)

    def to_dict(self) -> dict[str, Any]:
        return {"login": self.login, "state": self.state, "reason": self.reason,
                "since": self.since, "queues": sorted(self.memberships)}


class AgentBook:
    def __init__(self) -> None:
        self.agents: dict[str, Agent] = {}

    def agent_for_channel(self, channel: str) -> str:
        """The agent whose member interface placed ``channel`` (e.g. PJSIP/agent-anna-0001)."""
        base = channel.rsplit("-", 1)[0] if channel else ""
        for agent in self.agents.values():
            for m in agent.memberships.values():
                if base and (m.interface == base or m.interface.startswith(base + "@")
                             or base.startswith(m.interface)):
                    return agent.login
        return ""

    #: Every AMI event :meth:`apply` reads (the AMI link drops the rest unparsed).
    EVENTS = frozenset({
        "QueueMemberStatus", "QueueMemberAdded", "QueueMemberPause", "QueueMemberPenalty",
        "QueueMemberRinginuse", "AgentCalled", "AgentConnect", "AgentRingNoAnswer",
        "AgentDump", "AgentComplete", "QueueMemberRemoved"})
    _MEMBER = frozenset({"QueueMemberStatus", "QueueMemberAdded", "QueueMemberPause",
                         "QueueMemberPenalty", "QueueMemberRinginuse"})

    def apply(self, name: str, event: Mapping[str, Any], at: float) -> list[DomainEvent]:
        if name not in self.EVENTS:
            return []
        if name in self._MEMBER:
            return self._upsert(event, at, queue_key="Queue", name_key="MemberName",
                                iface_key="Interface")
        if name == "AgentCalled":
            agent = self.agents.get(str(event.get("MemberName") or ""))
            if agent is not None:
                agent.ringing_for = str(event.get("Linkedid") or "?")
                return self._recompute(agent, at, queue=str(event.get("Queue") or ""))
            return []
        if name in ("AgentConnect", "AgentRingNoAnswer", "AgentDump", "AgentComplete"):
            agent = self.agents.get(str(event.get("MemberName") or ""))
            if agent is not None and agent.ringing_for:
                agent.ringing_for = ""
                return self._recompute(agent, at, queue=str(event.get("Queue") or ""))
            return []
        if name == "QueueMemberRemoved":
            login = str(event.get("MemberName") or "")
            agent = self.agents.get(login)
            if agent is None:
                return []
            agent.memberships.pop(str(event.get("Queue") or ""), None)
            return self._recompute(agent, at, queue=str(event.get("Queue") or ""))
        return []

    def call_ended(self, linkedid: str, at: float) -> list[DomainEvent]:
        """A call that was ringing an agent is gone (caller hung up while it rang)."""
        out: list[DomainEvent] = []
        for agent in self.agents.values():
            if agent.ringing_for == linkedid:
                agent.ringing_for = ""
                out.extend(self._recompute(agent, at, queue=""))
        return out

    def resync(self, messages: Iterable[Mapping[str, Any]], at: float) -> list[DomainEvent]:
        """Mark and sweep memberships from a QueueStatus snapshot."""
        seen: set[tuple[str, str]] = set()
        out: list[DomainEvent] = []
        for msg in messages:
            if msg.get("Event") != "QueueMember":
                continue
            login = str(msg.get("Name") or msg.get("MemberName") or "")
            seen.add((login, str(msg.get("Queue") or "")))
            out.extend(self._upsert(msg, at, queue_key="Queue", name_key="Name",
                                    iface_key="Location"))
        for agent in list(self.agents.values()):
            stale = [q for q in agent.memberships if (agent.login, q) not in seen]
            for queue in stale:
                del agent.memberships[queue]
            if stale:
                out.extend(self._recompute(agent, at, queue=""))
        return out

    def _upsert(self, event: Mapping[str, Any], at: float, *, queue_key: str, name_key: str,
                iface_key: str) -> list[DomainEvent]:
        login = str(event.get(name_key) or event.get("MemberName") or "")[:40]
        queue = str(event.get(queue_key) or "")[:40]
        if not login or not queue:
            return []
        agent = self.agents.get(login)
        if agent is None:
            agent = self.agents[login] = Agent(login=login, since=at)
        interface = str(event.get(iface_key) or "")
        member = agent.memberships.get(queue)
        if member is None:
            member = agent.memberships[queue] = Membership(queue=queue, interface=interface)
        if interface:
            member.interface = interface
        if "Status" in event:
            member.device = DEVICE_STATES.get(str(event.get("Status")), "unknown")
        if "Paused" in event:
            member.paused = str(event.get("Paused")) in ("1", "true", "yes")
            member.reason = str(event.get("PausedReason") or event.get("Reason") or "")[:60]
        if "Penalty" in event:
            member.penalty = _int(event.get("Penalty"))
        if "CallsTaken" in event:
            member.calls_taken = _int(event.get("CallsTaken"))
        return self._recompute(agent, at, queue=queue)

    def _recompute(self, agent: Agent, at: float, queue: str) -> list[DomainEvent]:
        if not agent.memberships:
            state, reason = "logged_out", ""
        else:
            # Busy anywhere is busy everywhere; paused only when paused in every queue.
            members = list(agent.memberships.values())
            states = [derive_state(m.device, m.paused) for m in members]
            if agent.ringing_for:
                states.append("ringing")
            priority = ["ringing", "on_call", "available", "paused", "unavailable"]
            state = next(s for s in priority if s in states)
            if state == "available" and all(m.paused for m in members):
                state = "paused"
            reason = next((m.reason for m in members if m.paused and m.reason), "")
            if state != "paused":
                reason = ""
        if (state, reason) == (agent.state, agent.reason):
            return []
        agent.state, agent.reason, agent.since = state, reason, at
        return [AgentStateChanged(linkedid="", at=at, agent=agent.login, queue=queue,
                                  state=state, paused=state == "paused", reason=reason)]
