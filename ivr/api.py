"""HTTP routes for the supervisor's calamity message (merged into the service's app).

``PUT /api/ivr/calamity`` switches it on (Dutch text required, English optional, an
optional end time so it cannot outlive the incident by accident), ``DELETE`` switches
it off, ``GET`` shows what callers hear now. The routes find the store through
``CALAMITY_KEY`` on the app; authentication (supervisors only) is added where the
routes are merged. Text is validated like every prompt (no control characters, length)
because it is spoken to every caller.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from ivr.calamity import RedisCalamity
from ivr.hours import CalamityMessage
from ivr.prompts import PromptError, validate_text

CALAMITY_KEY: web.AppKey[RedisCalamity] = web.AppKey("ivr_calamity")
# The configured municipality ids: a message for one of them only (per-municipality routes).
MUNICIPALITIES_KEY: web.AppKey[list[str]] = web.AppKey("ivr_municipalities")
MAX_CHARS = 600


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _municipality(request: web.Request) -> str:
    """"" (KCC-wide) or a configured municipality id from the path; else 404."""
    wanted = request.match_info.get("municipality", "")
    if wanted and wanted not in request.app.get(MUNICIPALITIES_KEY, []):
        raise web.HTTPNotFound(text='{"error": {"code": "not_found", "message": '
                                    '"no such municipality"}}', content_type="application/json")
    return wanted


async def get_calamity(request: web.Request) -> web.Response:
    """What callers hear now (of this municipality, if the path names one); on the
    KCC-wide route also every municipality's own message."""
    municipality = _municipality(request)
    store = request.app[CALAMITY_KEY]
    message = await store.current(municipality)
    body: dict[str, Any] = {"active": message is not None,
                            "message": message.as_dict() if message else None}
    if not municipality:
        found = await store.all(list(request.app.get(MUNICIPALITIES_KEY, [])))
        body["municipalities"] = {m: (v.as_dict() if v else None)
                                  for m, v in found.items() if m}
    return web.json_response(body)


async def put_calamity(request: web.Request) -> web.Response:
    try:
        body: Any = await request.json()
    except ValueError:
        return _error(400, "invalid_json", "body must be JSON")
    if not isinstance(body, dict):
        return _error(400, "invalid_body", "body must be an object")
    try:
        text_nl = validate_text(str(body.get("text_nl", "")), MAX_CHARS)
        text_en = str(body.get("text_en") or "")
        text_en = validate_text(text_en, MAX_CHARS) if text_en.strip() else ""
        until_raw = body.get("active_until")
        until = datetime.fromisoformat(str(until_raw)) if until_raw else None
        message = CalamityMessage(text_nl=text_nl, text_en=text_en, active_until=until)
    except (PromptError, ValueError) as exc:
        return _error(422, "invalid_message", str(exc))
    municipality = _municipality(request)
    await request.app[CALAMITY_KEY].set(message, municipality)
    return web.json_response({"active": True, "municipality": municipality,
                              "message": message.as_dict()})


async def delete_calamity(request: web.Request) -> web.Response:
    municipality = _municipality(request)
    removed = await request.app[CALAMITY_KEY].clear(municipality)
    return web.json_response({"active": False, "municipality": municipality,
                              "removed": removed})


ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/api/ivr/calamity", get_calamity),
    ("PUT", "/api/ivr/calamity", put_calamity),
    ("DELETE", "/api/ivr/calamity", delete_calamity),
    ("GET", "/api/ivr/calamity/{municipality}", get_calamity),
    ("PUT", "/api/ivr/calamity/{municipality}", put_calamity),
    ("DELETE", "/api/ivr/calamity/{municipality}", delete_calamity),
]

_MESSAGE = {"type": "object", "properties": {
    "text_nl": {"type": "string"}, "text_en": {"type": "string"},
    "active_until": {"type": ["string", "null"], "format": "date-time"}},
    "required": ["text_nl"]}
_STATE = {"description": "the calamity message now", "content": {"application/json": {
    "schema": {"type": "object", "properties": {"active": {"type": "boolean"},
                                                "message": _MESSAGE}}}}}
_ERR = {"description": "error", "content": {"application/json": {"schema": {
    "$ref": "#/components/schemas/Error"}}}}

_MUNI = {"name": "municipality", "in": "path", "required": True,
         "schema": {"type": "string"}, "description": "a configured municipality id"}

OPENAPI_PATHS: dict[str, Any] = {
    "/api/ivr/calamity": {
        "get": {"summary": "The calamity message callers hear before the menu",
                "responses": {"200": _STATE}},
        "put": {"summary": "Switch the calamity message on (supervisor)",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": _MESSAGE}}},
                "responses": {"200": _STATE, "400": _ERR, "422": _ERR}},
        "delete": {"summary": "Switch the calamity message off (supervisor)",
                   "responses": {"200": {"description": "switched off"}}},
    },
    "/api/ivr/calamity/{municipality}": {
        "get": {"summary": "The message callers of this municipality hear (theirs, else "
                           "the KCC-wide one)", "parameters": [_MUNI],
                "responses": {"200": _STATE, "404": _ERR}},
        "put": {"summary": "Switch this municipality's own calamity message on (supervisor)",
                "parameters": [_MUNI],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": _MESSAGE}}},
                "responses": {"200": _STATE, "400": _ERR, "404": _ERR, "422": _ERR}},
        "delete": {"summary": "Switch this municipality's own message off (supervisor)",
                   "parameters": [_MUNI],
                   "responses": {"200": {"description": "switched off"}, "404": _ERR}},
    },
}
