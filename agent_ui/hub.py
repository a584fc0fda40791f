"""WebSocket hub: live pushes to agent panels and supervisor wallboards.

``GET /ws``; the first message must be ``{"type": "auth", "token": "..."}`` within 5 s
(never a token in the URL: proxies log URLs). After that the server pushes:

* ``agent.state`` — to that agent, and to every supervisor;
* ``call.offered`` — the screen-pop, ONLY to the agent the call is offered to (the hub
  keys connections by the authenticated login; a client cannot subscribe to anything);
* ``queue.stats`` — to supervisors, every 2 s.

and accepts commands from the agent: ``{"type": "pause", "reason": ...}``, ``resume``,
``login``, ``logout``, ``end-wrapup``; each answered with ``ack`` or ``error``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from telephony.acd.agents_repo import AgentError
from telephony.ami.link import AmiError, AmiUnavailable

if TYPE_CHECKING:
    from telephony.service import KccService

log = logging.getLogger(__name__)
HUB_SERVICE: web.AppKey[KccService] = web.AppKey("hub-service")
AUTH_TIMEOUT = 5.0
MAX_MESSAGE = 4096
SUPERVISOR_ROLES = ("supervisor", "admin")


class Hub:
    def __init__(self) -> None:
        self.by_login: dict[str, set[web.WebSocketResponse]] = defaultdict(set)
        self.supervisors: set[web.WebSocketResponse] = set()
        self.sid_of: dict[web.WebSocketResponse, str] = {}
        self.sent = 0

    async def send_to_agent(self, login: str, message: dict[str, Any]) -> int:
        return await self._send(list(self.by_login.get(login, ())), message)

    async def send_to_supervisors(self, message: dict[str, Any]) -> int:
        return await self._send(list(self.supervisors), message)

    async def _send(self, sockets: list[web.WebSocketResponse], message: dict[str, Any]) -> int:
        data = json.dumps(message, ensure_ascii=False, default=str)
        sent = 0
        for ws in sockets:
            if ws.closed:
                continue
            try:
                await asyncio.wait_for(ws.send_str(data), 2.0)
                sent += 1
            except (ConnectionError, TimeoutError, RuntimeError):
                await ws.close()
        self.sent += sent
        return sent

    def add(self, login: str, role: str, ws: web.WebSocketResponse, sid: str = "") -> None:
        self.by_login[login].add(ws)
        self.sid_of[ws] = sid
        if role in SUPERVISOR_ROLES:
            self.supervisors.add(ws)

    def remove(self, login: str, ws: web.WebSocketResponse) -> None:
        self.by_login.get(login, set()).discard(ws)
        if not self.by_login.get(login):
            self.by_login.pop(login, None)
        self.supervisors.discard(ws)
        self.sid_of.pop(ws, None)

    async def end_sessions(self, login: str, sid: str | None = None) -> int:
        """Close ``login``'s sockets: all of them, or those of session ``sid`` only
        (a logout ends that session; deactivation and a role change end all)."""
        doomed = [ws for ws in list(self.by_login.get(login, ()))
                  if sid is None or self.sid_of.get(ws) == sid]
        for ws in doomed:
            self.supervisors.discard(ws)
            with contextlib.suppress(Exception):
                await ws.close(code=4401, message=b"session ended")
        return len(doomed)

    async def close_all(self) -> None:
        for sockets in list(self.by_login.values()):
            for ws in list(sockets):
                await ws.close()


_closing: set[asyncio.Task[Any]] = set()


def _close_later(ws: web.WebSocketResponse, why: bytes) -> None:
    """From a timer callback: close ``ws`` in a task kept referenced until done."""
    task = asyncio.ensure_future(ws.close(code=4401, message=why))
    _closing.add(task)
    task.add_done_callback(_closing.discard)


async def ws_handler(request: web.Request) -> web.WebSocketResponse:
    service = request.app[HUB_SERVICE]
    ws = web.WebSocketResponse(heartbeat=20, max_msg_size=MAX_MESSAGE)
    await ws.prepare(request)
    try:
        first = await asyncio.wait_for(ws.receive(), AUTH_TIMEOUT)
    except TimeoutError:
        await ws.close(code=4401, message=b"auth timeout")
        return ws
    who = None
    if first.type == WSMsgType.TEXT:
        with contextlib.suppress(json.JSONDecodeError, AttributeError, TypeError):
            msg = json.loads(first.data)
            if msg.get("type") == "auth" and isinstance(msg.get("token"), str):
                who = await service.sessions.resolve(msg["token"])
    if who is None:
        await ws.send_json({"type": "error", "code": "unauthorised"})
        await ws.close(code=4401, message=b"unauthorised")
        return ws
    login, role = who["login"], who["role"]
    service.hub.add(login, role, ws, who.get("sid", ""))
    # The session's expiry closes the socket too (a token that stopped working for HTTP
    # must not keep a live feed of pops).
    expiry = asyncio.get_running_loop().call_later(
        max(0.0, float(who.get("exp", time.time() + 86400)) - time.time()),
        _close_later, ws, b"session expired")
    try:
        await ws.send_json({"type": "hello", "login": login, "role": role,
                            "state": service.acd.state_of(login)})
        if role in SUPERVISOR_ROLES:
            await ws.send_json({"type": "queue.stats", "queues": service.stats.all(time.time())})
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            await ws.send_json(await _command(service, login, msg.data))
    finally:
        expiry.cancel()
        service.hub.remove(login, ws)
    return ws


async def _command(service: KccService, login: str, data: str) -> dict[str, Any]:
    try:
        msg = json.loads(data)
        kind = msg.get("type") if isinstance(msg, dict) else None
    except json.JSONDecodeError:
        return {"type": "error", "code": "bad_json"}
    acd = service.acd
    try:
        if kind == "pause":
            state = await acd.pause(login, str(msg.get("reason", "")))
        elif kind == "resume":
            state = await acd.resume(login)
        elif kind == "login":
            state = await acd.login(login)
        elif kind == "logout":
            state = await acd.logout(login)
        elif kind == "end-wrapup":
            state = await acd.end_wrapup(login)
        elif kind == "ping":
            return {"type": "pong"}
        else:
            return {"type": "error", "code": "unknown_command"}
    except AgentError as exc:
        return {"type": "error", "code": exc.code, "message": str(exc)}
    except (AmiError, AmiUnavailable, TimeoutError) as exc:
        return {"type": "error", "code": "asterisk", "message": str(exc)}
    return {"type": "ack", "command": kind, "state": state}
