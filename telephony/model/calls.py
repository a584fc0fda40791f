"""The live call model: AMI events in, domain events out, nothing else.

A *call* is everything sharing one Asterisk ``Linkedid``; its *legs* are channels
(``Uniqueid``). The model is pure (no I/O, no clock except the event's own ``Timestamp``
header, which ``timestampevents=yes`` in manager.conf provides), so it is unit-tested by
replaying AMI streams recorded from the real sandbox.

After every (re)connect the AMI link puts a ``CoreShowChannels`` and a ``QueueStatus``
snapshot into the stream; :meth:`CallModel.apply` marks and sweeps with them, which is how
calls that started, or ended, while the service was away end up right.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from telephony.ami.protocol import AmiSnapshot
from telephony.events import (
    CallAnswered,
    CallEnded,
    CallHoldChanged,
    CallOffered,
    CallQueued,
    CallRecordCorrected,
    CallStarted,
    CallTransferred,
    DomainEvent,
)
from telephony.model.agents import AgentBook

Event = Mapping[str, Any]
MAX_TEXT = 80
# Channel variable -> (Call attribute, longest value kept).
_CALL_VARS: dict[str, tuple[str, int]] = {
    "KCC_DIALLED": ("dialled", 32), "KCC_MUNICIPALITY": ("municipality", 40),
    "KCC_LANG": ("language", 8), "KCC_SUBJECT": ("subject", 40),
    "KCC_ZAAKNUMMER": ("zaaknummer", 40), "KCC_TRANSCRIPT": ("transcript", 200),
    "KCC_CALLBACK": ("callback", 20),
}


# A call ended without a cause this long before Asterisk's Shutdown event was cut by it.
SHUTDOWN_CUT_SECONDS = 3.0

def clean_text(value: object, limit: int = MAX_TEXT) -> str:
    """Caller ID and names are attacker-controlled: drop control characters, cap length.

    Letters of every script (ë, ş, ğ) pass unchanged; only categories C* are removed.
    """
    text = "" if value is None else str(value)
    if text in ("<unknown>", "<Unknown>"):
        return ""
    if not text.isprintable():  # printable = no category C* (nor Z* but the space)
        text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("C"))
    return text.strip()[:limit]


def chan_vars(event: Event) -> dict[str, str]:
    """``ChanVariable: NAME=value`` headers (manager.conf ``channelvars``) as a dict."""
    raw = event.get("ChanVariable")
    if raw is None:
        return {}
    items = raw if isinstance(raw, list) else [raw]
    out: dict[str, str] = {}
    for item in items:
        name, _, value = str(item).partition("=")
        out[name.strip()] = value
    return out


def _float(value: object, default: float = 0.0) -> float:
    try:
        return float(str(value))
    except (TypeError, ValueError):
        return default


def _duration(text: object) -> float:
    """``HH:MM:SS`` (CoreShowChannel Duration) to seconds."""
    match = re.fullmatch(r"(\d+):(\d\d):(\d\d)", str(text or ""))
    if not match:
        return 0.0
    h, m, s = (int(g) for g in match.groups())
    return h * 3600 + m * 60 + s


@dataclass
class Leg:
    uniqueid: str
    channel: str
    created_at: float
    context: str = ""
    exten: str = ""
    state: str = ""
    caller_number: str = ""
    caller_name: str = ""
    bridge: str = ""
    ended_at: float | None = None
    cause: str = ""
    cause_text: str = ""


@dataclass
class Call:
    linkedid: str
    started_at: float
    direction: str = "internal"
    caller_number: str = ""
    caller_name: str = ""
    caller_uniqueid: str = ""
    dialled: str = ""
    municipality: str = ""
    language: str = ""
    subject: str = ""
    zaaknummer: str = ""  # entered in the IVR (self-service), for the agent
    transcript: str = ""  # what speech recognition heard in the IVR
    callback: str = ""  # the caller asked for a call-back (IVR / queue key 1)
    queue: str = ""
    queues: list[str] = field(default_factory=list)
    queued_at: float | None = None
    offered: list[dict[str, Any]] = field(default_factory=list)
    answered_by: str = ""
    answered_at: float | None = None
    wait_seconds: float | None = None
    talk_seconds: float | None = None
    abandoned: bool = False
    transfers: list[dict[str, Any]] = field(default_factory=list)
    holds: list[list[float | None]] = field(default_factory=list)
    ended_at: float | None = None
    hangup_cause: str = ""
    hangup_cause_text: str = ""
    recovered: bool = False
    # Why the call ended, as far as anyone can tell: "" (the parties hung up), "system"
    # (cut by an Asterisk shutdown or restart), "unobserved" (its end was not seen: the
    # AMI link or the service was away). Neither of the last two is an abandon.
    end_reason: str = ""

    # Refusals reported by kcc-transfer, by attempt number (see _on_UserEvent).
    refusals: dict[int, str] = field(default_factory=dict)

    @property
    def transfer_count(self) -> int:
        """Transfers that happened (one the dialplan refused does not count)."""
        return sum(1 for t in self.transfers if not t.get("refused"))
    announced: bool = False  # CallStarted emitted
    legs: dict[str, Leg] = field(default_factory=dict)

    @property
    def live_legs(self) -> list[Leg]:
        return [leg for leg in self.legs.values() if leg.ended_at is None]

    @property
    def on_hold(self) -> bool:
        return bool(self.holds) and self.holds[-1][1] is None

    @property
    def hold_seconds(self) -> float:
        """Time on hold so far (an open hold counts up to its end, set at hangup)."""
        return round(sum(end - start for start, end in self.holds
                         if start is not None and end is not None), 3)

    def to_record(self) -> dict[str, Any]:
        """The call as stored (PostgreSQL) and published (Redis)."""
        return {
            "linkedid": self.linkedid,
            "direction": self.direction,
            "caller_number": self.caller_number,
            "caller_name": self.caller_name,
            "dialled": self.dialled,
            "municipality": self.municipality,
            "language": self.language,
            "subject": self.subject,
            "zaaknummer": self.zaaknummer,
            "transcript": self.transcript,
            "callback": self.callback,
            "queue": self.queue,
            "queues": list(self.queues),
            "started_at": self.started_at,
            "queued_at": self.queued_at,
            "answered_at": self.answered_at,
            "ended_at": self.ended_at,
            "wait_seconds": self.wait_seconds,
            "talk_seconds": self.talk_seconds,
            "offered": list(self.offered),
            "answered_by": self.answered_by,
            "abandoned": self.abandoned,
            "transfers": list(self.transfers),
            "holds": [list(h) for h in self.holds],
            "hold_seconds": self.hold_seconds,
            "hangup_cause": self.hangup_cause,
            "hangup_cause_text": self.hangup_cause_text,
            "recovered": self.recovered,
            "end_reason": self.end_reason,
            "legs": len(self.legs),
        }


class CallModel:
    """Calls and agents as Asterisk says they are; see module docstring."""

    def __init__(self, inbound_context: str = "kcc-inbound",
                 dialled_normaliser: Any = None, caller_normaliser: Any = None) -> None:
        self.inbound_context = inbound_context
        self._normalise = dialled_normaliser or (lambda digits: digits)
        # The caller's number as the call record keeps it (the service: E.164 or
        # "anonymous"); the raw caller ID stays on the leg.
        self._caller = caller_normaliser or (lambda raw: raw)
        self.calls: dict[str, Call] = {}
        self.leg_index: dict[str, str] = {}  # uniqueid -> linkedid
        self.agents = AgentBook()
        self.events_applied = 0
        self.snapshots_applied = 0
        # Calls ending now are cut by the PBX: set by a Shutdown event, or by FullyBooted
        # of an Asterisk younger than our gap in events; cleared after the next sweep.
        self.system_end = False
        self._last_at: float | None = None
        # Calls that ended with no cause just now: a Shutdown right after means Asterisk
        # cut them (it hangs channels up first and announces the shutdown after).
        self._recent_causeless: list[Call] = []
        # Event name -> bound handler, looked up once (apply runs per AMI event).
        self._handlers = {name[4:]: getattr(self, name)
                          for name in dir(self) if name.startswith("_on_")}

    @classmethod
    def wanted_events(cls) -> frozenset[str]:
        """AMI event names the model reads; the AMI link drops others before parsing."""
        own = {name[4:] for name in dir(cls) if name.startswith("_on_")}
        return frozenset(own) | AgentBook.EVENTS

    # -- entry point -----------------------------------------------------------------
    def apply(self, item: Event | AmiSnapshot, now: float | None = None) -> list[DomainEvent]:
        if isinstance(item, AmiSnapshot):
            self.snapshots_applied += 1
            return self._apply_snapshot(item, now if now is not None else time.time())
        self.events_applied += 1
        name = str(item.get("Event", ""))
        at = _float(item.get("Timestamp"), now if now is not None else time.time())
        handler = self._handlers.get(name)
        out: list[DomainEvent] = handler(item, at) if handler is not None else []
        if name in AgentBook.EVENTS:
            out.extend(self.agents.apply(name, item, at))
        self._last_at = at
        return out

    def _on_Shutdown(self, event: Event, at: float) -> list[DomainEvent]:
        self.system_end = True
        out: list[DomainEvent] = []
        for call in self._recent_causeless:
            if call.ended_at is not None and at - call.ended_at <= SHUTDOWN_CUT_SECONDS:
                call.end_reason = "system"
                call.abandoned = False
                out.append(CallRecordCorrected(linkedid=call.linkedid, at=at,
                                               record=call.to_record()))
        self._recent_causeless.clear()
        return out

    def _on_FullyBooted(self, event: Event, at: float) -> list[DomainEvent]:
        """Sent to every new AMI session. An Asterisk whose uptime is shorter than the
        time since the last event we saw restarted while we were away: the calls the
        coming resync sweeps were cut by it."""
        uptime = _float(event.get("Uptime"), -1.0)
        if self._last_at is not None and 0 <= uptime < at - self._last_at + 1.0:
            self.system_end = True
        return []

    # -- helpers ---------------------------------------------------------------------
    def call_for(self, event: Event) -> Call | None:
        linkedid = str(event.get("Linkedid") or "")
        if linkedid in self.calls:
            return self.calls[linkedid]
        return self.calls.get(self.leg_index.get(str(event.get("Uniqueid") or ""), ""))

    def _take_vars(self, call: Call, event: Event) -> None:
        """The ``KCC_*`` channel variables (manager.conf ``channelvars``) onto the call.

        Runs on most channel events, so it walks the raw ``NAME=value`` items once and
        skips the empty ones (most of them) without building a dict.
        """
        raw = event.get("ChanVariable")
        if not raw:
            return
        for item in raw if isinstance(raw, list) else (raw,):
            name, _, value = str(item).partition("=")
            if value:
                spec = _CALL_VARS.get(name.strip())
                if spec is not None:
                    setattr(call, spec[0], clean_text(value, spec[1]))

    def _is_caller_leg(self, call: Call, leg: Leg) -> bool:
        return leg.uniqueid == call.caller_uniqueid

    def _update_caller(self, call: Call, leg: Leg, event: Event) -> None:
        number = clean_text(event.get("CallerIDNum"), 40)
        name = clean_text(event.get("CallerIDName"))
        if number:
            leg.caller_number = number
        if name:
            leg.caller_name = name
        if self._is_caller_leg(call, leg):
            if leg.caller_number or not call.caller_number:
                call.caller_number = self._caller(leg.caller_number)
            call.caller_name = leg.caller_name or call.caller_name

    def _new_leg(self, event: Event, at: float) -> tuple[Call, Leg, list[DomainEvent]]:
        uniqueid = str(event.get("Uniqueid") or "")
        linkedid = str(event.get("Linkedid") or uniqueid)
        out: list[DomainEvent] = []
        call = self.calls.get(linkedid)
        is_new = call is None
        if call is None:
            call = Call(linkedid=linkedid, started_at=at)
            self.calls[linkedid] = call
        leg = Leg(uniqueid=uniqueid, channel=clean_text(event.get("Channel"), 200),
                  created_at=at, context=str(event.get("Context") or ""),
                  exten=clean_text(event.get("Exten"), 40),
                  state=str(event.get("ChannelStateDesc") or ""))
        call.legs[uniqueid] = leg
        self.leg_index[uniqueid] = linkedid
        if leg.context == self.inbound_context and not call.caller_uniqueid:
            call.caller_uniqueid = uniqueid
            call.direction = "inbound"
            if leg.exten and not call.dialled:
                call.dialled = self._normalise(leg.exten)
        self._update_caller(call, leg, event)
        self._take_vars(call, event)
        # A Local/...;1 half is always followed at once by its ;2 half, which tells
        # where the call goes; announce the call once that is known.
        local_first_half = leg.channel.startswith("Local/") and leg.channel.endswith(";1")
        if not call.announced and not (is_new and local_first_half):
            call.announced = True
            out.append(self._started(call, call.started_at))
        return call, leg, out

    def _started(self, call: Call, at: float) -> CallStarted:
        return CallStarted(linkedid=call.linkedid, at=at, caller_number=call.caller_number,
                           caller_name=call.caller_name, dialled=call.dialled,
                           direction=call.direction)

    def _leg_for(self, event: Event, at: float) -> tuple[Call, Leg, list[DomainEvent]] | None:
        uniqueid = str(event.get("Uniqueid") or "")
        if not uniqueid:
            return None
        linkedid = self.leg_index.get(uniqueid)
        if linkedid and uniqueid in self.calls[linkedid].legs:
            call = self.calls[linkedid]
            return call, call.legs[uniqueid], []
        # A leg we never saw created (service started mid-call): adopt it.
        return self._new_leg(event, at)

    # -- channel events --------------------------------------------------------------
    def _on_Newchannel(self, event: Event, at: float) -> list[DomainEvent]:
        uniqueid = str(event.get("Uniqueid") or "")
        if not uniqueid or uniqueid in self.leg_index:
            return []
        return self._new_leg(event, at)[2]

    def _on_Newstate(self, event: Event, at: float) -> list[DomainEvent]:
        found = self._leg_for(event, at)
        if not found:
            return []
        call, leg, out = found
        leg.state = str(event.get("ChannelStateDesc") or leg.state)
        self._update_caller(call, leg, event)
        self._take_vars(call, event)
        return out

    def _on_NewCallerid(self, event: Event, at: float) -> list[DomainEvent]:
        return self._on_Newstate(event, at)

    def _on_Newexten(self, event: Event, at: float) -> list[DomainEvent]:
        found = self._leg_for(event, at)
        if not found:
            return []
        call, leg, out = found
        self._take_vars(call, event)
        context = str(event.get("Context") or "")
        if context == self.inbound_context and not call.caller_uniqueid:
            call.caller_uniqueid = leg.uniqueid
            call.direction = "inbound"
            call.dialled = call.dialled or self._normalise(clean_text(event.get("Exten"), 40))
            self._update_caller(call, leg, event)
        return out

    def _on_VarSet(self, event: Event, at: float) -> list[DomainEvent]:
        call = self.call_for(event)
        if call is not None and str(event.get("Variable", "")).startswith("KCC_"):
            self._take_vars(call, {"ChanVariable": f"{event.get('Variable')}={event.get('Value')}"})
        return []

    def _on_BridgeEnter(self, event: Event, at: float) -> list[DomainEvent]:
        found = self._leg_for(event, at)
        if found:
            found[1].bridge = str(event.get("BridgeUniqueid") or "")
            return found[2]
        return []

    def _on_BridgeLeave(self, event: Event, at: float) -> list[DomainEvent]:
        found = self._leg_for(event, at)
        if found:
            found[1].bridge = ""
            return found[2]
        return []

    def _on_Hold(self, event: Event, at: float) -> list[DomainEvent]:
        call = self.call_for(event)
        if call is None or call.on_hold:
            return []
        call.holds.append([at, None])
        return [CallHoldChanged(linkedid=call.linkedid, at=at, on_hold=True,
                                channel=clean_text(event.get("Channel"), 200))]

    def _on_Unhold(self, event: Event, at: float) -> list[DomainEvent]:
        call = self.call_for(event)
        if call is None or not call.on_hold:
            return []
        call.holds[-1][1] = at
        return [CallHoldChanged(linkedid=call.linkedid, at=at, on_hold=False,
                                channel=clean_text(event.get("Channel"), 200))]

    def _on_Hangup(self, event: Event, at: float) -> list[DomainEvent]:
        uniqueid = str(event.get("Uniqueid") or "")
        linkedid = self.leg_index.get(uniqueid)
        if linkedid is None:
            return []
        call = self.calls[linkedid]
        leg = call.legs[uniqueid]
        # A variable set just before the end (KCC_CALLBACK: the caller took a call-back
        # in the queue) reaches us only as a ChanVariable of the Hangup itself.
        self._take_vars(call, event)
        leg.ended_at = at
        leg.cause = str(event.get("Cause") or "")
        leg.cause_text = clean_text(event.get("Cause-txt"))
        if self._is_caller_leg(call, leg) or not call.caller_uniqueid:
            call.hangup_cause = call.hangup_cause or leg.cause
            call.hangup_cause_text = call.hangup_cause_text or leg.cause_text
        return self._maybe_end(call, at)

    def _maybe_end(self, call: Call, at: float) -> list[DomainEvent]:
        if call.live_legs:
            return []
        call.ended_at = at
        if call.on_hold:
            call.holds[-1][1] = at
        if call.answered_at is not None and call.talk_seconds is None:
            call.talk_seconds = round(at - call.answered_at, 3)
        if self.system_end and not call.end_reason:
            call.end_reason = "system"
        if not call.end_reason and call.hangup_cause in ("", "0"):
            self._recent_causeless = [c for c in self._recent_causeless
                                      if c.ended_at and at - c.ended_at <= SHUTDOWN_CUT_SECONDS]
            self._recent_causeless.append(call)
        if call.queued_at is not None and call.answered_at is None:
            call.abandoned = not call.end_reason  # a cut call is not a caller giving up
            call.wait_seconds = round(at - call.queued_at, 3)
        del self.calls[call.linkedid]
        for uniqueid in call.legs:
            self.leg_index.pop(uniqueid, None)
        out: list[DomainEvent] = []
        if not call.announced:
            call.announced = True
            out.append(self._started(call, call.started_at))
        out.append(CallEnded(linkedid=call.linkedid, at=at, record=call.to_record()))
        out.extend(self.agents.call_ended(call.linkedid, at))
        return out

    # -- queue events ----------------------------------------------------------------
    def _on_QueueCallerJoin(self, event: Event, at: float) -> list[DomainEvent]:
        found = self._leg_for(event, at)
        if not found:
            return []
        call, leg, out = found
        if not call.caller_uniqueid:
            call.caller_uniqueid = leg.uniqueid
            call.direction = "inbound"
        self._update_caller(call, leg, event)
        self._take_vars(call, event)
        queue = clean_text(event.get("Queue"), 40)
        call.queue = queue
        call.queues.append(queue)
        if call.queued_at is None:
            call.queued_at = at
        out.append(CallQueued(linkedid=call.linkedid, at=at, queue=queue,
                              position=int(_float(event.get("Position"), 0))))
        return out

    def _on_QueueCallerAbandon(self, event: Event, at: float) -> list[DomainEvent]:
        call = self.call_for(event)
        if call is not None and call.answered_at is None:
            call.abandoned = True
            call.wait_seconds = _float(event.get("HoldTime"), 0.0)
        return []

    def _on_AgentCalled(self, event: Event, at: float) -> list[DomainEvent]:
        call = self.call_for(event)
        if call is None:
            return []
        agent = clean_text(event.get("MemberName"), 40)
        queue = clean_text(event.get("Queue"), 40)
        interface = clean_text(event.get("Interface"), 120)
        call.offered.append({"agent": agent, "queue": queue, "at": at})
        return [CallOffered(linkedid=call.linkedid, at=at, queue=queue, agent=agent,
                            interface=interface)]

    def _on_AgentConnect(self, event: Event, at: float) -> list[DomainEvent]:
        call = self.call_for(event)
        if call is None:
            return []
        call.answered_by = clean_text(event.get("MemberName"), 40)
        call.answered_at = at
        call.abandoned = False
        call.wait_seconds = _float(event.get("HoldTime"), 0.0)
        return [CallAnswered(linkedid=call.linkedid, at=at, queue=clean_text(event.get("Queue")),
                             agent=call.answered_by, wait_seconds=call.wait_seconds)]

    def _on_AgentComplete(self, event: Event, at: float) -> list[DomainEvent]:
        call = self.call_for(event)
        if call is not None:
            call.talk_seconds = _float(event.get("TalkTime"), 0.0)
        return []

    # -- transfers -------------------------------------------------------------------
    def _agent_of(self, channel: str) -> str:
        return self.agents.agent_for_channel(channel)

    def _on_BlindTransfer(self, event: Event, at: float) -> list[DomainEvent]:
        if str(event.get("Result", "Success")) != "Success":
            return []
        linkedid = str(event.get("TransfereeLinkedid") or event.get("TransfererLinkedid") or "")
        call = self.calls.get(linkedid)
        if call is None:
            return []
        by = self._agent_of(str(event.get("TransfererChannel") or ""))
        target = clean_text(f"{event.get('Extension', '')}@{event.get('Context', '')}", 80)
        call.transfers.append({"kind": "blind", "at": at, "by": by, "target": target})
        _mark_refused(call)
        return [CallTransferred(linkedid=call.linkedid, at=at, kind="blind", by_agent=by,
                                target=target, transfer_count=call.transfer_count)]

    def _on_AttendedTransfer(self, event: Event, at: float) -> list[DomainEvent]:
        if str(event.get("Result", "Success")) != "Success":
            return []
        linkedid = str(event.get("TransfereeLinkedid") or event.get("OrigTransfererLinkedid")
                       or "")
        call = self.calls.get(linkedid)
        if call is None:
            return []
        by = self._agent_of(str(event.get("OrigTransfererChannel") or ""))
        target = clean_text(event.get("TransferTargetChannel")
                            or event.get("SecondTransfererConnectedLineNum")
                            or event.get("DestApp") or "", 120)
        call.transfers.append({"kind": "attended", "at": at, "by": by, "target": target})
        return [CallTransferred(linkedid=call.linkedid, at=at, kind="attended", by_agent=by,
                                target=target, transfer_count=call.transfer_count)]

    def _on_UserEvent(self, event: Event, at: float) -> list[DomainEvent]:
        """``KccTransferRefused`` from the dialplan (kcc-transfer): that blind transfer
        went past [kcc] max_transfers or to an unknown target, so the citizen went back
        to the agent. It stays in the list, marked, and stops counting.

        ``Attempt`` numbers the transfers into kcc-transfer on the citizen's channel; the
        refusal may arrive before Asterisk's BlindTransfer event, so it is kept until the
        transfer it names is there."""
        if str(event.get("UserEvent") or "") != "KccTransferRefused":
            return []
        call = self.calls.get(str(event.get("Linkedid") or ""))
        attempt = str(event.get("Attempt") or "")
        if call is None or not attempt.isdigit():
            return []
        call.refusals[int(attempt)] = clean_text(event.get("Reason"), 20) or "limit"
        _mark_refused(call)
        return []

    # -- resync ----------------------------------------------------------------------
    def _apply_snapshot(self, snap: AmiSnapshot, now: float) -> list[DomainEvent]:
        if snap.action == "CoreShowChannels":
            return self._resync_channels(snap, now)
        if snap.action == "QueueStatus":
            return self._resync_queues(snap, now)
        return []

    def _resync_channels(self, snap: AmiSnapshot, now: float) -> list[DomainEvent]:
        out: list[DomainEvent] = []
        seen: set[str] = set()
        for msg in snap.messages:
            if msg.get("Event") != "CoreShowChannel":
                continue
            uniqueid = str(msg.get("Uniqueid") or "")
            if not uniqueid:
                continue
            seen.add(uniqueid)
            if uniqueid in self.leg_index:
                continue
            started = now - _duration(msg.get("Duration"))
            linkedid = str(msg.get("Linkedid") or uniqueid)
            existed = linkedid in self.calls
            call, leg, events = self._new_leg(msg, started)
            call.recovered = call.recovered or not existed
            call.started_at = min(call.started_at, started)
            leg.state = str(msg.get("ChannelStateDesc") or "")
            leg.bridge = str(msg.get("BridgeId") or "")
            if str(msg.get("Application")) == "Queue" and not call.caller_uniqueid:
                call.caller_uniqueid = uniqueid
                call.direction = "inbound"
                self._update_caller(call, leg, msg)
            out.extend(events)
        # Sweep: legs we believed alive that Asterisk no longer has ended while we were
        # away (or Asterisk restarted); close them so their calls get a final record.
        for call in list(self.calls.values()):
            for leg in call.live_legs:
                if leg.uniqueid not in seen:
                    leg.ended_at = now
                    leg.cause_text = leg.cause_text or "ended while the AMI link was down"
            if not call.live_legs:
                if not call.hangup_cause_text:
                    call.hangup_cause_text = "ended while the AMI link was down"
                if not self.system_end:
                    call.end_reason = "unobserved"
                out.extend(self._maybe_end(call, now))
        self.system_end = False
        return out

    def _resync_queues(self, snap: AmiSnapshot, now: float) -> list[DomainEvent]:
        out: list[DomainEvent] = []
        for msg in snap.messages:
            if msg.get("Event") != "QueueEntry":
                continue
            linkedid = self.leg_index.get(str(msg.get("Uniqueid") or ""))
            call = self.calls.get(linkedid or "")
            if call is None:
                continue
            queue = clean_text(msg.get("Queue"), 40)
            if call.queue != queue:
                call.queue = queue
                call.queues.append(queue)
                call.queued_at = call.queued_at or now - _float(msg.get("Wait"), 0.0)
                out.append(CallQueued(linkedid=call.linkedid, at=now, queue=queue,
                                      position=int(_float(msg.get("Position"), 0))))
        out.extend(self.agents.resync(snap.messages, now))
        return out


def _mark_refused(call: Call) -> None:
    """Mark the transfers into kcc-transfer that the dialplan refused."""
    attempts = [t for t in call.transfers if t["kind"] == "blind"
                and str(t["target"]).endswith("@kcc-transfer")]
    for number, item in enumerate(attempts, start=1):
        if number in call.refusals:
            item["refused"] = call.refusals[number]
