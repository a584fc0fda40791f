"""Agent-first callback dialling through the real sandbox Asterisk 22.

Agents are Local/<login>@kcc-test-agent (answer at once); citizens are Local channels in
kcc-test-citizen whose number's last digit scripts them (1 presses 1, 2 never answers,
3 busy, 4 voicemail, 5 presses 2).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from harness import hangup_all, wait_for

from telephony.events import AgentStateChanged
from tests.callbacks.cbharness import (
    BUSY,
    NO_ANSWER,
    REACHED,
    REFUSES,
    VOICEMAIL,
    CbHarness,
    cb_config,
)

pytestmark = pytest.mark.asterisk


@pytest.fixture
async def cb(kcc_config, sandbox, pool):
    h = CbHarness(cb_config(kcc_config, max_attempts=2))
    await h.start()
    await hangup_all(h)
    await h.logout_all()
    yield h
    await h.logout_all()
    await hangup_all(h)
    await h.stop()


async def test_agent_then_citizen_confirms_and_is_reached(cb: CbHarness):
    pops: list[dict] = []

    async def capture(agent: str, message: dict) -> None:
        pops.append({"agent": agent, **message})

    cb.service.callbacks.dispatcher.dialer.notify = capture
    states: list[tuple[str, str]] = []

    async def collect(event) -> None:
        if isinstance(event, AgentStateChanged) and event.agent == "zoe":
            states.append((event.state, event.reason))

    cb.service.bus.subscribe("test-states", collect)
    cid = await cb.add(REACHED, subject="paspoort verlengen")
    await cb.service.acd.login("zoe")
    linkedid = f"cb-{cid}-1"
    await wait_for(lambda: linkedid in cb.service.model.calls, what="callback call live")
    row = await cb.until_status(cid, "done")
    assert ("paused", "terugbellen") in states, states
    assert row["outcome"] == "reached" and row["attempts"] == 1
    assert pops and pops[0]["type"] == "callback.offered" and pops[0]["agent"] == "zoe"
    assert pops[0]["subject"] == "paspoort verlengen" and pops[0]["number"] == REACHED
    attempt = await cb.service.pool.fetchrow(
        "SELECT * FROM callback_attempts WHERE callback_id = $1", cid)
    assert attempt["agent_answered_at"] is not None and attempt["dialstatus"] == "ANSWER"
    await wait_for(lambda: cb.state("zoe") == "available", what="reservation ended")
    snap = cb.service.stats.snapshot("algemeen", time.time())
    assert snap["callbacks_reached"] == 1 and snap["answered"] >= 1
    assert snap["service_level"] is not None
    # The call-back call is a contact of its own (issue 11): one contactmoment for zoe.
    moment = await cb.service.pool.fetchrow(
        "SELECT agent_login, kanaal, subject, hung_up_at FROM call_contactmomenten "
        "WHERE call_id = $1", linkedid)
    assert (moment["agent_login"], moment["kanaal"], moment["subject"]) == (
        "zoe", "terugbellen", "paspoort verlengen")
    assert moment["hung_up_at"] is not None


@pytest.mark.parametrize(("number", "outcome"), [
    (VOICEMAIL, "voicemail"), (REFUSES, "refused"), (BUSY, "busy"), (NO_ANSWER, "no_answer")])
async def test_outcomes_and_voicemail_is_never_reached(cb: CbHarness, number: str,
                                                       outcome: str):
    cb.service.callbacks.dispatcher.cfg = cb.service.callbacks.dispatcher.cfg.model_copy(
        update={"max_attempts": 1})
    cid = await cb.add(number)
    await cb.service.acd.login("zoe")
    row = await cb.until_status(cid, "done", "task", timeout=40)
    assert row["outcome"] == outcome
    assert row["status"] == ("done" if outcome == "refused" else "task")


async def test_retry_after_no_answer_then_task_with_reason(cb: CbHarness):
    cid = await cb.add(NO_ANSWER)
    await cb.service.acd.login("zoe")
    row = await cb.until_status(cid, "task", timeout=60)
    assert row["attempts"] == 2 and row["outcome"] == "no_answer"
    tries = await cb.service.pool.fetch(
        "SELECT * FROM callback_attempts WHERE callback_id = $1 ORDER BY attempt", cid)
    assert [t["outcome"] for t in tries] == ["no_answer", "no_answer"]
    task = await cb.service.pool.fetchrow("SELECT * FROM taken WHERE uuid = $1::uuid",
                                          row["task_uuid"])
    assert task["telefoonnummer"] == NO_ANSWER and "2 pogingen" in task["toelichting"]


async def test_outside_opening_hours_nothing_is_dialled(cb: CbHarness):
    cb.open_now = False
    cid = await cb.add(REACHED)
    await cb.service.acd.login("zoe")
    await wait_for(lambda: cb.state("zoe") == "available", what="zoe available")
    await asyncio.sleep(3)
    row = await cb.row(cid)
    assert row["status"] == "waiting" and row["attempts"] == 0
    assert cb.state("zoe") == "available"
    cb.open_now = True
    assert (await cb.until_status(cid, "done"))["outcome"] == "reached"


async def test_scheduled_window_is_respected(cb: CbHarness):
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    cid = await cb.add(REACHED, kind="scheduled", ago=0, due_at=now + timedelta(seconds=4),
                       window_end=now + timedelta(seconds=60))
    await cb.service.acd.login("zoe")
    await asyncio.sleep(2.5)
    assert (await cb.row(cid))["status"] == "waiting", "not before the window"
    await cb.until_status(cid, "dialling", "done")
    claimed = await cb.service.pool.fetchval(
        "SELECT claimed_at FROM callback_attempts WHERE callback_id = $1", cid)
    assert claimed >= now + timedelta(seconds=4)


async def test_deleted_agent_is_not_reserved_and_callback_waits(cb: CbHarness, caplog):
    cid = await cb.add(REACHED)
    await cb.service.acd.login("zoe")
    await cb.service.agents_repo.deactivate("zoe")
    try:
        await asyncio.sleep(2)
        row = await cb.row(cid)
        assert row["status"] == "waiting" and row["attempts"] == 0
        assert "cannot be reserved" in caplog.text
    finally:
        await cb.service.acd.ensure_demo_agents()


async def _queue_caller(h: CbHarness, name: str, wait: int = 3) -> None:
    await h.service.link.action(
        "Originate", Channel="Local/algemeen@kcc-queue", Application="Wait", Data=str(wait),
        CallerID=f'"{name}" <0612345678>', Async="true", timeout=10)


def _call(h: CbHarness, name: str):
    return next((c for c in h.service.model.calls.values() if c.caller_name == name), None)


async def test_an_older_callback_goes_before_a_newer_waiting_caller(cb: CbHarness):
    """zoe comes back from a pause while a caller waits: the callback (older place) is
    served first, although app_queue would have rung zoe for the caller at once."""
    await cb.service.acd.login("zoe")
    await cb.service.acd.pause("zoe", "pauze")
    await wait_for(lambda: cb.state("zoe") == "paused", what="zoe paused")
    cb.open_now = False  # keep the poll loop out: the ACD hook alone must do it
    cid = await cb.add(REACHED, ago=120)
    await _queue_caller(cb, "Nieuwer Beller", wait=20)
    caller = await wait_for(lambda: _call(cb, "Nieuwer Beller"), what="caller")
    await wait_for(lambda: caller.queue == "algemeen", what="caller queued")
    cb.open_now = True
    await cb.service.acd.resume("zoe")
    await cb.until_status(cid, "dialling", "done")
    attempt = await cb.service.pool.fetchrow(
        "SELECT * FROM callback_attempts WHERE callback_id = $1", cid)
    assert caller.answered_at is None or caller.answered_at > attempt["claimed_at"].timestamp()
    assert not caller.offered or caller.offered[0]["at"] > attempt["claimed_at"].timestamp()
    assert (await cb.until_status(cid, "done"))["outcome"] == "reached"


async def test_an_older_waiting_caller_goes_before_a_newer_callback(cb: CbHarness):
    await cb.service.acd.login("zoe")
    await cb.service.acd.pause("zoe", "pauze")
    await wait_for(lambda: cb.state("zoe") == "paused", what="zoe paused")
    await _queue_caller(cb, "Ouder Beller", wait=3)
    caller = await wait_for(lambda: _call(cb, "Ouder Beller"), what="caller")
    await wait_for(lambda: caller.queue == "algemeen", what="caller queued")
    await asyncio.sleep(0.5)
    cid = await cb.add(REACHED, ago=0)
    await cb.service.acd.resume("zoe")
    await wait_for(lambda: caller.answered_by == "zoe", what="the older caller answered")
    assert (await cb.row(cid))["status"] == "waiting"
