"""Finding 5: FastAGI trusts only the configured Asterisks and cannot be fooled by a
caller name.

Attacks: (a) a process on another address opens the FastAGI port and pretends to be
Asterisk (it could pick any queue, read what the route says back); (b) a caller name
with U+2028 (LINE SEPARATOR) followed by ``agi_uniqueid: forged``: ``str.splitlines``
split there, the forged line became a key and, the last value winning, replaced the
channel's real uniqueid (under which the IVR session and its data are stored).
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from harness import wait_for

from ivr.agi_server import AgiServer, parse_env

pytestmark = [pytest.mark.asterisk]
FORGED = "forged-1234"
NAME = f"Eva\u2028agi_uniqueid: {FORGED}\u2028agi_arg_1: 0900"


def _env(uniqueid: str, name: str = NAME) -> bytes:
    lines = ["agi_network: yes", "agi_network_script: inbound",
             "agi_request: agi://127.0.0.1/inbound", "agi_channel: PJSIP/trunk-00000001",
             f"agi_uniqueid: {uniqueid}", "agi_callerid: 0612345678",
             f"agi_calleridname: {name}", "agi_arg_1: 140180",
             "agi_uniqueid: appended-later"]
    return ("\n".join(lines) + "\n\n").encode()


def test_env_split_on_newline_only_and_first_value_stands() -> None:
    headers = parse_env(_env("1700000000.42"))
    assert headers["agi_uniqueid"] == "1700000000.42"
    assert headers["agi_arg_1"] == "140180"
    assert headers["agi_calleridname"] == NAME  # the name is kept whole, separators and all


async def _server(port: int, allow: tuple[str, ...]) -> tuple[AgiServer, list[dict]]:
    seen: list[dict] = []

    async def route(request) -> None:
        seen.append(dict(request.headers))

    server = AgiServer("127.0.0.1", port, allow=allow)
    server.add_route("inbound", route)
    await server.start()
    return server, seen


async def _connect_and_send(port: int, source: str, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    try:
        writer.write(payload)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 5)  # until the server closes
    except ConnectionError:
        return b""
    finally:
        writer.close()


async def test_u2028_name_over_a_real_socket_cannot_change_the_uniqueid(kcc_config) -> None:
    port = kcc_config.service.agi_port + 37
    server, seen = await _server(port, ("127.0.0.1",))
    try:
        await _connect_and_send(port, "127.0.0.1", _env("1700000000.7"))
        await wait_for(lambda: seen, timeout=5, what="route called")
    finally:
        await server.stop()
    assert seen[0]["agi_uniqueid"] == "1700000000.7"
    assert seen[0]["agi_arg_1"] == "140180"


async def test_connection_from_an_unlisted_address_is_closed_unheard(edge_service) -> None:
    h = edge_service
    port = h.service.config.service.agi_port
    calls: list[str] = []
    original = h.service.agi.routes["inbound"]

    async def spy(request) -> None:
        calls.append(request.headers.get("agi_uniqueid", ""))
        await original(request)

    h.service.agi.routes["inbound"] = spy
    answer = await _connect_and_send(port, "127.0.0.2", _env("attacker.1", "Eva"))
    # The server closed the connection (read() returned) without reading the environment
    # or running a route: nothing to wait for beyond that close.
    assert answer == b"" and calls == []
    assert h.service.agi.refused == 1
    value = h.service.metrics.registry.get_sample_value("kcc_agi_refused_total")
    assert value == 1.0


async def test_u2028_caller_name_through_asterisk_keeps_the_real_uniqueid(edge_service) -> None:
    """A crafted CALLERID(name) on a real call: the route sees Asterisk's uniqueid."""
    h = edge_service
    seen: list[dict] = []
    original = h.service.agi.routes["inbound"]

    async def spy(request) -> None:
        seen.append(dict(request.headers))
        await original(request)

    h.service.agi.routes["inbound"] = spy
    marker = uuid.uuid4().hex[:6]
    name = f"Eva {marker}\u2028agi_uniqueid: {FORGED}"
    await h.caller(wait=3, name=name)
    await wait_for(lambda: seen, timeout=15, what="the inbound AGI")
    headers = seen[0]
    assert marker in headers.get("agi_calleridname", "")
    assert headers["agi_uniqueid"] != FORGED
    assert headers["agi_uniqueid"].replace(".", "").isdigit()
    channel = headers["agi_channel"]
    reply = await h.service.link.action("Getvar", Channel=channel, Variable="UNIQUEID")
    assert reply.get("Value") == headers["agi_uniqueid"]
