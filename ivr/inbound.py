"""The ``inbound`` FastAGI route: one IVR session per inbound call.

Before anything is asked, ``KCC_QUEUE`` is set to the general queue: whatever goes wrong
later (a bug, a database hiccup, a prompt that cannot be rendered) the dialplan then
still queues the caller for a person. The flow (:mod:`ivr.flow`) refines the choice;
the dialplan acts on it only after its whitelist check. When the session ends — by a
choice, an error or the caller hanging up — its record is stored, with the outcome.
"""

from __future__ import annotations

import logging
import time

from panoramisk.fast_agi import Request

from ivr.agi_server import AgiHangup, agi_command, quote_agi
from ivr.channel import AgiChannel
from ivr.flow import IvrDeps, IvrFlow
from ivr.session import IvrSession, clean
from ivr.session_store import MemorySessionStore, SessionStore
from telephony.config import Config

log = logging.getLogger(__name__)


class InboundRoute:
    def __init__(self, config: Config, deps: IvrDeps | None = None,
                 store: SessionStore | None = None) -> None:
        self.config = config
        self.deps = deps
        self.store: SessionStore = store or MemorySessionStore()

    async def __call__(self, request: Request) -> None:
        headers = request.headers
        # The dialplan passes KCC_DIALLED (set from config, E.164) as the first argument.
        dialled = clean(headers.get("agi_arg_1") or headers.get("agi_extension", ""), 32)
        session = IvrSession(uniqueid=clean(headers.get("agi_uniqueid", ""), 40),
                             dialled=dialled,
                             caller_number=clean(headers.get("agi_callerid", ""), 40),
                             language=self.config.kcc.default_language)
        chan = AgiChannel(request)
        answered = time.perf_counter()
        try:
            await chan.set_var("KCC_QUEUE", self.config.general_queue.id)
            session.queue = self.config.general_queue.id
            linkedid = await agi_command(request, "GET VARIABLE CHANNEL(linkedid)")
            value = linkedid.get("result")
            if isinstance(value, tuple) and value[0] == "1":
                session.linkedid = clean(value[1], 64)
            if self.deps is None or not self.config.ivr.enabled:
                await self._without_ivr(request, session)
            else:
                await IvrFlow(self.deps, chan, session).run()
        except AgiHangup:
            session.outcome = session.outcome or "hangup"
        except Exception:
            # The general queue was set first: the caller still reaches a person.
            log.exception("IVR session failed; the caller goes to the general queue")
            session.outcome = "error"
        finally:
            session.ended_at = time.time()
            if chan.first_audio_at is not None:
                session.first_prompt_ms = round((chan.first_audio_at - answered) * 1000, 2)
            await self.store.save(session)
            log.info("IVR session ended", extra={
                "uniqueid": session.uniqueid, "outcome": session.outcome,
                "queue": session.queue, "municipality": session.municipality})

    async def _without_ivr(self, request: Request, session: IvrSession) -> None:
        """No menus (IVR off): tag the call and go to the general queue."""
        number = self.config.number_for_digits(session.dialled)
        variables = {"KCC_LANG": self.config.kcc.default_language}
        if number is not None and len(number.municipalities) == 1:
            variables["KCC_MUNICIPALITY"] = number.municipalities[0]
            session.municipality = number.municipalities[0]
        for name, value in variables.items():
            await agi_command(request, f"SET VARIABLE {name} {quote_agi(value)}")
        session.outcome = "queue"

    async def handle(self, request: Request) -> None:
        await self(request)
