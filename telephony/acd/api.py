"""HTTP API of the ACD: auth, the agent's own state, supervisor and admin actions.

Errors are JSON ``{"error": {"code", "message"}}``: 400 bad input, 401 not logged in,
403 wrong role, 404 unknown agent, 409 a state change that is not possible now
(e.g. pausing while logged out).
"""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from telephony.acd.agents_repo import LOGIN, AgentError, validate_skills
from telephony.acd.transfer import transfer, transfer_target
from telephony.ami.link import AmiError, AmiUnavailable
from telephony.auth import AGENT_KEY, bearer, login_with_password, require_role
from telephony.login_guard import LoginRefused

if TYPE_CHECKING:
    from telephony.service import KccService

SERVICE_KEY: web.AppKey[KccService] = web.AppKey("acd-service")
STATUS = {"not_found": 404, "bad_transition": 409, "exists": 409, "not_your_call": 403,
          "transfer_limit": 409, "not_connected": 409,
          # refused by the call script's rules (telephony/scripting/rules.py)
          "outcome_required": 409, "handover_required": 409, "forbidden": 409,
          "call_ended": 409, "already_registered": 409}
SUPERVISORS = ("supervisor", "admin")
LINKEDID = re.compile(r"^[0-9]{1,12}\.[0-9]{1,9}$")


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise AgentError("bad_request", "send a JSON body (Content-Type: application/json)")
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise AgentError("bad_request", "body is not valid JSON") from None
    if not isinstance(data, dict):
        raise AgentError("bad_request", "body must be a JSON object")
    return data


def _login_param(request: web.Request) -> str:
    login = request.match_info["login"]
    if not LOGIN.match(login):
        raise AgentError("bad_login", "login must match ^[a-z][a-z0-9_-]{0,39}$")
    return login


@web.middleware
async def acd_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except AgentError as exc:
        return _error(STATUS.get(exc.code, 400), exc.code, str(exc))
    except (AmiUnavailable, TimeoutError) as exc:
        return _error(503, "asterisk_unavailable", str(exc))
    except AmiError as exc:
        return _error(502, "asterisk_refused", str(exc))


# -- auth ------------------------------------------------------------------------------
async def auth_login(request: web.Request) -> web.Response:
    service = request.app[SERVICE_KEY]
    data = await _body(request)
    login, password = data.get("login"), data.get("password")
    if not isinstance(login, str) or not isinstance(password, str):
        raise AgentError("bad_request", "login and password are required strings")
    try:
        result = await login_with_password(
            service.agents_repo, service.sessions, service.password_checker,
            service.login_throttle, login, password, request.remote or "")
    except LoginRefused as exc:
        # Locked out or too many checks at once: nothing was checked; say when to retry.
        response = _error(429, "too_many_attempts" if exc.code == "locked" else "busy",
                          "too many login attempts; try again later")
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if result is None:
        return _error(401, "bad_credentials", "unknown login or wrong password")
    return web.json_response(result)


async def auth_logout(request: web.Request) -> web.Response:
    service = request.app[SERVICE_KEY]
    who = request.get(AGENT_KEY) or {}
    login = await service.sessions.revoke(bearer(request))
    if login is not None and who.get("sid"):
        # This instance at once; the others through the session-ended channel.
        await service.hub.end_sessions(login, who["sid"])
    return web.json_response({"ok": True})


async def end_all_sessions(service: KccService, login: str) -> int:
    """Deactivation or a role change: every session of ``login`` ends, sockets close."""
    ended = await service.sessions.revoke_all(login)
    await service.hub.end_sessions(login)
    return ended


# -- the agent's own state ------------------------------------------------------------------
async def me(request: web.Request) -> web.Response:
    who = require_role(request)
    service = request.app[SERVICE_KEY]
    record = await service.agents_repo.get(who["login"])
    return web.json_response({**(record.to_dict() if record else {}),
                              **service.acd.state_of(who["login"])})


async def me_action(request: web.Request) -> web.Response:
    who = require_role(request)
    service = request.app[SERVICE_KEY]
    acd = service.acd
    action = request.match_info["action"]
    in_nawerk = acd.state_of(who["login"])["state"] == "wrap_up"
    if in_nawerk and action in ("end-wrapup", "resume", "pause"):
        # Ending nawerk (directly or by another state) needs the call's outcome.
        await service.scripting.check_end_nawerk(who["login"])
    if action == "login":
        return web.json_response(await acd.login(who["login"]))
    if action == "logout":
        if in_nawerk:
            await service.scripting.nawerk_forced(who["login"])
        return web.json_response(await acd.logout(who["login"]))
    if action == "pause":
        reason = (await _body(request)).get("reason")
        if not isinstance(reason, str):
            raise AgentError("bad_reason", "reason is required")
        return web.json_response(await acd.pause(who["login"], reason))
    if action == "resume":
        return web.json_response(await acd.resume(who["login"]))
    if action == "end-wrapup":
        return web.json_response(await acd.end_wrapup(who["login"]))
    raise AgentError("not_found", f"no action {action[:20]!r}")


async def transfer_call(request: web.Request) -> web.Response:
    """Blind transfer of a call the agent answered, within ``[kcc] max_transfers``."""
    who = require_role(request)
    service = request.app[SERVICE_KEY]
    linkedid = request.match_info["linkedid"]
    if not LINKEDID.match(linkedid):
        raise AgentError("bad_request", "linkedid looks like 1732451234.17")
    body = await _body(request)
    # A handover note and a reason, within what the call's script allows (409 otherwise;
    # the agent keeps the citizen).
    transfer_target(service.config, body.get("to"))  # a bad target is refused first
    await service.scripting.check_transfer(linkedid, who["login"], body.get("note"),
                                           body.get("reason"))
    return web.json_response(await transfer(
        service.config, service.model, service.link, linkedid=linkedid, login=who["login"],
        role=who["role"], to=body.get("to")))


# -- supervisor / admin ---------------------------------------------------------------
async def list_agents(request: web.Request) -> web.Response:
    require_role(request, *SUPERVISORS)
    service = request.app[SERVICE_KEY]
    records = await service.agents_repo.all()
    return web.json_response({"agents": [{**r.to_dict(), **service.acd.state_of(r.login)}
                                         for r in records]})


async def create_agent(request: web.Request) -> web.Response:
    require_role(request, "admin")
    service = request.app[SERVICE_KEY]
    data = await _body(request)
    skills = validate_skills(data.get("skills", {}), set(service.acd.queues))
    login = data.get("login")
    record = await service.agents_repo.create(
        login if isinstance(login, str) else "", data.get("name") or "",
        data.get("endpoint") or f"PJSIP/agent-{login}", data.get("role") or "agent",
        data.get("password") if isinstance(data.get("password"), str) else None, skills)
    return web.json_response(record.to_dict(), status=201)


async def set_skills(request: web.Request) -> web.Response:
    require_role(request, *SUPERVISORS)
    service = request.app[SERVICE_KEY]
    login = _login_param(request)
    skills = validate_skills((await _body(request)).get("skills"), set(service.acd.queues))
    return web.json_response(await service.acd.set_skills(login, skills))


async def force_action(request: web.Request) -> web.Response:
    require_role(request, *SUPERVISORS)
    service = request.app[SERVICE_KEY]
    acd = service.acd
    login = _login_param(request)
    action = request.match_info["action"]
    if action in ("pause", "logout", "resume") and acd.state_of(login)["state"] == "wrap_up":
        await service.scripting.nawerk_forced(login)  # forced end: 'onvolledig'
    if action == "pause":
        reason = (await _body(request)).get("reason", "overleg")
        return web.json_response(await acd.pause(login, str(reason)))
    if action == "logout":
        return web.json_response(await acd.logout(login))
    if action == "resume":
        return web.json_response(await acd.resume(login))
    raise AgentError("not_found", f"no action {action[:20]!r}")


async def delete_agent(request: web.Request) -> web.Response:
    require_role(request, "admin")
    service = request.app[SERVICE_KEY]
    login = _login_param(request)
    if await service.agents_repo.get(login) is None:
        raise AgentError("not_found", f"no agent {login}")
    if service.acd.state_of(login)["state"] != "logged_out":
        await service.acd.logout(login)
    await service.agents_repo.deactivate(login)
    await end_all_sessions(service, login)
    return web.json_response({"login": login, "active": False})


async def set_role(request: web.Request) -> web.Response:
    """Admin: change an agent's role; their sessions end (they log in again)."""
    who = require_role(request, "admin")
    service = request.app[SERVICE_KEY]
    login = _login_param(request)
    role = (await _body(request)).get("role")
    if not isinstance(role, str):
        raise AgentError("bad_role", "role is required")
    if login == who["login"]:
        raise AgentError("bad_role", "an admin does not change their own role")
    if not await service.agents_repo.set_role(login, role):
        raise AgentError("not_found", f"no agent {login}")
    await end_all_sessions(service, login)
    return web.json_response({"login": login, "role": role})


async def queue_stats(request: web.Request) -> web.Response:
    require_role(request)
    return web.json_response({"queues": request.app[SERVICE_KEY].stats.all(time.time())})


ROUTES: list[tuple[str, str, Any]] = [
    ("POST", "/api/auth/login", auth_login),
    ("POST", "/api/auth/logout", auth_logout),
    ("GET", "/api/me", me),
    ("POST", "/api/me/{action}", me_action),
    ("POST", "/api/calls/{linkedid}/transfer", transfer_call),
    ("GET", "/api/acd/agents", list_agents),
    ("POST", "/api/acd/agents", create_agent),
    ("PUT", "/api/acd/agents/{login}/skills", set_skills),
    ("POST", "/api/acd/agents/{login}/{action}", force_action),
    ("DELETE", "/api/acd/agents/{login}", delete_agent),
    ("PUT", "/api/acd/agents/{login}/role", set_role),
    ("GET", "/api/queues", queue_stats),
]


def _resp(description: str, *codes: int) -> dict[str, Any]:
    out: dict[str, Any] = {"200": {"description": description}}
    for code in codes:
        out[str(code)] = {"description": {400: "bad input", 401: "not logged in",
                                          403: "wrong role", 404: "unknown agent",
                                          409: "not possible in the current state",
                                          503: "Asterisk unreachable"}[code]}
    return out


_LOGIN_PARAM = {"name": "login", "in": "path", "required": True,
                "schema": {"type": "string", "pattern": LOGIN.pattern}}
OPENAPI_PATHS: dict[str, Any] = {
    "/api/auth/login": {"post": {"summary": "Log in with login + password; returns a token",
                                 "security": [],
                                 "responses": {**_resp("token, login, role", 400, 401),
                                               "429": {"description": "locked out or busy; "
                                                       "Retry-After says when"}}}},
    "/api/auth/logout": {"post": {"summary": "Revoke the token", "responses": _resp("ok")}},
    "/api/me": {"get": {"summary": "My agent record and live state",
                        "responses": _resp("agent", 401)}},
    "/api/me/{action}": {"post": {
        "summary": "login | logout | pause {reason} | resume | end-wrapup; ending nawerk "
                   "needs the call's outcome (409 outcome_required)",
        "parameters": [{"name": "action", "in": "path", "required": True,
                        "schema": {"enum": ["login", "logout", "pause", "resume",
                                            "end-wrapup"]}}],
        "responses": _resp("new state", 400, 401, 404, 409, 503)}},
    "/api/calls/{linkedid}/transfer": {"post": {
        "summary": "Blind transfer of my call {to, note, reason} to a queue id or "
                   "agent-<login>; 409 handover_required without a note and a reason, "
                   "transfer_limit past [kcc] max_transfers (the agent keeps the call)",
        "parameters": [{"name": "linkedid", "in": "path", "required": True,
                        "schema": {"type": "string", "pattern": LINKEDID.pattern}}],
        "responses": _resp("transferred", 400, 401, 403, 404, 409, 503)}},
    "/api/acd/agents": {
        "get": {"summary": "All agents with skills and live state (supervisor)",
                "responses": _resp("agents", 401, 403)},
        "post": {"summary": "Create an agent (admin)",
                 "responses": {"201": {"description": "created"},
                               **{k: v for k, v in _resp("", 400, 401, 403, 409).items()
                                  if k != "200"}}}},
    "/api/acd/agents/{login}/skills": {"put": {
        "summary": "Replace an agent's skills {queue: level 1..10}; applied live",
        "parameters": [_LOGIN_PARAM], "responses": _resp("skills and state", 400, 401, 403,
                                                         404)}},
    "/api/acd/agents/{login}/role": {"put": {
        "summary": "Admin: set an agent's role {role}; every session of theirs ends",
        "parameters": [_LOGIN_PARAM], "responses": _resp("new role", 400, 401, 403, 404)}},
    "/api/acd/agents/{login}/{action}": {"post": {
        "summary": "Supervisor: force pause {reason} | logout | resume",
        "parameters": [_LOGIN_PARAM, {"name": "action", "in": "path", "required": True,
                                      "schema": {"enum": ["pause", "logout", "resume"]}}],
        "responses": _resp("new state", 400, 401, 403, 404, 409)}},
    "/api/acd/agents/{login}": {"delete": {
        "summary": "Deactivate an agent (admin)", "parameters": [_LOGIN_PARAM],
        "responses": _resp("deactivated", 401, 403, 404)}},
    "/api/queues": {"get": {"summary": "Live queue stats: waiting, longest wait, SL, ASA, EWT",
                            "responses": _resp("queues", 401)}},
}
