"""FastAGI server: where Asterisk hands an inbound call to the service.

panoramisk's ``fast_agi.Application.handler`` reads the AGI environment with
``reader.read(100)`` until it sees a blank line; a peer that closes early makes it spin
forever, and undecodable bytes in a caller name raise. This server reads the environment
with ``readuntil`` under a size limit and a timeout, decodes with replacement, and then
hands panoramisk's own ``Request`` (its command/response parsing is fine) to the route.

Whoever reaches the port can set a call's queue and read callers' data, so only the
configured Asterisk addresses may connect (``[service] agi_allow``; by source address
only, no authentication: AGI has none). The environment is split on ``\n`` alone and the
first value of a key stands: ``str.splitlines`` also splits on U+2028, U+0085, U+001C...,
so a caller name like "x<U+2028>agi_uniqueid: forged" used to add a key, and the last
value won.

Whatever a route does, the dialplan decides what happens when it returns: a route only
sets channel variables (``KCC_QUEUE`` ...). If the service is down the ``AGI()`` fails
and the dialplan queues the caller in the general queue by itself.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterable

from panoramisk.fast_agi import Request

log = logging.getLogger(__name__)

Route = Callable[[Request], Awaitable[None]]
MAX_ENV_BYTES = 16_384
LOOPBACK = ("127.0.0.1", "::1")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(entries: Iterable[str]) -> list[Network]:
    """``["127.0.0.1", "10.0.0.0/24"]`` -> networks; ValueError names a bad entry."""
    out: list[Network] = []
    for entry in entries:
        try:
            out.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network") from None
    return out


def parse_env(raw: bytes) -> dict[str, str]:
    """The AGI environment: ``agi_key: value`` lines split on ``\n`` only; first wins."""
    headers: dict[str, str] = {}
    for line in raw.decode("utf-8", errors="replace").split("\n"):
        key, sep, value = line.rstrip("\r").partition(": ")
        if sep and key.startswith("agi_") and key not in headers:
            headers[key] = value
    return headers


class AgiHangup(Exception):
    """The caller hung up (Asterisk closed the AGI session)."""


class AgiServer:
    def __init__(self, host: str, port: int, *, env_timeout: float = 5.0,
                 allow: Iterable[str] = LOOPBACK,
                 on_refused: Callable[[str], None] | None = None) -> None:
        self.host, self.port = host, port
        self.env_timeout = env_timeout
        self.allow = networks(allow)
        self.on_refused = on_refused
        self.refused = 0
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

    def allowed(self, peer: object) -> bool:
        """True when ``peer`` (a peername tuple) is one of the configured Asterisks."""
        try:
            address = ipaddress.ip_address(peer[0])  # type: ignore[index]
        except (TypeError, ValueError, IndexError):
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(address in net for net in self.allow)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if not self.allowed(peer):
            self.refused += 1
            source = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
            log.warning("FastAGI: connection from %s refused (not in agi_allow)", source)
            if self.on_refused is not None:
                self.on_refused(source)
            writer.close()
            return
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
        return parse_env(raw)


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
