"""HTTP API of callbacks: scheduled callbacks (terugbelafspraak), the back office's
terugbelnotities, and the callback list.

Any logged-in agent may create both (the acting user is ``request[AGENT_KEY]``, recorded as
creator); reading and closing a notitie is for its team (agents with that skill), the
person it is assigned to, its writer, supervisors and admins, and every read is on the
processing log. Errors are JSON
``{"error": {"code", "message"}}``: 400 bad input (with the number's refusal code), 401
not logged in, 404 unknown notitie, 409 already closed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from telephony.acd.api import _body
from telephony.auth import require_role
from telephony.callbacks.destinations import DestinationRefused
from telephony.callbacks.notes import NotesStore, promise_text, promised_deadline
from telephony.callbacks.numbers import BadNumber, normalise
from telephony.zaken.privacy import ProcessingLog

if TYPE_CHECKING:
    from telephony.service import KccService

SEE_ALL = ("supervisor", "admin")
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
MAX_WINDOW = timedelta(days=60)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


class _Bad(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _text(data: dict[str, Any], key: str, limit: int, required: bool = False) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        raise _Bad("bad_" + key, f"{key} must be a text of at most {limit} characters"
                   + (" (required)" if required else ""))
    return value.strip()


def _when(data: dict[str, Any], key: str) -> datetime | None:
    value = data.get(key)
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        raise _Bad("bad_" + key, f"{key} must be an ISO 8601 time with offset") from None
    if when.tzinfo is None:
        raise _Bad("bad_" + key, f"{key} needs a timezone offset")
    return when


def _number(service: KccService, data: dict[str, Any]) -> str:
    raw = data.get("number")
    try:
        return normalise(raw if isinstance(raw, str) else "", service.config.callbacks.region)
    except BadNumber as exc:
        raise _Bad(exc.code, str(exc)) from None


def _service(request: web.Request) -> KccService:
    from telephony.web import SERVICE_KEY as WEB_KEY

    return request.app[WEB_KEY]


async def create_scheduled(request: web.Request) -> web.Response:
    """Terugbelafspraak: the citizen is called in [window_start, window_end)."""
    who = require_role(request)
    service = _service(request)
    policy = service.callbacks.policy
    try:
        data = await _body(request)
        raw = data.get("number")
        number = policy.number(raw if isinstance(raw, str) else "", "api")
        queue = _text(data, "queue", 40) or next(q.id for q in service.config.queues
                                                  if q.general)
        if queue not in {q.id for q in service.config.queues}:
            raise _Bad("bad_queue", "unknown queue")
        start, end = _when(data, "window_start"), _when(data, "window_end")
        if start is None or end is None:
            raise _Bad("bad_window", "window_start and window_end are required")
        now = datetime.now(UTC)
        if not (now - timedelta(minutes=5) <= start < end <= now + MAX_WINDOW):
            raise _Bad("bad_window", "the window must be in the future, start before end, "
                                     "within 60 days")
        tz = service.config.kcc.timezone
        due = service.config.hours.next_open(max(start, now), tz)
        if due is None or due >= end:
            raise _Bad("closed_window", "the KCC is not open in that window")
        subject = _text(data, "subject", 200)
        linkedid = _text(data, "linkedid", 64)
    except DestinationRefused as exc:
        return _error(exc.status, exc.code, exc.dutch)
    except _Bad as exc:
        return _error(400, exc.code, str(exc))
    store = service.callbacks.store
    assert store is not None

    async def create(conn: Any, e164: str) -> int:
        return await store.create(kind="scheduled", queue=queue, number=e164, queued_at=due,
                                  due_at=due, window_end=end, subject=subject,
                                  linkedid=linkedid, created_by=who["login"], conn=conn)

    try:
        cid = await policy.book(number, "api", create)
    except DestinationRefused as exc:
        return _error(exc.status, exc.code, exc.dutch)
    return web.json_response(await store.get(cid), status=201)


async def list_callbacks(request: web.Request) -> web.Response:
    require_role(request)
    store = _service(request).callbacks.store
    assert store is not None
    queue = request.query.get("queue")
    return web.json_response({"callbacks": await store.waiting(queue[:40] if queue else None)})


async def create_note(request: web.Request) -> web.Response:
    """Terugbelnotitie to a team or person; says the promised term for the caller."""
    who = require_role(request)
    service = _service(request)
    cfg = service.config
    try:
        data = await _body(request)
        number = _number(service, data)
        onderwerp = _text(data, "subject", 200, required=True)
        vraag = _text(data, "question", 4000, required=True)
        team, person = _text(data, "team", 40), _text(data, "person", 40)
        if not team and not person:
            raise _Bad("bad_assignee", "give a team or a person")
        for value in (team, person):
            if value and not _NAME.match(value):
                raise _Bad("bad_assignee", "team/person must match ^[a-z][a-z0-9_-]{0,39}$")
        now = datetime.now(UTC)
        days = cfg.kcc.callback_promise_working_days
        promised = promised_deadline(cfg.hours, cfg.kcc.timezone, now, days)
        deadline = _when(data, "deadline") or promised
        if deadline <= now:
            raise _Bad("bad_deadline", "the deadline must be in the future")
    except _Bad as exc:
        return _error(400, exc.code, str(exc))
    linkedid = _text(data, "linkedid", 64)
    refused = await service.scripting.refused_for_call(linkedid, who["login"],
                                                       "terugbelnotitie")
    if refused is not None:  # the call's script forbids call-back notes for its subject
        return _error(409, refused.code, refused.message)
    note = await NotesStore(service.pool).create(
        onderwerp=onderwerp, vraag=vraag, number=number, deadline=deadline, team=team,
        person=person, by=who["login"], call_id=linkedid)
    note["promise"] = (promise_text(deadline, days, cfg.kcc.timezone)
                       if deadline == promised else
                       f"Wij bellen u uiterlijk {deadline.astimezone().isoformat()} terug.")
    return web.json_response(note, status=201)


async def _log_note_reads(service: KccService, who: dict[str, Any], action: str,
                          notes: list[dict[str, Any]]) -> None:
    """Each notitie shown holds a citizen's number and question: on the processing log
    (source ``terugbelnotitie:<id>``), before the data leaves."""
    if notes:
        await ProcessingLog(service.pool).record_sources(
            actor=who["login"], actor_role=who["role"], action=action,
            purpose=service.config.zaken.purpose,
            sources=[f"terugbelnotitie:{n['id']}" for n in notes])


async def list_notes(request: web.Request) -> web.Response:
    who = require_role(request)
    which = request.query.get("which", "open")
    if which not in ("open", "due", "overdue"):
        return _error(400, "bad_which", "which must be open, due or overdue")
    team, person = request.query.get("team"), request.query.get("person")
    for value in (team, person):
        if value is not None and not _NAME.match(value):
            return _error(400, "bad_assignee", "team/person must match ^[a-z][a-z0-9_-]*$")
    service = _service(request)
    notes = await NotesStore(service.pool).listing(
        which=which, team=team, person=person, now=datetime.now(UTC), viewer=who["login"],
        see_all=who["role"] in SEE_ALL)
    await _log_note_reads(service, who, "callback_note_read", notes)
    return web.json_response({"notes": notes})


async def close_note(request: web.Request) -> web.Response:
    who = require_role(request)
    raw = request.match_info["note_id"]
    if not raw.isdigit() or len(raw) > 18:
        return _error(400, "bad_id", "note id must be a number")
    try:
        data = await _body(request)
        result = _text(data, "result", 2000, required=True)
    except _Bad as exc:
        return _error(400, exc.code, str(exc))
    service = _service(request)
    store = NotesStore(service.pool)
    see_all = who["role"] in SEE_ALL
    note = await store.close(int(raw), result, who["login"], see_all=see_all)
    if note is None:
        # Unknown and not-yours answer alike: walking the ids learns nothing.
        if await store.visible_status(int(raw), who["login"], see_all) is None:
            return _error(404, "not_found", "no such terugbelnotitie for you")
        return _error(409, "closed", "already closed")
    await _log_note_reads(service, who, "callback_note_closed", [note])
    return web.json_response(note)


ROUTES: list[tuple[str, str, Any]] = [
    ("POST", "/api/callbacks", create_scheduled),
    ("GET", "/api/callbacks", list_callbacks),
    ("POST", "/api/callbacks/notes", create_note),
    ("GET", "/api/callbacks/notes", list_notes),
    ("POST", "/api/callbacks/notes/{note_id}/close", close_note),
]

_R = {"400": {"description": "bad input (code says which, e.g. premium_rate, "
                          "country_not_allowed; message: a Dutch sentence)"},
      "401": {"description": "not logged in"}}
OPENAPI_PATHS: dict[str, Any] = {
    "/api/callbacks": {
        "post": {"summary": "Terugbelafspraak: {number, queue, window_start, window_end, "
                            "subject}; dialled within the window, within opening hours",
                 "responses": {"201": {"description": "the callback"}, **_R,
                               "409": {"description": "already_open: one open call-back "
                                                      "per number"},
                               "429": {"description": "number_cap / day_cap"}}},
        "get": {"summary": "Waiting and dialling callbacks (?queue=)",
                "responses": {"200": {"description": "callbacks"}, **_R}}},
    "/api/callbacks/notes": {
        "post": {"summary": "Terugbelnotitie to the back office: {subject, question, number, "
                            "team | person, deadline?}; default deadline = the promise",
                 "responses": {"201": {"description": "the notitie with the promise text"},
                               **_R}},
        "get": {"summary": "Open, due or overdue terugbelnotities (?which=&team=&person=)",
                "responses": {"200": {"description": "notes"}, **_R}}},
    "/api/callbacks/notes/{note_id}/close": {"post": {
        "summary": "Close a terugbelnotitie with its result {result}",
        "parameters": [{"name": "note_id", "in": "path", "required": True,
                        "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "closed"}, **_R,
                      "404": {"description": "unknown"}, "409": {"description": "closed"}}}},
}
