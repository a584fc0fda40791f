"""The rendered Asterisk config on the real sandbox Asterisk 22.

What the service relies on is checked here against the real PBX rather than assumed:
the limited AMI user can do every action the service sends and receives every event
class it consumes; calls queue without the service (the "noodvoorziening"); the
KCC_QUEUE whitelist holds; UTF-8 caller names survive SIP -> AMI.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from panoramisk import Manager
from panoramisk.message import Message

from telephony import sandbox as sandbox_mod
from telephony.config import Config, load_config
from tests.conftest import TEST_CONFIG

if TYPE_CHECKING:  # tests/integration is not a package: conftest is not importable
    from conftest import Ami

pytestmark = pytest.mark.asterisk

REPO = Path(__file__).resolve().parents[2]
SIPP_SCENARIO = REPO / "scripts" / "sipp" / "kcc_uac.xml"
SIPP_HOLD_SCENARIO = REPO / "scripts" / "sipp" / "kcc_uac_hold.xml"
UTF8_NAME = "Zoë Şahin"


def ok(resp: Message | list[Message]) -> Message:
    first = resp[0] if isinstance(resp, list) else resp
    assert first.response == "Success", f"{first.get('Message')} ({dict(first)})"
    return first


def chanvar(event: Message, name: str) -> str | None:
    """A manager.conf ``channelvars`` value; events carry them as ChanVariable lines."""
    values = event.get("ChanVariable") or []
    for item in [values] if isinstance(values, str) else values:
        key, _, value = item.partition("=")
        if key == name:
            return value
    return None


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) != 0


def _is(channel_prefix: str) -> Callable[[Message], bool]:
    return lambda e: str(e.get("Channel", "")).startswith(channel_prefix)


async def originate_caller(ami: Ami, number: str = "140180", name: str = "Test Beller",
                           num: str = "0612345678") -> str:
    """A scripted citizen: Local/<number>@kcc-inbound, the other end Wait()s."""
    action_id = f"kcc-{uuid.uuid4().hex[:8]}"
    ok(await ami.action({
        "Action": "Originate", "ActionID": action_id,
        "Channel": f"Local/{number}@kcc-inbound", "Context": "kcc-test-caller",
        "Exten": "s", "Priority": "1", "CallerID": f'"{name}" <{num}>',
        "Timeout": "10000", "Async": "true"}))
    return action_id


async def hangup_all(ami: Ami) -> None:
    resp = await ami.action({"Action": "CoreShowChannels"})
    for item in resp if isinstance(resp, list) else []:
        if item.event == "CoreShowChannel":
            with contextlib.suppress(TimeoutError):
                await ami.action({"Action": "Hangup", "Channel": item.channel}, timeout=2)


@pytest.fixture
async def clean(ami: Ami) -> AsyncIterator[Ami]:
    """No calls and no members left behind by (or for) other tests."""
    await hangup_all(ami)
    yield ami
    await hangup_all(ami)
    for queue in ("algemeen", "burgerzaken"):
        for login in ("anna", "mehmet"):
            with contextlib.suppress(TimeoutError):
                await ami.action({"Action": "QueueRemove", "Queue": queue,
                                  "Interface": f"Local/{login}@kcc-test-agent"}, timeout=2)


# --------------------------------------------------------------------------- AMI user


async def test_sandbox_up_is_idempotent(kcc_config: Config, sandbox: str) -> None:
    a = kcc_config.asterisk
    assert sandbox == f"AMI {a.ami_host}:{a.ami_port} user {a.ami_user}"
    pids = sandbox_mod.asterisk_pids()
    assert len(pids) == 1
    assert await asyncio.to_thread(sandbox_mod.up, kcc_config) == sandbox
    assert sandbox_mod.asterisk_pids() == pids, "a second up must not restart Asterisk"
    info = await asyncio.to_thread(sandbox_mod.status, kcc_config)
    assert info["built"] and info["running"] and info["ami_ok"]
    assert "Asterisk 22" in str(info["version"])


async def test_login_limited_user_and_wrong_secret(
        ami: Ami, kcc_config: Config,
        ami_connect: Callable[..., Awaitable[Manager]]) -> None:
    ok(await ami.action({"Action": "Ping"}))
    # The service's user has no "command"/"system" write class: no CLI, no restart.
    resp = await ami.action({"Action": "Command", "Command": "core show version"})
    first = resp[0] if isinstance(resp, list) else resp
    assert first.response == "Error" and "Permission denied" in first.get("Message", "")
    bad = await ami_connect(kcc_config, secret="wrong-secret")
    try:
        assert not bad.authenticated
    finally:
        bad.close()


async def test_reporting_actions(ami: Ami) -> None:
    for action in ("CoreShowChannels", "BridgeList", "QueueStatus", "QueueSummary"):
        ok(await ami.action({"Action": action}))
    summary = await ami.action({"Action": "QueueSummary"})
    queues = {e.get("Queue") for e in summary if e.event == "QueueSummary"}
    assert {"algemeen", "burgerzaken", "afval", "belastingen"} <= queues
    ok(await ami.action({"Action": "UserEvent", "UserEvent": "KccTest", "Body": "ë"}))
    ev = await ami.wait_event("UserEvent", where=lambda e: e.get("UserEvent") == "KccTest")
    assert ev.get("Body") == "ë"


async def test_queue_member_actions(clean: Ami) -> None:
    ami = clean
    iface = "Local/mehmet@kcc-test-agent"
    mark = ami.mark()
    ok(await ami.action({"Action": "QueueAdd", "Queue": "burgerzaken", "Interface": iface,
                         "MemberName": "mehmet", "Paused": "false"}))
    await ami.wait_event("QueueMemberAdded", since=mark)
    ok(await ami.action({"Action": "QueuePause", "Queue": "burgerzaken", "Interface": iface,
                         "Paused": "true", "Reason": "pauze"}))
    ev = await ami.wait_event("QueueMemberPause", since=mark)
    assert ev.get("Paused") == "1" and ev.get("PausedReason") == "pauze"
    status = await ami.action({"Action": "QueueStatus", "Queue": "burgerzaken"})
    members = [e for e in status if e.event == "QueueMember"]
    assert [m.get("Name") for m in members] == ["mehmet"]
    ok(await ami.action({"Action": "QueueRemove", "Queue": "burgerzaken", "Interface": iface}))
    await ami.wait_event("QueueMemberRemoved", since=mark)


# --------------------------------------------------------------------------- routing


async def test_fallback_to_general_queue_without_service(clean: Ami,
                                                         kcc_config: Config) -> None:
    """The noodvoorziening: no FastAGI server -> the call still queues (general queue)."""
    ami = clean
    agi_port = kcc_config.service.agi_port
    assert _port_free(kcc_config.asterisk.agi_url_host, agi_port), (
        f"something listens on the FastAGI port {agi_port}; this test needs it closed")
    mark = ami.mark()
    await originate_caller(ami, name="Zoë Çelik")
    join = await ami.wait_event("QueueCallerJoin", since=mark)
    assert join.get("Queue") == "algemeen"
    assert join.get("CallerIDName") == "Zoë Çelik"
    assert chanvar(join, "KCC_DIALLED") == "+31140180", "channelvars must be in every event"
    assert chanvar(join, "KCC_QUEUE") == "algemeen"
    # The caller gives up: the queue reports an abandoned call, the caller's leg ends.
    ok(await ami.action({"Action": "Hangup", "Channel": join.get("Channel")}))
    await ami.wait_event("QueueCallerAbandon", since=mark)
    await ami.wait_event("QueueCallerLeave", since=mark)
    await ami.wait_event("Hangup", since=mark, where=_is("Local/140180@kcc-inbound"))


@pytest.mark.parametrize("number", ["31140182", "+31140182"])
async def test_e164_forms_route_like_digits(clean: Ami, number: str) -> None:
    mark = clean.mark()
    await originate_caller(clean, number=number)
    join = await clean.wait_event("QueueCallerJoin", since=mark)
    assert chanvar(join, "KCC_DIALLED") == "+31140182"


async def test_unknown_number_does_not_queue(clean: Ami) -> None:
    ami = clean
    mark = ami.mark()
    await originate_caller(ami, number="0201234567")
    hangup = await ami.wait_event("Hangup", since=mark, timeout=15,
                                  where=_is("Local/0201234567@kcc-inbound"))
    assert hangup.get("Cause") in {"1", "16"}
    assert not ami.find("QueueCallerJoin", mark)


class StubAgi:
    """A FastAGI server that answers every call with one ``SET VARIABLE KCC_QUEUE``.

    It plays the service's part in the routing contract, so the dialplan's handling of
    the value (whitelist, fallback) is tested without the service.
    """

    def __init__(self, queue_value: str, wait_digit: bool = False):
        self.queue_value = queue_value
        self.wait_digit = wait_digit
        self.env: dict[str, str] = {}
        self.digit: str | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            line = (await reader.readline()).decode("utf-8", "replace").rstrip("\n")
            if not line:
                break
            key, _, value = line.partition(": ")
            self.env[key] = value
        if self.wait_digit:
            writer.write(b"WAIT FOR DIGIT 5000\n")
            await writer.drain()
            reply = (await reader.readline()).decode()
            code = int(reply.split("result=")[1].split()[0])
            self.digit = chr(code) if code > 0 else ""
        value = self.queue_value.replace('"', '\\"')
        writer.write(f'SET VARIABLE KCC_QUEUE "{value}"\n'.encode())
        await writer.drain()
        await reader.readline()
        writer.close()


@contextlib.asynccontextmanager
async def stub_agi(config: Config, stub: StubAgi) -> AsyncIterator[StubAgi]:
    port = config.service.agi_port
    assert _port_free(config.asterisk.agi_url_host, port), f"port {port} is in use"
    server = await asyncio.start_server(stub.handle, config.asterisk.agi_url_host, port)
    try:
        yield stub
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(("value", "queue"), [
    ("burgerzaken", "burgerzaken"),       # a configured queue: used
    ("nietbestaand", "algemeen"),         # well-formed but not configured: general
    ("burgerzaken,1)", "algemeen"),       # an attempt to smuggle Goto arguments
    ("", "algemeen"),                     # the service had no answer
])
async def test_agi_queue_choice_is_whitelisted(clean: Ami, kcc_config: Config,
                                               value: str, queue: str) -> None:
    ami = clean
    async with stub_agi(kcc_config, StubAgi(value)) as stub:
        mark = ami.mark()
        await originate_caller(ami)
        join = await ami.wait_event("QueueCallerJoin", since=mark)
    assert join.get("Queue") == queue
    assert stub.env.get("agi_network_script") == "inbound"


# --------------------------------------------------------------------------- agents


async def test_scripted_agent_gets_the_call_and_call_actions_work(clean: Ami) -> None:
    """A Local member answers; then the call-control actions the service uses."""
    ami = clean
    mark = ami.mark()
    ok(await ami.action({"Action": "QueueAdd", "Queue": "algemeen",
                         "Interface": "Local/anna@kcc-test-agent", "MemberName": "anna"}))
    await originate_caller(ami, name=UTF8_NAME)
    join = await ami.wait_event("QueueCallerJoin", since=mark)
    caller = join.get("Channel")
    await ami.wait_event("AgentCalled", since=mark)
    await ami.wait_event("DialBegin", since=mark)
    connect = await ami.wait_event("AgentConnect", since=mark)
    assert connect.get("Queue") == "algemeen" and connect.get("CallerIDName") == UTF8_NAME
    agent = connect.get("DestChannel")
    await ami.wait_event("DialEnd", since=mark)
    await ami.wait_event("BridgeEnter", since=mark, where=_is(agent))
    await ami.wait_event("QueueMemberStatus", since=mark)

    bridges = await ami.action({"Action": "BridgeList"})
    bridge_ids = [b.get("BridgeUniqueid") for b in bridges if b.event == "BridgeListItem"]
    assert bridge_ids
    info = await ami.action({"Action": "BridgeInfo", "BridgeUniqueid": bridge_ids[0]})
    ok(info)
    ok(await ami.action({"Action": "Setvar", "Channel": caller, "Variable": "KCC_SUBJECT",
                         "Value": "paspoort"}))
    var = ok(await ami.action({"Action": "Getvar", "Channel": caller,
                               "Variable": "KCC_SUBJECT"}))
    assert var.get("Value") == "paspoort"
    var = ok(await ami.action({"Action": "Getvar", "Channel": caller,
                               "Variable": "KCC_DIALLED"}))
    assert var.get("Value") == "+31140180"

    # Blind transfer of the citizen (by the agent's leg) to a colleague (test agent 2001).
    mark2 = ami.mark()
    ok(await ami.action({"Action": "BlindTransfer", "Channel": agent,
                         "Context": "kcc-test-agent", "Exten": "2001"}))
    ev = await ami.wait_event("BlindTransfer", since=mark2)
    assert ev.get("Result") == "Success"
    await ami.wait_event("AgentComplete", since=mark)


async def test_attended_transfer_and_redirect(clean: Ami) -> None:
    ami = clean
    mark = ami.mark()
    ok(await ami.action({"Action": "QueueAdd", "Queue": "algemeen",
                         "Interface": "Local/anna@kcc-test-agent", "MemberName": "anna"}))
    await originate_caller(ami)
    connect = await ami.wait_event("AgentConnect", since=mark)
    agent = connect.get("DestChannel")
    await ami.wait_event("BridgeEnter", since=mark, where=_is(agent))
    ok(await ami.action({"Action": "Atxfer", "Channel": agent, "Context": "kcc-test-agent",
                         "Exten": "2002"}))
    # The consult leg to 2002 is dialled; hanging up the transferring agent completes it.
    await ami.wait_event("Newchannel", since=mark,
                         where=_is("Local/2002@kcc-test-agent"))
    target = await ami.wait_event("BridgeEnter", since=mark,
                                  where=_is("Local/2002@kcc-test-agent"))
    # Complete only once the agent is in the consult bridge with the target: hanging up
    # earlier aborts the transfer instead (a race, not a configuration problem).
    await ami.wait_event("BridgeEnter", since=mark, where=lambda e: (
        e.get("Channel") == agent
        and e.get("BridgeUniqueid") == target.get("BridgeUniqueid")))
    ok(await ami.action({"Action": "Hangup", "Channel": agent}))
    ev = await ami.wait_event("AttendedTransfer", since=mark)
    assert ev.get("Result") == "Success"

    # Redirect a waiting caller to another queue (what a supervisor's "move" does).
    await hangup_all(ami)
    await ami.action({"Action": "QueueRemove", "Queue": "algemeen",
                      "Interface": "Local/anna@kcc-test-agent"})
    mark = ami.mark()
    await originate_caller(ami)
    join = await ami.wait_event("QueueCallerJoin", since=mark)
    ok(await ami.action({"Action": "Redirect", "Channel": join.get("Channel"),
                         "Context": "kcc-queue", "Exten": "burgerzaken", "Priority": "1"}))
    moved = await ami.wait_event("QueueCallerJoin", since=mark,
                                 where=lambda e: e.get("Queue") == "burgerzaken")
    assert moved.get("Channel") == join.get("Channel")


# --------------------------------------------------------------------------- SIP


def _sipp(number: str, name: str, duration_ms: int, digit: str = "",
          sip_port: int = 5070, media_port: int = 6000,
          scenario: Path = SIPP_SCENARIO) -> subprocess.Popen[bytes]:
    """SIPp towards the sandbox of TEST_CONFIG; its own ports follow that sandbox's offset
    (so two sandboxes side by side do not share SIPp ports either)."""
    config = load_config(TEST_CONFIG)
    offset = config.asterisk.sip_port - 5060
    sip_port += offset
    media_port += offset
    sipp = shutil.which("sipp")
    assert sipp, "sipp (Debian package sip-tester) is not installed"
    cmd = [sipp, "-sf", str(scenario), "-s", number, "-i", "127.0.0.1",
           "-p", str(sip_port), "-mi", "127.0.0.1", "-mp", str(media_port),
           "-set", "dname", name, "-d", str(duration_ms),
           *(["-set", "digit", digit] if scenario == SIPP_SCENARIO else []),
           "-m", "1", "-timeout", "20s", "-nostdin",
           f"127.0.0.1:{config.asterisk.sip_port}"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            cwd="/tmp")


async def _sipp_result(proc: subprocess.Popen[bytes]) -> None:
    try:
        _, err = await asyncio.to_thread(proc.communicate, timeout=25)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 0, f"sipp failed ({proc.returncode}): {err.decode()[-500:]}"


async def test_sip_call_utf8_name_reaches_general_queue(clean: Ami,
                                                        kcc_config: Config) -> None:
    ami = clean
    assert _port_free(kcc_config.asterisk.agi_url_host, kcc_config.service.agi_port)
    mark = ami.mark()
    proc = _sipp("140180", UTF8_NAME, 3000)
    new = await ami.wait_event("Newchannel", since=mark, where=_is("PJSIP/trunk-"))
    assert new.get("CallerIDName") == UTF8_NAME
    join = await ami.wait_event("QueueCallerJoin", since=mark)
    assert join.get("Queue") == "algemeen" and join.get("CallerIDName") == UTF8_NAME
    assert chanvar(join, "KCC_DIALLED") == "+31140180"
    await _sipp_result(proc)
    await ami.wait_event("QueueCallerAbandon", since=mark)


async def test_sip_dtmf_reaches_the_agi(clean: Ami, kcc_config: Config) -> None:
    """RFC 4733 digits from the trunk arrive in the FastAGI (the IVR's input path)."""
    ami = clean
    async with stub_agi(kcc_config, StubAgi("afval", wait_digit=True)) as stub:
        mark = ami.mark()
        proc = _sipp("140182", "Test", 2500, digit="7", sip_port=5071, media_port=6010)
        join = await ami.wait_event("QueueCallerJoin", since=mark)
        await _sipp_result(proc)
    assert stub.digit == "7"
    assert join.get("Queue") == "afval"
    assert stub.env.get("agi_callerid") == "0612345678"


def test_rendered_config_is_what_runs(kcc_config: Config, sandbox: str) -> None:
    """The chroot's /etc/asterisk holds exactly the rendered set (no Debian samples)."""
    from telephony.asterisk_conf import render

    etc = Path(sandbox_mod.sandbox_dir()) / "etc/asterisk"
    files = render(kcc_config, sandbox=True)
    assert {p.name for p in etc.iterdir()} == {*files, "keys"}
    for name, text in files.items():
        assert (etc / name).read_text(encoding="utf-8") == text
    modules = sandbox_mod.cli("module show like pjsip")
    assert "res_pjsip_transport_websocket.so" in modules
    assert "Running" in sandbox_mod.cli("module show like app_queue")
    http = sandbox_mod.cli("http show status")
    assert "HTTPS Server Enabled and Bound to" in http
    endpoints = sandbox_mod.cli("pjsip show endpoint agent-anna")
    assert "webrtc" in endpoints and "dtls_auto_generate_cert" in endpoints


async def test_sip_hold_and_unhold_events(clean: Ami) -> None:
    """A citizen's phone holding the call (re-INVITE sendonly) shows as Hold/Unhold."""
    ami = clean
    mark = ami.mark()
    proc = _sipp("140180", UTF8_NAME, 1000, sip_port=5072, media_port=6020,
                 scenario=SIPP_HOLD_SCENARIO)
    hold = await ami.wait_event("Hold", since=mark, where=_is("PJSIP/trunk-"))
    assert hold.get("CallerIDName") == UTF8_NAME
    await ami.wait_event("Unhold", since=mark, where=_is("PJSIP/trunk-"))
    await _sipp_result(proc)
