"""Click-to-dial: an agent calls a citizen from the panel, through the service.

``POST /api/calls/dial {"number", "municipality"?}`` (agents and supervisors with a
phone). The number goes through the call-back destination policy's static rules
(``DestinationPolicy.number``: E.164, allowed countries and number types; refusals
counted), so the panel cannot be used to dial what a call-back may not. Like a
call-back it is agent first: Asterisk rings the agent's own endpoint and only after
they answered dials the citizen (dialplan ``kcc-dial-out``) through ``[callbacks]
citizen_context`` (the trunk), with the municipality's 14 number as caller ID — never
the agent's own extension or name. The call gets a linkedid ``out-<hex>`` the panel
uses to register the contactmoment.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import web

from telephony.acd.agents_repo import AgentError
from telephony.auth import require_role
from telephony.callbacks.destinations import DestinationRefused
from telephony.callbacks.numbers import BadNumber
from telephony.config import dialled_digits

if TYPE_CHECKING:
    from telephony.config import Config
    from telephony.service import KccService

DIAL_ROLES = ("agent", "supervisor")
_IDENT = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_PJSIP = re.compile(r"^PJSIP/agent-[a-z][a-z0-9_-]{0,39}$")
RING_AGENT_SECONDS = 30


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def caller_id_for(config: Config, municipality: str) -> str:
    """The 14 number the citizen sees: the one serving ``municipality``, else the first."""
    for number in config.numbers:
        if municipality and municipality in number.municipalities:
            return dialled_digits(number.e164)
    return dialled_digits(config.numbers[0].e164)


async def dial(request: web.Request) -> web.Response:
    from telephony.acd.api import _body
    from telephony.web import SERVICE_KEY

    who = require_role(request, *DIAL_ROLES)
    service: KccService = request.app[SERVICE_KEY]
    try:
        data = await _body(request)
    except AgentError as exc:
        return _error(400, exc.code, str(exc))
    raw = data.get("number")
    try:
        # The destination policy's static rules (countries, number types), as a call-back
        # (issue 10, finding 2): the number the agent clicks came from a caller ID, which
        # an attacker sets; the panel must not become a way to dial a revenue-share line.
        number = service.callbacks.policy.number(raw if isinstance(raw, str) else "",
                                                 "click_to_dial")
    except DestinationRefused as exc:
        return _error(exc.status, exc.code, exc.dutch)
    except BadNumber as exc:
        return _error(400, exc.code, str(exc))
    municipality = data.get("municipality") or ""
    if not isinstance(municipality, str) or (municipality and not _IDENT.match(municipality)):
        return _error(400, "bad_municipality", "municipality must be a configured id")
    record = await service.agents_repo.get(who["login"])
    # Only the agent's own softphone: a Local/test endpoint or another agent's is refused.
    if record is None or not record.active or not _PJSIP.match(record.endpoint) \
            or record.endpoint != f"PJSIP/agent-{who['login']}":
        return _error(409, "no_phone", "you have no softphone to call from")
    if service.acd.state_of(who["login"])["state"] in ("ringing", "on_call"):
        return _error(409, "busy", "finish the current call first")
    cid = caller_id_for(service.config, municipality)
    linkedid = f"out-{uuid.uuid4().hex[:20]}"
    variables = ",".join([f"KCC_OUT_NUMBER={number}", f"KCC_OUT_CID={cid}",
                          f"KCC_OUT_CONTEXT={service.config.callbacks.citizen_context}"])
    await service.link.action(
        "Originate", Channel=record.endpoint, Context="kcc-dial-out", Exten="s",
        Priority="1", Timeout=str(RING_AGENT_SECONDS * 1000), ChannelId=linkedid,
        OtherChannelId=f"{linkedid}-o", CallerID=f'"Bellen" <{number}>',
        Variable=variables, Async="true", timeout=10)
    return web.json_response({"linkedid": linkedid, "number": number, "caller_id": cid},
                             status=202)


ROUTES: list[tuple[str, str, Any]] = [("POST", "/api/calls/dial", dial)]
OPENAPI_PATHS: dict[str, Any] = {
    "/api/calls/dial": {"post": {
        "summary": "Click-to-dial {number, municipality?}: rings your softphone, then the "
                   "citizen with the municipality's 14 number (call-back number rules)",
        "responses": {"202": {"description": "{linkedid, number, caller_id}"},
                      "400": {"description": "refused number (code says why)"},
                      "401": {"description": "not logged in"},
                      "403": {"description": "not an agent or supervisor"},
                      "409": {"description": "no softphone, or already on a call"}}}},
}
