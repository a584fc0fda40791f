"""Finding 1: the SIP trunk answers only its configured addresses.

The attack: an INVITE that says ``From: <sip:trunk@...>`` and asserts a caller ID
(P-Asserted-Identity) from an address outside ``trunk_match`` (127.0.0.2: all of
127/8 is loopback, see the notes). Before the mend PJSIP matched the trunk endpoint by
From-user, so the call reached kcc-inbound with the attacker's caller name.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from harness import SIPP_UAC, wait_for

from telephony.asterisk_conf import render
from telephony.config import Config

pytestmark = [pytest.mark.asterisk]
HERE = Path(__file__).resolve().parent
SPOOF = HERE / "sipp_spoof_trunk.xml"


async def _sipp(config: Config, scenario: Path, source: str, name: str,
                port_shift: int) -> tuple[int, str]:
    sipp = shutil.which("sipp")
    assert sipp, "sipp (Debian package sip-tester) is not installed"
    a = config.asterisk
    base = a.sip_port + 40 + port_shift
    cmd = [sipp, "-sf", str(scenario), "-s", "140180", "-i", source, "-p", str(base),
           "-mi", source, "-mp", str(base + 2), "-set", "dname", name, "-d", "1500",
           *(["-set", "digit", ""] if scenario == SIPP_UAC else []),
           "-m", "1", "-timeout", "15s", "-nostdin", f"{a.sip_bind}:{a.sip_port}"]
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=subprocess.DEVNULL,
                                                stderr=subprocess.PIPE, cwd="/tmp")
    _, err = await asyncio.wait_for(proc.communicate(), 25)
    return proc.returncode or 0, err.decode(errors="replace")[-400:]


def _collect(seen: list[str]):
    async def on_event(event: object) -> None:
        seen.append(str(getattr(event, "caller_name", "") or ""))
        call = getattr(event, "call", None)
        seen.append(str(getattr(call, "caller_name", "") or ""))
    return on_event


def test_trunk_endpoint_is_identified_by_address_only(kcc_config: Config) -> None:
    pjsip = render(kcc_config)["pjsip.conf"]
    trunk = pjsip.split("[trunk]\ntype = endpoint\n", 1)[1].split("\n[", 1)[0]
    assert "identify_by = ip" in trunk


async def test_spoofed_trunk_invite_from_other_address_gets_no_call(edge_service) -> None:
    h = edge_service
    config = h.service.config
    # Control: a real call from the trunk's address becomes a call within this wait, so
    # the same wait with nothing to show for the attack is a real negative.
    legit = f"Echte Beller {uuid.uuid4().hex[:4]}"
    run = asyncio.create_task(_sipp(config, SIPP_UAC, "127.0.0.1", legit, 0))
    control = await wait_for(lambda: h.inbound_call(legit), timeout=10, what="control call")
    rc, err = await run
    assert rc == 0, err

    attacker = f"Burgemeester {uuid.uuid4().hex[:4]}"
    rc, err = await _sipp(config, SPOOF, "127.0.0.2", attacker, 10)
    assert rc == 0, f"the spoofed INVITE was not refused (401/403/404): {err}"
    # Ten seconds: the control call showed up in well under that (AMI -> model is ms).
    seen: list[str] = []
    h.service.bus.subscribe("attack-watch", _collect(seen))
    with pytest.raises(AssertionError):
        await wait_for(lambda: attacker in seen, timeout=10, what="a call from the attacker")
    async with h.service.pool.acquire() as conn:
        rows = await conn.fetchval("SELECT count(*) FROM calls WHERE caller_name = $1",
                                   attacker)
        assert rows == 0
        assert await wait_for(lambda: h.row(control.linkedid), timeout=10,
                              what="control call record")
