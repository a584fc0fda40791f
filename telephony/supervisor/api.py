"""HTTP API of the supervisor's console (supervisors and admins only).

* ``GET /api/supervisor/board`` — the live board (the same JSON the WebSocket pushes as
  ``{"type": "board"}``; see ``telephony/reports/board.py``);
* ``GET /api/supervisor/actions?limit=`` — the audit log of steering actions;
* ``POST /api/supervisor/callbacks/move`` ``{"to_queue", "ids": [...]}`` or
  ``{"to_queue", "from_queue"}`` — move waiting call-backs to another queue (their place,
  ``queued_at``, is kept). Call-backs being dialled are not moved.

Steering an agent (pause, logout, skills) and the calamity message use the ACD and IVR
routes; every steering route is audited (``telephony/supervisor/audit.py``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from telephony.auth import require_role

if TYPE_CHECKING:
    from telephony.service import KccService

SUPERVISORS = ("supervisor", "admin")
MAX_IDS = 500


def _service(request: web.Request) -> KccService:
    from telephony.web import SERVICE_KEY

    return request.app[SERVICE_KEY]


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


async def board(request: web.Request) -> web.Response:
    require_role(request, *SUPERVISORS)
    service = _service(request)
    current = await service.board.current(timeout=5.0)
    if current is None:
        return _error(503, "not_ready", "the live board is not computed yet; try again")
    return web.json_response(current, headers={"Cache-Control": "no-store"})


async def actions(request: web.Request) -> web.Response:
    require_role(request, *SUPERVISORS)
    raw = request.query.get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        return _error(400, "bad_limit", "limit must be 1..1000")
    rows = await _service(request).pool.fetch(
        """SELECT id, at, actor, role, action, target, details, status, result
             FROM supervisor_actions ORDER BY id DESC LIMIT $1""", int(raw))
    return web.json_response({"actions": [
        {**dict(r), "at": r["at"].isoformat(), "details": json.loads(r["details"])}
        for r in rows]})


async def move_callbacks(request: web.Request) -> web.Response:
    require_role(request, *SUPERVISORS)
    service = _service(request)
    queues = {q.id for q in service.config.queues}
    try:
        body: Any = await request.json()
    except ValueError:
        return _error(400, "bad_request", "body must be JSON")
    if not isinstance(body, dict):
        return _error(400, "bad_request", "body must be an object")
    to_queue, from_queue, ids = body.get("to_queue"), body.get("from_queue"), body.get("ids")
    if to_queue not in queues:
        return _error(400, "bad_queue", "to_queue must be a configured queue")
    if (ids is None) == (from_queue is None):
        return _error(400, "bad_request", "give either ids or from_queue")
    if from_queue is not None and from_queue not in queues:
        return _error(400, "bad_queue", "from_queue must be a configured queue")
    if ids is not None and (not isinstance(ids, list) or not 1 <= len(ids) <= MAX_IDS
                            or not all(isinstance(i, int) and not isinstance(i, bool)
                                       and 0 < i < 2**62 for i in ids)):
        return _error(400, "bad_ids", f"ids must be 1..{MAX_IDS} call-back ids")
    rows = await service.pool.fetch(
        """UPDATE callbacks SET queue = $1, updated_at = now()
            WHERE status = 'waiting' AND queue <> $1
              AND (($2::bigint[] IS NOT NULL AND id = ANY($2::bigint[]))
                   OR ($3::text IS NOT NULL AND queue = $3))
        RETURNING id""", to_queue, ids, from_queue)
    moved = sorted(r["id"] for r in rows)
    service.board.touch()
    return web.json_response({"moved": moved, "to_queue": to_queue,
                              "not_moved": sorted(set(ids or []) - set(moved))})


ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/api/supervisor/board", board),
    ("GET", "/api/supervisor/actions", actions),
    ("POST", "/api/supervisor/callbacks/move", move_callbacks),
]

_R = {"401": {"description": "not logged in"},
      "403": {"description": "supervisors and admins only"}}
OPENAPI_PATHS: dict[str, Any] = {
    "/api/supervisor/board": {"get": {
        "summary": "The live board: per queue and total (waiting, longest wait, SL today and "
                   "rolling, ASA, AHT, abandon rate, transfers, call-backs waiting/due/"
                   "overdue, registration) with norm states, agents and agents per state",
        "responses": {"200": {"description": "the board"}, **_R,
                      "503": {"description": "not computed yet"}}}},
    "/api/supervisor/actions": {"get": {
        "summary": "Audit log of steering actions (who, when, what, result), newest first",
        "parameters": [{"name": "limit", "in": "query", "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}],
        "responses": {"200": {"description": "actions"}, **_R,
                      "400": {"description": "bad limit"}}}},
    "/api/supervisor/callbacks/move": {"post": {
        "summary": "Move waiting call-backs {to_queue, ids | from_queue} to another queue "
                   "(audited)",
        "responses": {"200": {"description": "moved ids"}, **_R,
                      "400": {"description": "bad queue or ids"}}}},
}
