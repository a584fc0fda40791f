"""The call model, fed with AMI streams recorded from the real sandbox Asterisk.

Fixtures: tests/fixtures/ami/*.ami, raw bytes as Asterisk sent them; re-record with
``scripts/record_ami_fixtures.py``. They are replayed through the same protocol class the
service uses, in 1-byte to 4 KiB chunks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from telephony.ami.protocol import AmiSnapshot, KccAMIProtocol
from telephony.events import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallQueued,
    CallStarted,
    CallTransferred,
    DomainEvent,
)
from telephony.model.calls import CallModel, clean_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ami"
CALLER = "Zoë Şahin-Çelik"


class _Transport:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


def replay(name: str, chunk: int = 4096, model: CallModel | None = None,
           ) -> tuple[CallModel, list[DomainEvent]]:
    model = model or CallModel(dialled_normaliser=lambda d: "+31" + d if d.startswith("14")
                               else d)
    out: list[DomainEvent] = []
    proto = KccAMIProtocol()
    proto.connection_made(_Transport())

    def sink(item):
        out.extend(model.apply(item))
        return 0

    proto.event_sink = sink
    data = (FIXTURES / f"{name}.ami").read_bytes()
    for i in range(0, len(data), chunk):
        proto.data_received(data[i:i + chunk])
    return model, out


def of(events, kind):
    return [e for e in events if isinstance(e, kind)]


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_answered_call(chunk):
    model, events = replay("answered", chunk)
    (ended,) = [e for e in of(events, CallEnded) if e.record["direction"] == "inbound"]
    record = ended.record
    assert record["caller_name"] == CALLER, "UTF-8 name must survive any chunking"
    assert record["caller_number"] == "0612345678"
    assert record["dialled"] == "+31140180"
    assert record["queue"] == "algemeen" and record["queues"] == ["algemeen"]
    assert record["answered_by"] == "anna" and not record["abandoned"]
    assert [o["agent"] for o in record["offered"]] == ["anna"]
    assert record["wait_seconds"] is not None and record["wait_seconds"] < 5
    assert record["talk_seconds"] is not None and record["talk_seconds"] > 2
    assert record["started_at"] <= record["queued_at"] <= record["answered_at"] \
        <= record["ended_at"]
    linkedid = record["linkedid"]
    names = [e.name for e in events if e.linkedid == linkedid]
    assert names.index("call.started") < names.index("call.queued") \
        < names.index("call.offered") < names.index("call.answered") \
        < names.index("call.ended")
    assert names.count("call.started") == 1 and names.count("call.ended") == 1
    assert not model.calls, "every call ended"


def test_answered_call_agent_states():
    _, events = replay("answered")
    states = [e.state for e in of(events, AgentStateChanged) if e.agent == "anna"]
    assert states[0] == "available"
    assert "ringing" in states and "on_call" in states
    assert states[-1] == "logged_out"  # removed from the queue at the end


def test_abandoned_call():
    _, events = replay("abandoned")
    (ended,) = [e for e in of(events, CallEnded) if e.record["direction"] == "inbound"]
    record = ended.record
    assert record["abandoned"] and record["answered_by"] == ""
    assert record["dialled"] == "+31140182"
    assert record["municipality"] in ("", "gouda")
    assert record["wait_seconds"] and record["wait_seconds"] > 1
    assert not of(events, CallAnswered) and not of(events, CallOffered)
    assert of(events, CallQueued)[0].queue == "algemeen"


def test_paused_agent_gets_no_call_and_pause_reason_shows():
    _, events = replay("paused_agent")
    assert not of(events, CallOffered), "a paused agent must not be offered a call"
    paused = [e for e in of(events, AgentStateChanged) if e.agent == "mehmet"
              and e.state == "paused"]
    assert paused and paused[0].reason == "overleg"
    states = [e.state for e in of(events, AgentStateChanged) if e.agent == "mehmet"]
    assert "available" in states[states.index("paused"):], "resume shows"


def test_every_fixture_ends_every_call_it_starts():
    for path in sorted(FIXTURES.glob("*.ami")):
        model, events = replay(path.stem)
        started = {e.linkedid for e in of(events, CallStarted)}
        ended = {e.linkedid for e in of(events, CallEnded)}
        assert started == ended, path.name
        assert not model.calls and not model.leg_index, path.name


def test_resync_sweeps_calls_that_vanished_and_adopts_new_ones():
    model = CallModel()
    # Pretend a call is up, then a snapshot arrives that no longer has it.
    model.apply({"Event": "Newchannel", "Uniqueid": "9.1", "Linkedid": "9.1",
                 "Channel": "PJSIP/trunk-0001", "Context": "kcc-inbound", "Exten": "140180",
                 "CallerIDNum": "0611111111", "CallerIDName": "Ghost", "Timestamp": "100.0"})
    assert "9.1" in model.calls
    snapshot = AmiSnapshot("CoreShowChannels", [
        {"Response": "Success", "EventList": "start"},
        {"Event": "CoreShowChannel", "Uniqueid": "8.1", "Linkedid": "8.1",
         "Channel": "PJSIP/trunk-0002", "Context": "kcc-inbound", "Exten": "140182",
         "CallerIDNum": "0622222222", "CallerIDName": "Nieuw", "Duration": "00:01:05",
         "Application": "Queue", "ChannelStateDesc": "Up"},
        {"Event": "CoreShowChannelsComplete", "EventList": "Complete"}])
    events = model.apply(snapshot, now=1000.0)
    ended = of(events, CallEnded)
    assert [e.linkedid for e in ended] == ["9.1"]
    assert "AMI link was down" in ended[0].record["hangup_cause_text"]
    adopted = model.calls["8.1"]
    assert adopted.recovered and adopted.direction == "inbound"
    assert adopted.started_at == 1000.0 - 65 and adopted.caller_name == "Nieuw"
    assert [e.linkedid for e in of(events, CallStarted)] == ["8.1"]


def test_blind_and_attended_transfer_are_counted():
    model = CallModel()
    base = {"Linkedid": "1.1", "Context": "kcc-inbound", "Exten": "140180"}
    model.apply({"Event": "Newchannel", "Uniqueid": "1.1", "Channel": "PJSIP/trunk-1", **base,
                 "Timestamp": "1"})
    events = model.apply({"Event": "BlindTransfer", "Result": "Success",
                          "TransfereeLinkedid": "1.1", "TransfererChannel": "PJSIP/agent-x-1",
                          "Extension": "200", "Context": "kcc-agents", "Timestamp": "5"})
    events += model.apply({"Event": "AttendedTransfer", "Result": "Success",
                           "TransfereeLinkedid": "1.1", "OrigTransfererChannel": "PJSIP/a-2",
                           "TransferTargetChannel": "PJSIP/agent-y-3", "Timestamp": "9"})
    transfers = of(events, CallTransferred)
    assert [(t.kind, t.transfer_count) for t in transfers] == [("blind", 1), ("attended", 2)]
    assert model.calls["1.1"].transfers[0]["target"] == "200@kcc-agents"


@pytest.mark.parametrize("refusal_first", [False, True])
def test_transfer_refused_by_the_dialplan_stops_counting(refusal_first: bool):
    """kcc-transfer's UserEvent names the attempt it refused; Asterisk may publish it
    before or after the BlindTransfer event, and it must mark that transfer either way."""
    model = CallModel()
    model.apply({"Event": "Newchannel", "Uniqueid": "1.1", "Channel": "PJSIP/trunk-1",
                 "Linkedid": "1.1", "Context": "kcc-inbound", "Exten": "140180",
                 "Timestamp": "1"})

    def transfer(exten: str, at: str) -> None:
        model.apply({"Event": "BlindTransfer", "Result": "Success",
                     "TransfereeLinkedid": "1.1", "TransfererChannel": "PJSIP/agent-x-1",
                     "Extension": exten, "Context": "kcc-transfer", "Timestamp": at})

    def refused(attempt: str, reason: str) -> None:
        model.apply({"Event": "UserEvent", "UserEvent": "KccTransferRefused",
                     "Linkedid": "1.1", "Reason": reason, "Attempt": attempt,
                     "Timestamp": "9"})

    transfer("burgerzaken", "5")
    if refusal_first:
        refused("2", "limit")
        transfer("algemeen", "8")
    else:
        transfer("algemeen", "8")
        refused("2", "limit")
    call = model.calls["1.1"]
    assert [t.get("refused", "") for t in call.transfers] == ["", "limit"]
    assert call.transfer_count == 1
    refused("x", "limit")  # malformed: ignored
    model.apply({"Event": "UserEvent", "UserEvent": "Other", "Linkedid": "1.1",
                 "Timestamp": "9"})
    assert call.transfer_count == 1


def test_hold_intervals():
    model = CallModel()
    model.apply({"Event": "Newchannel", "Uniqueid": "1.1", "Linkedid": "1.1",
                 "Channel": "PJSIP/trunk-1", "Timestamp": "1"})
    model.apply({"Event": "Hold", "Uniqueid": "1.1", "Linkedid": "1.1", "Timestamp": "2"})
    model.apply({"Event": "Hold", "Uniqueid": "1.1", "Linkedid": "1.1", "Timestamp": "3"})
    model.apply({"Event": "Unhold", "Uniqueid": "1.1", "Linkedid": "1.1", "Timestamp": "4"})
    (ended,) = model.apply({"Event": "Hangup", "Uniqueid": "1.1", "Linkedid": "1.1",
                            "Cause": "16", "Cause-txt": "Normal Clearing", "Timestamp": "6"})
    assert ended.record["holds"] == [[2.0, 4.0]]
    assert ended.record["hold_seconds"] == 2.0
    assert ended.record["hangup_cause"] == "16"


def test_hold_open_at_hangup_counts_until_the_end():
    model = CallModel()
    model.apply({"Event": "Newchannel", "Uniqueid": "1.1", "Linkedid": "1.1",
                 "Channel": "PJSIP/trunk-1", "Timestamp": "1"})
    model.apply({"Event": "Hold", "Uniqueid": "1.1", "Linkedid": "1.1", "Timestamp": "2"})
    (ended,) = model.apply({"Event": "Hangup", "Uniqueid": "1.1", "Linkedid": "1.1",
                            "Cause": "16", "Timestamp": "7.5"})
    assert ended.record["hold_seconds"] == 5.5


@pytest.mark.parametrize("raw,clean", [
    ("Zoë Şahin", "Zoë Şahin"), ("a\x00b\x1bc\u202ed", "abcd"), ("<unknown>", ""),
    ("x" * 500, "x" * 80), (None, ""), ("  Jan  ", "Jan"),
])
def test_clean_text(raw, clean):
    assert clean_text(raw) == clean


def test_garbage_events_do_not_raise():
    model = CallModel()
    for event in [{}, {"Event": "Hangup"}, {"Event": "Newchannel"},
                  {"Event": "AgentConnect", "Linkedid": "nope"},
                  {"Event": "QueueCallerJoin", "Uniqueid": "5.5", "Position": "x"},
                  {"Event": "QueueMemberStatus", "Queue": "q", "MemberName": "m",
                   "Status": "99", "Paused": "maybe", "Penalty": "x"}]:
        try:
            model.apply(event, now=1.0)
        except ValueError:
            pytest.fail(f"model raised on {event}")
