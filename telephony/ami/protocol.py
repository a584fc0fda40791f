"""AMI wire protocol: panoramisk's ``AMIProtocol`` with three shortcomings fixed.

panoramisk 1.4 (the newest release) has faults that matter for a KCC:

* It decodes every TCP chunk on its own with ``errors='ignore'``. A caller name such as
  "Zoë Şahin" whose multi-byte character is split across two chunks silently loses that
  character. We decode with an incremental UTF-8 decoder, so split characters survive.
* It re-splits the whole pending buffer on every chunk, which is quadratic for one large
  response (``QueueStatus`` on a big site). We only scan the new bytes for frame ends.
* Callbacks are dispatched with ``ensure_future`` (no order, no back-pressure). Here every
  event is handed, in wire order, to one synchronous sink; when the sink's backlog grows
  past a high-water mark the transport stops reading until the consumer catches up.

Response matching (``Action`` futures) stays panoramisk's: we reuse ``handle_message``.
``tests/unit/test_ami_protocol.py`` shows each fault against the stock class.
"""

from __future__ import annotations

import codecs
import logging
from collections.abc import Callable
from dataclasses import dataclass

from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

log = logging.getLogger(__name__)

FRAME_END = "\r\n\r\n"


@dataclass(frozen=True)
class AmiSnapshot:
    """The complete answer to a resync action (e.g. CoreShowChannels), in stream order."""

    action: str
    messages: list[Message]


class FrameSplitter:
    """Turn a byte stream into AMI frames (text between blank lines), linear time."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._parts: list[str] = []
        self._tail = ""  # up to 3 chars kept to find a separator split across chunks

    def feed(self, data: bytes) -> list[str]:
        text = self._decoder.decode(data)
        if not text:
            return []
        probe = self._tail + text
        if FRAME_END not in probe:
            self._parts.append(text)
            self._tail = probe[-3:]
            return []
        # A frame ends in this chunk: join once, split once.
        pending = "".join(self._parts) + text
        self._parts = []
        frames = pending.split(FRAME_END)
        rest = frames.pop()
        if rest:
            self._parts.append(rest)
        self._tail = rest[-3:]
        return frames


class KccAMIProtocol(AMIProtocol):
    """AMI protocol with ordered, back-pressured event delivery to ``event_sink``."""

    #: Called with each event ``Message`` in wire order; returns the sink's backlog size.
    event_sink: Callable[[Message | AmiSnapshot], int] | None = None
    #: Optional raw-bytes tap (fixture recording, debugging).
    tap: Callable[[bytes], None] | None = None
    high_water = 20_000
    low_water = 5_000

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._splitter = FrameSplitter()
        self._paused = False
        self.lost_waiter = None

    def data_received(self, data: bytes) -> None:
        if self.tap is not None:
            self.tap(data)
        for frame in self._splitter.feed(data):
            frame = frame.strip()
            if not frame:
                continue
            if self.version is None and frame.startswith("Asterisk Call Manager/"):
                first, _, frame = frame.partition("\r\n")
                self.version = first.partition("/")[2].strip()
                if not frame:
                    continue
            message = Message.from_line(frame)
            if message is None:
                continue
            self.handle_message(message)

    def handle_message(self, message: Message) -> None:
        response = self.responses.get(message.id)
        if response is None and message.action_id:
            response = self.responses.get(message.action_id)
        if response is not None:
            if response.add_message(message):
                self.responses.pop(response.id, None)
                if response.action_id:
                    self.responses.pop(response.action_id, None)
                if getattr(response, "in_stream", False) and self.event_sink is not None:
                    # A resync snapshot goes into the event stream at the exact place
                    # its last frame arrived, so no event is applied out of order with it.
                    self._deliver(AmiSnapshot(str(response["action"]), list(response.responses)))
            return
        if "event" in message and self.event_sink is not None:
            self._deliver(message)

    def _deliver(self, item: Message | AmiSnapshot) -> None:
        assert self.event_sink is not None
        backlog = self.event_sink(item)
        if backlog > self.high_water and not self._paused:
            self._paused = True
            self.transport.pause_reading()
            log.warning("AMI event backlog %d: pausing reads", backlog)

    def resume_if_drained(self, backlog: int) -> None:
        if self._paused and backlog < self.low_water:
            self._paused = False
            self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        for action in list(self.responses.values()):
            if not action.future.done():
                action.future.set_exception(ConnectionError("AMI connection lost"))
        self.responses.clear()
        if self.lost_waiter is not None and not self.lost_waiter.done():
            self.lost_waiter.set_result(exc)
