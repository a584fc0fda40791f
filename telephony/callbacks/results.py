"""FastAGI route ``callback-result``: the hangup handler of a callback call reports here.

Its arguments come from the dialplan, but the confirm digit was keyed by whoever answered
the citizen's phone: every argument is checked against a strict pattern before use.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

from panoramisk.fast_agi import Request

from telephony.callbacks.policy import outcome_of

log = logging.getLogger(__name__)
_ID = re.compile(r"^[0-9]{1,18}$")
_STATUS = re.compile(r"^[A-Z]{0,20}$")
_CONFIRM = re.compile(r"^([0-9*#]|none)?$")
Record = Callable[[int, int, str, str], Awaitable[object]]


class CallbackResultRoute:
    def __init__(self, record: Record) -> None:
        self.record = record

    async def handle(self, request: Request) -> None:
        h = request.headers
        cid, attempt = h.get("agi_arg_1", ""), h.get("agi_arg_2", "")
        dialstatus, confirm = h.get("agi_arg_3", ""), h.get("agi_arg_4", "")
        if not (_ID.match(cid) and _ID.match(attempt) and _STATUS.match(dialstatus)
                and _CONFIRM.match(confirm)):
            log.warning("callback-result with malformed arguments ignored")
            return
        outcome = outcome_of(dialstatus, confirm)
        log.info("callback %s attempt %s: %s (DIALSTATUS=%s)", cid, attempt, outcome,
                 dialstatus)
        await self.record(int(cid), int(attempt), outcome, dialstatus)
