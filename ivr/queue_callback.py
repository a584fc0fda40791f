"""The ``callback`` FastAGI route: a waiting caller pressed 1 for the call-back offer.

Booking the call-back is the callbacks module's job (issue 5); this route records the
*wish* with the call (``KCC_CALLBACK=requested``, inherited by every leg, and a contact
in the IVR log), tells the caller the promised term and lets the dialplan hang up. It
runs from ``kcc-queue-exit``; if the service is unreachable the dialplan puts the caller
back in the queue instead, so pressing 1 never loses the caller.
"""

from __future__ import annotations

import logging
import time

from panoramisk.fast_agi import Request

from ivr.agi_server import AgiHangup, agi_command
from ivr.channel import AgiChannel
from ivr.config import Lang
from ivr.session import IvrSession, clean
from ivr.session_store import MemorySessionStore, SessionStore
from ivr.speaker import Speaker
from telephony.config import Config

log = logging.getLogger(__name__)


class QueueCallbackRoute:
    def __init__(self, config: Config, speaker: Speaker,
                 store: SessionStore | None = None) -> None:
        self.config = config
        self.speaker = speaker
        self.store: SessionStore = store or MemorySessionStore()

    async def _get(self, request: Request, name: str) -> str:
        result = await agi_command(request, f"GET VARIABLE {name}")
        value = result.get("result")
        return clean(value[1], 64) if isinstance(value, tuple) and value[0] == "1" else ""

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
            session.callback = True
            session.contact("callback", "requested")
            await chan.set_var("__KCC_CALLBACK", "requested")
            language: Lang = "en" if session.language == "en" else "nl"
            days = self.config.kcc.callback_promise_working_days
            await chan.play([await self.speaker.text("callback_confirm", language, days=days),
                             await self.speaker.text("goodbye", language)], escape="")
            await chan.set_var("KCC_ACTION", "hangup")
            session.outcome = "callback"
        except AgiHangup:
            session.outcome = session.outcome or "hangup"
        finally:
            session.ended_at = time.time()
            await self.store.save(session)

    async def handle(self, request: Request) -> None:
        await self(request)
