"""The AMI protocol wrapper, and the panoramisk faults it exists for."""

from __future__ import annotations

import asyncio

from panoramisk.ami_protocol import AMIProtocol

from telephony.ami.protocol import AmiSnapshot, FrameSplitter, KccAMIProtocol

NAME = "Zoë Şahin-Çelik Ğ"
FRAME = (f"Event: Newchannel\r\nChannel: PJSIP/trunk-00000001\r\nCallerIDNum: 0612345678\r\n"
         f"CallerIDName: {NAME}\r\nUniqueid: 1.1\r\nLinkedid: 1.1\r\n\r\n").encode()


class _Transport:
    def __init__(self) -> None:
        self.paused = False
        self.written = b""

    def write(self, data: bytes) -> None:
        self.written += data

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def close(self) -> None:
        pass


def _split_inside_multibyte(data: bytes) -> list[bytes]:
    cut = data.index("ë".encode()) + 1  # between the two bytes of ë
    return [data[:cut], data[cut:]]


def test_stock_panoramisk_loses_a_split_multibyte_character():
    """Documents the fault: panoramisk decodes each chunk with errors='ignore'."""
    events = []

    class Factory:
        def dispatch(self, message):
            events.append(message)

    proto = AMIProtocol()
    proto.connection_made(_Transport())
    proto.factory = Factory()
    proto.encoding = "utf8"
    proto.version = "x"
    for chunk in _split_inside_multibyte(FRAME):
        proto.data_received(chunk)
    assert events[0]["CallerIDName"] != NAME  # the ë is gone


def test_kcc_protocol_keeps_a_split_multibyte_character():
    items = []
    proto = KccAMIProtocol()
    proto.connection_made(_Transport())
    proto.event_sink = lambda m: items.append(m) or len(items)
    for chunk in _split_inside_multibyte(FRAME):
        proto.data_received(chunk)
    assert items[0]["CallerIDName"] == NAME


def test_frames_split_at_every_byte_boundary():
    stream = b"Asterisk Call Manager/9.0.0\r\n" + FRAME * 3
    for size in (1, 2, 3, 5, 7, 64):
        splitter = FrameSplitter()
        frames = []
        for i in range(0, len(stream), size):
            frames.extend(splitter.feed(stream[i:i + size]))
        assert len(frames) == 3, size
        assert all(NAME in f for f in frames)


def test_invalid_utf8_is_replaced_not_fatal():
    splitter = FrameSplitter()
    frames = splitter.feed(b"Event: X\r\nCallerIDName: \xff\xfeabc\r\n\r\n")
    assert frames == ["Event: X\r\nCallerIDName: \ufffd\ufffdabc"]


def test_large_frame_is_linear():
    """One 4 MB response in 4 KB chunks: scanning only new bytes keeps this fast."""
    splitter = FrameSplitter()
    body = ("Output: " + "x" * 100 + "\r\n") * 40_000
    data = (f"Response: Follows\r\n{body}\r\n").encode()
    frames = []
    for i in range(0, len(data), 4096):
        frames.extend(splitter.feed(data[i:i + 4096]))
    assert len(frames) == 1 and len(frames[0]) > 4_000_000


def test_backpressure_pauses_and_resumes_reading():
    transport = _Transport()
    proto = KccAMIProtocol()
    proto.high_water, proto.low_water = 3, 1
    proto.connection_made(transport)
    backlog: list = []
    proto.event_sink = lambda m: backlog.append(m) or len(backlog)
    proto.data_received(FRAME * 5)
    assert transport.paused
    backlog.clear()
    proto.resume_if_drained(len(backlog))
    assert not transport.paused


async def test_in_stream_response_lands_between_events_in_wire_order():
    items = []
    proto = KccAMIProtocol()
    proto.connection_made(_Transport())
    proto.event_sink = lambda m: items.append(m) or len(items)
    future = proto.send({"Action": "CoreShowChannels", "ActionID": "rs-1"}, as_list=True)
    proto.responses["rs-1"].in_stream = True
    proto.data_received(
        b"Event: Hangup\r\nUniqueid: 1.1\r\n\r\n"
        b"Response: Success\r\nActionID: rs-1\r\nEventList: start\r\n\r\n"
        b"Event: CoreShowChannel\r\nActionID: rs-1\r\nUniqueid: 2.2\r\n\r\n"
        b"Event: Newchannel\r\nUniqueid: 3.3\r\n\r\n"
        b"Event: CoreShowChannelsComplete\r\nActionID: rs-1\r\nEventList: Complete\r\n\r\n"
        b"Event: Hangup\r\nUniqueid: 2.2\r\n\r\n")
    await asyncio.sleep(0)
    assert future.done()
    kinds = [i.action if isinstance(i, AmiSnapshot) else i["Event"] for i in items]
    assert kinds == ["Hangup", "Newchannel", "CoreShowChannels", "Hangup"]


async def test_pending_actions_fail_when_connection_drops():
    proto = KccAMIProtocol()
    proto.connection_made(_Transport())
    future = proto.send({"Action": "Ping"})
    proto.connection_lost(None)
    assert isinstance(future.exception(), ConnectionError)
