"""Attended transfer: consult a colleague first, then hand the citizen over (or return).

The panel asks the service before it starts the consult
(``POST /api/calls/{linkedid}/consult {"to": "agent-<login>", "note"}``): the same checks
as a blind transfer (the agent's own call, a known colleague with a phone) and the same
limit, ``[kcc] max_transfers``, refused with 409 ``transfer_limit`` before anything rings.
Then the softphone holds the citizen, calls the colleague (a consult call through
``kcc-agents``) and completes with a SIP REFER with Replaces, or hangs the consult up
and resumes. The dialplan (``kcc-consult-check``) enforces the limit on the consult
itself, so it also holds when the service is down or a phone skips this route.

The handover note is kept in Redis (every instance sees it; it expires with the call's
pop state). When Asterisk reports the attended transfer, the colleague's panel gets the
citizen's pop, greeting-level as any pop, with the note (``handover``).
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from telephony.acd.agents_repo import AgentError
from telephony.acd.transfer import agent_leg, transfer_target
from telephony.auth import require_role
from telephony.events import CallTransferred, DomainEvent

if TYPE_CHECKING:
    from telephony.service import KccService

log = logging.getLogger(__name__)
NOTE_MAX = 2000
HANDOVER_TTL = 4 * 3600


def _key(service: KccService, linkedid: str) -> str:
    return f"{service.config.redis.prefix}handover:{linkedid}"


def talking_to(service: KccService, call: Any, login: str) -> str:
    """The agent's softphone channel in a bridge with ``call``'s legs, or "".

    After an attended transfer the colleague's channel belongs to the consult call (its
    own linkedid), so it is found by bridge, across calls."""
    bridges = {leg.bridge for leg in call.live_legs if leg.bridge}
    mine = f"PJSIP/agent-{login}-"
    for other in service.model.calls.values():
        for leg in other.live_legs:
            if leg.bridge in bridges and leg.channel.startswith(mine) \
                    and leg.channel[len(mine):].isalnum():
                return leg.channel
    return ""


def check(service: KccService, *, linkedid: str, login: str, role: str,
          to: object) -> tuple[str, str]:
    """(target login, dialplan extension) of a consult the limit allows, or AgentError."""
    call = service.model.calls.get(linkedid)
    if call is None or call.ended_at is not None:
        raise AgentError("not_found", "no such call in progress")
    if call.answered_by != login and role not in ("supervisor", "admin") \
            and not agent_leg(service.model, call, login) \
            and not talking_to(service, call, login):
        raise AgentError("not_your_call", "only the agent talking to the citizen may consult")
    target = transfer_target(service.config, to)
    if not target.startswith("agent-"):
        raise AgentError("bad_target", "consult a colleague: agent-<login>")
    colleague = target.removeprefix("agent-")
    if colleague == login:
        raise AgentError("bad_target", "you cannot consult yourself")
    limit = service.config.kcc.max_transfers
    if call.transfer_count >= limit:
        raise AgentError("transfer_limit",
                         f"deze burger is al {call.transfer_count}x doorverbonden (maximum "
                         f"{limit}): beantwoord de vraag zelf of boek een terugbelverzoek")
    return colleague, target


async def consult(request: web.Request) -> web.Response:
    from telephony.acd.api import _body
    from telephony.web import SERVICE_KEY

    who = require_role(request, "agent", "supervisor")
    service: KccService = request.app[SERVICE_KEY]
    linkedid = request.match_info["linkedid"][:64]
    try:
        data = await _body(request)
        note = data.get("note", "")
        if not isinstance(note, str) or len(note) > NOTE_MAX:
            raise AgentError("bad_note", f"note is text of at most {NOTE_MAX} characters")
        colleague, target = check(service, linkedid=linkedid, login=who["login"],
                                  role=who["role"], to=data.get("to"))
    except AgentError as exc:
        status = 409 if exc.code in ("transfer_limit",) else \
            404 if exc.code == "not_found" else 403 if exc.code == "not_your_call" else 400
        return web.json_response({"error": {"code": exc.code, "message": str(exc)}},
                                 status=status)
    assert service.redis is not None
    await service.redis.r.set(_key(service, linkedid), json.dumps({
        "from": who["login"], "to": colleague, "note": note.strip(), "at": time.time()}),
        ex=HANDOVER_TTL)
    return web.json_response({"linkedid": linkedid, "dial": target,
                              "max_transfers": service.config.kcc.max_transfers})


async def on_event(service: KccService, event: DomainEvent) -> None:
    """After Asterisk's AttendedTransfer: the colleague gets the pop and the note."""
    if not isinstance(event, CallTransferred) or event.kind != "attended":
        return
    assert service.redis is not None
    raw = await service.redis.r.get(_key(service, event.linkedid))
    if not raw:
        return
    handover = json.loads(raw)
    call = service.model.calls.get(event.linkedid)
    record = call.to_record() if call else {"linkedid": event.linkedid}
    message: dict[str, Any] = {
        "type": "call.offered", "linkedid": event.linkedid, "queue": record.get("queue", ""),
        "offered_at": event.at, "handover": handover,
        "call": {k: record.get(k) for k in (
            "caller_number", "caller_name", "dialled", "municipality", "language",
            "subject", "queue", "queued_at", "zaaknummer", "transcript")}}
    if service.popper is not None:
        try:
            message["pop"] = await service.popper.build(record, handover["to"])
        except Exception:
            log.exception("handover pop build failed", extra={"linkedid": event.linkedid})
            message["pop"] = {"incomplete": True}
    await service.hub.send_to_agent(handover["to"], message)
    await service.redis.r.delete(_key(service, event.linkedid))


ROUTES: list[tuple[str, str, Any]] = [
    ("POST", "/api/calls/{linkedid}/consult", consult)]
OPENAPI_PATHS: dict[str, Any] = {
    "/api/calls/{linkedid}/consult": {"post": {
        "summary": "Before an attended transfer {to: agent-<login>, note}: 409 "
                   "transfer_limit past [kcc] max_transfers; the note reaches the colleague "
                   "with the pop when the transfer completes",
        "parameters": [{"name": "linkedid", "in": "path", "required": True,
                        "schema": {"type": "string"}}],
        "responses": {"200": {"description": "{linkedid, dial}"},
                      "400": {"description": "bad target or note"},
                      "401": {"description": "not logged in"},
                      "403": {"description": "not your call"},
                      "404": {"description": "no such call"},
                      "409": {"description": "transfer_limit"}}}},
}
