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
MAX_CHARS = 600


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


async def get_calamity(request: web.Request) -> web.Response:
    message = await request.app[CALAMITY_KEY].current()
    return web.json_response({"active": message is not None,
                              "message": message.as_dict() if message else None})


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
    await request.app[CALAMITY_KEY].set(message)
    return web.json_response({"active": True, "message": message.as_dict()})


async def delete_calamity(request: web.Request) -> web.Response:
    removed = await request.app[CALAMITY_KEY].clear()
    return web.json_response({"active": False, "removed": removed})


ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/api/ivr/calamity", get_calamity),
    ("PUT", "/api/ivr/calamity", put_calamity),
    ("DELETE", "/api/ivr/calamity", delete_calamity),
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
}
