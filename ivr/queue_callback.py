"""The ``callback`` FastAGI route: a waiting caller pressed 1 for the call-back offer.

Virtual hold ("keep my place"): the caller confirms the number to call (their caller ID
with 1, or 2 to key in another; an anonymous or uncallable caller ID must key one in),
the callback is stored with the caller's queue, the time they first queued (their place
in the one first-come line of callers and callbacks), subject and IVR data, and the
caller hears that they keep their place, then the dialplan hangs up.

Caller ID and keys are attacker-controlled: every number goes through
``telephony.callbacks.destinations`` (E.164, allowed countries and types, caps). When no
callable number is given, or the callbacks module is not wired (``booker`` is None: only the wish is
recorded, as before), the caller is not left without service: without a number the
dialplan (``kcc-queue-back``) puts them back in the queue; if the service is unreachable
likewise, so pressing 1 never loses the caller.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from panoramisk.fast_agi import Request

from ivr.agi_server import AgiHangup, agi_command
from ivr.channel import AgiChannel
from ivr.config import Lang
from ivr.session import IvrSession, clean
from ivr.session_store import MemorySessionStore, SessionStore
from ivr.speaker import Speaker
from telephony.callbacks.destinations import DestinationPolicy, DestinationRefused
from telephony.callbacks.windows import next_day_windows
from telephony.config import Config

log = logging.getLogger(__name__)
# Books a callback: (queue, e164, linkedid, data, window) -> callback id. window None:
# keep my place (virtual hold); else a terugbelafspraak in [start, end).
Window = tuple[datetime, datetime]
Booker = Callable[[str, str, str, dict[str, Any], Window | None], Awaitable[int]]

SAY: dict[str, dict[Lang, str]] = {
    "confirm_number": {
        "nl": "Wij bellen u terug op nummer {number}. Klopt dit, druk dan 1. "
              "Voor een ander nummer, druk 2.",
        "en": "We will call you back on {number}. If that is right, press 1. "
              "For another number, press 2."},
    "key_number": {
        "nl": "Toets het telefoonnummer waarop wij u kunnen terugbellen, gevolgd door een hekje.",
        "en": "Please key in the phone number we can call you back on, followed by hash."},
    "bad_number": {
        "nl": "Dit nummer kunnen wij helaas niet terugbellen.",
        "en": "Sorry, we cannot call back this number."},
    "refused": {
        "nl": "Wij kunnen u op dit nummer nu niet terugbellen. {reason} U blijft in de "
              "wachtrij.",
        "en": "Sorry, we cannot book a call-back to this number now. You stay in the "
              "queue."},
    "choose_when": {
        "nl": "Druk 1 om uw plaats in de wachtrij te houden: wij bellen u zodra u aan de "
              "beurt bent. Of kies een tijd op {day}: druk 2 voor de ochtend, 3 voor de "
              "middag.",
        "en": "Press 1 to keep your place in the queue: we call you when it is your turn. "
              "Or choose a time on {day}: press 2 for the morning, 3 for the afternoon."},
    "booked_window": {
        "nl": "Wij bellen u terug op {day} tussen {start} en {end} uur. Neem dan op en druk "
              "op 1.",
        "en": "We will call you back on {day} between {start} and {end}. Please answer and "
              "press 1."},
    "keep_place": {
        "nl": "U houdt uw plaats in de wachtrij. Zodra u aan de beurt bent, belt een "
              "medewerker u terug. Neem dan op en druk op 1.",
        "en": "You keep your place in the queue. When it is your turn, an agent will call "
              "you back. Please answer and press 1."},
}


DAYS: dict[Lang, list[str]] = {
    "nl": ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]}


def spoken(e164: str) -> str:
    """+31612345678 -> "0 6 1 2 3 4 5 6 7 8": digits one by one, as Dutch KCCs say them."""
    digits = "0" + e164[3:] if e164.startswith("+31") else e164
    return " ".join(digits.replace("+", "plus "))


class QueueCallbackRoute:
    def __init__(self, config: Config, speaker: Speaker,
                 store: SessionStore | None = None) -> None:
        self.config = config
        self.speaker = speaker
        self.store: SessionStore = store or MemorySessionStore()
        self.booker: Booker | None = None  # set by telephony.callbacks.service
        # The toll-fraud guard; the callbacks module replaces it with one that also
        # knows the database (caps, one open call-back per number).
        self.policy = DestinationPolicy(config.callbacks)

    async def _get(self, request: Request, name: str) -> str:
        result = await agi_command(request, f"GET VARIABLE {name}")
        value = result.get("result")
        return clean(value[1], 64) if isinstance(value, tuple) and value[0] == "1" else ""

    async def _say(self, key: str, lang: Lang, **params: str) -> str:
        text = SAY[key].get(lang) or SAY[key]["nl"]
        for name, value in params.items():
            text = text.replace("{" + name + "}", value)
        return await self.speaker.say(text, lang)

    async def choose_number(self, chan: AgiChannel, caller_id: str, lang: Lang) -> str | None:
        """The E.164 number to call back, confirmed by the caller, or None."""
        try:  # a spoofed foreign caller ID is refused here like a keyed one
            own: str | None = self.policy.number(caller_id, "ivr")
        except DestinationRefused:
            own = None
        if own is not None:
            prompt = await self._say("confirm_number", lang, number=spoken(own))
            key = await chan.play([prompt], escape="12") or await chan.wait_digit(6)
            if key == "1":
                return own
            if key != "2":
                return None
        for _ in range(2):
            keyed = await chan.read_digits([await self._say("key_number", lang)], 8, 16)
            try:
                return self.policy.number(keyed, "ivr")
            except DestinationRefused as exc:
                log.info("keyed call-back number refused: %s", exc.code)
                await chan.play([await self._say("bad_number", lang)], escape="")
        return None

    async def choose_when(self, chan: AgiChannel, lang: Lang) -> Window | None:
        """Keep my place (None: also on no key), or a window on the next working day."""
        windows = next_day_windows(self.config.hours, self.config.kcc.timezone,
                                   datetime.now(UTC))
        if not windows:
            return None
        day = DAYS[lang][next(iter(windows.values()))[0].weekday()]
        prompt = await self._say("choose_when", lang, day=day)
        key = await chan.play([prompt], escape="123") or await chan.wait_digit(5)
        return windows.get({"2": "morning", "3": "afternoon"}.get(key, ""))

    async def __call__(self, request: Request) -> None:
        headers = request.headers
        session = IvrSession(uniqueid=clean(headers.get("agi_uniqueid", ""), 40) + ":callback",
                             queue=clean(headers.get("agi_arg_1", ""), 40),
                             caller_number=clean(headers.get("agi_callerid", ""), 40))
        chan = AgiChannel(request)
        try:
            session.linkedid = await self._get(request, "CHANNEL(linkedid)")
            lang = await self._get(request, "KCC_LANG")
            session.language = lang if lang in self.config.kcc.languages else "nl"
            session.municipality = await self._get(request, "KCC_MUNICIPALITY")
            session.subject = await self._get(request, "KCC_SUBJECT")
            session.callback = True
            language: Lang = "en" if session.language == "en" else "nl"
            if self.booker is None:
                await self._note_only(chan, session, language)
                return
            dialled = await self._get(request, "KCC_DIALLED")
            if not await self._book(chan, session, language, {"dialled": dialled}):
                session.outcome = "callback_no_number"
                return  # KCC_ACTION stays empty: the dialplan puts the caller back
            await chan.play([await self.speaker.text("goodbye", language)], escape="")
            await chan.set_var("KCC_ACTION", "hangup")
            session.outcome = "callback"
        except AgiHangup:
            session.outcome = session.outcome or "hangup"
        finally:
            session.ended_at = time.time()
            await self.store.save(session)

    async def book_in_flow(self, chan: AgiChannel, session: IvrSession, lang: str) -> bool:
        """The IVR's own call-back offer (closed hours, a menu option): book it for real.

        Same dialogue as in the queue: confirm or key in the number, then "keep my place"
        (dialled as soon as the KCC is open and an agent is free) or a window on the next
        working day. False when no call-back was booked (no callbacks module, no number).
        """
        if self.booker is None:
            return False
        return await self._book(chan, session, "en" if lang == "en" else "nl", {})

    async def _book(self, chan: AgiChannel, session: IvrSession, language: Lang,
                    extra: dict[str, str]) -> bool:
        """Number, then keep-my-place or a window; book it and say so. False: no number."""
        assert self.booker is not None
        number = await self.choose_number(chan, session.caller_number, language)
        if number is None:
            session.contact("callback", "no_number")
            return False
        general = next(q.id for q in self.config.queues if q.general)
        queue = session.queue if session.queue in {q.id for q in self.config.queues} \
            else general
        window = await self.choose_when(chan, language)
        try:
            cid = await self.booker(queue, number, session.linkedid, {
                "subject": session.subject, "municipality": session.municipality,
                "language": session.language, "ivr_uniqueid": session.uniqueid, **extra},
                window)
        except DestinationRefused as exc:  # a cap, or a call-back already open
            log.info("call-back booking refused: %s", exc.code)
            session.contact("callback", f"refused:{exc.code}")
            await chan.play([await self._say("refused", language, reason=exc.dutch)],
                            escape="")
            return False
        session.callback = True
        session.contact("callback", "booked" if window is None else "scheduled")
        await chan.set_var("__KCC_CALLBACK", f"booked:{cid}")
        if window is None:
            said = await self._say("keep_place", language)
        else:
            start, end = window
            said = await self._say("booked_window", language,
                                   day=DAYS[language][start.weekday()],
                                   start=f"{start:%H:%M}", end=f"{end:%H:%M}")
        await chan.play([said], escape="")
        return True

    async def _note_only(self, chan: AgiChannel, session: IvrSession, language: Lang) -> None:
        """Without the callbacks module: record the wish and promise the term."""
        session.contact("callback", "requested")
        await chan.set_var("__KCC_CALLBACK", "requested")
        days = self.config.kcc.callback_promise_working_days
        await chan.play([await self.speaker.text("callback_confirm", language, days=days),
                         await self.speaker.text("goodbye", language)], escape="")
        await chan.set_var("KCC_ACTION", "hangup")
        session.outcome = "callback"

    async def handle(self, request: Request) -> None:
        await self(request)
