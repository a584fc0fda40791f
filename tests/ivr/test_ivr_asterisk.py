"""The IVR through the real sandbox Asterisk: keys pressed on a call land in the right
queue, wrong input goes to a person, closed hours play the closed flow.

Every assertion is on what Asterisk did (QueueCallerJoin, channel variables in AMI
events, Hangup) plus the session record the IVR kept.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ivr.selfservice import ZaakStatus
from telephony.config import Config
from tests.ivr.conftest import CLOSED_AT, REPO, IvrHarness, ivr_config, running

if TYPE_CHECKING:
    from tests.integration.conftest import Ami

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]


def chanvar(event: object, name: str) -> str | None:
    values = event.get("ChanVariable") or []  # type: ignore[attr-defined]
    for item in [values] if isinstance(values, str) else values:
        key, _, value = item.partition("=")
        if key == name:
            return value
    return None


async def test_menu_key_lands_in_queue(ami: Ami, kcc_config: Config) -> None:
    harness = IvrHarness(ivr_config(kcc_config), ami)
    harness.script = {"onderwerp": ["3"]}
    async with running(harness):
        mark = ami.mark()
        await harness.call("140182")
        join = await ami.wait_event("QueueCallerJoin", since=mark, timeout=40)
        session = await harness.session()
    assert join.get("Queue") == "belastingen"
    assert chanvar(join, "KCC_SUBJECT") == "belastingen"
    assert chanvar(join, "KCC_MUNICIPALITY") == "gouda"
    assert chanvar(join, "KCC_LANG") == "nl"
    assert session.outcome == "queue" and session.queue == "belastingen"
    assert session.first_prompt_ms is not None


async def _queued(harness: IvrHarness, ami: Ami, number: str) -> tuple[object, object]:
    async with running(harness):
        mark = ami.mark()
        await harness.call(number)
        join = await ami.wait_event("QueueCallerJoin", since=mark, timeout=60)
        session = await harness.session()
    return join, session


async def test_shared_number_asks_municipality_then_english_menu(
        ami: Ami, kcc_config: Config) -> None:
    harness = IvrHarness(ivr_config(kcc_config), ami)
    harness.script = {"municipality": ["2"], "language": ["9"], "onderwerp": ["1"]}
    join, session = await _queued(harness, ami, "140180")
    assert join.get("Queue") == "burgerzaken"
    assert chanvar(join, "KCC_MUNICIPALITY") == "krimpenerwaard"
    assert chanvar(join, "KCC_LANG") == "en"
    assert chanvar(join, "KCC_SUBJECT") == "burgerzaken"
    assert session.language == "en" and session.municipality == "krimpenerwaard"


async def test_invalid_input_twice_goes_to_an_agent(ami: Ami, kcc_config: Config) -> None:
    harness = IvrHarness(ivr_config(kcc_config), ami)
    harness.script = {"onderwerp": ["9", "9"]}
    join, session = await _queued(harness, ami, "140182")
    assert join.get("Queue") == "algemeen"
    assert session.outcome == "agent_after_tries"
    assert [s["result"] for s in session.steps if s["where"] == "onderwerp"] == [
        "invalid", "invalid"]


async def test_garbage_keys_go_to_an_agent(ami: Ami, kcc_config: Config) -> None:
    """'*' (no menu to go back to) and '#' are not choices: counted as wrong, then a person."""
    harness = IvrHarness(ivr_config(kcc_config), ami)
    harness.script = {"onderwerp": ["*", "#"]}
    join, session = await _queued(harness, ami, "140182")
    assert join.get("Queue") == "algemeen"
    assert session.outcome == "agent_after_tries"


async def test_silence_goes_to_an_agent(ami: Ami, kcc_config: Config) -> None:
    harness = IvrHarness(ivr_config(kcc_config, ask_language=False), ami)
    join, session = await _queued(harness, ami, "140182")
    assert join.get("Queue") == "algemeen"
    assert [s["result"] for s in session.steps] == ["no_input", "no_input"]


async def test_zero_is_an_agent_and_back_from_submenu(ami: Ami, kcc_config: Config) -> None:
    harness = IvrHarness(ivr_config(kcc_config), ami)
    harness.script = {"onderwerp": ["6", "2"], "zelfservice": ["*"]}
    join, session = await _queued(harness, ami, "140182")
    assert join.get("Queue") == "afval", "6 -> zelfservice, * -> back, 2 -> afval"
    assert [s["where"] for s in session.steps] == ["onderwerp", "zelfservice", "onderwerp"]

    harness = IvrHarness(ivr_config(kcc_config), ami)
    harness.script = {"onderwerp": ["0"]}
    join, session = await _queued(harness, ami, "140182")
    assert join.get("Queue") == "algemeen" and session.outcome == "agent"


async def test_closed_plays_closed_flow_and_hangs_up(ami: Ami, kcc_config: Config) -> None:
    harness = IvrHarness(ivr_config(kcc_config), ami, clock=CLOSED_AT)
    async with running(harness):
        mark = ami.mark()
        await harness.call("140182")
        session = await harness.session()
        hangup = await ami.wait_event(
            "Hangup", since=mark, timeout=20,
            where=lambda e: str(e.get("Channel", "")).endswith(";2"))
    assert session.outcome == "closed"
    closed = next(s for s in session.steps if s["where"] == "closed")
    assert (closed["via"], closed["result"]) == ("system", "outside_hours")
    assert not ami.find("QueueCallerJoin", mark), "closed: nobody is queued"
    assert hangup.get("Cause") == "16"


async def test_closed_callback_request_travels_with_the_call(
        ami: Ami, kcc_config: Config) -> None:
    harness = IvrHarness(ivr_config(kcc_config), ami, clock=CLOSED_AT)
    harness.script = {"closed_callback": ["1"]}
    async with running(harness):
        mark = ami.mark()
        await harness.call("140182")
        session = await harness.session()
        hangup = await ami.wait_event(
            "Hangup", since=mark, timeout=20,
            where=lambda e: str(e.get("Channel", "")).endswith(";2"))
    assert session.outcome == "callback" and session.callback
    assert [(c.kind, c.outcome) for c in session.contacts] == [("callback", "requested")]
    assert chanvar(hangup, "KCC_CALLBACK") == "requested"


async def test_hangup_mid_menu_leaves_a_complete_record(ami: Ami, kcc_config: Config) -> None:
    harness = IvrHarness(ivr_config(kcc_config), ami)
    hung_up = False

    async def hang_up(session: object, kind: str, where: str) -> None:
        nonlocal hung_up
        if kind == "ask" and where == "onderwerp" and not hung_up:
            hung_up = True
            await ami.action({"Action": "Hangup", "Channel": harness.caller})

    harness.app.deps.listeners.append(hang_up)
    async with running(harness):
        await harness.call("140182")
        session = await harness.session()
    assert session.outcome == "hangup"
    assert session.municipality == "gouda" and session.ended_at is not None


class Zaken:
    """A zaak source double: one zaak, verified by postcode digits + house number."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, str]] = []

    async def zaak_status(self, zaaknummer: str, postcode: str,
                          huisnummer: str) -> ZaakStatus | None:
        self.asked.append((zaaknummer, postcode, huisnummer))
        if (zaaknummer, postcode, huisnummer) == ("2025001", "2801", "12"):
            return ZaakStatus("2025001", "in behandeling", "in progress", date(2025, 12, 15))
        return None


async def test_zaak_status_self_service_then_agent(ami: Ami, kcc_config: Config) -> None:
    harness = IvrHarness(ivr_config(kcc_config), ami)
    zaken = Zaken()
    harness.app.deps.zaken = zaken
    harness.script = {"onderwerp": ["6"], "zelfservice": ["1"], "zaak_number": ["2025001#"],
                      "zaak_postcode": ["2801"], "zaak_house_number": ["12#"],
                      "after_zaak_status": ["1", "0"]}
    join, session = await _queued(harness, ami, "140182")
    assert zaken.asked == [("2025001", "2801", "12")]
    assert [(c.kind, c.outcome, c.zaaknummer) for c in session.contacts] == [
        ("zaak_status", "answered", "2025001")]
    assert join.get("Queue") == "algemeen" and session.outcome == "agent_after_service"
    assert chanvar(join, "KCC_ZAAKNUMMER") == "2025001", "the zaaknummer travels to the agent"


async def test_very_long_zaak_input_is_capped(ami: Ami, kcc_config: Config) -> None:
    harness = IvrHarness(ivr_config(kcc_config), ami)
    zaken = Zaken()
    harness.app.deps.zaken = zaken
    harness.script = {"onderwerp": ["6"], "zelfservice": ["1"], "zaak_number": ["9" * 30],
                      "after_zaak_status": ["0"]}
    join, session = await _queued(harness, ami, "140182")
    assert len(session.zaaknummer) == kcc_config.ivr.max_digits
    assert session.contacts[0].outcome == "not_found"
    assert join.get("Queue") == "algemeen"


def _sipp_scenario(tmp: Path, delay_ms: int) -> Path:
    """kcc_uac.xml with the digit sent ``delay_ms`` after the answer (menu, not welcome)."""
    text = (REPO / "scripts/sipp/kcc_uac.xml").read_text(encoding="utf-8")
    text = text.replace('<pause milliseconds="1500" />', f'<pause milliseconds="{delay_ms}" />')
    path = tmp / "kcc_uac_ivr.xml"
    path.write_text(text, encoding="utf-8")
    return path


async def test_sipp_dtmf_choice_lands_in_queue(ami: Ami, kcc_config: Config,
                                               tmp_path: Path) -> None:
    """A real SIP call with RFC 4733 DTMF from SIPp, pressed during the menu prompt."""
    config = ivr_config(kcc_config, ask_language=False)
    harness = IvrHarness(config, ami)
    sipp = shutil.which("sipp")
    assert sipp, "sipp (Debian package sip-tester) is not installed"
    async with running(harness):
        mark = ami.mark()
        proc = await asyncio.create_subprocess_exec(
            sipp, "-sf", str(_sipp_scenario(tmp_path, 7000)), "-s", "140182",
            "-i", "127.0.0.1", "-p", "5270", "-mi", "127.0.0.1", "-mp", "6300",
            "-set", "dname", "SIPp Beller", "-set", "digit", "2", "-d", "3000", "-m", "1",
            "-timeout", "40s", "-nostdin", f"127.0.0.1:{config.asterisk.sip_port}",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, cwd="/tmp")
        join = await ami.wait_event("QueueCallerJoin", since=mark, timeout=40)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
        session = await harness.session()
    assert proc.returncode == 0, err.decode(errors="replace")[-800:]
    assert join.get("Queue") == "afval"
    assert session.steps[0]["where"] == "onderwerp" and session.steps[0]["answer"] == "2"
