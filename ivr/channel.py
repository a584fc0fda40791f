"""The IVR's view of one call: play, listen for keys, record, set variables — over FastAGI.

The flow logic talks to this small interface instead of raw AGI strings, so it can be
unit-tested with a scripted fake and so every AGI quirk is handled in one place:

* A digit pressed *during* a prompt interrupts it (``STREAM FILE`` with escape digits)
  and counts as the answer: callers who know the menu should not have to wait.
* ``result=-1`` and ``HANGUP`` mean the caller is gone: :class:`AgiHangup` ends the
  session wherever it is, and the route records what happened so far.
* Keys and recordings are attacker-controlled: only the characters a keypad can send
  are ever returned, and lengths are capped.
"""

from __future__ import annotations

import time
from typing import Protocol

from panoramisk.fast_agi import Request

from ivr.agi_server import AgiHangup, agi_command, quote_agi

KEYPAD = "0123456789*#"


class Channel(Protocol):
    async def play(self, names: list[str], escape: str = KEYPAD) -> str: ...

    async def wait_digit(self, timeout: float) -> str: ...

    async def read_digits(self, names: list[str], timeout: float, max_digits: int) -> str: ...

    async def record(self, path: str, seconds: int, silence: int,
                     escape: str = KEYPAD) -> str: ...

    async def set_var(self, name: str, value: str) -> None: ...


def _code(result: dict[str, object]) -> int:
    raw = result.get("result")
    value = raw[0] if isinstance(raw, tuple) else raw
    try:
        return int(str(value))
    except ValueError:
        return 0


def _key(code: int, escape: str) -> str:
    """The key for an AGI digit result, or "" when it is not one we asked for."""
    if 0 < code < 128 and chr(code) in escape:
        return chr(code)
    return ""


def _hangup_check(result: dict[str, object]) -> None:
    if result.get("error") in {"AGIAppError", "AGIResultHangup"}:
        raise AgiHangup()


class AgiChannel:
    """:class:`Channel` over a panoramisk FastAGI request."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.first_audio_at: float | None = None  # perf_counter when the first prompt started
        self.commands = 0

    async def _cmd(self, command: str) -> dict[str, object]:
        self.commands += 1
        result = await agi_command(self.request, command)
        _hangup_check(result)
        return result

    async def play(self, names: list[str], escape: str = KEYPAD) -> str:
        for name in names:
            if self.first_audio_at is None:
                self.first_audio_at = time.perf_counter()
            result = await self._cmd(f"STREAM FILE {name} {quote_agi(escape)}")
            key = _key(_code(result), escape)
            if key:
                return key
        return ""

    async def wait_digit(self, timeout: float) -> str:
        result = await self._cmd(f"WAIT FOR DIGIT {int(timeout * 1000)}")
        return _key(_code(result), KEYPAD)

    async def read_digits(self, names: list[str], timeout: float, max_digits: int) -> str:
        """Several keys ending with ``#`` or a pause (``GET DATA``), digits only."""
        if self.first_audio_at is None:
            self.first_audio_at = time.perf_counter()
        prompt = "&".join(names) if names else "silence/1"
        result = await self._cmd(f"GET DATA {prompt} {int(timeout * 1000)} {max_digits}")
        raw = result.get("result")
        value = str(raw[0] if isinstance(raw, tuple) else raw or "")
        return "".join(ch for ch in value if ch.isdigit())[:max_digits]

    async def record(self, path: str, seconds: int, silence: int,
                     escape: str = KEYPAD) -> str:
        """Record the caller to ``path`` (.wav, as Asterisk sees it); a key ends it early.

        Returns the key pressed, or "" when the caller spoke (or kept silent).
        """
        result = await self._cmd(f"RECORD FILE {quote_agi(path)} wav {quote_agi(escape)} "
                                 f"{seconds * 1000} 0 s={silence}")
        return _key(_code(result), escape)

    async def set_var(self, name: str, value: str) -> None:
        await self._cmd(f"SET VARIABLE {name} {quote_agi(value)}")
