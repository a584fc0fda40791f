"""Builds the IVR for one service instance: prompts, speech, calamity source, route.

Kept apart from ``telephony/service.py`` so that wiring stays one line there, and so
tests build exactly what the service runs (same objects, own ports and directories).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ivr.calamity import RedisCalamity
from ivr.flow import IvrDeps
from ivr.inbound import InboundRoute
from ivr.prompts import PromptError, PromptRenderer
from ivr.queue_callback import QueueCallbackRoute
from ivr.selfservice import NoZaken, ZaakSource
from ivr.session_store import PostgresSessionStore
from ivr.speaker import Speaker, fill
from ivr.speech import SpeechRecognizer
from ivr.waiting import EwtSource, WaitAnnouncer
from telephony.config import Config

log = logging.getLogger(__name__)


class IvrApp:
    def __init__(self, config: Config, zaken: ZaakSource | None = None,
                 ewt: EwtSource | None = None) -> None:
        self.config = config
        self.renderer = PromptRenderer(config.ivr.prompts)
        self.speech = SpeechRecognizer(config.ivr.speech)
        self.deps = IvrDeps(config=config, speaker=Speaker(self.renderer, config.ivr.texts),
                            zaken=zaken or NoZaken(), speech=self.speech)
        self.route = InboundRoute(config, self.deps if config.ivr.enabled else None)
        self.callback_route = QueueCallbackRoute(config, self.deps.speaker, self.route.store)
        self.deps.callback_booker = self.callback_route.book_in_flow
        self.waiting = WaitAnnouncer(config, self.renderer, ewt)
        self._prerender: asyncio.Task[int] | None = None

    async def start(self, pool: Any = None, redis: Any = None) -> None:
        """Attach storage, load the speech model and render the prompts in the background."""
        if pool is not None:
            self.route.store = self.callback_route.store = PostgresSessionStore(pool)
        if redis is not None:
            self.deps.calamity = RedisCalamity(redis, self.config.redis.prefix)
        if self.config.ivr.enabled:
            await self.speech.start()
            self._prerender = asyncio.create_task(self.prerender(), name="ivr-prerender")
            self.waiting.start()

    async def prerender(self) -> int:
        """Render every fixed sentence and menu text now, so no caller waits for espeak-ng."""
        ivr = self.config.ivr
        speaker = self.deps.speaker
        count = 0
        for lang in self.config.kcc.languages:
            texts: list[str] = []
            for name in type(ivr.texts).model_fields:
                template = getattr(ivr.texts, name)
                if "{" not in template.get(lang, template["nl"]):
                    texts.append(template.get(lang, template["nl"]))
            option = ivr.texts.option
            for menu in ivr.menus:
                texts.append(menu.prompt.get(lang, menu.prompt["nl"]))
                for o in menu.options:
                    texts.append(fill(option.get(lang, option["nl"]),
                                      {"label": o.label.get(lang, o.label["nl"]), "key": o.key}))
            names = {m.id: m.spoken_name or m.name for m in self.config.municipalities}
            for flow in ivr.flows:
                for mid in flow.municipalities:
                    texts.append(fill(flow.welcome.get(lang, flow.welcome["nl"]),
                                      {"municipality": names[mid]}))
            for number in self.config.numbers:
                if len(number.municipalities) > 1:
                    for i, mid in enumerate(number.municipalities[:9], start=1):
                        texts.append(fill(option.get(lang, option["nl"]),
                                          {"label": names[mid], "key": i}))
            for text in texts:
                try:
                    await speaker.say(text, lang)
                    count += 1
                except PromptError as exc:
                    log.error("prompt cannot be rendered: %s", exc)
        log.info("IVR prompts ready (%d rendered or cached)", count)
        return count

    async def stop(self) -> None:
        if self._prerender is not None:
            self._prerender.cancel()
        await self.waiting.stop()
