"""Speech input for the IVR menu: "say what your question is about" with vosk, offline.

Why vosk with a grammar: a caller answers a menu with one of a handful of words ("paspoort",
"afval", "belasting"). Restricting the decoder to those words (plus ``[unk]`` for anything else)
makes a small offline model accurate enough on 8 kHz phone audio, keeps caller audio on the
municipality's own machine (AVG/GDPR), and needs no network at run time.

Speech is an *extra*: DTMF always works. So every failure here (no model configured, a broken
model directory, undecodable audio, low confidence, an ambiguous answer) ends in ``None`` or
``available = False`` and one clear log line, never an exception in the call flow.

The language is whatever the configured model speaks: the same code path serves Dutch with a
Dutch model; the tests use the Korean model that is installable from PyPI.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)

UNKNOWN = "[unk]"


class SpeechConfig(BaseModel):
    """The ``[speech]`` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    # A vosk model directory (the one holding am/, conf/, graph/). None: DTMF only.
    model_path: Path | None = None
    # Rate the audio is decoded at. Asterisk's Record() on a G.711 call writes 8 kHz.
    sample_rate: int = Field(default=8000, ge=8000, le=48000)
    # Per-word confidence (0..1) below which we would rather ask again or use DTMF than guess.
    min_confidence: float = Field(default=0.6, ge=0.0, le=1.0)
    # Longer input is cut: a menu answer is a word or two, and decoding cost grows with length.
    max_seconds: float = Field(default=15.0, gt=0, le=120)
    # Decodes running at once; each one keeps a CPU core busy for its duration.
    max_concurrent: int = Field(default=2, ge=1, le=64)


@dataclass(frozen=True)
class SpeechResult:
    """What the caller said, reduced to one grammar entry."""

    word: str  # the grammar entry recognised (may be a phrase)
    confidence: float  # lowest per-word confidence within that entry
    transcript: str  # the decoder's raw text, including [unk]
    words: tuple[tuple[str, float], ...]  # every decoded word with its confidence


class SpeechRecognizer:
    """Loads one vosk model and decodes short utterances against a per-question grammar."""

    def __init__(self, config: SpeechConfig):
        self.config = config
        self._model: Any = None
        self._has_unknown = False
        self._started = False
        self._start_lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(config.max_concurrent)
        self._checked_words: set[str] = set()
        self.load_seconds: float | None = None

    @property
    def available(self) -> bool:
        """True when a model is loaded; when False the IVR offers DTMF only."""
        return self._model is not None

    async def start(self) -> bool:
        """Load the model (once, ~2 s, in a thread so calls keep flowing). Returns availability."""
        async with self._start_lock:
            if not self._started:
                self._started = True
                self._model = await asyncio.to_thread(self._load)
        return self.available

    def _load(self) -> Any:
        cfg = self.config
        if not cfg.enabled:
            log.info("speech recognition disabled in config; menus use DTMF only")
            return None
        if cfg.model_path is None:
            log.info("speech recognition off: no speech.model_path configured; DTMF only")
            return None
        path = cfg.model_path
        if not (path / "am").is_dir() or not (path / "conf").is_dir():
            log.error("speech recognition off: %s is not a vosk model directory (expected am/ "
                      "and conf/ in it); menus use DTMF only", path)
            return None
        try:
            import vosk

            vosk.SetLogLevel(-1)  # Kaldi logs to stderr per recogniser; we log what matters.
            started = time.perf_counter()
            model = vosk.Model(str(path))
            self.load_seconds = time.perf_counter() - started
        except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
            log.error("speech recognition off: cannot load vosk model %s (%s); menus use "
                      "DTMF only", path, exc)
            return None
        # Small models may lack [unk]. Then out-of-grammar speech is forced onto the nearest
        # menu word, and only the confidence and ambiguity checks below stand between a
        # cough and a wrong queue.
        self._has_unknown = model.vosk_model_find_word(UNKNOWN) >= 0
        log.info("speech model %s loaded in %.1f s%s", path, self.load_seconds,
                 "" if self._has_unknown else " (no [unk] word: out-of-grammar speech is "
                 "rejected by confidence/ambiguity only)")
        return model

    async def recognize(self, audio: str | Path | bytes, grammar: list[str]) -> SpeechResult | None:
        """The grammar entry the caller said, or None (not understood / not sure / no model).

        ``audio`` is a path to a WAV file as Asterisk's ``Record()`` writes it (other rates and
        formats are converted), WAV bytes, or raw 16-bit mono PCM at ``sample_rate`` (as
        AudioSocket delivers it).
        """
        if not self._started:
            await self.start()
        if self._model is None:
            return None
        phrases = _normalise_grammar(grammar)
        if not phrases:
            raise ValueError("grammar is empty: give the words the caller may say")
        try:
            pcm = await asyncio.to_thread(_load_pcm, audio, self.config.sample_rate)
        except (OSError, ValueError) as exc:
            log.warning("speech: cannot read caller audio (%s); falling back to DTMF", exc)
            return None
        limit = int(self.config.max_seconds * self.config.sample_rate) * 2
        if len(pcm) > limit:
            log.info("speech: audio of %.1f s cut to %.1f s", len(pcm) / 2 /
                     self.config.sample_rate, self.config.max_seconds)
            pcm = pcm[:limit]
        async with self._slots:
            raw = await asyncio.to_thread(self._decode, pcm, phrases)
        return self._interpret(raw, phrases)

    def _decode(self, pcm: bytes, phrases: list[str]) -> dict[str, Any]:
        import vosk

        self._warn_unknown_words(phrases)
        entries = [*phrases, UNKNOWN] if self._has_unknown else phrases
        # ensure_ascii=False matters: vosk's JSON reader does not decode \uXXXX escapes, so
        # json.dumps' default turns every non-ASCII word (Korean, "één", "rijbewijs" with a
        # diacritic) into a word that is silently missing from the vocabulary.
        recognizer = vosk.KaldiRecognizer(self._model, self.config.sample_rate,
                                          json.dumps(entries, ensure_ascii=False))
        recognizer.SetWords(True)
        # Fed in chunks like a live stream. When vosk detects the end of an utterance mid-way
        # (a caller pausing: "eh... paspoort") it returns True and that segment's words are
        # only available from Result() now; FinalResult() alone would lose them.
        segments: list[dict[str, Any]] = []
        chunk = self.config.sample_rate * 2 // 5  # 0.2 s
        for offset in range(0, len(pcm), chunk):
            if recognizer.AcceptWaveform(pcm[offset:offset + chunk]):
                segments.append(json.loads(recognizer.Result()))
        segments.append(json.loads(recognizer.FinalResult()))
        return {
            "text": " ".join(t for seg in segments if (t := seg.get("text", ""))),
            "result": [word for seg in segments for word in seg.get("result", [])],
        }

    def _warn_unknown_words(self, phrases: list[str]) -> None:
        """Log once per word the model cannot recognise: otherwise a menu option silently
        never matches and only DTMF users reach it."""
        for phrase in phrases:
            for word in phrase.split():
                if word in self._checked_words:
                    continue
                self._checked_words.add(word)
                if self._model.vosk_model_find_word(word) < 0:
                    log.warning("speech: %r is not in the model's vocabulary and can never be "
                                "recognised; use another synonym", word)

    def _interpret(self, raw: dict[str, Any], phrases: list[str]) -> SpeechResult | None:
        decoded = tuple((str(w["word"]), float(w.get("conf", 0.0))) for w in raw.get("result", []))
        transcript = str(raw.get("text", ""))
        found = _find_phrases([w for w, _ in decoded], phrases)
        if not found:
            log.debug("speech: nothing from the grammar in %r", transcript)
            return None
        distinct = {phrase for phrase, _, _ in found}
        if len(distinct) > 1:
            # "paspoort ... afval": guessing would send the caller to the wrong queue;
            # asking again (or DTMF) is cheaper than a transfer.
            log.info("speech: ambiguous answer %r (%s)", transcript, ", ".join(sorted(distinct)))
            return None
        phrase = found[0][0]
        confidence = max(min(conf for _, conf in decoded[start:end])
                         for p, start, end in found if p == phrase)
        if confidence < self.config.min_confidence:
            log.info("speech: %r recognised with confidence %.2f < %.2f; not trusted", phrase,
                     confidence, self.config.min_confidence)
            return None
        return SpeechResult(word=phrase, confidence=confidence, transcript=transcript,
                            words=decoded)


def _normalise_grammar(grammar: list[str]) -> list[str]:
    """Lower-case, single-spaced, de-duplicated entries (vosk vocabularies are lower case)."""
    seen: dict[str, None] = {}
    for entry in grammar:
        phrase = " ".join(entry.lower().split())
        if phrase and phrase != UNKNOWN:
            seen.setdefault(phrase, None)
    return list(seen)


def _find_phrases(tokens: list[str], phrases: list[str]) -> list[tuple[str, int, int]]:
    """Grammar entries in ``tokens``, left to right, longest match first.

    Longest-first so that "rijbewijs verlengen" is one answer, not "rijbewijs" plus noise.
    """
    by_length = sorted(((p.split(), p) for p in phrases), key=lambda item: -len(item[0]))
    found: list[tuple[str, int, int]] = []
    i = 0
    while i < len(tokens):
        for words, phrase in by_length:
            if tokens[i:i + len(words)] == words:
                found.append((phrase, i, i + len(words)))
                i += len(words)
                break
        else:
            i += 1
    return found


def _load_pcm(audio: str | Path | bytes, rate: int) -> bytes:
    """16-bit mono PCM at ``rate`` from a WAV path, WAV bytes or raw PCM bytes."""
    if isinstance(audio, bytes) and not audio.startswith(b"RIFF"):
        if len(audio) % 2:
            raise ValueError("raw PCM must be 16-bit samples (even number of bytes)")
        return audio
    source: io.BytesIO | str = io.BytesIO(audio) if isinstance(audio, bytes) else str(audio)
    # Fast path, no ffmpeg: exactly what Record() writes on a narrowband call.
    try:
        with wave.open(source, "rb") as wav:
            if (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) == (rate, 2, 1):
                return wav.readframes(wav.getnframes())
    except (wave.Error, EOFError):
        pass  # not plain PCM WAV (e.g. GSM-in-WAV, float): let ffmpeg decode it
    if isinstance(source, io.BytesIO):
        source.seek(0)
    from pydub import AudioSegment

    from ivr.prompts import pcm_s16le

    try:
        segment = AudioSegment.from_file(source)
    except Exception as exc:  # CouldntDecodeError and friends
        raise ValueError(f"cannot decode audio: {type(exc).__name__}") from None
    return pcm_s16le(segment, rate)


def grammar_for(synonyms: dict[str, list[str]]) -> list[str]:
    """The grammar for a menu: every synonym of every option, once."""
    return _normalise_grammar([word for words in synonyms.values() for word in words])


def match_subject(result: SpeechResult | None, synonyms: dict[str, list[str]]) -> str | None:
    """The menu option id whose synonyms contain the recognised word, else None.

    ``synonyms`` maps option ids to what callers say for them, e.g.
    ``{"burgerzaken": ["paspoort", "rijbewijs", "id-kaart"], "afval": ["afval", "container"]}``.
    A word listed under two options is a config mistake; it matches neither rather than
    picking one silently.
    """
    if result is None:
        return None
    word = " ".join(result.word.lower().split())
    options = [option for option, words in synonyms.items()
               if word in {" ".join(w.lower().split()) for w in words}]
    if len(options) == 1:
        return options[0]
    if len(options) > 1:
        log.warning("speech: %r is a synonym of several options (%s)", word, ", ".join(options))
    return None
