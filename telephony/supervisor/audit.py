"""Every steering action from the supervisor's screen is written down: who, when, what.

Forcing an agent into a pause or out of the queues, changing skills, switching the
calamity message that every caller hears, moving call-backs: these change what citizens
and agents experience, so each one (also a refused or failed one) becomes a row of the
append-only ``supervisor_actions`` table. The routes keep their own handlers; the wrapper
is put around them where the routes are assembled (``telephony/web.py``), so there is
one list of what is audited (:data:`STEERING`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from telephony.acd.agents_repo import AgentError
from telephony.auth import AGENT_KEY

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_DETAILS = 4000

# (method, route) -> action name; "{action}" is filled from the path.
STEERING: dict[tuple[str, str], str] = {
    ("POST", "/api/acd/agents/{login}/{action}"): "agent.{action}",
    ("PUT", "/api/acd/agents/{login}/skills"): "agent.skills",
    ("PUT", "/api/acd/agents/{login}/role"): "agent.role",
    ("PUT", "/api/ivr/calamity"): "calamity.on",
    ("DELETE", "/api/ivr/calamity"): "calamity.off",
    ("PUT", "/api/ivr/calamity/{municipality}"): "calamity.on",
    ("DELETE", "/api/ivr/calamity/{municipality}"): "calamity.off",
    ("POST", "/api/supervisor/callbacks/move"): "callbacks.move",
}
# The only body fields kept (none of these routes takes personal data or secrets).
KEPT = ("reason", "skills", "text_nl", "text_en", "active_until", "ids", "from_queue",
        "to_queue", "role")


async def _details(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body or request.content_type != "application/json":
        return {}
    try:
        body = json.loads(await request.read())  # aiohttp caches it for the handler
    except (ValueError, UnicodeDecodeError):
        return {"body": "not JSON"}
    if not isinstance(body, dict):
        return {"body": "not an object"}
    return {k: body[k] for k in KEPT if k in body}


def _code(response: web.StreamResponse) -> str:
    if response.status < 400:
        return "ok"
    body = getattr(response, "body", None)
    try:
        return str(json.loads(body)["error"]["code"])[:60] if body else str(response.status)
    except (ValueError, KeyError, TypeError):
        return str(response.status)


async def record(pool: asyncpg.Pool, who: dict[str, str], action: str, target: str,
                 details: dict[str, Any], status: int, result: str) -> None:
    text = json.dumps(details, ensure_ascii=False, default=str)
    if len(text) > MAX_DETAILS:
        text = json.dumps({"truncated": text[:MAX_DETAILS]})
    await pool.execute(
        """INSERT INTO supervisor_actions (actor, role, action, target, details, status,
                                           result)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)""",
        who.get("login", ""), who.get("role", ""), action, target, text, status, result)


def audited(template: str, handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        who = request.get(AGENT_KEY)
        if who is None:  # not logged in: the handler answers 401, nothing to attribute
            return await handler(request)
        info = request.match_info
        action = template.replace("{action}", info.get("action", "")[:20])
        target = info.get("login") or info.get("municipality") or ""
        details = await _details(request)
        status, result = 500, "error"
        try:
            response = await handler(request)
            status, result = response.status, _code(response)
            return response
        except web.HTTPException as exc:
            status, result = exc.status, exc.reason.lower().replace(" ", "_")
            raise
        except AgentError as exc:
            from telephony.acd.api import STATUS

            status, result = STATUS.get(exc.code, 400), exc.code
            raise
        except Exception as exc:
            status, result = 503, type(exc).__name__
            raise
        finally:
            from telephony.web import SERVICE_KEY

            try:
                await record(request.app[SERVICE_KEY].pool, who, action, target, details,
                             status, result)
            except Exception:
                log.exception("supervisor action %s by %s NOT written to the audit log",
                              action, who.get("login"))
    return wrapped


def audit_steering(routes: list[tuple[str, str, Any]]) -> list[tuple[str, str, Any]]:
    """The app's routes with the steering ones wrapped by :func:`audited`."""
    return [(m, p, audited(STEERING[(m, p)], h) if (m, p) in STEERING else h)
            for m, p, h in routes]
