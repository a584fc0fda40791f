"""The caller dialogue, driven by the ``[ivr]`` config: which municipality, welcome,
language, calamity message, opening hours, menus, self-service, to a queue.

Rules every step follows, because the caller cannot see the code:

* Wrong or missing input is retried ``max_tries`` times, then the caller goes to a
  person. A caller is never hung up on for not managing a menu.
* ``0`` is always "a person"; ``*`` is "back" in a sub-menu.
* DTMF always works. Speech is offered on top where a menu asks for it and a model is
  loaded; what was recognised (and how sure) is kept as the transcript.
* Every decision is written to the :class:`~ivr.session.IvrSession` *and* to channel
  variables as soon as it is made, so a hang-up at any point still leaves a record and
  the call model sees the choices (``KCC_LANG``, ``KCC_SUBJECT``...).

The flow only decides; Asterisk plays and records (the service is never in the media
path), and the dialplan acts on ``KCC_QUEUE``/``KCC_ACTION`` when the session returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ivr.calamity import CalamitySource, StaticCalamity
from ivr.channel import Channel
from ivr.config import Lang, Menu
from ivr.hours import OpenStatus, load_zone
from ivr.numbers_nl import say_date
from ivr.selfservice import (
    MemoryZaakGate,
    NoZaken,
    ZaakGate,
    ZaakSource,
    hours_sentences,
    when_text,
)
from ivr.session import IvrSession, clean
from ivr.speaker import Speaker, pick
from ivr.speech import SpeechRecognizer, match_subject
from telephony.config import Config

log = logging.getLogger(__name__)

AGENT_KEY = "0"
BACK_KEY = "*"
ZAAK_LOOKUP_TIMEOUT = 5.0

Listener = Callable[[IvrSession, str, str], Awaitable[None] | None]


@dataclass
class IvrDeps:
    """Everything a flow needs besides the call; one instance serves all calls."""

    config: Config
    speaker: Speaker
    calamity: CalamitySource = field(default_factory=StaticCalamity)
    zaken: ZaakSource = field(default_factory=NoZaken)
    # Per-number daily limit and the processing log of zaak status disclosures.
    zaak_gate: ZaakGate | None = None
    speech: SpeechRecognizer | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    listeners: list[Listener] = field(default_factory=list)
    # Books a real call-back (telephony/callbacks via ivr/queue_callback.py); returns
    # False when nothing was booked (then the wish is only recorded).
    callback_booker: Callable[[Any, IvrSession, Lang], Awaitable[bool]] | None = None

    @property
    def speech_ready(self) -> bool:
        return self.speech is not None and self.speech.available


class IvrFlow:
    """One caller's way through the dialogue. ``run`` returns when the call should leave
    the IVR (to a queue or to a goodbye); AgiHangup propagates when the caller hangs up."""

    def __init__(self, deps: IvrDeps, chan: Channel, session: IvrSession) -> None:
        self.deps = deps
        self.ivr = deps.config.ivr
        self.chan = chan
        self.session = session
        self.lang: Lang = deps.config.kcc.default_language
        self.zaak_tries = 0

    # ------------------------------------------------------------------ helpers
    async def _emit(self, kind: str, where: str) -> None:
        for listener in self.deps.listeners:
            result = listener(self.session, kind, where)
            if result is not None:
                await result

    async def var(self, name: str, value: str) -> None:
        # "__": inherited by the agent's leg, so the choice travels with the call.
        await self.chan.set_var(f"__{name}", value)

    async def text(self, name: str, /, **params: object) -> str:
        return await self.deps.speaker.text(name, self.lang, **params)

    async def say(self, text: str) -> str:
        return await self.deps.speaker.say(text, self.lang)

    async def choose(self, where: str, prompts: list[str], keys: set[str],
                     words: dict[str, list[str]] | None = None, *, agent: bool = True,
                     back: bool = False, tries: int | None = None) -> str | None:
        """Ask until a valid key (or agent/back); None when the tries are used up."""
        allowed = set(keys) | ({AGENT_KEY} if agent else set()) | ({BACK_KEY} if back else set())
        tries = tries or self.ivr.max_tries
        for attempt in range(tries):
            await self._emit("ask", where)
            key = await self.chan.play(prompts)
            via = "dtmf"
            if not key:
                if words and self.deps.speech_ready:
                    key, via = await self.listen(where, words)
                else:
                    key = await self.chan.wait_digit(self.ivr.input_timeout)
            if key in allowed:
                self.session.step(where, key, via, "ok")
                return key
            self.session.step(where, key, via, "invalid" if key else "no_input")
            if attempt + 1 < tries:
                await self.chan.play([await self.text("invalid" if key else "no_input")],
                                     escape="")
        return None

    async def listen(self, where: str, words: dict[str, list[str]]) -> tuple[str, str]:
        """Record the caller's answer and recognise it; a key pressed meanwhile wins."""
        assert self.deps.speech is not None
        name = f"{self.session.uniqueid or 'call'}-{uuid.uuid4().hex[:8]}"
        name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
        host = Path(self.ivr.speech_audio_dir) / f"{name}.wav"
        host.parent.mkdir(parents=True, exist_ok=True)
        await self._emit("listen", where)
        key = await self.chan.record(f"{self.ivr.speech_audio_asterisk_dir}/{name}",
                                     self.ivr.record_seconds, self.ivr.record_silence)
        try:
            if key:
                return key, "dtmf"
            grammar = [w for ws in words.values() for w in ws]
            result = await self.deps.speech.recognize(host, grammar)
            chosen = match_subject(result, words)
            if result is not None:
                heard = f"{where}: {result.transcript} ({result.confidence:.2f})"
                self.session.transcript = clean(
                    f"{self.session.transcript} | {heard}" if self.session.transcript
                    else heard, 500)
                await self.var("KCC_TRANSCRIPT", self.session.transcript[:200])
            return chosen or "", "speech"
        finally:
            if not self.ivr.keep_speech_audio:
                with contextlib.suppress(OSError):
                    host.unlink()

    # ------------------------------------------------------------------ outcomes
    async def to_queue(self, queue: str, outcome: str = "queue") -> None:
        self.session.queue, self.session.outcome = queue, outcome
        await self.chan.set_var("KCC_QUEUE", queue)

    async def to_agent(self, outcome: str) -> None:
        await self.chan.play([await self.text("to_agent")], escape="")
        queue = self.ivr.agent_queue or self.deps.config.general_queue.id
        await self.to_queue(queue, outcome)

    async def hang_up(self, outcome: str) -> None:
        self.session.outcome = outcome
        await self.chan.play([await self.text("goodbye")], escape="")
        await self.chan.set_var("KCC_ACTION", "hangup")

    # ------------------------------------------------------------------ the dialogue
    async def run(self) -> None:
        config = self.deps.config
        number = config.number_for_digits(self.session.dialled)
        municipalities = number.municipalities if number else []
        if not municipalities:
            await self.to_queue(config.general_queue.id, "unknown_number")
            return
        municipality = municipalities[0]
        if len(municipalities) > 1:
            chosen = await self.ask_municipality(municipalities)
            if chosen is None:
                await self.to_agent("agent_after_tries")
                return
            municipality = chosen
        self.session.municipality = municipality
        await self.var("KCC_MUNICIPALITY", municipality)
        flow = self.ivr.flow_for(municipality)
        spoken = self._spoken_name(municipality)
        if flow is not None:
            welcome = pick(flow.welcome, self.lang).replace("{municipality}", spoken)
            await self.welcome(await self.say(welcome))
        calamity = await self.deps.calamity.current(municipality)
        if calamity is not None:
            self.session.step("calamity", "", "system", "played")
            await self.chan.play([await self.say(calamity.text(self.lang))], escape="")
        status = config.hours.status(self.deps.clock(), config.kcc.timezone)
        if not status.is_open:
            await self.closed(status)
            return
        if flow is None:
            await self.to_queue(config.general_queue.id, "queue")
            return
        await self.menus(flow.menu)

    def _zone(self) -> ZoneInfo:
        return load_zone(self.deps.config.kcc.timezone)

    def _spoken_name(self, municipality: str) -> str:
        m = next(m for m in self.deps.config.municipalities if m.id == municipality)
        return m.spoken_name or m.name

    async def ask_municipality(self, ids: list[str]) -> str | None:
        keys = {str(i + 1): mid for i, mid in enumerate(ids[:9])}
        prompts = [await self.text("which_municipality")]
        for key, mid in keys.items():
            prompts.append(await self.text("option", label=self._spoken_name(mid), key=key))
        words = {key: [self._spoken_name(mid).lower()] for key, mid in keys.items()}
        key = await self.choose("municipality", prompts, set(keys), words, agent=False)
        return keys.get(key or "")

    async def welcome(self, welcome: str) -> None:
        """The welcome, during and after which one key switches to English."""
        languages = self.deps.config.kcc.languages
        switch = self.ivr.ask_language and "en" in languages and self.lang != "en"
        escape = self.ivr.language_key if switch else ""
        names = [welcome]
        if switch:
            names.append(await self.deps.speaker.text("language", "nl"))
            await self._emit("ask", "language")
        key = await self.chan.play(names, escape=escape)
        if switch and not key:
            key = await self.chan.wait_digit(self.ivr.language_timeout)
        if switch and key == self.ivr.language_key:
            self.lang = "en"
            self.session.step("language", key, "dtmf", "en")
        self.session.language = self.lang
        await self.var("KCC_LANG", self.lang)
        # Asterisk then picks <lang>/ sounds itself: the queue's announcements too.
        await self.chan.set_var("CHANNEL(language)", self.lang)

    async def closed(self, status: OpenStatus) -> None:
        names = [await self.text("closed")]
        reason = status.reason_text(self.lang)
        if reason:
            names.append(await self.say(reason))
        if status.next_open is not None:
            when = when_text(status.next_open, status.at.date(), self.lang)
            names.append(await self.text("opens_again", when=when))
        await self.chan.play(names, escape="")
        self.session.step("closed", "", "system", status.reason or "closed")
        key = await self.choose("closed_callback", [await self.text("callback_offer")], {"1"},
                                agent=False, tries=1)
        if key == "1":
            await self.callback()
            return
        await self.hang_up("closed")

    async def callback(self) -> None:
        """Book a call-back (closed hours, or chosen in a menu); else record the wish."""
        if self.deps.callback_booker is not None and await self.deps.callback_booker(
                self.chan, self.session, self.lang):
            await self.hang_up("callback")
            return
        self.session.callback = True
        self.session.contact("callback", "requested")
        await self.var("KCC_CALLBACK", "requested")
        days = self.deps.config.kcc.callback_promise_working_days
        await self.chan.play([await self.text("callback_confirm", days=days)], escape="")
        await self.hang_up("callback")

    async def menu_prompts(self, menu: Menu) -> list[str]:
        names = [await self.say(pick(menu.prompt, self.lang))]
        for option in menu.options:
            names.append(await self.text("option", label=pick(option.label, self.lang),
                                         key=option.key))
        names.append(await self.text("agent_option"))
        return names

    async def menus(self, start: str) -> None:
        stack = [start]
        while stack:
            menu = self.ivr.menu(stack[-1])
            options = {o.key: o for o in menu.options}
            words = {o.key: o.words for o in menu.options} if menu.speech else None
            key = await self.choose(menu.id, await self.menu_prompts(menu), set(options),
                                    words, back=len(stack) > 1)
            if key is None:
                await self.to_agent("agent_after_tries")
                return
            if key == AGENT_KEY:
                await self.to_agent("agent")
                return
            if key == BACK_KEY:
                stack.pop()
                continue
            option = options[key]
            self.session.subject = option.subject_id
            await self.var("KCC_SUBJECT", option.subject_id)
            if option.queue is not None:
                await self.to_queue(option.queue)
                return
            if option.menu is not None:
                stack.append(option.menu)
                continue
            if option.action == "agent":
                await self.to_agent("agent")
                return
            if option.action == "callback":
                await self.callback()
                return
            assert option.action is not None
            after = await self.self_service(option.action)
            if after == "agent":
                await self.to_agent("agent_after_service")
                return
            # "back": the menu that offered the self-service is asked again.

    # ------------------------------------------------------------------ self-service
    async def self_service(self, kind: str) -> str:
        """Answer, then "1 repeat, 2 back, 0 agent". Returns "back" or "agent"."""
        if kind == "zaak_status":
            answer, outcome = await self.zaak_status()
        elif kind == "hours":
            answer, outcome = await self.hours_answer(), "answered"
        else:
            answer, outcome = await self.address_answer(), "answered"
        self.session.contact(kind, outcome, self.session.zaaknummer if kind == "zaak_status"
                             else "")
        while True:
            await self.chan.play(answer, escape="")
            key = await self.choose(f"after_{kind}", [await self.text("after_service")],
                                    {"1", "2"})
            if key == "1":
                continue
            if key == "2":
                return "back"
            return "agent"

    async def read(self, text: str, max_digits: int) -> str:
        prompt = await self.text(text)
        await self._emit("ask", text)
        return await self.chan.read_digits([prompt], self.ivr.input_timeout, max_digits)

    async def hours_answer(self) -> list[str]:
        config = self.deps.config
        names = [await self.text("hours_intro")]
        for sentence in hours_sentences(config.hours, self.lang):
            names.append(await self.say(sentence))
        return names

    async def address_answer(self) -> list[str]:
        m = next(m for m in self.deps.config.municipalities if m.id == self.session.municipality)
        return [await self.text("address", name=m.name, address=m.address or m.name)]

    def _zaak_gate(self) -> ZaakGate:
        if self.deps.zaak_gate is None:
            self.deps.zaak_gate = MemoryZaakGate(self.ivr.zaak_tries_per_number_per_day)
        return self.deps.zaak_gate

    async def zaak_status(self) -> tuple[list[str], str]:
        zaak = await self.read("zaak_number", self.ivr.max_digits)
        postcode = await self.read("zaak_postcode", 4)
        house = await self.read("zaak_house_number", 6)
        self.session.step("zaak_status", zaak, "dtmf", "entered" if zaak else "no_input")
        if zaak:
            self.session.zaaknummer = zaak
            await self.var("KCC_ZAAKNUMMER", zaak)
        status = None
        outcome = "not_found"
        if zaak and len(postcode) == 4 and house:
            # Guessing is limited: per call, then per caller number per day (checked
            # before the lookup, so a refused try learns nothing).
            self.zaak_tries += 1
            gate = self._zaak_gate()
            if (self.zaak_tries > self.ivr.zaak_tries_per_call
                    or not await gate.allow(self.session.caller_number)):
                self.session.step("zaak_status", "", "dtmf", "too_many")
                return [await self.text("zaak_too_many")], "refused"
            try:
                status = await asyncio.wait_for(
                    self.deps.zaken.zaak_status(zaak, postcode, house), ZAAK_LOOKUP_TIMEOUT)
                if status is not None:
                    # On the processing log before the caller hears it: no trace, no data.
                    await gate.disclosed(self.session.linkedid or self.session.uniqueid,
                                         status)
            except Exception as exc:
                log.warning("zaak status lookup failed: %s", type(exc).__name__)
                status, outcome = None, "error"
        if status is None:
            return [await self.text("zaak_not_found")], outcome
        text = status.status_en if self.lang == "en" and status.status_en else status.status_nl
        names = [await self.text("zaak_status", status=text)]
        if status.expected_end is not None:
            today = self.deps.clock().astimezone(self._zone()).date()
            day = say_date(status.expected_end, today, self.lang)
            names.append(await self.text("zaak_end_date", date=day))
        return names, "answered"
