"""What a caller hears while waiting in a queue: position, expected wait, call-back offer.

Asterisk's app_queue plays these (the service is never in the media path); the service
only keeps the *files* it plays up to date:

* ``nl/kcc/wait-<queue>`` (English: ``kcc/wait-<queue>``) — the queue's
  ``periodic-announce``: the expected waiting time from the ACD's recent real answer
  times (:class:`EwtSource`, not app_queue's own average and never a constant), plus
  the call-back offer ("press 1") once the wait passes ``ivr.callback_offer_seconds``.
  Regenerated when the text changes.
* ``<lang>/queue-thereare``, ``queue-callswaiting``, ``queue-youarenext`` and, for Dutch,
  ``nl/digits/1..20``: what ``announce-position`` plays. Debian ships no Dutch sounds.

The language directory is chosen by Asterisk from the caller's ``CHANNEL(language)``,
which the IVR sets to the language the caller chose; so the same queue speaks Dutch to
one caller and English to the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from pathlib import Path
from typing import Protocol

from ivr.config import Lang
from ivr.numbers_nl import say_number, say_wait_minutes
from ivr.prompts import PromptRenderer
from ivr.speaker import fill, pick
from telephony.config import Config

log = logging.getLogger(__name__)

POSITION_LIMIT = 20  # queues.conf announce-position-limit: the digits we provide
QUEUE_SOUNDS: dict[str, dict[Lang, str]] = {
    "queue-youarenext": {"nl": "U bent de volgende.", "en": "You are next in line."},
    "queue-thereare": {"nl": "U bent nummer", "en": "You are number"},
    "queue-callswaiting": {"nl": "in de wachtrij.", "en": "in the queue."},
    "queue-thankyou": {"nl": "Dank u voor uw geduld.", "en": "Thank you for your patience."},
}


class EwtSource(Protocol):
    """Expected wait per queue in seconds (None: not enough recent answers to say)."""

    def ewt_seconds(self, queue: str) -> float | None: ...


class NoEwt:
    def ewt_seconds(self, queue: str) -> float | None:
        return None


def wait_text(config: Config, ewt: float | None, lang: Lang) -> str:
    """The sentence(s) of the periodic announcement for one queue."""
    texts = config.ivr.texts
    if ewt is None:
        return ("Een ogenblik geduld alstublieft, u wordt zo snel mogelijk geholpen."
                if lang == "nl" else "Please hold, you will be helped as soon as possible.")
    minutes = max(0, round(ewt / 60))
    out = fill(pick(texts.wait_time, lang), {"minutes": say_wait_minutes(minutes, lang)})
    if ewt > config.ivr.callback_offer_seconds:
        out += " " + pick(texts.wait_callback, lang)
    return out


class WaitAnnouncer:
    def __init__(self, config: Config, renderer: PromptRenderer,
                 ewt: EwtSource | None = None) -> None:
        self.config = config
        self.renderer = renderer
        self.ewt: EwtSource = ewt or NoEwt()
        self._last: dict[tuple[str, str], str] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def sounds_root(self) -> Path:
        """Asterisk's sounds directory on this host (the prompts dir is a child of it)."""
        prompts = self.config.ivr.prompts
        if "/" in prompts.asterisk_dir:
            raise ValueError("ivr.prompts.asterisk_dir must be one directory under "
                             "Asterisk's sounds directory for queue announcements")
        return Path(prompts.dir).parent

    async def _install(self, text: str, lang: Lang, target: str) -> None:
        ref = await self.renderer.render(text, lang)
        # English goes in the language-less place: Asterisk falls back to it for any
        # language without its own file, and Debian's en/ is an alternatives symlink
        # (package-owned, and dangling when seen from outside a chroot).
        base = self.sounds_root / target if lang == "en" else self.sounds_root / lang / target
        await asyncio.to_thread(_copy, ref.path, base.with_suffix(".sln"))
        await asyncio.to_thread(_copy, ref.path16, base.with_suffix(".sln16"))

    async def install_queue_sounds(self) -> None:
        """The position announcement's words, in every configured language."""
        for lang in self.config.kcc.languages:
            for name, text in QUEUE_SOUNDS.items():
                await self._install(text[lang], lang, name)
            if lang == "nl":  # Debian has English digits, not Dutch ones
                for n in range(1, POSITION_LIMIT + 1):
                    await self._install(say_number(n, "nl"), "nl", f"digits/{n}")

    async def refresh(self) -> int:
        """Re-render the queues' waiting announcements whose text changed; returns how many."""
        changed = 0
        for queue in self.config.queues:
            ewt = self.ewt.ewt_seconds(queue.id)
            for lang in self.config.kcc.languages:
                text = wait_text(self.config, ewt, lang)
                if self._last.get((queue.id, lang)) == text:
                    continue
                await self._install(text, lang, f"kcc/wait-{queue.id}")
                self._last[(queue.id, lang)] = text
                changed += 1
        return changed

    async def run(self, interval: float = 20.0) -> None:
        await self.install_queue_sounds()
        while True:
            try:
                await self.refresh()
            except Exception:
                log.exception("waiting announcements not refreshed")
            await asyncio.sleep(interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="ivr-wait-announcer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def _copy(source: Path, target: Path) -> None:
    """Atomic replace: Asterisk may be playing the old file to a caller right now."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(source, tmp)
    os.chmod(tmp, 0o644)
    tmp.replace(target)
