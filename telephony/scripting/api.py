"""HTTP API of call scripts: the agent's script for a call, scripts for supervisors, and
the supervisor's list of contactmomenten.

Agent routes act only on a call the agent answered (``call_scripts.agent_login``), also
after the citizen hung up (nawerk); a refused action answers 409 with the rule's code and
a Dutch sentence. Script editing is for supervisors and admins; every save is a new
version with who and when.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from aiohttp import web

from telephony.auth import require_role
from telephony.scripting.model import SUBJECT
from telephony.scripting.rules import Action
from telephony.scripting.service import Refused, Scripting
from telephony.scripting.store import CallScript, NoScriptState
from telephony.scripting.toml_io import ScriptError, parse_script

if TYPE_CHECKING:
    from telephony.service import KccService

SCRIPTING_KEY: web.AppKey[Scripting] = web.AppKey("scripting", Scripting)
CALL_ID = re.compile(r"^[0-9A-Za-z._-]{1,64}$")
REF = re.compile(r"^[0-9A-Za-z-]{1,64}$")
MUNICIPALITY = re.compile(r"^[a-z0-9_-]{0,40}$")
SUPERVISORS = ("supervisor", "admin")
AGENTS = ("agent", "supervisor")
STATUSES = ("open", "voltooid", "onvolledig")


class _Bad(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def _error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, **extra}},
                             status=status)


def _handler(func: Any) -> Any:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await func(request)
        except _Bad as exc:
            return _error(exc.status, exc.code, exc.message, **exc.extra)
        except Refused as exc:
            return _error(409, exc.code, exc.message)
        except NoScriptState:
            return _error(404, "no_script", "dit gesprek is niet door u aangenomen")

    wrapped.__name__ = func.__name__
    wrapped.__doc__ = func.__doc__
    return wrapped


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _Bad(400, "bad_json", "the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise _Bad(400, "bad_json", "the body must be a JSON object")
    return data


def _call_id(request: web.Request) -> str:
    call_id = request.match_info["linkedid"]
    if not CALL_ID.match(call_id):
        raise _Bad(400, "bad_call_id", "call id must be 1-64 characters [0-9A-Za-z._-]")
    return call_id


def _text(data: dict[str, Any], key: str, limit: int) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or len(value) > limit:
        raise _Bad(422, "invalid", f"{key} must be text of at most {limit} characters")
    return value.strip()


def _ref(data: dict[str, Any], key: str) -> str:
    value = _text(data, key, 64)
    if value and not REF.match(value):
        raise _Bad(422, "invalid", f"{key} is not a valid reference")
    return value


async def _view(request: web.Request, current: CallScript,
                who: dict[str, str]) -> web.Response:
    return web.json_response(request.app[SCRIPTING_KEY].view(current, who["login"]))


# ------------------------------------------------------------------ agent routes
@_handler
async def get_call_script(request: web.Request) -> web.StreamResponse:
    """The script of a call I answered: steps, answers, what is missing and allowed."""
    who = require_role(request, *AGENTS)
    current = await request.app[SCRIPTING_KEY].calls.get(_call_id(request), who["login"])
    return await _view(request, current, who)


@_handler
async def answer_step(request: web.Request) -> web.StreamResponse:
    who = require_role(request, *AGENTS)
    call_id = _call_id(request)
    data = await _json(request)
    step = _text(data, "step", 40)
    value = data.get("value")
    if not isinstance(value, str | bool | int | float) or (
            isinstance(value, str) and len(value) > 4000):
        raise _Bad(422, "invalid", "value must be text, a number or true/false")
    after = await request.app[SCRIPTING_KEY].act(call_id, who["login"],
                                                 Action("answer", step=step, value=value))
    return await _view(request, after, who)


@_handler
async def verify_identity(request: web.Request) -> web.StreamResponse:
    """The verify step: which facts were checked and whether each matched. Passed ->
    the pop shows details (and the processing log says which facts were checked)."""
    who = require_role(request, *AGENTS)
    call_id = _call_id(request)
    data = await _json(request)
    klant_ref = _ref(data, "klant_ref")
    facts = data.get("facts")
    if not isinstance(facts, dict) or len(facts) > 10 or not all(
            isinstance(k, str) and len(k) <= 40 and isinstance(v, bool)
            for k, v in facts.items()):
        raise _Bad(422, "invalid", "facts must be an object {fact: true|false}")
    scripting = request.app[SCRIPTING_KEY]
    service = scripting.service
    assert service.popper is not None
    if klant_ref:
        # Only a klant the pop offered (or the agent's own search found) for this call.
        pop_state = await service.popper.state.get(call_id, who["login"])
        if pop_state is None or klant_ref not in pop_state["candidates"]:
            raise _Bad(409, "not_a_candidate", "Deze klant hoort niet bij dit gesprek: kies "
                                               "de beller in het klantbeeld.")
    after = await scripting.act(call_id, who["login"],
                                Action("verify", facts=MappingProxyType(facts)),
                                klant_ref=klant_ref)
    passed = after.state.verify == "passed"
    await service.popper.log.record(
        actor=who["login"], actor_role=who["role"], action="identity_check",
        purpose=f"identiteit gecontroleerd ({', '.join(after.state.facts_checked)}): "
                f"{'geslaagd' if passed else 'niet geslaagd'}",
        call_id=call_id, klant_ref=klant_ref, source=service.zaak_source.name)
    if passed and klant_ref:
        from telephony.zaken.popper import PopNotFound

        try:
            pop = await service.popper.mark_verified(call_id, who["login"], klant_ref,
                                                     agent_role=who["role"])
        except PopNotFound:
            pop = None
        if pop is not None:
            await service.hub.send_to_agent(who["login"], {"type": "call.pop",
                                                           "linkedid": call_id, "pop": pop})
    return await _view(request, after, who)


@_handler
async def register_outcome(request: web.Request) -> web.StreamResponse:
    """The call's outcome (and notes): completes its contactmoment, also in nawerk after
    the citizen hung up."""
    who = require_role(request, *AGENTS)
    call_id = _call_id(request)
    data = await _json(request)
    outcome = _text(data, "outcome", 40)
    notes = _text(data, "notes", 10000)
    detail_raw = data.get("detail") or {}
    if not isinstance(detail_raw, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and len(v) <= 500
            for k, v in detail_raw.items()):
        raise _Bad(422, "invalid", "detail must be an object of short texts")
    detail = {k: v.strip() for k, v in detail_raw.items()
              if k in ("datum", "tijd", "plaats", "team", "vraag")}
    if detail.get("datum"):
        try:
            datetime.strptime(detail["datum"], "%Y-%m-%d")
        except ValueError:
            raise _Bad(422, "invalid", "detail.datum as YYYY-MM-DD") from None
    if detail.get("team") and not re.match(r"^[a-z][a-z0-9_-]{0,39}$", detail["team"]):
        raise _Bad(422, "invalid", "detail.team must match ^[a-z][a-z0-9_-]{0,39}$")
    zaak = _text(data, "zaak", 40)
    if zaak and not re.match(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,39}$", zaak):
        raise _Bad(422, "invalid", "zaak is not a zaaknummer")
    after = await request.app[SCRIPTING_KEY].register_outcome(
        call_id, who, outcome=outcome, notes=notes, detail=detail,
        klant_ref=_ref(data, "klant_ref"), zaak=zaak)
    return await _view(request, after, who)


# ------------------------------------------------------------------ supervisors
def _subject(request: web.Request) -> tuple[str, str]:
    subject = request.match_info["subject"]
    municipality = request.query.get("municipality", "")
    if not SUBJECT.match(subject) or not MUNICIPALITY.match(municipality):
        raise _Bad(400, "bad_subject", "subject ^[a-z][a-z0-9_-]{0,39}$, municipality id")
    return subject, municipality


@_handler
async def list_scripts(request: web.Request) -> web.StreamResponse:
    require_role(request, *SUPERVISORS)
    return web.json_response({"scripts": await request.app[SCRIPTING_KEY].store.listing()})


@_handler
async def get_script(request: web.Request) -> web.StreamResponse:
    """The current TOML of a script and its change log (who saved which version when)."""
    require_role(request, *SUPERVISORS)
    subject, municipality = _subject(request)
    found = await request.app[SCRIPTING_KEY].store.history(subject, municipality)
    if found is None:
        raise _Bad(404, "not_found", f"no script for {subject}")
    return web.json_response(found)


@_handler
async def put_script(request: web.Request) -> web.StreamResponse:
    """Save a new version from TOML; 422 lists the problems with line and key."""
    who = require_role(request, *SUPERVISORS)
    subject, municipality = _subject(request)
    data = await _json(request)
    text = data.get("toml")
    if not isinstance(text, str):
        raise _Bad(422, "invalid", "toml must be the script's text")
    try:
        script = parse_script(text, f"{subject}.toml")
    except ScriptError as exc:
        raise _Bad(422, "invalid_script", "het script bevat fouten",
                   problems=exc.problems) from None
    if (script.script.subject, script.script.municipality) != (subject, municipality):
        raise _Bad(422, "invalid_script", "script.subject/municipality differ from the URL")
    saved = await request.app[SCRIPTING_KEY].store.save(script, text, who["login"])
    return web.json_response(saved, status=201)


@_handler
async def list_contactmomenten(request: web.Request) -> web.StreamResponse:
    """Contactmomenten of a period (default the last day), newest first; the read is
    written to the processing log (the list holds klant refs and notes)."""
    who = require_role(request, *SUPERVISORS)
    q = request.query
    now = datetime.now(UTC)
    try:
        since = datetime.fromisoformat(q["from"]) if "from" in q else now - timedelta(days=1)
        until = datetime.fromisoformat(q["to"]) if "to" in q else now + timedelta(minutes=1)
        limit = min(max(int(q.get("limit", "200")), 1), 1000)
    except ValueError:
        raise _Bad(400, "bad_query", "from/to as ISO dates, limit 1..1000") from None
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    until = until if until.tzinfo else until.replace(tzinfo=UTC)
    status = q.get("status")
    if status is not None and status not in STATUSES:
        raise _Bad(400, "bad_query", "status is open, voltooid or onvolledig")
    agent = q.get("agent")
    if agent is not None and not re.match(r"^[a-z][a-z0-9_-]{0,39}$", agent):
        raise _Bad(400, "bad_query", "agent is a login")
    scripting = request.app[SCRIPTING_KEY]
    items = await scripting.calls.listing(since=since, until=until, status=status,
                                          agent=agent, limit=limit)
    popper = scripting.service.popper
    assert popper is not None
    await popper.log.record_many(
        actor=who["login"], actor_role=who["role"], action="contact_list",
        purpose="Toezicht op registratie van contactmomenten (KCC)", call_id="",
        klant_refs=sorted({i["klant_ref"] for i in items if i["klant_ref"]}) or [""])
    return web.json_response({"contactmomenten": items})


@_handler
async def outbox_overview(request: web.Request) -> web.StreamResponse:
    """For the admin: Open Klant writes waiting, sent and failed (with the last error)."""
    require_role(request, "admin")
    outbox = request.app[SCRIPTING_KEY].outbox
    if outbox is None:
        return web.json_response({"enabled": False, "counts": {}, "undelivered": []})
    return web.json_response({"enabled": True, **await outbox.overview()})


@_handler
async def outbox_retry(request: web.Request) -> web.StreamResponse:
    """Send a failed row again (the admin fixed Open Klant's configuration, say)."""
    require_role(request, "admin")
    outbox = request.app[SCRIPTING_KEY].outbox
    raw = request.match_info["row_id"]
    if outbox is None or not raw.isdigit() or len(raw) > 18:
        raise _Bad(404, "not_found", "no such failed outbox row")
    if not await outbox.retry(int(raw)):
        raise _Bad(404, "not_found", "no such failed outbox row")
    return web.json_response({"id": int(raw), "status": "pending"})


ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/api/calls/{linkedid}/script", get_call_script),
    ("POST", "/api/calls/{linkedid}/script/answer", answer_step),
    ("POST", "/api/calls/{linkedid}/script/verify", verify_identity),
    ("POST", "/api/calls/{linkedid}/script/outcome", register_outcome),
    ("GET", "/api/scripts", list_scripts),
    ("GET", "/api/scripts/{subject}", get_script),
    ("PUT", "/api/scripts/{subject}", put_script),
    ("GET", "/api/contactmomenten", list_contactmomenten),
    ("GET", "/api/admin/outbox", outbox_overview),
    ("POST", "/api/admin/outbox/{row_id}/retry", outbox_retry),
]


def install(app: web.Application, service: KccService) -> None:
    app[SCRIPTING_KEY] = service.scripting


def _resp(description: str, *codes: int) -> dict[str, Any]:
    names = {400: "bad input", 401: "not logged in", 403: "wrong role",
             404: "not your call / unknown script", 409: "refused by the script's rules "
             "(code + Dutch message)", 422: "invalid body / script (problems with line)"}
    return {"200": {"description": description},
            **{str(c): {"description": names[c]} for c in codes}}


_CALL = [{"name": "linkedid", "in": "path", "required": True,
          "schema": {"type": "string", "pattern": CALL_ID.pattern}}]
_SUBJ = [{"name": "subject", "in": "path", "required": True,
          "schema": {"type": "string", "pattern": SUBJECT.pattern}},
         {"name": "municipality", "in": "query", "required": False,
          "schema": {"type": "string"}}]
OPENAPI_PATHS: dict[str, Any] = {
    "/api/calls/{linkedid}/script": {"get": {
        "summary": "The script of a call I answered: steps on its path, answers, missing "
                   "steps, outcomes, and per action whether it is allowed now and why not",
        "parameters": _CALL, "responses": _resp("script view", 401, 403, 404)}},
    "/api/calls/{linkedid}/script/answer": {"post": {
        "summary": "Answer an ask step {step, value} (typed: choice, yesno, text, date, "
                   "number, zaaknummer, postcode_huisnummer)",
        "parameters": _CALL, "responses": _resp("script view", 400, 401, 403, 404, 409,
                                                422)}},
    "/api/calls/{linkedid}/script/verify": {"post": {
        "summary": "The verify step {klant_ref, facts: {fact: matched}}; passed shows the "
                   "pop's details; the processing log records the facts checked",
        "parameters": _CALL, "responses": _resp("script view", 400, 401, 403, 404, 409,
                                                422)}},
    "/api/calls/{linkedid}/script/outcome": {"post": {
        "summary": "Register the outcome {outcome, notes, detail{datum,tijd,plaats,team,"
                   "vraag}, klant_ref, zaak}: completes the contactmoment (also in nawerk)",
        "parameters": _CALL, "responses": _resp("script view", 400, 401, 403, 404, 409,
                                                422)}},
    "/api/scripts": {"get": {"summary": "Scripts with their current version (supervisor)",
                             "responses": _resp("scripts", 401, 403)}},
    "/api/scripts/{subject}": {
        "get": {"summary": "A script's TOML and change log (supervisor, admin)",
                "parameters": _SUBJ, "responses": _resp("script", 400, 401, 403, 404)},
        "put": {"summary": "Save a new version from {toml} (supervisor, admin); calls in "
                           "progress keep theirs",
                "parameters": _SUBJ,
                "responses": {"201": {"description": "saved"},
                              **{k: v for k, v in _resp("", 400, 401, 403, 422).items()
                                 if k != "200"}}}},
    "/api/contactmomenten": {"get": {
        "summary": "Contactmomenten (supervisor): ?from=&to=&status=open|voltooid|"
                   "onvolledig&agent=&limit=; the read is in the processing log",
        "responses": _resp("contactmomenten", 400, 401, 403)}},
    "/api/admin/outbox": {"get": {
        "summary": "Open Klant outbox (admin): counts per status, undelivered rows with "
                   "their last error", "responses": _resp("outbox", 401, 403)}},
    "/api/admin/outbox/{row_id}/retry": {"post": {
        "summary": "Send a failed outbox row again (admin)",
        "parameters": [{"name": "row_id", "in": "path", "required": True,
                        "schema": {"type": "integer"}}],
        "responses": _resp("pending again", 401, 403, 404)}},
}

__all__ = ["OPENAPI_PATHS", "ROUTES", "SCRIPTING_KEY", "install"]
