"""Active-active: two service instances behave as one (issue 15).

Against the real sandbox Asterisk, PostgreSQL and Redis: instance A is a separate
``KccService`` process, instance B runs in the test (see conftest.py).
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from typing import TYPE_CHECKING

import aiohttp
import asyncpg
from harness import TEST_DSN, wait_for

if TYPE_CHECKING:  # "conftest" may name another directory's module at run time
    from conftest import Cluster

CALLER = "0612349871"  # only this test's klant has it
CALLER_E164 = "+31612349871"


async def _klant_with_number(e164: str) -> str:
    """One klant with this phone number (a greeting-level pop candidate); returns ref.

    Removed again by :func:`_remove_klant`: other suites load the demo municipality only
    into an empty klanten table."""
    conn = await asyncpg.connect(TEST_DSN)
    try:
        await conn.execute("DELETE FROM klant_telefoonnummers WHERE e164 = $1", e164)
        ref = str(uuid.uuid4())
        klant_id = await conn.fetchval(
            "INSERT INTO klanten (ref, soort, voornamen, achternaam) "
            "VALUES ($1, 'natuurlijk_persoon', 'Clara', 'Cluster') RETURNING id", ref)
        await conn.execute("INSERT INTO klant_telefoonnummers (klant_id, e164) "
                           "VALUES ($1, $2)", klant_id, e164)
        return ref
    finally:
        await conn.close()


async def _remove_klant(ref: str) -> None:
    conn = await asyncpg.connect(TEST_DSN)
    try:
        await conn.execute("DELETE FROM klanten WHERE ref = $1::uuid", ref)
    finally:
        await conn.close()


async def _logged_refs(linkedid: str) -> list[str]:
    conn = await asyncpg.connect(TEST_DSN)
    try:
        rows = await conn.fetch("SELECT klant_ref FROM processing_log WHERE call_id = $1",
                                linkedid)
        return [str(r["klant_ref"]) for r in rows]
    finally:
        await conn.close()


async def _offers(ws: aiohttp.ClientWebSocketResponse, until: float) -> list[dict]:
    """Every call.offered the socket receives before ``until`` (monotonic)."""
    out = []
    while (left := until - time.monotonic()) > 0:
        try:
            msg = await ws.receive(timeout=left)
        except TimeoutError:
            break
        if msg.type != aiohttp.WSMsgType.TEXT:
            break
        data = json.loads(msg.data)
        if data.get("type") == "call.offered":
            out.append(data)
    return out


async def test_pop_built_once_and_shown_on_the_other_instances_socket(cluster: Cluster):
    """anna's panel is connected to B; whichever instance wins the claim builds the pop:
    it reaches B's socket once, and the processing log has one entry (one candidate)."""
    b = cluster.b
    ref = await _klant_with_number(CALLER_E164)
    try:
        await _pop_once(b, ref)
    finally:
        await _remove_klant(ref)


async def _pop_once(b, ref: str) -> None:
    await b.service.cluster.wait_subscribed()
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(f"ws://127.0.0.1:{b.config.service.http_port}/ws")
        await ws.send_json({"type": "auth", "token": await b.token("anna")})
        assert (await ws.receive_json(timeout=5))["type"] == "hello"
        await b.agent("anna")
        await b.caller(wait=3, name="Clara Cluster", cid=CALLER)
        call = await wait_for(lambda: b.inbound_call("Clara Cluster"), what="call on B")
        first = await _offers(ws, time.monotonic() + 15)
        assert first, "no pop reached anna's socket on B"
        assert first[0]["linkedid"] == call.linkedid
        assert len(first[0]["pop"]["candidates"]) == 1
        # Negative check: the call's end on B comes after both instances saw AgentCalled
        # and after any pop build (a call's pop tasks finish before its state is dropped),
        # so a second pop would have arrived by then; 2 s more covers the Redis hop.
        await wait_for(lambda: any(e.linkedid == call.linkedid for e in b.ended),
                       timeout=20, what="call ended on B")
        later = await _offers(ws, time.monotonic() + 2)
        await ws.close()
    offers = [m for m in first + later if m["linkedid"] == call.linkedid]
    assert len(offers) == 1, f"pops per offered call: {len(offers)}"
    assert await _logged_refs(call.linkedid) == [ref], "one processing-log entry"


async def test_boards_equal_on_both_instances(cluster: Cluster):
    """One leader computes the board; A's and B's supervisors see the same one."""
    b = cluster.b
    await b.agent("anna")
    await b.caller(wait=2, name="Bord Gelijk")
    call = await wait_for(lambda: b.inbound_call("Bord Gelijk"), what="call")
    await wait_for(lambda: any(e.linkedid == call.linkedid for e in b.ended), timeout=20,
                   what="call ended")
    headers = {"Authorization": f"Bearer {await _supervisor_token(b)}"}
    a_url = f"http://127.0.0.1:{cluster.a_config.service.http_port}/api/supervisor/board"
    b_url = f"http://127.0.0.1:{b.config.service.http_port}/api/supervisor/board"

    async def same() -> dict | None:
        async with aiohttp.ClientSession(headers=headers) as http:
            async with http.get(a_url) as ra, http.get(b_url) as rb:
                assert ra.status == rb.status == 200
                board_a, board_b = await ra.json(), await rb.json()
        if board_a == board_b and board_a.get("seq"):
            return board_a
        return None

    board = await wait_for(same, timeout=15, what="equal boards on A and B")
    assert board["leader"]


async def _supervisor_token(b) -> str:
    for agent in b.config.agents:
        if agent.role == "supervisor":
            return await b.token(agent.login)
    raise AssertionError("the test config has no supervisor")


async def test_kill_an_instance_mid_call_the_other_serves_new_calls(cluster: Cluster):
    """SIGKILL A (first in the dialplan's FastAGI list) while a call it routed is up:
    the next call is routed by B at once, and the first call's record is closed once."""
    b = cluster.b
    await b.agent("anna")
    sessions_b = b.service.agi.sessions
    await b.caller(wait=4, name="Voor Crash")
    first = await wait_for(lambda: b.inbound_call("Voor Crash"), what="first call")
    await wait_for(lambda: first.answered_by == "anna", timeout=15, what="answered")
    assert b.service.agi.sessions == sessions_b, "A (first in the list) routed it"
    cluster.a_proc.send_signal(signal.SIGKILL)
    await asyncio.wait_for(cluster.a_proc.wait(), 10)
    t0 = time.monotonic()
    await b.caller(wait=2, name="Na Crash")
    await wait_for(lambda: b.service.agi.sessions > sessions_b, timeout=10,
                   what="B's FastAGI serving the new call")
    failover = time.monotonic() - t0
    second = await wait_for(lambda: b.inbound_call("Na Crash"), what="second call")
    await wait_for(lambda: second.queue, timeout=10, what="second call queued")
    assert failover < 3.0, f"failover took {failover:.2f} s"
    await wait_for(lambda: any(e.linkedid == first.linkedid for e in b.ended), timeout=20,
                   what="first call's end seen by B")
    conn = await asyncpg.connect(TEST_DSN)
    try:
        rows = await conn.fetch("SELECT ended_at FROM calls WHERE linkedid = $1",
                                first.linkedid)
    finally:
        await conn.close()
    assert len(rows) == 1 and rows[0]["ended_at"] is not None
