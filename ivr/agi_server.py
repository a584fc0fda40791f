"""FastAGI server: where Asterisk hands an inbound call to the service.

panoramisk's ``fast_agi.Application.handler`` reads the AGI environment with
``reader.read(100)`` until it sees a blank line; a peer that closes early makes it spin
forever, and undecodable bytes in a caller name raise. This server reads the environment
with ``readuntil`` under a size limit and a timeout, decodes with replacement, and then
hands panoramisk's own ``Request`` (its command/response parsing is fine) to the route.

Whatever a route does, the dialplan decides what happens when it returns: a route only
sets channel variables (``KCC_QUEUE`` ...). If the service is down the ``AGI()`` fails
and the dialplan queues the caller in the general queue by itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from panoramisk.fast_agi import Request

log = logging.getLogger(__name__)

Route = Callable[[Request], Awaitable[None]]
MAX_ENV_BYTES = 16_384


class AgiHangup(Exception):
    """The caller hung up (Asterisk closed the AGI session)."""


class AgiServer:
    def __init__(self, host: str, port: int, *, env_timeout: float = 5.0) -> None:
        self.host, self.port = host, port
        self.env_timeout = env_timeout
        self.routes: dict[str, Route] = {}
        self._server: asyncio.base_events.Server | None = None
        self.sessions = 0
        self.errors = 0
        self.active = 0

    def add_route(self, path: str, endpoint: Route) -> None:
        if not asyncio.iscoroutinefunction(endpoint):
            raise TypeError("FastAGI routes must be coroutine functions")
        self.routes[path] = endpoint

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port,
                                                  limit=MAX_ENV_BYTES * 2)
        log.info("FastAGI listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.sessions += 1
        self.active += 1
        try:
            headers = await self._read_env(reader)
            if headers is None:
                return
            script = headers.get("agi_network_script", "").split("?", 1)[0].strip("/")
            route = self.routes.get(script)
            if route is None:
                log.error("FastAGI: no route for %r", script[:80])
                return
            request = Request(app=self, headers=headers, reader=reader, writer=writer)
            await route(request)
        except (ConnectionError, asyncio.IncompleteReadError, AgiHangup):
            pass  # the caller hung up mid-session: nothing to clean up here
        except Exception:
            self.errors += 1
            log.exception("FastAGI route failed")
        finally:
            self.active -= 1
            writer.close()

    async def _read_env(self, reader: asyncio.StreamReader) -> dict[str, str] | None:
        try:
            raw = await asyncio.wait_for(reader.readuntil(b"\n\n"), self.env_timeout)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                ConnectionError):
            log.warning("FastAGI: no complete AGI environment; closing")
            return None
        if len(raw) > MAX_ENV_BYTES:
            return None
        headers: dict[str, str] = {}
        for line in raw.decode("utf-8", errors="replace").splitlines():
            key, sep, value = line.partition(": ")
            if sep and key.startswith("agi_"):
                headers[key] = value
        return headers


async def agi_command(request: Request, command: str) -> dict[str, object]:
    """Send one AGI command; raise AgiHangup when the channel is gone."""
    if "\n" in command or "\r" in command:
        raise ValueError("AGI command must be one line")
    try:
        result = await request.send_command(command)
    except ValueError:  # empty line: Asterisk closed the session
        raise AgiHangup() from None
    if result.get("status_code") == 511 or result.get("error") == "AGIResultHangup":
        raise AgiHangup()
    if not result:
        raise AgiHangup()
    return result


def quote_agi(value: str) -> str:
    """Quote a value for an AGI command line (caller data is untrusted)."""
    safe = "".join(ch for ch in value if ch >= " " and ch != "\x7f")
    return '"' + safe.replace("\\", "\\\\").replace('"', '\\"') + '"'
