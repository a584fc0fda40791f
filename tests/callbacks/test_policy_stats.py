"""Focused unit tests: outcome mapping, retry rules, callbacks in the queue statistics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from telephony.acd.stats import QueueStats
from telephony.callbacks.policy import next_step, outcome_of
from telephony.config import load_config
from telephony.events import CallEnded, CallQueued
from tests.conftest import TEST_CONFIG

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(("dialstatus", "confirm", "outcome"), [
    ("ANSWER", "1", "reached"), ("ANSWER", "none", "voicemail"), ("ANSWER", "2", "refused"),
    ("ANSWER", "#", "refused"), ("NOANSWER", "", "no_answer"), ("BUSY", "", "busy"),
    ("CONGESTION", "", "busy"), ("CHANUNAVAIL", "", "unreachable"),
    ("CANCEL", "", "agent_cancelled"), ("", "", "failed"), ("ANSWER", "", "failed"),
])
def test_only_key_1_is_reached(dialstatus: str, confirm: str, outcome: str) -> None:
    assert outcome_of(dialstatus, confirm) == outcome


def test_retry_spacing_within_hours_then_task() -> None:
    opens = NOW + timedelta(hours=20)
    step = next_step("no_answer", 1, 3, NOW, timedelta(minutes=30), lambda at: opens)
    assert step.status == "waiting" and step.due_at == opens
    step = next_step("busy", 3, 3, NOW, timedelta(minutes=30), lambda at: at)
    assert step.status == "task" and "3 pogingen" in step.reason
    assert next_step("reached", 1, 3, NOW, timedelta(0), lambda at: at).status == "done"
    assert next_step("refused", 1, 3, NOW, timedelta(0), lambda at: at).status == "done"


def test_scheduled_window_end_turns_a_late_retry_into_a_task() -> None:
    step = next_step("no_answer", 1, 3, NOW, timedelta(minutes=30), lambda at: at,
                     window_end=NOW + timedelta(minutes=10))
    assert step.status == "task" and "afspraak" in step.reason


def test_callbacks_count_separately_and_in_sl_from_the_original_place() -> None:
    import os
    os.environ["KCC_DEMO"] = "1"
    stats = QueueStats(load_config(TEST_CONFIG))
    t0 = 1_000_000.0
    stats.apply(CallQueued(linkedid="a", at=t0, queue="algemeen"))
    stats.left_for_callback("a")
    stats.apply(CallEnded(linkedid="a", at=t0 + 60, record={"abandoned": True}))
    snap = stats.snapshot("algemeen", t0 + 61)
    assert snap["abandoned"] == 0, "leaving with a callback is no abandon"
    stats.set_callbacks_waiting({"algemeen": 1})
    assert stats.snapshot("algemeen", t0 + 61)["callbacks_waiting"] == 1
    stats.callback_result("algemeen", t0, t0 + 300, reached=True)
    stats.callback_result("algemeen", t0, t0 + 400, reached=False)
    snap = stats.snapshot("algemeen", t0 + 401)
    assert snap["callbacks_reached"] == 1 and snap["callbacks_failed"] == 1
    assert snap["answered"] == 1 and snap["service_level"] == 0.0, \
        "answered after 300 s from the original place: outside the 20 s SL"


def _demo():
    import os
    os.environ["KCC_DEMO"] = "1"
    return load_config(TEST_CONFIG)


def test_promise_is_n_working_days_and_skips_weekend_and_holidays() -> None:
    from telephony.callbacks.notes import promised_deadline

    config = _demo()
    thursday = datetime(2026, 12, 24, 10, 0, tzinfo=UTC)  # 25 and 26 Dec are holidays
    deadline = promised_deadline(config.hours, config.kcc.timezone, thursday, 2)
    assert deadline.date().isoformat() == "2026-12-29", "Mon 28 + Tue 29 December"


def test_ivr_windows_are_within_opening_hours() -> None:
    from telephony.callbacks.windows import next_day_windows

    config = _demo()
    windows = next_day_windows(config.hours, config.kcc.timezone, NOW)
    for start, end in windows.values():
        assert start < end
        assert config.hours.is_open(start, config.kcc.timezone)
    assert windows["morning"][1].hour == 12 and windows["afternoon"][0].hour == 12


async def test_result_route_ignores_malformed_arguments() -> None:
    from telephony.callbacks.results import CallbackResultRoute

    seen: list[tuple] = []

    async def record(*args) -> None:
        seen.append(args)

    class Req:
        def __init__(self, *args: str) -> None:
            self.headers = {f"agi_arg_{i + 1}": a for i, a in enumerate(args)}

    route = CallbackResultRoute(record)
    await route.handle(Req("12", "1", "ANSWER", "1"))
    for bad in [("12;x", "1", "ANSWER", "1"), ("12", "1", "ANSWER", "12"),
                ("12", "1", "ANS WER", "1"), ("", "1", "ANSWER", "1")]:
        await route.handle(Req(*bad))
    assert seen == [(12, 1, "reached", "ANSWER")]
