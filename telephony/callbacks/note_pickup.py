"""Picking up a terugbelnotitie: "I handle this one" (the panel's Oppakken).

``POST /api/callbacks/notes/{note_id}/pickup`` assigns an open notitie to the caller of
the route and marks it ``in_behandeling``, so a colleague of the same team sees it is
taken. Who may is who may read and close it (``notes.SCOPE``, the one definition):
its team (agents with that skill), the person it is for, its writer, supervisors and
admins. Unknown and not-yours both answer 404, so walking the ids learns nothing; a
notitie someone else already picked up answers 409 with who has it. The returned note
holds a citizen's number and question: that view is on the processing log first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from telephony.auth import require_role
from telephony.callbacks.notes import COLS, SCOPE, SOORT, _row
from telephony.zaken.privacy import ProcessingLog

if TYPE_CHECKING:
    from telephony.service import KccService

PICKUP_ROLES = ("agent", "supervisor", "admin")
SEE_ALL = ("supervisor", "admin")


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


async def pickup(request: web.Request) -> web.Response:
    from telephony.web import SERVICE_KEY

    who = require_role(request, *PICKUP_ROLES)
    raw = request.match_info["note_id"]
    if not raw.isdigit() or len(raw) > 18:
        return _error(400, "bad_id", "note id must be a number")
    service: KccService = request.app[SERVICE_KEY]
    see_all = who["role"] in SEE_ALL
    async with service.pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            f"""SELECT status, toegewezen_aan FROM taken
                 WHERE id = $1 AND soort = '{SOORT}' AND {SCOPE.format(all="$3", who="$2")}
                 FOR UPDATE""", int(raw), who["login"], see_all)
        if row is None:
            return _error(404, "not_found", "no such terugbelnotitie for you")
        if row["status"] == "afgerond":
            return _error(409, "closed", "already closed")
        if row["status"] == "in_behandeling" and row["toegewezen_aan"] not in ("", who["login"]):
            return _error(409, "taken", f"already picked up by {row['toegewezen_aan']}")
        await ProcessingLog(service.pool).record(
            actor=who["login"], actor_role=who["role"], action="details",
            purpose=service.config.zaken.purpose, source=f"terugbelnotitie:{int(raw)}")
        note = await conn.fetchrow(
            f"""UPDATE taken SET status = 'in_behandeling', toegewezen_aan = $2,
                       updated_at = now()
                 WHERE id = $1 RETURNING {COLS}""", int(raw), who["login"])
    return web.json_response(_row(note, datetime.now(UTC)))


ROUTES: list[tuple[str, str, Any]] = [
    ("POST", "/api/callbacks/notes/{note_id}/pickup", pickup)]
OPENAPI_PATHS: dict[str, Any] = {
    "/api/callbacks/notes/{note_id}/pickup": {"post": {
        "summary": "Pick up a terugbelnotitie (assigned to you, in_behandeling); its team, "
                   "assignee, writer, supervisors and admins only",
        "parameters": [{"name": "note_id", "in": "path", "required": True,
                        "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "the note"},
                      "401": {"description": "not logged in"},
                      "404": {"description": "unknown, or not yours to see"},
                      "409": {"description": "closed, or picked up by someone else"}}}},
}
