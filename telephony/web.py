"""HTTP surface of the service: health, metrics, OpenAPI and the read API.

The OpenAPI document is written here, next to the routes it describes, and
``tests/unit/test_openapi.py`` fails when a route and the document disagree.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

if TYPE_CHECKING:
    from telephony.service import KccService

SERVICE_KEY: web.AppKey[KccService] = web.AppKey("service")
LINKEDID = re.compile(r"^[0-9A-Za-z._-]{1,64}$")


def _supervisor(request: web.Request) -> None:
    """Live calls carry callers' numbers and names: supervisors and admins only."""
    from telephony.auth import require_role

    require_role(request, "supervisor", "admin")


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


async def healthz(request: web.Request) -> web.Response:
    health = await request.app[SERVICE_KEY].health()
    return web.json_response(health, status=200 if health["ok"] else 503)


async def metrics(request: web.Request) -> web.Response:
    service = request.app[SERVICE_KEY]
    service.metrics.ami_connected.set(1 if service.link.connected else 0)
    service.metrics.ami_backlog.set(service.link.backlog)
    for name, size in service.bus.backlog().items():
        service.metrics.bus_backlog.labels(name).set(size)
    for name, count in service.bus.dropped.items():
        service.metrics.bus_dropped.labels(name).set(count)
    if service.spool is not None:
        service.metrics.spool_pending.set(service.spool.size)
        service.metrics.spool_full.set(1 if service.spool.full else 0)
    body = generate_latest(service.metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


async def live_calls(request: web.Request) -> web.Response:
    _supervisor(request)
    model = request.app[SERVICE_KEY].model
    return web.json_response({"calls": [c.to_record() for c in model.calls.values()]})


async def call_record(request: web.Request) -> web.Response:
    _supervisor(request)
    linkedid = request.match_info["linkedid"]
    if not LINKEDID.match(linkedid):
        return _error(400, "bad_linkedid", "linkedid must be 1-64 characters [0-9A-Za-z._-]")
    service = request.app[SERVICE_KEY]
    live = service.model.calls.get(linkedid)
    if live is not None:
        return web.json_response({"live": True, "call": live.to_record()})
    assert service.calls is not None
    record = await service.calls.get(linkedid)
    if record is None:
        return _error(404, "not_found", f"no call {linkedid}")
    return web.json_response({"live": False, "call": record})


async def agents(request: web.Request) -> web.Response:
    _supervisor(request)
    book = request.app[SERVICE_KEY].model.agents
    return web.json_response({"agents": [a.to_dict() for a in book.agents.values()]})


ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/healthz", healthz),
    ("GET", "/metrics", metrics),
    ("GET", "/api/openapi.json", openapi),
    ("GET", "/api/calls", live_calls),
    ("GET", "/api/calls/{linkedid}", call_record),
    ("GET", "/api/agents", agents),
]


@web.middleware
async def errors_as_json(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400:
            return _error(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason)
        raise


def all_routes() -> list[tuple[str, str, Any]]:
    from agent_ui.hub import ws_handler
    from ivr import api as ivr_api
    from telephony.acd import api as acd_api
    from telephony.acd import consult
    from telephony.callbacks import api as callbacks_api
    from telephony.callbacks import dial_out, note_pickup
    from telephony.reports import api as reports_api
    from telephony.scripting import api as scripting_api
    from telephony.supervisor import api as supervisor_api
    from telephony.supervisor.audit import audit_steering
    from telephony.zaken import api as zaken_api
    from telephony.zaken import history

    ivr_routes = [(m, p, h if m == "GET" else _supervisors_only(h))
                  for m, p, h in ivr_api.ROUTES]
    return audit_steering([*ROUTES, *acd_api.ROUTES, *zaken_api.ROUTES, *ivr_routes,
                           *callbacks_api.ROUTES, *dial_out.ROUTES, *note_pickup.ROUTES,
                           *consult.ROUTES, *history.ROUTES, *reports_api.ROUTES,
                           *supervisor_api.ROUTES, *scripting_api.ROUTES,
                           ("GET", "/ws", ws_handler)])


def _supervisors_only(handler: Any) -> Any:
    """Switching the calamity message on or off is a supervisor's call."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        _supervisor(request)
        return await handler(request)

    return wrapped


def openapi_document() -> dict[str, Any]:
    from ivr import api as ivr_api
    from telephony.acd import api as acd_api
    from telephony.acd import consult
    from telephony.callbacks import api as callbacks_api
    from telephony.callbacks import dial_out, note_pickup
    from telephony.reports import api as reports_api
    from telephony.scripting import api as scripting_api
    from telephony.supervisor import api as supervisor_api
    from telephony.zaken import api as zaken_api
    from telephony.zaken import history

    doc = {**OPENAPI, "paths": {**OPENAPI["paths"], **acd_api.OPENAPI_PATHS,
                                **zaken_api.OPENAPI_PATHS, **ivr_api.OPENAPI_PATHS,
                                **callbacks_api.OPENAPI_PATHS, **reports_api.OPENAPI_PATHS,
                                **supervisor_api.OPENAPI_PATHS, **dial_out.OPENAPI_PATHS,
                                **note_pickup.OPENAPI_PATHS, **consult.OPENAPI_PATHS,
                                **history.OPENAPI_PATHS, **scripting_api.OPENAPI_PATHS}}
    doc["paths"]["/ws"] = {"get": {
        "summary": "WebSocket: first message {type: auth, token}; pushes agent.state, "
                   "call.offered (only to the offered agent), queue.stats and board "
                   "(supervisors)",
        "security": [], "responses": {"101": {"description": "switching protocols"}}}}
    return doc


def build_app(service: KccService) -> web.Application:
    from agent_ui.hub import HUB_SERVICE
    from telephony.acd.api import SERVICE_KEY as ACD_KEY
    from telephony.acd.api import acd_errors
    from telephony.auth import make_auth_middleware

    auth = make_auth_middleware(lambda app: app[SERVICE_KEY].sessions)
    app = web.Application(middlewares=[errors_as_json, auth, acd_errors],
                          client_max_size=64 * 1024)
    app[SERVICE_KEY] = service
    app[ACD_KEY] = service
    app[HUB_SERVICE] = service
    _install_zaken(app, service)
    _install_ivr(app, service)
    from telephony.scripting.api import install as install_scripting

    install_scripting(app, service)
    for method, path, handler in all_routes():
        app.router.add_route(method, path, handler)
    from agent_ui.pages import add_page_routes  # browser pages: not /api, not in OpenAPI

    add_page_routes(app)
    return app


def _install_zaken(app: web.Application, service: KccService) -> None:
    from telephony.zaken import api as zaken_api

    assert service.popper is not None
    app[zaken_api.ZAKEN_CONFIG_KEY] = service.config.zaken
    app[zaken_api.SOURCE_KEY] = service.zaak_source
    app[zaken_api.POPPER_KEY] = service.popper
    app[zaken_api.PROCESSING_LOG_KEY] = service.popper.log

    async def push(agent: str, call_id: str, pop: dict[str, Any]) -> None:
        await service.hub.send_to_agent(agent, {"type": "call.pop", "linkedid": call_id,
                                                "pop": pop})

    app[zaken_api.POP_PUSH_KEY] = push
    # The call script decides identity verification and who may register a contact.
    app[zaken_api.VERIFY_GATE_KEY] = service.scripting.verify_gate
    app[zaken_api.CALL_OWNER_KEY] = service.scripting.owns

    def on_call(call_id: str, login: str) -> bool:
        call = service.model.calls.get(call_id)
        return (call is not None and call.ended_at is None and bool(login)
                and call.answered_by == login)

    app[zaken_api.ON_CALL_KEY] = on_call


def _install_ivr(app: web.Application, service: KccService) -> None:
    from ivr.api import CALAMITY_KEY, MUNICIPALITIES_KEY
    from ivr.calamity import RedisCalamity

    assert service.redis is not None
    app[CALAMITY_KEY] = RedisCalamity(service.redis.r, service.config.redis.prefix)
    app[MUNICIPALITIES_KEY] = [m.id for m in service.config.municipalities]


def _json(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": schema or {"type": "object"}}}}


_ERROR = {"$ref": "#/components/schemas/Error"}
_CALL = {"$ref": "#/components/schemas/Call"}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "kcc-telefonie", "version": "0.1.0",
             "description": "Telephone channel of a Dutch municipal KCC on Asterisk."},
    "paths": {
        "/healthz": {"get": {"summary": "Per part: AMI (503 at once when Asterisk "
                             "announces a shutdown), PostgreSQL, Redis, the record spool, "
                             "the event bus and every supervised task",
                             "responses": {"200": _json("all answer"),
                                           "503": _json("something does not answer")}}},
        "/metrics": {"get": {"summary": "Prometheus metrics",
                             "responses": {"200": {"description": "text exposition format",
                                                   "content": {"text/plain": {}}}}}},
        "/api/openapi.json": {"get": {"summary": "This document",
                                      "responses": {"200": _json("OpenAPI 3.1")}}},
        "/api/calls": {"get": {"summary": "Calls in progress (live model)",
                               "responses": {"200": _json("live calls", {
                                   "type": "object",
                                   "properties": {"calls": {"type": "array",
                                                            "items": _CALL}}})}}},
        "/api/calls/{linkedid}": {"get": {
            "summary": "One call: live if in progress, else its stored record",
            "parameters": [{"name": "linkedid", "in": "path", "required": True,
                            "schema": {"type": "string", "pattern": LINKEDID.pattern}}],
            "responses": {"200": _json("the call", {
                "type": "object", "properties": {"live": {"type": "boolean"}, "call": _CALL}}),
                "400": _json("malformed linkedid", _ERROR),
                "404": _json("unknown call", _ERROR)}}},
        "/api/agents": {"get": {"summary": "Agents and their live state",
                                "responses": {"200": _json("agents")}}},
    },
    "components": {"schemas": {
        "Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {
            "code": {"type": "string"}, "message": {"type": "string"}}}}},
        "Call": {"type": "object", "properties": {
            "linkedid": {"type": "string"}, "direction": {"type": "string"},
            "caller_number": {"type": "string"}, "caller_name": {"type": "string"},
            "dialled": {"type": "string"}, "queue": {"type": "string"},
            "answered_by": {"type": "string"}, "wait_seconds": {"type": ["number", "null"]},
            "transfers": {"type": "array"}, "abandoned": {"type": "boolean"}}},
    }},
}
