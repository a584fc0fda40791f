"""IVR prompts: configured text → audio files Asterisk plays without transcoding surprises.

Why this exists: Debian ships no Dutch Asterisk sound package, and a municipality changes its
texts (opening hours, a closed desk, a new service) far more often than it records audio. So
prompts are *text* in the config, spoken by espeak-ng, and rendered once into the formats
Asterisk's ``Playback()`` picks from by itself:

* ``NAME.sln``   — 8 kHz 16-bit signed linear mono (what a G.711 call uses, zero-cost to encode)
* ``NAME.sln16`` — 16 kHz (used by wideband calls, e.g. G.722 or the browser softphone's Opus)

Files are named by a content hash (renderer version + voice settings + language + text), so a
changed text is a new file, an unchanged one is never rendered twice, and no cache invalidation
is needed. A recorded file (``recordings/prompts/<lang>/<key>.wav``, any rate/format ffmpeg reads)
overrides the TTS for a named prompt: a municipality can replace the synthetic welcome with a
professional recording without touching code or config.

The service writes into ``PromptsConfig.dir`` (host path) and tells Asterisk the name relative to
``PromptsConfig.asterisk_dir`` (the same directory as Asterisk sees it, e.g. inside its chroot).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import os
import re
import shutil
import signal
import tempfile
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydub import AudioSegment, effects

log = logging.getLogger(__name__)

Lang = Literal["nl", "en"]
PromptKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]

# Bump when the rendering pipeline changes in a way that changes the audio: all hashes change,
# so every prompt is re-rendered once instead of Asterisk playing files made by old code.
RENDERER_VERSION = "1"

_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
# Characters that are legal in a TOML string but never belong in spoken text: C0/C1 controls,
# invisible format characters (zero-width space, bidi marks pasted from a web page), surrogates
# and private-use characters. espeak-ng would either read them out as names or stall on them.
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co"}
_WHITESPACE_CONTROLS = {"\t", "\n", "\r"}
_AudioSource = Callable[[], Awaitable[bytes]]  # produces the audio (WAV bytes) to convert


class PromptError(Exception):
    """A prompt that cannot be rendered; the message says what to fix."""


class PromptsConfig(BaseModel):
    """The ``[prompts]`` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Where the service writes rendered files (host path).
    dir: Path = Path("/var/lib/kcc-telefonie/sounds/kcc")
    # The same directory as Asterisk sees it: relative to its sounds directory ("kcc") or an
    # absolute path inside Asterisk's root. This is what goes in front of the name in Playback().
    asterisk_dir: str = Field(default="kcc", pattern=r"^/?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
    # Recorded overrides: <recordings_dir>/<lang>/<key>.wav
    recordings_dir: Path = Path("recordings/prompts")
    # espeak-ng voice per language (``espeak-ng --voices`` lists them).
    voices: dict[Lang, str] = {"nl": "nl", "en": "en-gb"}
    # Words per minute. espeak's default 175 is brisk over a phone line; callers who are not
    # native speakers are a large share of a KCC's callers.
    speed: int = Field(default=150, ge=80, le=400)
    pitch: int = Field(default=50, ge=0, le=99)
    # Peak level after normalising, dB below full scale: loud enough on a handset, with room so
    # G.711 companding does not clip.
    headroom_db: float = Field(default=3.0, ge=0.0, le=20.0)
    max_chars: int = Field(default=1000, ge=1, le=10_000)
    tts_timeout: float = Field(default=15.0, gt=0, le=300)
    espeak_binary: str = "espeak-ng"
    # espeak-ng reads ``[[...]]`` as phoneme codes. Off by default so text can never steer the
    # synthesiser; an admin may switch it on to fix the pronunciation of a street name.
    allow_phonemes: bool = False
    # Named prompt texts: texts.<key>.nl / texts.<key>.en
    texts: dict[PromptKey, dict[Lang, str]] = {}

    @field_validator("voices")
    @classmethod
    def _voice_names(cls, value: dict[str, str]) -> dict[str, str]:
        for lang, voice in value.items():
            if not re.fullmatch(r"[A-Za-z0-9_+.-]{1,40}", voice):
                raise ValueError(f"voice for {lang!r} is not an espeak-ng voice name: {voice!r}")
        return value

    @model_validator(mode="after")
    def _texts_speakable(self) -> PromptsConfig:
        # Validate at config load so a bad character stops the service at start, not a caller.
        for key, per_lang in self.texts.items():
            for lang, text in per_lang.items():
                try:
                    validate_text(text, self.max_chars, self.allow_phonemes)
                except PromptError as exc:
                    raise ValueError(f"texts.{key}.{lang}: {exc}") from None
        return self


@dataclass(frozen=True)
class PromptRef:
    """A rendered prompt: what to give ``Playback()`` and where the files are on this host."""

    name: str  # for Asterisk, no extension: "kcc/nl-3f2a..."
    path: Path  # host path of the 8 kHz .sln file
    path16: Path  # host path of the 16 kHz .sln16 file
    duration: float  # seconds
    source: Literal["tts", "recording"]


def validate_text(text: str, max_chars: int = 1000, allow_phonemes: bool = False) -> str:
    """The text as it will be spoken (NFC, whitespace collapsed), or PromptError saying why not."""
    if not isinstance(text, str):
        raise PromptError(f"prompt text must be a string, got {type(text).__name__}")
    text = unicodedata.normalize("NFC", text)
    for position, char in enumerate(text):
        if char in _WHITESPACE_CONTROLS:
            continue
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise PromptError(
                f"prompt text contains an invisible/control character U+{ord(char):04X} "
                f"at position {position}: remove it (often pasted in from a web page)")
    text = " ".join(text.split())
    if not text:
        raise PromptError("prompt text is empty")
    if len(text) > max_chars:
        raise PromptError(f"prompt text is {len(text)} characters; the limit is {max_chars} "
                          "(split it into several prompts)")
    if not allow_phonemes and ("[[" in text or "]]" in text):
        raise PromptError("prompt text contains '[[' or ']]', which espeak-ng reads as phoneme "
                          "codes; remove them or set prompts.allow_phonemes = true")
    return text


def pcm_s16le(segment: AudioSegment, rate: int) -> bytes:
    """Mono 16-bit little-endian PCM at ``rate``.

    Resampling goes through ffmpeg rather than pydub's ``set_frame_rate`` (audioop.ratecv),
    because ratecv has no anti-aliasing filter: 22 kHz TTS squeezed to 8 kHz that way gets
    audible hiss on a phone line, and the recogniser hears the same aliasing.
    """
    segment = segment.set_channels(1).set_sample_width(2)
    if segment.frame_rate == rate:
        return segment.raw_data
    buffer = io.BytesIO()
    segment.export(buffer, format="s16le", parameters=["-ar", str(rate), "-ac", "1"])
    return buffer.getvalue()


def _write_atomically(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so Asterisk or a concurrent render never sees a
    half-written prompt (rename within one directory is atomic on POSIX)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600; Asterisk usually runs as another user and must read the file.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class PromptRenderer:
    """Renders prompt text (or a recording) into cached ``.sln``/``.sln16`` files.

    Safe to call concurrently: renders of the same prompt inside this process share one job,
    and across processes the atomic rename makes the last identical write win harmlessly.
    """

    def __init__(self, config: PromptsConfig):
        self.config = config
        self._inflight: dict[str, asyncio.Task[PromptRef]] = {}
        # Counters for metrics and tests: how often espeak-ng really ran, how often we reused.
        self.tts_runs = 0
        self.cache_hits = 0
        self.recordings_used = 0

    # ------------------------------------------------------------------ public API

    async def render(self, text: str, lang: Lang, key: str | None = None) -> PromptRef:
        """Render ``text`` in ``lang``; a recording for ``key`` (if given and present) wins."""
        if lang not in self.config.voices:
            raise PromptError(f"no espeak-ng voice configured for language {lang!r}")
        if key is not None:
            recording = self.recording_path(key, lang)
            if recording.is_file():
                return await self._render_recording(recording, key, lang)
        spoken = validate_text(text, self.config.max_chars, self.config.allow_phonemes)
        voice = self.config.voices[lang]
        material = "\0".join([RENDERER_VERSION, "tts", voice, str(self.config.speed),
                              str(self.config.pitch), str(self.config.headroom_db), lang, spoken])
        digest = hashlib.sha256(material.encode("utf-8")).hexdigest()
        return await self._cached(digest, lang, "tts", lambda: self._synthesise(spoken, voice))

    async def render_key(self, key: str, lang: Lang) -> PromptRef:
        """Render the configured prompt ``texts.<key>.<lang>`` (or its recording)."""
        self._check_key(key)
        text = self.config.texts.get(key, {}).get(lang)
        if text is None:
            if self.recording_path(key, lang).is_file():
                return await self.render("", lang, key=key)
            raise PromptError(f"no prompt text texts.{key}.{lang} in the config and no "
                              f"recording {self.recording_path(key, lang)}")
        return await self.render(text, lang, key=key)

    async def render_all(self) -> dict[tuple[str, Lang], PromptRef]:
        """Render every configured prompt, e.g. at service start so no caller waits for TTS."""
        out: dict[tuple[str, Lang], PromptRef] = {}
        for key, per_lang in self.config.texts.items():
            for lang in per_lang:
                out[(key, lang)] = await self.render_key(key, lang)
        return out

    def recording_path(self, key: str, lang: Lang) -> Path:
        self._check_key(key)
        return self.config.recordings_dir / lang / f"{key}.wav"

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _check_key(key: str) -> None:
        if not _KEY_RE.fullmatch(key):
            raise PromptError(f"prompt key {key!r} must be lowercase letters, digits, '_' or '-' "
                              "(it becomes a file name)")

    async def _render_recording(self, recording: Path, key: str, lang: Lang) -> PromptRef:
        try:
            content = await asyncio.to_thread(recording.read_bytes)
        except OSError as exc:
            raise PromptError(f"cannot read recording {recording}: {exc.strerror}") from None
        material = b"\0".join([RENDERER_VERSION.encode(), b"recording", lang.encode(),
                               key.encode(), str(self.config.headroom_db).encode(), content])
        digest = hashlib.sha256(material).hexdigest()

        async def source() -> bytes:
            self.recordings_used += 1
            return content

        return await self._cached(digest, lang, "recording", source)

    async def _cached(self, digest: str, lang: Lang, source: Literal["tts", "recording"],
                      produce_audio: _AudioSource) -> PromptRef:
        base = f"{lang}-{digest[:24]}"
        directory = self.config.dir
        ref = PromptRef(name=f"{self.config.asterisk_dir}/{base}",
                        path=directory / f"{base}.sln", path16=directory / f"{base}.sln16",
                        duration=0.0, source=source)
        existing = _existing(ref)
        if existing is not None:
            self.cache_hits += 1
            return existing
        task = self._inflight.get(digest)
        if task is None:
            task = asyncio.ensure_future(self._produce(ref, produce_audio))
            self._inflight[digest] = task
            task.add_done_callback(lambda _t: self._inflight.pop(digest, None))
        else:
            self.cache_hits += 1
        # Shielded: a caller hanging up mid-render must not cancel the render other callers
        # (or the next caller) are waiting for.
        return await asyncio.shield(task)

    async def _produce(self, ref: PromptRef, produce_audio: _AudioSource) -> PromptRef:
        audio = await produce_audio()
        pcm8, pcm16 = await asyncio.to_thread(self._convert, audio)
        try:
            await asyncio.to_thread(self._store, ref, pcm8, pcm16)
        except OSError as exc:
            raise PromptError(f"cannot write prompt files in {self.config.dir}: "
                              f"{exc.strerror or exc}") from None
        log.info("rendered prompt %s (%s, %.1f s)", ref.name, ref.source, len(pcm8) / 16000)
        return PromptRef(ref.name, ref.path, ref.path16, len(pcm8) / 16000, ref.source)

    def _convert(self, audio: bytes) -> tuple[bytes, bytes]:
        try:
            segment = AudioSegment.from_file(io.BytesIO(audio))
        except Exception as exc:  # pydub raises CouldntDecodeError, IndexError, ...
            raise PromptError(f"cannot decode audio ({type(exc).__name__}: "
                              f"{str(exc)[-200:]})") from None
        segment = effects.normalize(segment.set_channels(1), headroom=self.config.headroom_db)
        return pcm_s16le(segment, 8000), pcm_s16le(segment, 16000)

    @staticmethod
    def _store(ref: PromptRef, pcm8: bytes, pcm16: bytes) -> None:
        ref.path.parent.mkdir(parents=True, exist_ok=True)
        # .sln last: a cache hit needs both, and .sln is what every call can use.
        _write_atomically(ref.path16, pcm16)
        _write_atomically(ref.path, pcm8)

    async def _synthesise(self, text: str, voice: str) -> bytes:
        """Run espeak-ng; the text goes in on stdin so nothing in it is read as an option."""
        binary = shutil.which(self.config.espeak_binary)
        if binary is None:
            raise PromptError(f"{self.config.espeak_binary} not found: install espeak-ng "
                              "(apt-get install espeak-ng) or record the prompts")
        with tempfile.TemporaryDirectory(prefix="kcc-tts-") as tmp:
            wav = Path(tmp) / "out.wav"
            argv = [binary, "-v", voice, "-s", str(self.config.speed), "-p",
                    str(self.config.pitch), "-b", "1", "-w", str(wav), "--stdin"]
            self.tts_runs += 1
            # Own process group, so a timeout kills everything it started: asyncio's wait()
            # only returns once the pipes close, and a surviving child keeps them open.
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE, start_new_session=True)
            try:
                _, stderr = await asyncio.wait_for(proc.communicate(text.encode("utf-8")),
                                                   self.config.tts_timeout)
            except TimeoutError:
                await _kill_group(proc)
                raise PromptError(f"espeak-ng took longer than {self.config.tts_timeout} s; "
                                  "killed it") from None
            except asyncio.CancelledError:
                await _kill_group(proc)
                raise
            if proc.returncode != 0 or not wav.is_file():
                detail = stderr.decode("utf-8", "replace").strip()[-300:]
                raise PromptError(f"espeak-ng failed (exit {proc.returncode}) for voice "
                                  f"{voice!r}: {detail or 'no message'}")
            return await asyncio.to_thread(wav.read_bytes)


async def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    await proc.wait()


def _existing(ref: PromptRef) -> PromptRef | None:
    """The cached prompt, if both files are already there."""
    try:
        size = ref.path.stat().st_size
        ref.path16.stat()
    except OSError:
        return None
    return PromptRef(ref.name, ref.path, ref.path16, size / 16000, ref.source)
