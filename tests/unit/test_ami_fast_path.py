"""The AMI hot path: lazy events, events dropped unparsed, same model outcome as panoramisk.

Focused unit tests (no I/O); the recorded sandbox streams are the input.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from panoramisk.message import Message

from telephony.ami.protocol import AmiEvent, AmiSnapshot, KccAMIProtocol, parse_event
from telephony.model.calls import CallModel

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ami"


class _Transport:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


def _proto(wanted: set[str] | None = None) -> tuple[KccAMIProtocol, list]:
    items: list = []
    proto = KccAMIProtocol()
    proto.connection_made(_Transport())
    proto.event_sink = lambda m: items.append(m) or len(items)
    proto.want(wanted)
    return proto, items


def test_event_reads_headers_lists_and_any_case() -> None:
    event = parse_event("Event: Newstate\r\nUniqueid: 1.2\r\nChanVariable: KCC_LANG=nl\r\n"
                        "CallerIDName: a: b\r\nChanVariable: KCC_SUBJECT=\r\nno colon")
    assert event.get("Event") == "Newstate" and event.get("CallerIDName") == "a: b"
    assert event.get("ChanVariable") == ["KCC_LANG=nl", "KCC_SUBJECT="]
    assert event["uniqueid"] == "1.2" and "Uniqueid" in event and "Nope" not in event
    assert event.get("Nope", 7) == 7
    assert dict(event) == {"Event": "Newstate", "Uniqueid": "1.2", "CallerIDName": "a: b",
                           "ChanVariable": ["KCC_LANG=nl", "KCC_SUBJECT="]}
    with pytest.raises(KeyError):
        event["Linkedid"]


def test_a_value_cannot_forge_a_header() -> None:
    """Caller ID is attacker-controlled; a bare LF inside it is not a line end."""
    event = parse_event("Event: Newchannel\r\nCallerIDName: x\nUniqueid: evil\r\n"
                        "Uniqueid: 1.1")
    assert event.get("Uniqueid") == "1.1"


async def test_unwanted_events_are_dropped_answers_never() -> None:
    proto, items = _proto({"Hangup"})
    future = proto.send({"Action": "CoreShowChannels", "ActionID": "rs-1"}, as_list=True)
    proto.responses["rs-1"].in_stream = True
    proto.data_received(
        b"Event: DialBegin\r\nUniqueid: 1.1\r\n\r\n"
        b"Event: Hangup\r\nUniqueid: 1.1\r\n\r\n"
        b"Response: Success\r\nActionID: rs-1\r\nEventList: start\r\n\r\n"
        b"Event: CoreShowChannel\r\nActionID: rs-1\r\nUniqueid: 2.2\r\n\r\n"
        b"Event: CoreShowChannelsComplete\r\nActionID: rs-1\r\nEventList: Complete\r\n\r\n")
    assert future.done()
    assert [type(i) for i in items] == [AmiEvent, AmiSnapshot]
    assert items[0].get("Event") == "Hangup"
    assert items[1].messages[1]["Uniqueid"] == "2.2"


def _domain(items) -> list[tuple]:
    model = CallModel()
    out = []
    for item in items:
        out.extend((e.name, e.linkedid, getattr(e, "agent", ""), getattr(e, "state", ""))
                   for e in model.apply(item, now=0.0))
    return out


@pytest.mark.parametrize("fixture", sorted(p.stem for p in FIXTURES.glob("*.ami")))
def test_fast_path_gives_the_model_what_panoramisk_messages_give(fixture: str) -> None:
    """Same domain events, and equal call records, whether the model reads lazy events
    filtered to what it wants or panoramisk's full ``Message`` of every frame."""
    data = (FIXTURES / f"{fixture}.ami").read_bytes()
    proto, fast = _proto(set(CallModel.wanted_events()))
    for i in range(0, len(data), 997):
        proto.data_received(data[i:i + 997])
    frames = data.decode("utf-8").split("\r\n\r\n")
    slow = [Message.from_line(f.strip()) for f in frames
            if f.strip().startswith("Event:") and "ActionID:" not in f]
    fast_events = [i for i in fast if not isinstance(i, AmiSnapshot)]
    assert len(fast_events) < len(slow)  # something was dropped unparsed
    assert _domain(fast_events) == _domain(slow) != []
