"""Prompt rendering with the real espeak-ng and ffmpeg: text in, Asterisk-ready slin out."""

from __future__ import annotations

import asyncio
import io
import math
import re
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest
from pydantic import ValidationError
from pydub import AudioSegment
from pydub.generators import Sine

from ivr.prompts import PromptError, PromptRenderer, PromptsConfig, validate_text


@pytest.fixture(autouse=True)
def _real_tools() -> None:
    """espeak-ng and ffmpeg are real parts of the speech path: missing = fail, not skip."""
    missing = [t for t in ("espeak-ng", "ffmpeg") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"needs {' and '.join(missing)} (scripts/bootstrap installs them)")

NL = "Welkom bij de gemeente. U bent de derde wachtende."
EN = "Welcome to the municipality. You are third in the queue."


def _config(tmp_path: Path, **overrides: object) -> PromptsConfig:
    values: dict[str, object] = {"dir": tmp_path / "sounds", "asterisk_dir": "kcc",
                                 "recordings_dir": tmp_path / "recordings"}
    values.update(overrides)
    return PromptsConfig.model_validate(values)


def _espeak_seconds(text: str, lang: str) -> float:
    """Duration of espeak-ng's own WAV for the same text and settings (the reference)."""
    voice = PromptsConfig().voices[lang]  # type: ignore[index]
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-p", "50", "--stdout", text],
                         capture_output=True, check=True).stdout
    return AudioSegment.from_file(io.BytesIO(wav), format="wav").duration_seconds


def _rms(pcm: bytes) -> float:
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm)
    return math.sqrt(sum(s * s for s in samples) / len(samples))


@pytest.mark.parametrize(("text", "lang"), [(NL, "nl"), (EN, "en")])
async def test_renders_slin_8k_and_16k(tmp_path: Path, text: str, lang: str) -> None:
    renderer = PromptRenderer(_config(tmp_path))
    started = time.perf_counter()
    ref = await renderer.render(text, lang)  # type: ignore[arg-type]
    cold = time.perf_counter() - started
    print(f"\nrender {lang} cold: {cold * 1000:.0f} ms, {ref.duration:.2f} s of audio")

    assert ref.source == "tts"
    assert ref.name.startswith(f"kcc/{lang}-") and "." not in ref.name
    assert ref.path == tmp_path / "sounds" / f"{ref.name.split('/')[1]}.sln"
    assert ref.path16 == ref.path.with_suffix(".sln16")
    pcm8, pcm16 = ref.path.read_bytes(), ref.path16.read_bytes()
    assert len(pcm8) % 2 == 0
    # Raw slin has no header: the rates show in the sizes. Same audio, twice the samples.
    assert abs(len(pcm16) / len(pcm8) - 2.0) < 0.01
    assert ref.duration == pytest.approx(len(pcm8) / 16000)
    # A nine-word sentence at 150 words per minute: a few seconds, not a blip or a minute.
    assert 2.0 < ref.duration < 8.0
    assert _rms(pcm8) > 500  # speech, not silence
    # Read as 8 kHz, the file lasts exactly as long as espeak-ng's own output: so it is 8 kHz.
    assert ref.duration == pytest.approx(_espeak_seconds(text, lang), abs=0.02)
    assert ref.path.stat().st_mode & 0o044 == 0o044  # Asterisk (another user) can read it
    assert not list(ref.path.parent.glob(".tmp-*"))


async def test_cache_hit_runs_no_second_tts(tmp_path: Path) -> None:
    renderer = PromptRenderer(_config(tmp_path))
    first = await renderer.render(NL, "nl")
    started = time.perf_counter()
    second = await renderer.render(NL, "nl")
    cached = time.perf_counter() - started
    print(f"\nrender cached: {cached * 1e6:.0f} µs")
    assert second.name == first.name and second.duration == first.duration
    assert renderer.tts_runs == 1 and renderer.cache_hits == 1

    # The cache is the directory: a restarted service does not render again either.
    restarted = PromptRenderer(_config(tmp_path))
    assert (await restarted.render(NL, "nl")).name == first.name
    assert restarted.tts_runs == 0


async def test_concurrent_renders_share_one_job(tmp_path: Path) -> None:
    renderer = PromptRenderer(_config(tmp_path))
    refs = await asyncio.gather(*(renderer.render(EN, "en") for _ in range(6)))
    assert len({r.name for r in refs}) == 1
    assert renderer.tts_runs == 1
    assert sorted(p.suffix for p in (tmp_path / "sounds").iterdir()) == [".sln", ".sln16"]


async def test_name_changes_with_text_language_and_voice_settings(tmp_path: Path) -> None:
    renderer = PromptRenderer(_config(tmp_path))
    base = await renderer.render("Goedemorgen", "nl")
    assert (await renderer.render("Goedemiddag", "nl")).name != base.name
    assert (await renderer.render("Goedemorgen", "en")).name != base.name
    slower = PromptRenderer(_config(tmp_path, speed=120))
    assert (await slower.render("Goedemorgen", "nl")).name != base.name
    # Whitespace differences are not different prompts.
    assert (await renderer.render("  Goedemorgen\n", "nl")).name == base.name


async def test_text_is_never_read_as_options(tmp_path: Path) -> None:
    renderer = PromptRenderer(_config(tmp_path))
    target = tmp_path / "victim"
    ref = await renderer.render(f"--help -v en -w {target}", "nl")
    assert ref.duration > 1.0  # spoken, not a help text
    assert not target.exists()


async def test_recording_overrides_tts(tmp_path: Path) -> None:
    config = _config(tmp_path, texts={"welkom": {"nl": NL, "en": EN}})
    recording = config.recordings_dir / "nl" / "welkom.wav"
    recording.parent.mkdir(parents=True)
    # A studio file: 44.1 kHz stereo, 1.5 s.
    tone = Sine(440, sample_rate=44100).to_audio_segment(duration=1500, volume=-10)
    AudioSegment.from_mono_audiosegments(tone, tone).export(recording, format="wav")

    renderer = PromptRenderer(config)
    ref = await renderer.render_key("welkom", "nl")
    assert ref.source == "recording"
    assert ref.duration == pytest.approx(1.5, abs=0.01)
    assert renderer.tts_runs == 0 and renderer.recordings_used == 1
    assert abs(len(ref.path16.read_bytes()) / len(ref.path.read_bytes()) - 2.0) < 0.01
    # render() with the key honours the recording too, whatever text it is given.
    assert (await renderer.render("iets anders", "nl", key="welkom")).name == ref.name
    # English has no recording: TTS.
    assert (await renderer.render_key("welkom", "en")).source == "tts"
    # Replacing the recording gives a new file, so Asterisk never plays the stale one.
    Sine(880, sample_rate=8000).to_audio_segment(duration=700).export(recording, format="wav")
    replaced = await renderer.render_key("welkom", "nl")
    assert replaced.name != ref.name and replaced.duration == pytest.approx(0.7, abs=0.01)


async def test_render_all(tmp_path: Path) -> None:
    config = _config(tmp_path, texts={"welkom": {"nl": NL, "en": EN}, "dicht": {"nl": "Gesloten."}})
    refs = await PromptRenderer(config).render_all()
    assert set(refs) == {("welkom", "nl"), ("welkom", "en"), ("dicht", "nl")}
    assert all(r.path.is_file() for r in refs.values())


async def test_render_key_without_text_or_recording(tmp_path: Path) -> None:
    renderer = PromptRenderer(_config(tmp_path))
    with pytest.raises(PromptError, match=r"no prompt text texts\.onbekend\.nl"):
        await renderer.render_key("onbekend", "nl")
    with pytest.raises(PromptError, match="must be lowercase"):
        await renderer.render_key("../etc", "nl")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("a" * 1001, "1001 characters; the limit is 1000"),
        ("Welkom\x07", "U+0007 at position 6"),
        ("Wel\u200bkom", "U+200B"),
        ("Welkom\x00", "U+0000"),
        ("zeg [[h@'loU]]", "phoneme codes"),
    ],
)
def test_bad_text_gives_clear_errors(text: str, message: str) -> None:
    with pytest.raises(PromptError, match=re.escape(message)):
        validate_text(text)


def test_validate_text_normalises() -> None:
    assert validate_text("  Welkom\nbij   de\tgemeente ") == "Welkom bij de gemeente"
    assert validate_text("e\u0301e\u0301n") == "één"  # NFC: one code point per letter
    assert validate_text("[[h@'loU]]", allow_phonemes=True) == "[[h@'loU]]"


async def test_bad_text_in_render(tmp_path: Path) -> None:
    renderer = PromptRenderer(_config(tmp_path, max_chars=20))
    with pytest.raises(PromptError, match="limit is 20"):
        await renderer.render("Dit is een veel te lange tekst", "nl")
    assert renderer.tts_runs == 0


def test_config_rejects_bad_texts_at_load(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"texts\.welkom\.nl: .*U\+0007"):
        _config(tmp_path, texts={"welkom": {"nl": "hoi\x07"}})
    with pytest.raises(ValidationError, match="Extra inputs"):
        _config(tmp_path, dirr="/tmp")
    with pytest.raises(ValidationError):
        _config(tmp_path, texts={"Welkom!": {"nl": "hoi"}})
    with pytest.raises(ValidationError):
        _config(tmp_path, asterisk_dir="kcc/../etc sounds")
    with pytest.raises(ValidationError, match="not an espeak-ng voice name"):
        _config(tmp_path, voices={"nl": "nl; rm -rf /"})


async def test_missing_espeak(tmp_path: Path) -> None:
    renderer = PromptRenderer(_config(tmp_path, espeak_binary="espeak-ng-does-not-exist"))
    with pytest.raises(PromptError, match="not found: install espeak-ng"):
        await renderer.render("Hallo", "nl")


async def test_unknown_voice(tmp_path: Path) -> None:
    renderer = PromptRenderer(_config(tmp_path, voices={"nl": "xx-nonexistent"}))
    with pytest.raises(PromptError, match=r"espeak-ng failed .* 'xx-nonexistent'"):
        await renderer.render("Hallo", "nl")


async def test_tts_timeout_kills_the_process(tmp_path: Path) -> None:
    slow = tmp_path / "slow-tts"
    # A wrapper whose child keeps the pipes open: killing only the shell would leave us
    # waiting 30 s for the pipes to close.
    slow.write_text("#!/bin/sh\nsleep 30\n")
    slow.chmod(0o755)
    renderer = PromptRenderer(_config(tmp_path, espeak_binary=str(slow), tts_timeout=0.3))
    started = time.perf_counter()
    with pytest.raises(PromptError, match=r"longer than 0\.3 s"):
        await renderer.render("Hallo", "nl")
    assert time.perf_counter() - started < 5


async def test_unwritable_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    renderer = PromptRenderer(_config(tmp_path, dir=blocker / "sounds"))
    with pytest.raises(PromptError, match="cannot write prompt files"):
        await renderer.render("Hallo", "nl")
