"""Keep-my-place through the real sandbox: a caller waiting in a queue presses 1,
confirms (or keys in) the number and hangs up; the callback keeps the caller's place
and is dialled when an agent is free. Keys are sent as the caller's phone would
(PlayDTMF through the Local channel), when the IVR asks for them.
"""

from __future__ import annotations

import asyncio

import pytest
from harness import hangup_all, wait_for

from tests.callbacks.cbharness import REACHED, CbHarness, cb_config

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]


class Caller:
    def __init__(self, h: CbHarness) -> None:
        self.h = h
        self.channel = ""
        self.asked: asyncio.Queue[str] = asyncio.Queue()
        route = h.service.ivr.callback_route
        real_say = route._say

        async def say(key: str, lang, **params):  # the IVR asks: the test may answer
            self.asked.put_nowait(key)
            return await real_say(key, lang, **params)

        route._say = say

    async def call(self, cid: str, queue: str = "algemeen", name: str = "Vh Beller") -> None:
        await self.h.service.link.action(
            "Originate", Channel=f"Local/{queue}@kcc-queue", Context="kcc-test-caller",
            Exten="s", Priority="1", CallerID=f'"{name}" <{cid}>', Async="true", timeout=10)
        call = await wait_for(lambda: next((c for c in self.h.service.model.calls.values()
                                            if c.caller_name == name and c.queued_at), None),
                              what="caller queued")
        channels = await self.h.service.link.action("CoreShowChannels", as_list=True)
        self.channel = next(m.get("Channel") for m in channels
                            if str(m.get("Channel", "")).startswith(f"Local/{queue}@kcc-queue")
                            and str(m.get("Channel", "")).endswith(";1"))
        self.call_record = call

    async def press(self, keys: str) -> None:
        for key in keys:
            await self.h.service.link.action("PlayDTMF", Channel=self.channel, Digit=key,
                                             Duration="120")
            await asyncio.sleep(0.25)

    async def when_asked(self, what: str, keys: str, timeout: float = 30) -> None:
        while True:
            asked = await asyncio.wait_for(self.asked.get(), timeout)
            if asked == what:
                await asyncio.sleep(0.3)
                await self.press(keys)
                return


@pytest.fixture
async def vh(kcc_config, sandbox, pool):
    config = cb_config(kcc_config)
    config = config.model_copy(update={"ivr": kcc_config.ivr.model_copy(update={
        "enabled": True, "prompts": kcc_config.ivr.prompts.model_copy(update={"speed": 260})})})
    h = CbHarness(config)
    await h.start()
    await hangup_all(h)
    await h.logout_all()
    yield h
    await h.logout_all()
    await hangup_all(h)
    await h.stop()


async def _rows(h: CbHarness) -> list[dict]:
    return await h.store.waiting()


async def test_caller_keeps_place_confirms_caller_id_and_is_called_back(vh: CbHarness):
    caller = Caller(vh)
    await caller.call("0612340001")
    queued_at = caller.call_record.queued_at
    await asyncio.sleep(1)
    await caller.press("1")                      # the call-back offer, in the queue
    await caller.when_asked("confirm_number", "1")
    await caller.when_asked("choose_when", "1")   # keep my place
    rows = await wait_for(lambda: _rows(vh), timeout=30, what="callback stored")
    row = rows[0]
    assert row["kind"] == "virtual_hold" and row["queue"] == "algemeen"
    assert row["number"] == REACHED and row["created_by"] == "ivr"
    from datetime import datetime
    assert abs(datetime.fromisoformat(row["queued_at"]).timestamp() - queued_at) < 1.0, \
        "the callback keeps the caller's original place"
    assert row["linkedid"] == caller.call_record.linkedid
    await wait_for(lambda: caller.call_record.linkedid not in vh.service.model.calls,
                   timeout=30, what="the caller hung up")
    await vh.service.acd.login("zoe")
    done = await vh.until_status(row["id"], "done", timeout=40)
    assert done["outcome"] == "reached"


async def test_anonymous_caller_keys_in_a_number(vh: CbHarness):
    caller = Caller(vh)
    await caller.call("anonymous", name="Anoniem")
    await asyncio.sleep(1)
    await caller.press("1")
    await caller.when_asked("key_number", "0612340001#")
    rows = await wait_for(lambda: _rows(vh), timeout=30, what="callback stored")
    assert rows[0]["number"] == REACHED
    assert rows[0]["kind"] == "virtual_hold", "no choice made: the caller keeps their place"


async def test_caller_chooses_a_window_tomorrow_afternoon(vh: CbHarness):
    from datetime import UTC, datetime

    from telephony.callbacks.windows import next_day_windows

    caller = Caller(vh)
    await caller.call("0612340001", name="Vh Afspraak")
    await asyncio.sleep(1)
    await caller.press("1")
    await caller.when_asked("confirm_number", "1")
    await caller.when_asked("choose_when", "3")
    rows = await wait_for(lambda: _rows(vh), timeout=30, what="callback stored")
    start, end = next_day_windows(vh.config.hours, vh.config.kcc.timezone,
                                  datetime.now(UTC))["afternoon"]
    row = rows[0]
    assert row["kind"] == "scheduled" and row["number"] == REACHED
    assert datetime.fromisoformat(row["due_at"]) == start
    assert datetime.fromisoformat(row["window_end"]) == end
    await vh.service.acd.login("zoe")
    await asyncio.sleep(2)
    assert (await vh.row(row["id"]))["status"] == "waiting", "not dialled before its window"


async def test_anonymous_caller_without_a_callable_number_goes_back_to_queue(vh: CbHarness):
    caller = Caller(vh)
    await caller.call("anonymous", name="Anoniem Fout")
    await asyncio.sleep(1)
    await caller.press("1")
    await caller.when_asked("key_number", "0900123456#")   # premium rate: refused
    await caller.when_asked("key_number", "12#")           # malformed: refused
    await asyncio.sleep(3)
    assert await _rows(vh) == []
    call = caller.call_record
    await wait_for(lambda: call.linkedid in vh.service.model.calls and call.queue == "algemeen",
                   what="back in the queue")
