"""Waiting in the queue on the real Asterisk: Dutch position announcement, the expected
wait from the EWT source with the call-back offer, and "1" -> call-back noted, goodbye."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ivr.waiting import wait_text
from telephony import sandbox as sandbox_mod
from telephony.config import Config
from tests.ivr.conftest import IvrHarness, ivr_config, running

if TYPE_CHECKING:
    from tests.integration.conftest import Ami

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]


class Ewt:
    def __init__(self, seconds: dict[str, float]) -> None:
        self.seconds = seconds

    def ewt_seconds(self, queue: str) -> float | None:
        return self.seconds.get(queue)


def test_wait_text_says_minutes_and_offers_callback(kcc_config: Config) -> None:
    assert wait_text(kcc_config, 240, "nl") == "De verwachte wachttijd is ongeveer vier minuten."
    long_wait = wait_text(kcc_config, 900, "nl")
    assert "vijftien minuten" in long_wait and "teruggebeld" in long_wait
    assert "about fifteen minutes" in wait_text(kcc_config, 900, "en")
    assert "geduld" in wait_text(kcc_config, None, "nl")


@pytest.fixture
def fast_announcements(kcc_config: Config, sandbox: str) -> Iterator[Config]:
    """The sandbox with announcements every 5 s (queues.conf), restored afterwards."""
    config = ivr_config(kcc_config, ask_language=False, wait_announce_seconds=5,
                        announce_position=True)
    sandbox_mod.up(config)
    try:
        yield config
    finally:
        sandbox_mod.up(kcc_config)


def _log_lines() -> list[str]:
    path = Path(sandbox_mod.sandbox_dir()) / "var/log/asterisk/messages.log"
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


async def test_announcements_and_callback_key(ami: Ami, fast_announcements: Config) -> None:
    config = fast_announcements
    harness = IvrHarness(config, ami)
    harness.app.waiting.ewt = Ewt({"afval": 900.0})
    harness.server.add_route("callback", harness.app.callback_route.handle)
    await harness.app.waiting.install_queue_sounds()
    assert await harness.app.waiting.refresh() == 2 * len(config.queues)
    assert await harness.app.waiting.refresh() == 0, "unchanged texts are not re-rendered"
    harness.script = {"onderwerp": ["2"]}
    log_mark = len(await asyncio.to_thread(_log_lines))
    async with running(harness):
        mark = ami.mark()
        await harness.call("140182")
        join = await ami.wait_event("QueueCallerJoin", since=mark, timeout=60)
        assert join.get("Queue") == "afval"
        played: list[str] = []
        for _ in range(150):
            played = [line for line in (await asyncio.to_thread(_log_lines))[log_mark:]
                      if "Playing '" in line]
            if any("kcc/wait-afval" in line for line in played):
                break
            await asyncio.sleep(0.1)
        await harness.press("1", delay=0.2)
        hangup = await ami.wait_event(
            "Hangup", since=mark, timeout=30,
            where=lambda e: str(e.get("Channel", "")).endswith(";2"))
        await ami.wait_event("QueueCallerLeave", since=mark)
    wait = [line for line in played if "kcc/wait-afval" in line]
    assert wait and "language 'nl'" in wait[0], played[-5:]
    position = [line for line in played if "queue-youarenext" in line or "queue-thereare"
                in line]
    assert position and "language 'nl'" in position[0]
    callback = [s for s in harness.store.sessions if s.outcome == "callback"]
    assert callback and callback[0].queue == "afval"
    values = hangup.get("ChanVariable") or []
    assert "KCC_CALLBACK=requested" in ([values] if isinstance(values, str) else values)
