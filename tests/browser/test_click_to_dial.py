"""Click-to-dial from the panel through the service to a SIPp UAS citizen.

The agent (browser softphone, zoe) types a citizen's number in the panel; the service
applies the call-back number rules and has Asterisk ring her softphone first, then the
citizen over the trunk endpoint (``[callbacks] citizen_context`` = ``kcc-test-uas``,
which dials the UAS this test runs). The UAS records the INVITE it received: its From
must carry the municipality's 14 number, not the agent's extension or name.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from .conftest import (
    Harness,
    _test_config,
    base_url,
    open_panel,
    running_kcc,
    until,
    wait_for,
)

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]


@pytest.fixture
async def kcc_out(kcc_config, sandbox) -> AsyncIterator[Harness]:
    """The service dialling citizens into the sandbox's SIPp UAS context."""
    cfg = _test_config(kcc_config)
    cfg = cfg.model_copy(update={"callbacks": cfg.callbacks.model_copy(
        update={"citizen_context": "kcc-test-uas"})})
    async with running_kcc(cfg) as h:
        yield h


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _uas(port: int, log: Path) -> subprocess.Popen[bytes]:
    sipp = shutil.which("sipp")
    assert sipp, "sipp (Debian package sip-tester) is not installed"
    return subprocess.Popen(
        [sipp, "-sn", "uas", "-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1",
         "-mp", str(_free_udp_port()), "-m", "1", "-timeout", "45s", "-nostdin",
         "-trace_msg", "-message_file", str(log)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd="/tmp")


async def _post(h: Harness, login: str, body: dict) -> tuple[int, dict]:
    token = await h.token(login)
    async with aiohttp.ClientSession() as http, http.post(
            base_url(h) + "/api/calls/dial", json=body,
            headers={"Authorization": f"Bearer {token}"}) as r:
        return r.status, await r.json()


async def test_click_to_dial_reaches_the_citizen_with_the_14_number(
        kcc_out: Harness, browser, tmp_path: Path) -> None:
    h = kcc_out
    await h.service.acd.ensure_demo_agents(endpoint_template="PJSIP/agent-{login}")
    # Refused before anything rings: premium rate, rubbish, a role without a phone.
    assert (await _post(h, "zoe", {"number": "0900-1234567"}))[1]["error"]["code"] == \
        "premium_rate"
    assert (await _post(h, "zoe", {"number": "06; Dial(x)"}))[0] == 400
    assert (await _post(h, "zoe", {"number": "0612345678", "municipality": "../x"}))[0] == 400

    port = _free_udp_port()
    await h.service.link.action("Setvar", Variable="KCC_TEST_UAS",
                                Value=f"127.0.0.1:{port}", timeout=5)
    log = tmp_path / "uas.log"
    uas = _uas(port, log)
    try:
        page = await open_panel(browser, h, "zoe")
        await until(page, "document.getElementById('sp-status').dataset.state === "
                          "'registered'", timeout=15)
        await page.fill("#sp-dial-number", "06-12345678")
        await page.click("#sp-dial")
        await until(page, "document.getElementById('sp-dial-result').dataset.linkedid || ''",
                    timeout=10)
        await until(page, "window.kccSoftphone.answered === 1", timeout=15)

        def invite() -> str | None:
            text = log.read_text(errors="replace") if log.exists() else ""
            found = re.search(r"^INVITE sip:.*?(?=\r?\n\r?\n)", text, re.M | re.S)
            return found.group(0) if found else None

        head = await wait_for(invite, timeout=15, what="the citizen's phone got the INVITE")
        assert re.search(r"^INVITE sip:\+31612345678@", head, re.M), head
        from_line = next(line for line in head.splitlines() if line.startswith("From:"))
        assert "<sip:140180@" in from_line, from_line  # the demo municipality's 14 number
        assert "zoe" not in from_line.lower() and "Zoë" not in from_line, from_line
        # The UAS answered; hang up from the panel: Asterisk sends it the BYE.
        await until(page, "document.getElementById('sp-hangup').disabled === false")
        await page.click("#sp-hangup")
        _, err = await asyncio.to_thread(uas.communicate, timeout=20)
        assert uas.returncode == 0, err.decode()[-500:]
        assert page.errors == []
    finally:
        if uas.poll() is None:
            uas.kill()
            uas.wait()
