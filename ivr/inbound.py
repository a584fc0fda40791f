"""The ``inbound`` FastAGI route: decide where an inbound call goes.

Today it identifies the dialled 14 number and its municipality (or municipalities) and
routes to the general queue; the IVR flows (language, subject menu, speech, self-service)
grow from here. It only sets channel variables; the dialplan does the queueing, and a
queue id outside the configured ones is ignored by the dialplan's whitelist.
"""

from __future__ import annotations

import logging

from panoramisk.fast_agi import Request

from ivr.agi_server import agi_command, quote_agi
from telephony.config import Config

log = logging.getLogger(__name__)


class InboundRoute:
    def __init__(self, config: Config) -> None:
        self.config = config

    async def __call__(self, request: Request) -> None:
        headers = request.headers
        # The dialplan passes KCC_DIALLED (set from config, E.164) as the first argument.
        dialled = (headers.get("agi_arg_1") or headers.get("agi_extension", ""))[:32]
        number = self.config.number_for_digits(dialled)
        variables = {"KCC_QUEUE": self.config.general_queue.id,
                     "KCC_LANG": self.config.kcc.default_language}
        if number is not None and len(number.municipalities) == 1:
            variables["KCC_MUNICIPALITY"] = number.municipalities[0]
        for name, value in variables.items():
            await agi_command(request, f"SET VARIABLE {name} {quote_agi(value)}")
        log.info("inbound call routed", extra={"uniqueid": headers.get("agi_uniqueid", "")[:40],
                                               "dialled": dialled, "queue": variables["KCC_QUEUE"]})

    async def handle(self, request: Request) -> None:
        await self(request)
