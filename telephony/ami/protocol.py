"""AMI wire protocol: panoramisk's ``AMIProtocol`` with three shortcomings fixed.

panoramisk 1.4 (the newest release) has faults that matter for a KCC:

* It decodes every TCP chunk on its own with ``errors='ignore'``. A caller name such as
  "Zoë Şahin" whose multi-byte character is split across two chunks silently loses that
  character. We split the *bytes* into frames first and decode each whole frame, so
  split characters survive.
* It re-splits the whole pending buffer on every chunk, which is quadratic for one large
  response (``QueueStatus`` on a big site). We only scan the new bytes for frame ends.
* Callbacks are dispatched with ``ensure_future`` (no order, no back-pressure). Here every
  event is handed, in wire order, to one synchronous sink; when the sink's backlog grows
  past a high-water mark the transport stops reading until the consumer catches up.

The hot path is lighter than panoramisk's too (``scripts/bench_ami.py``): frames are cut
from *bytes* (``\r\n\r\n`` is ASCII, so a frame is always whole UTF-8 and decodes on its
own), an unsolicited event the consumer did not ask for (``wanted_events``) is dropped
after reading its first line, before anything is decoded or built, and a wanted one
becomes an :class:`AmiEvent` that finds the few headers the model reads in the frame's
text instead of panoramisk's ``CaseInsensitiveDict`` of every header, whose every
``get`` lower-cases the key through Python code.

Response matching (``Action`` futures) stays panoramisk's: we reuse ``handle_message``.
``tests/unit/test_ami_protocol.py`` shows each fault against the stock class.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

log = logging.getLogger(__name__)

FRAME_END = "\r\n\r\n"
FRAME_END_B = b"\r\n\r\n"
_EVENT_PREFIX = b"Event: "


class AmiEvent(Mapping[str, Any]):
    """An unsolicited AMI event, read lazily from its frame's text.

    The model reads about ten of an event's twenty-odd headers, so ``get`` finds
    ``\\r\\nName: `` in the text (one C-level search) instead of splitting every line
    into a dict first. ``*ChanVariable`` headers (one per manager.conf channelvars
    entry) are collected by repeated searches into a list, as in panoramisk's
    ``Message``; Asterisk repeats no other header in an event, and if one did ``get``
    would answer its first value (a string, as the model expects). ``get`` and ``in``
    use Asterisk's spelling of a name; ``[]``, iteration and ``len`` parse the whole
    frame when needed (:func:`parse_headers`), so ``event["uniqueid"]`` still works.
    Header names are matched at a line start after ``\\r\\n``, which a value cannot
    contain (it would have ended the line), so a caller name cannot forge a header.
    """

    __slots__ = ("_all", "_text")

    def __init__(self, text: str) -> None:
        self._text = "\r\n" + text + "\r\n"
        self._all: dict[str, Any] | None = None

    def get(self, key: str, default: Any = None) -> Any:
        text = self._text
        at = text.find("\r\n" + key + ": ")
        if at < 0:
            return default
        if not key.endswith("ChanVariable"):
            at += len(key) + 4
            return text[at:text.find("\r\n", at)]
        needle = "\r\n" + key + ": "
        size = len(needle)
        end = text.find("\r\n", at + size)
        values = [text[at + size:end]]
        again = text.find(needle, end)
        while again >= 0:
            end = text.find("\r\n", again + size)
            values.append(text[again + size:end])
            again = text.find(needle, end)
        return values

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key, _MISSING) is not _MISSING

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _MISSING)
        if value is not _MISSING:
            return value
        lower = key.lower()
        for name, value in self._parsed().items():
            if name.lower() == lower:
                return value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._parsed())

    def __len__(self) -> int:
        return len(self._parsed())

    def __repr__(self) -> str:
        return f"AmiEvent({self._parsed()!r})"

    def _parsed(self) -> dict[str, Any]:
        if self._all is None:
            self._all = parse_headers(self._text[2:-2])
        return self._all


_MISSING = object()


def parse_headers(text: str) -> dict[str, Any]:
    """``Name: value`` lines of one frame; a repeated name keeps all values, in order."""
    out: dict[str, Any] = {}
    for line in text.split("\r\n"):
        name, sep, value = line.partition(": ")
        if not sep:
            continue
        old = out.get(name)
        if old is None:
            out[name] = value
        elif isinstance(old, list):
            old.append(value)
        else:
            out[name] = [old, value]
    return out


def parse_event(text: str) -> AmiEvent:
    """One event frame's text (known to start with ``Event:``) as an :class:`AmiEvent`."""
    return AmiEvent(text)


@dataclass(frozen=True)
class AmiSnapshot:
    """The complete answer to a resync action (e.g. CoreShowChannels), in stream order."""

    action: str
    messages: list[Message]


class FrameSplitter:
    """Turn a byte stream into AMI frames (bytes between blank lines), linear time.

    Only new bytes (plus the 3 before them) are scanned for a frame end; a large response
    arriving in many chunks is joined once. Frames stay bytes until the protocol knows it
    wants them; :meth:`feed` decodes them all (tests, tools).
    """

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._tail = b""  # up to 3 bytes kept to find a separator split across chunks

    def feed_bytes(self, data: bytes) -> list[bytes]:
        if not data:
            return []
        if FRAME_END_B not in (self._tail + data[:3]) and FRAME_END_B not in data:
            self._parts.append(data)
            self._tail = (self._tail + data)[-3:]
            return []
        # A frame ends in this chunk: join once, split once.
        if self._parts:
            self._parts.append(data)
            pending = b"".join(self._parts)
            self._parts = []
        else:
            pending = data
        frames = pending.split(FRAME_END_B)
        rest = frames.pop()
        if rest:
            self._parts.append(rest)
        self._tail = rest[-3:]
        return frames

    def feed(self, data: bytes) -> list[str]:
        return [f.decode("utf-8", "replace") for f in self.feed_bytes(data)]


class KccAMIProtocol(AMIProtocol):
    """AMI protocol with ordered, back-pressured event delivery to ``event_sink``."""

    #: Called with each event ``Message`` in wire order; returns the sink's backlog size.
    event_sink: Callable[[Message | AmiEvent | AmiSnapshot], int] | None = None
    #: Optional raw-bytes tap (fixture recording, debugging).
    tap: Callable[[bytes], None] | None = None
    #: Event names the consumer handles; others are dropped unparsed. None: all.
    #: Events answering an action (they carry an ActionID) are never dropped.
    wanted_events: frozenset[str] | None = None
    _wanted_bytes: frozenset[bytes] | None = None
    high_water = 20_000
    low_water = 5_000

    def want(self, names: frozenset[str] | set[str] | None) -> None:
        """Deliver only these unsolicited events (None: all); see the module docstring."""
        self.wanted_events = None if names is None else frozenset(names)
        self._wanted_bytes = (None if names is None
                              else frozenset(n.encode("ascii") for n in names))

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._splitter = FrameSplitter()
        self._paused = False
        self.lost_waiter = None

    def data_received(self, data: bytes) -> None:
        if self.tap is not None:
            self.tap(data)
        wanted = self._wanted_bytes
        sink = self.event_sink
        for raw in self._splitter.feed_bytes(data):
            if raw.startswith(_EVENT_PREFIX) and sink is not None and (
                    b"ActionID: " not in raw):
                # The common case: an unsolicited event. Decide on its name first.
                if wanted is not None:
                    end = raw.find(b"\r\n")
                    if raw[7:end if end >= 0 else None] not in wanted:
                        continue
                self._deliver(parse_event(raw.decode("utf-8", "replace")))
                continue
            frame = raw.decode("utf-8", "replace").strip()
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

    def _deliver(self, item: Message | AmiEvent | AmiSnapshot) -> None:
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
