"""Contact history of the caller in the pop: earlier calls, call-backs and terugbelnotities
from the same phone number.

``GET /api/zaken/calls/{call_id}/history`` answers only the agent the call was offered to
(the pop state is the authority, as for every pop route) and only after they verified
the caller's identity: a number's history is personal data (AVG), like the klant's
details, and it goes on the processing log before it is returned. The number is the one
the pop stored at the offer (E.164), never one the browser sends. Anonymous callers have
no history.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from telephony.zaken.phone import normalise
from telephony.zaken.privacy import ProcessingLog

if TYPE_CHECKING:
    from telephony.service import KccService

HISTORY_ROLES = ("agent", "supervisor")
LIMIT = 10


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _iso(rows: list[Any]) -> list[dict[str, Any]]:
    return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in dict(r).items()}
            for r in rows]


async def history(request: web.Request) -> web.Response:
    from telephony.auth import AGENT_KEY
    from telephony.web import SERVICE_KEY

    who = request.get(AGENT_KEY)
    if not isinstance(who, dict):
        return _error(401, "unauthenticated", "log in first")
    if who.get("role") not in HISTORY_ROLES:
        return _error(403, "forbidden", "your role may not do this")
    call_id = request.match_info["call_id"][:64]
    service: KccService = request.app[SERVICE_KEY]
    assert service.popper is not None
    state = await service.popper.state.get(call_id, who["login"])
    if state is None:
        return _error(404, "not_found", "no pop of this call for you")
    if not state["verified"]:
        return _error(403, "not_verified", "verify the caller's identity first")
    number = normalise(str(state["call"].get("caller_number") or ""),
                       service.config.zaken.default_region)
    if not number:
        return web.json_response({"number": "", "calls": [], "callbacks": [], "notes": []})
    await ProcessingLog(service.pool).record(
        actor=who["login"], actor_role=str(who["role"]), action="details",
        purpose=service.config.zaken.purpose, call_id=call_id,
        klant_ref=str(state.get("chosen_ref") or ""), source="contact_history")
    calls, callbacks, notes = await _fetch(service, number, call_id)
    return web.json_response({"number": number, "calls": calls, "callbacks": callbacks,
                              "notes": notes})


async def _fetch(service: KccService, number: str, call_id: str
                 ) -> tuple[list[dict[str, Any]], ...]:
    async with service.pool.acquire() as conn:
        calls = await conn.fetch(
            """SELECT linkedid, started_at, queue, subject, answered_by, abandoned,
                      talk_seconds, hold_seconds, transfer_count, callback
                 FROM calls WHERE caller_number = $1 AND linkedid <> $2
                ORDER BY started_at DESC LIMIT $3""", number, call_id, LIMIT)
        callbacks = await conn.fetch(
            """SELECT id, kind, status, outcome, subject, queued_at, window_end, attempts
                 FROM callbacks WHERE number = $1 ORDER BY queued_at DESC LIMIT $2""",
            number, LIMIT)
        notes = await conn.fetch(
            """SELECT id, onderwerp, status, deadline, resultaat, created_at FROM taken
                WHERE soort = 'terugbelnotitie' AND telefoonnummer = $1
                ORDER BY created_at DESC LIMIT $2""", number, LIMIT)
    return _iso(calls), _iso(callbacks), _iso(notes)


ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/api/zaken/calls/{call_id}/history", history)]
OPENAPI_PATHS: dict[str, Any] = {
    "/api/zaken/calls/{call_id}/history": {"get": {
        "summary": "Contact history of the caller (earlier calls, call-backs, "
                   "terugbelnotities from the same number); the offered agent only, after "
                   "verification; on the processing log",
        "parameters": [{"name": "call_id", "in": "path", "required": True,
                        "schema": {"type": "string"}}],
        "responses": {"200": {"description": "{number, calls, callbacks, notes}"},
                      "401": {"description": "not logged in"},
                      "403": {"description": "role, or not verified yet"},
                      "404": {"description": "no pop of this call for you"}}}},
}
