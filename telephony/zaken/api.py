"""HTTP API of the zaken feature: search, choose, verify, register, processing-log query.

Every personal-data input travels in a JSON body (never a query string: those are logged
by proxies and access logs). The acting agent comes from ``request[AGENT_KEY]``, set by the
lead's auth middleware; without it every handler answers 401. Acting on a call's pop is
limited to the agent the call was offered to (the ``zaak_call_pops`` row), and the
processing log is readable by the privacy officer only.

The lead merges ``ROUTES`` and ``OPENAPI_PATHS`` into the app and calls
:func:`setup_zaken`; a WebSocket hub may set :data:`POP_PUSH_KEY` to receive updated pops.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from telephony.auth import AGENT_KEY
from telephony.zaken.config import ZakenConfig
from telephony.zaken.http import SourceError, SourceTimeout
from telephony.zaken.popper import PopNotFound, ScreenPopper
from telephony.zaken.privacy import LogQuery, ProcessingLog
from telephony.zaken.schemas import (
    REF,
    CallbackTask,
    KlantQuery,
    NewContactmoment,
    valid_bsn,
)
from telephony.zaken.sources import SearchNotSupported, ZaakSource, make_source

if TYPE_CHECKING:
    from telephony.config import Config

log = logging.getLogger(__name__)

PopPush = Callable[[str, str, dict[str, Any]], Awaitable[None]]  # (agent, call_id, pop)
POPPER_KEY: web.AppKey[ScreenPopper] = web.AppKey("zaken_popper", ScreenPopper)
SOURCE_KEY: web.AppKey[ZaakSource] = web.AppKey("zaken_source")
PROCESSING_LOG_KEY: web.AppKey[ProcessingLog] = web.AppKey("zaken_processing_log",
                                                           ProcessingLog)
ZAKEN_CONFIG_KEY: web.AppKey[ZakenConfig] = web.AppKey("zaken_config", ZakenConfig)
POP_PUSH_KEY: web.AppKey[PopPush] = web.AppKey("zaken_pop_push")
# (call_id, login) -> is ``login`` the agent who answered the live call? Installed by the
# service from its call model (telephony/web.py). Only that agent may verify the caller
# and see details (issue 10, finding 6): not every agent the call rang. A zaken app
# without a live call model (the API alone, its focused tests) has no such check.
OnCall = Callable[[str, str], bool]
ON_CALL_KEY: web.AppKey[OnCall] = web.AppKey("zaken_on_call")
# Set by the service when call scripts are on (issue 11): (call, agent, klant) -> None if
# the script's verify step passed for that klant, else the Dutch reason for a 409.
VerifyGate = Callable[[str, str, str], Awaitable[str | None]]
VERIFY_GATE_KEY: web.AppKey[VerifyGate] = web.AppKey("zaken_verify_gate")
# (call, agent) -> True when the agent answered the call (registration after hangup).
CallOwner = Callable[[str, str], Awaitable[bool]]
CALL_OWNER_KEY: web.AppKey[CallOwner] = web.AppKey("zaken_call_owner")
CALL_ID = re.compile(r"^[0-9A-Za-z._-]{1,64}$")
AGENT_ROLES = ("agent", "supervisor")
M = TypeVar("M", bound=BaseModel)


# ------------------------------------------------------------------ request bodies
class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class SearchBody(KlantQuery):
    call_id: str | None = Field(default=None, pattern=CALL_ID.pattern)


class ChooseBody(_Body):
    klant_ref: str = Field(pattern=REF.pattern)


class LogQueryBody(_Body):
    klant_ref: str | None = Field(default=None, pattern=REF.pattern)
    bsn: str | None = None
    actor: str | None = Field(default=None, max_length=64)
    call_id: str | None = Field(default=None, pattern=CALL_ID.pattern)
    since: datetime | None = None
    until: datetime | None = None
    limit: int = Field(default=100, ge=1, le=1000)
    before_id: int | None = Field(default=None, ge=1)

    @field_validator("bsn")
    @classmethod
    def _bsn(cls, value: str | None) -> str | None:
        if value is not None and not valid_bsn(value):
            raise ValueError("not a valid BSN (9 digits, elfproef)")
        return value


# ------------------------------------------------------------------ helpers
def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


class _Reject(Exception):
    def __init__(self, response: web.Response) -> None:
        self.response = response


def _agent(request: web.Request, roles: tuple[str, ...]) -> dict[str, str]:
    agent = request.get(AGENT_KEY)
    if not isinstance(agent, dict) or not isinstance(agent.get("login"), str):
        raise _Reject(_error(401, "unauthenticated", "log in first"))
    if agent.get("role") not in roles:
        raise _Reject(_error(403, "forbidden", "your role may not do this"))
    return agent


async def _body(request: web.Request, model: type[M]) -> M:
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _Reject(_error(400, "bad_json", "the body must be a JSON object")) from None
    if not isinstance(data, dict):
        raise _Reject(_error(400, "bad_json", "the body must be a JSON object"))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # Never echo the input: it may hold a BSN.
        problems = [{"field": ".".join(str(p) for p in e["loc"]),
                     "message": e["msg"].removeprefix("Value error, ")} for e in exc.errors()]
        raise _Reject(web.json_response(
            {"error": {"code": "invalid", "message": "invalid request", "problems": problems}},
            status=422)) from None


def _call_id(request: web.Request) -> str:
    call_id = request.match_info["call_id"]
    if not CALL_ID.match(call_id):
        raise _Reject(_error(400, "bad_call_id", "call id must be 1-64 characters "
                                                 "[0-9A-Za-z._-]"))
    return call_id


def _handler(func: Callable[[web.Request], Awaitable[web.StreamResponse]],
             ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Turn the shared rejections and source failures into JSON errors."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await func(request)
        except _Reject as reject:
            return reject.response
        except PopNotFound:
            return _error(404, "no_pop", "this call was not offered to you, or that klant "
                                         "is not one of its candidates")
        except SearchNotSupported as exc:
            return _error(422, "not_supported", str(exc))
        except SourceTimeout:
            return _error(504, "source_timeout", "the zaak source did not answer in time")
        except SourceError as exc:
            log.warning("zaak source failed: %s", type(exc).__name__)
            return _error(502, "source_error", "the zaak source failed")

    wrapped.__name__ = func.__name__
    wrapped.__doc__ = func.__doc__
    return wrapped


async def _push(request: web.Request, agent: str, call_id: str, pop: dict[str, Any]) -> None:
    push = request.app.get(POP_PUSH_KEY)
    if push is not None:
        await push(agent, call_id, pop)


# ------------------------------------------------------------------ handlers
@_handler
async def search_klanten(request: web.Request) -> web.StreamResponse:
    """Agent search; with ``call_id`` the results become choosable for that call."""
    agent = _agent(request, AGENT_ROLES)
    body = await _body(request, SearchBody)
    query = KlantQuery.model_validate(body.model_dump(exclude={"call_id"}, exclude_none=True))
    config = request.app[ZAKEN_CONFIG_KEY]
    results = await request.app[SOURCE_KEY].search_klanten(
        query, config.max_candidates, agent=agent["login"])
    plog = request.app[PROCESSING_LOG_KEY]
    # One entry per klant found (the officer asks "who saw klant X"); one without a klant
    # when nothing was found, so the search itself is on record too.
    await plog.record_many(actor=agent["login"], actor_role=agent["role"], action="search",
                           purpose=f"{config.purpose} (zoeken op {query.kind})",
                           call_id=body.call_id or "",
                           klant_refs=[k.ref for k in results] or [""],
                           source=request.app[SOURCE_KEY].name)
    if body.call_id is not None and results:
        added = await request.app[POPPER_KEY].add_search_results(
            body.call_id, agent["login"], [k.ref for k in results])
        if not added:
            raise PopNotFound(body.call_id)
    return web.json_response({"results": [k.to_dict() for k in results]})


def _not_on_call(request: web.Request, call_id: str, login: str) -> bool:
    on_call = request.app.get(ON_CALL_KEY)
    return on_call is not None and not on_call(call_id, login)


_NOT_ON_CALL = ("not_on_call", "only the agent who answered this call may verify the "
                               "caller and see details")


async def _details_guard(request: web.Request, call_id: str, login: str) -> None:
    """A verified pop shows details: only to the agent on the call (after a transfer the
    previous agent's verified pop is closed to them too)."""
    if _not_on_call(request, call_id, login):
        state = await request.app[POPPER_KEY].state.get(call_id, login)
        if state is not None and state.get("verified"):
            raise _Reject(_error(403, *_NOT_ON_CALL))


@_handler
async def get_pop(request: web.Request) -> web.StreamResponse:
    """The current pop of a call, for the agent it was offered to."""
    agent = _agent(request, AGENT_ROLES)
    call_id = _call_id(request)
    await _details_guard(request, call_id, agent["login"])
    pop = await request.app[POPPER_KEY].rebuild(call_id, agent["login"],
                                                agent_role=agent["role"])
    return web.json_response(pop)


@_handler
async def choose_klant(request: web.Request) -> web.StreamResponse:
    agent = _agent(request, AGENT_ROLES)
    call_id = _call_id(request)
    await _details_guard(request, call_id, agent["login"])
    body = await _body(request, ChooseBody)
    pop = await request.app[POPPER_KEY].choose(call_id, agent["login"], body.klant_ref,
                                               agent_role=agent["role"])
    await _push(request, agent["login"], call_id, pop)
    return web.json_response(pop)


@_handler
async def verify_klant(request: web.Request) -> web.StreamResponse:
    agent = _agent(request, AGENT_ROLES)
    call_id = _call_id(request)
    if _not_on_call(request, call_id, agent["login"]):
        raise _Reject(_error(403, *_NOT_ON_CALL))
    body = await _body(request, ChooseBody)
    gate = request.app.get(VERIFY_GATE_KEY)
    if gate is not None:
        refused = await gate(call_id, agent["login"], body.klant_ref)
        if refused is not None:
            return _error(409, "verify_required", refused)
    pop = await request.app[POPPER_KEY].mark_verified(call_id, agent["login"], body.klant_ref,
                                                      agent_role=agent["role"])
    await _push(request, agent["login"], call_id, pop)
    return web.json_response(pop)


@_handler
async def register_contact(request: web.Request) -> web.StreamResponse:
    agent = _agent(request, AGENT_ROLES)
    body = await _body(request, NewContactmoment)
    popper = request.app[POPPER_KEY]
    owner = request.app.get(CALL_OWNER_KEY)
    # After the citizen hung up the pop state is gone; the agent who answered the call
    # may still register its contact in nawerk.
    if body.call_id and await popper.state.get(body.call_id, agent["login"]) is None and not (
            owner is not None and await owner(body.call_id, agent["login"])):
        raise PopNotFound(body.call_id)
    source = request.app[SOURCE_KEY]
    new_id = await source.register_contact(body, agent=agent["login"])
    await request.app[PROCESSING_LOG_KEY].record(
        actor=agent["login"], actor_role=agent["role"], action="contact_registered",
        purpose=request.app[ZAKEN_CONFIG_KEY].purpose, call_id=body.call_id,
        klant_ref=body.klant_ref or "",
        zaken=[body.zaak_identificatie] if body.zaak_identificatie else [], source=source.name)
    return web.json_response({"id": new_id}, status=201)


@_handler
async def request_callback(request: web.Request) -> web.StreamResponse:
    agent = _agent(request, AGENT_ROLES)
    body = await _body(request, CallbackTask)
    source = request.app[SOURCE_KEY]
    new_id = await source.create_callback(body)
    await request.app[PROCESSING_LOG_KEY].record(
        actor=agent["login"], actor_role=agent["role"], action="callback_requested",
        purpose=request.app[ZAKEN_CONFIG_KEY].purpose, call_id=body.call_id,
        klant_ref=body.klant_ref or "", source=source.name)
    return web.json_response({"id": new_id}, status=201)


@_handler
async def query_processing_log(request: web.Request) -> web.StreamResponse:
    """For the privacy officer: who processed which klant's data, when and why."""
    officer = _agent(request, ("privacy_officer",))
    body = await _body(request, LogQueryBody)
    klant_ref = body.klant_ref
    if body.bsn is not None:
        klant_ref = await request.app[SOURCE_KEY].ref_for_bsn(body.bsn)
        if klant_ref is None:
            return web.json_response({"entries": [], "klant_ref": None})
    plog = request.app[PROCESSING_LOG_KEY]
    entries = await plog.query(LogQuery(
        klant_ref=klant_ref, actor=body.actor, call_id=body.call_id, since=body.since,
        until=body.until, limit=body.limit, before_id=body.before_id))
    await plog.record(actor=officer["login"], actor_role=officer["role"], action="log_query",
                      purpose="Toezicht op verwerkingen (AVG)", klant_ref=klant_ref or "",
                      call_id=body.call_id or "")
    return web.json_response({"entries": entries, "klant_ref": klant_ref})


ROUTES: list[tuple[str, str, Any]] = [
    ("POST", "/api/zaken/klanten/search", search_klanten),
    ("GET", "/api/zaken/calls/{call_id}/pop", get_pop),
    ("POST", "/api/zaken/calls/{call_id}/choose", choose_klant),
    ("POST", "/api/zaken/calls/{call_id}/verify", verify_klant),
    ("POST", "/api/zaken/contactmomenten", register_contact),
    ("POST", "/api/zaken/callbacks", request_callback),
    ("POST", "/api/zaken/processing-log/query", query_processing_log),
]


def setup_zaken(app: web.Application, pool: asyncpg.Pool, config: Config | ZakenConfig,
                source: ZaakSource | None = None) -> ScreenPopper:
    """Install the zaken objects on ``app``; ``config`` is a Config or a ZakenConfig."""
    zconfig: ZakenConfig = config if isinstance(config, ZakenConfig) else config.zaken
    source = source or make_source(pool, zconfig)
    popper = ScreenPopper(source, pool, zconfig)
    app[ZAKEN_CONFIG_KEY] = zconfig
    app[SOURCE_KEY] = source
    app[POPPER_KEY] = popper
    app[PROCESSING_LOG_KEY] = popper.log

    async def _close(_app: web.Application) -> None:
        await source.close()

    app.on_cleanup.append(_close)
    return popper


# ------------------------------------------------------------------ OpenAPI
def _json(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": schema or {"type": "object"}}}}


def _body_schema(model: type[BaseModel]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {
        "schema": model.model_json_schema()}}}


_ERR = {"$ref": "#/components/schemas/Error"}
_COMMON = {"401": _json("not logged in", _ERR), "403": _json("role not allowed", _ERR),
           "422": _json("invalid body", _ERR)}
_CALL_PARAM = [{"name": "call_id", "in": "path", "required": True,
                "schema": {"type": "string", "pattern": CALL_ID.pattern}}]
_POP = _json("the screen-pop (restricted until verified)")
_POP_ERRORS = {"404": _json("call not offered to you / not a candidate", _ERR),
               "504": _json("zaak source timed out", _ERR)}

OPENAPI_PATHS: dict[str, Any] = {
    "/api/zaken/klanten/search": {"post": {
        "summary": "Search klanten (name + birth date, postcode + house number, BSN, "
                   "zaaknummer); BSN only in the body",
        "requestBody": _body_schema(SearchBody),
        "responses": {"200": _json("matches (ref, naam, soort)"), **_COMMON,
                      "404": _json("call not offered to you", _ERR)}}},
    "/api/zaken/calls/{call_id}/pop": {"get": {
        "summary": "The current screen-pop of a call offered to you",
        "parameters": _CALL_PARAM, "responses": {"200": _POP, **_COMMON, **_POP_ERRORS}}},
    "/api/zaken/calls/{call_id}/choose": {"post": {
        "summary": "Choose which candidate is calling (verification starts over)",
        "parameters": _CALL_PARAM, "requestBody": _body_schema(ChooseBody),
        "responses": {"200": _POP, **_COMMON, **_POP_ERRORS}}},
    "/api/zaken/calls/{call_id}/verify": {"post": {
        "summary": "Mark the caller's identity verified: the pop shows details (with call "
                   "scripts: 409 verify_required unless the script's verify step passed)",
        "parameters": _CALL_PARAM, "requestBody": _body_schema(ChooseBody),
        "responses": {"200": _POP, **_COMMON, **_POP_ERRORS,
                      "409": _json("the script's verify step has not passed", _ERR)}}},
    "/api/zaken/contactmomenten": {"post": {
        "summary": "Register a contactmoment", "requestBody": _body_schema(NewContactmoment),
        "responses": {"201": _json("registered", {"type": "object", "properties": {
            "id": {"type": "string"}}}), **_COMMON}}},
    "/api/zaken/callbacks": {"post": {
        "summary": "File a callback request (Terugbellen task)",
        "requestBody": _body_schema(CallbackTask),
        "responses": {"201": _json("filed"), **_COMMON}}},
    "/api/zaken/processing-log/query": {"post": {
        "summary": "Processing log (AVG) for the privacy officer",
        "requestBody": _body_schema(LogQueryBody),
        "responses": {"200": _json("entries, newest first"), **_COMMON}}},
}
