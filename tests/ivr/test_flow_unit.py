"""The dialogue logic with a scripted channel (no Asterisk): the corner cases that are
slow or awkward to provoke on a real call. Each capability also has a test through the
real sandbox Asterisk (test_ivr_asterisk.py and friends)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ivr.agi_server import AgiHangup
from ivr.flow import IvrDeps, IvrFlow
from ivr.session import IvrSession
from ivr.speaker import Speaker
from ivr.speech import SpeechResult
from telephony.config import Config, ConfigError, parse_config

REPO = Path(__file__).resolve().parents[2]
DEMO = (REPO / "config" / "demo.toml").read_text(encoding="utf-8")
OPEN_AT = datetime(2025, 11, 24, 9, 0, tzinfo=UTC)


@dataclass
class Ref:
    name: str


class Renderer:
    """Stands in for PromptRenderer: the 'file name' is the text, so tests read it."""

    async def render(self, text: str, lang: str, key: str | None = None) -> Ref:
        return Ref(f"{lang}:{text}")


class FakeChannel:
    def __init__(self, keys: list[str], hangup_after: int | None = None) -> None:
        self.keys = keys  # one entry per question: "" = silence
        self.played: list[str] = []
        self.vars: dict[str, str] = {}
        self.hangup_after = hangup_after
        self.asked = 0

    def _next(self) -> str:
        self.asked += 1
        if self.hangup_after is not None and self.asked > self.hangup_after:
            raise AgiHangup()
        return self.keys.pop(0) if self.keys else ""

    async def play(self, names: list[str], escape: str = "0123456789*#") -> str:
        self.played.extend(names)
        return "" if not escape else self._next() if escape != "9" else ""

    async def wait_digit(self, timeout: float) -> str:
        return ""

    async def read_digits(self, names: list[str], timeout: float, max_digits: int) -> str:
        self.played.extend(names)
        return "".join(ch for ch in self._next() if ch.isdigit())[:max_digits]

    async def record(self, path: str, seconds: int, silence: int, escape: str = "") -> str:
        return ""

    async def set_var(self, name: str, value: str) -> None:
        self.vars[name] = value


def config(extra: str = "") -> Config:
    os.environ["KCC_DEMO"] = "1"
    return parse_config(DEMO.replace("enabled = false", "enabled = true") + extra)


def deps(cfg: Config, **kw: object) -> IvrDeps:
    return IvrDeps(config=cfg, speaker=Speaker(Renderer(), cfg.ivr.texts),  # type: ignore[arg-type]
                   clock=lambda: OPEN_AT, **kw)  # type: ignore[arg-type]


async def run(cfg: Config, keys: list[str], number: str = "+31140182",
              **kw: object) -> tuple[IvrSession, FakeChannel]:
    chan = FakeChannel(keys)
    session = IvrSession(uniqueid="1.1", dialled=number)
    await IvrFlow(deps(cfg, **kw), chan, session).run()
    return session, chan


# ------------------------------------------------------------------ config as data

@pytest.mark.parametrize(("change", "line_text", "message"), [
    (('queue = "afval"', 'queue = "afvl"'), 'queue = "afvl"', "unknown queue 'afvl'"),
    (('key = "7"', 'key = "0"'), 'key = "0"', "String should match pattern"),
    (('key = "7"', 'key = "6"'), 'key = "6"', "key 6 is used twice"),
    (('menu = "zelfservice"', 'menu = "onderwerp"'), 'menu = "onderwerp"',
     "cannot lead to itself"),
    (('words = ["overig", "anders"]\n', ''), 'key = "7"', "needs words"),
])
def test_menu_mistakes_name_the_line(change: tuple[str, str], line_text: str,
                                     message: str) -> None:
    text = DEMO.replace(*change)
    with pytest.raises(ConfigError) as err:
        parse_config(text, "kcc.toml")
    problem = err.value.problems[0]
    line = int(problem.split(":")[1])
    # The key's own line, or (for a key that is missing) the header of its table.
    assert line_text in "\n".join(text.splitlines()[line - 1:line + 1]), problem
    assert message in problem


# ------------------------------------------------------------------ the dialogue

async def test_invalid_then_valid_choice() -> None:
    session, chan = await run(config(), ["8", "2"])  # 8 is not an option; then 2
    assert session.outcome == "queue" and session.queue == "afval"
    assert chan.vars["__KCC_SUBJECT"] == "afval" and chan.vars["KCC_QUEUE"] == "afval"
    assert "nl:Dat is geen geldige keuze." in chan.played


async def test_unknown_number_goes_to_general_queue() -> None:
    session, chan = await run(config(), [], number="+31201234567")
    assert session.outcome == "unknown_number" and chan.vars["KCC_QUEUE"] == "algemeen"


async def test_hangup_mid_menu_propagates_with_partial_record() -> None:
    cfg = config()
    chan = FakeChannel(["6"], hangup_after=1)
    session = IvrSession(uniqueid="1.2", dialled="+31140182")
    with pytest.raises(AgiHangup):
        await IvrFlow(deps(cfg), chan, session).run()
    assert session.municipality == "gouda" and session.subject == "zelfservice"


async def test_zaak_lookup_failure_is_an_outcome_not_a_crash() -> None:
    class Broken:
        async def zaak_status(self, *args: str) -> None:
            raise ConnectionError("zaken down")

    session, _ = await run(config(), ["6", "1", "123", "2801", "1", "0"],
                           zaken=Broken())
    assert [(c.kind, c.outcome) for c in session.contacts] == [("zaak_status", "error")]
    assert session.outcome == "agent_after_service"


async def test_speech_transcript_is_cleaned_and_capped() -> None:
    class Speech:
        available = True

        async def recognize(self, audio: object, grammar: list[str]) -> SpeechResult:
            return SpeechResult("afval", 0.9, "afval\x00\x1b[2J" + "x" * 900, (("afval", 0.9),))

    cfg = config()
    cfg = cfg.model_copy(update={"ivr": cfg.ivr.model_copy(update={
        "speech_audio_dir": Path("/tmp/kcc-ivr-unit")})})
    session, chan = await run(cfg, [""], speech=Speech())
    assert session.queue == "afval"
    assert session.steps[-1]["via"] == "speech"
    assert "\x00" not in session.transcript and "\x1b" not in session.transcript
    assert len(session.transcript) <= 500 and len(chan.vars["__KCC_TRANSCRIPT"]) <= 200


async def test_english_texts_fall_back_to_dutch() -> None:
    cfg = config()
    speaker = Speaker(Renderer(), cfg.ivr.texts)  # type: ignore[arg-type]
    assert await speaker.text("language", "en") == "nl:For English, press 9."
    assert await speaker.text("invalid", "en") == "en:That is not a valid choice."


async def _closed_with_key_1(booker: object, uniqueid: str) -> tuple[FakeChannel, IvrSession]:
    """A caller on Sunday night (closed) who presses 1 for a call-back."""
    cfg = config()
    sunday_night = datetime(2026, 11, 29, 21, 0, tzinfo=UTC)
    chan = FakeChannel(["1"])
    session = IvrSession(uniqueid=uniqueid, dialled="+31140182")
    flow_deps = IvrDeps(config=cfg, speaker=Speaker(Renderer(), cfg.ivr.texts),  # type: ignore[arg-type]
                        clock=lambda: sunday_night, callback_booker=booker)  # type: ignore[arg-type]
    await IvrFlow(flow_deps, chan, session).run()
    return chan, session


async def test_closed_flow_books_a_real_callback_when_the_callbacks_module_is_wired() -> None:
    booked: list[tuple[str, str]] = []

    async def booker(chan: object, session: IvrSession, lang: str) -> bool:
        booked.append((session.uniqueid, lang))
        return True

    chan, _ = await _closed_with_key_1(booker, "9.9")
    assert booked == [("9.9", "nl")]
    assert chan.vars.get("KCC_ACTION") == "hangup"


async def test_closed_flow_only_records_the_wish_when_nothing_was_booked() -> None:
    async def no_booking(chan: object, session: IvrSession, lang: str) -> bool:
        return False

    chan, session = await _closed_with_key_1(no_booking, "9.8")
    assert chan.vars.get("__KCC_CALLBACK") == "requested" and session.callback
