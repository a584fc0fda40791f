"""Helpers for callback tests on the real sandbox: a service whose callbacks dial the
scripted citizens of ``kcc-test-citizen`` (last digit = behaviour, see extensions.conf)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from harness import Harness, _test_config, wait_for

from telephony.config import Config

REACHED, NO_ANSWER, BUSY, VOICEMAIL, REFUSES = (
    "+31612340001", "+31612340002", "+31612340003", "+31612340004", "+31612340005")
AGENTS = ("anna", "mehmet", "zoe")


def cb_config(config: Config, *, instance: str = "kcc-cb-1", http_offset: int = 101,
              agi_offset: int = 0, **callbacks: Any) -> Config:
    cfg = _test_config(config, http_offset)
    cb = cfg.callbacks.model_copy(update={
        "citizen_context": "kcc-test-citizen", "poll_seconds": 0.2, "lease_seconds": 6,
        "citizen_ring_seconds": 5, "retry_spacing_seconds": 1, **callbacks})
    return cfg.model_copy(update={
        "callbacks": cb,
        "service": cfg.service.model_copy(update={
            "instance_id": instance, "agi_port": cfg.service.agi_port + agi_offset}),
    })


class CbHarness(Harness):
    """A Harness whose dispatcher thinks the KCC is open (unless told otherwise)."""

    def __init__(self, config: Config, *, open_now: bool = True) -> None:
        super().__init__(config)
        self.open_now = open_now

    async def start(self) -> None:
        await super().start()
        d = self.service.callbacks.dispatcher
        assert d is not None
        d.is_open = lambda now: self.open_now
        d.next_open = lambda at: at if self.open_now else None

    @property
    def store(self):
        assert self.service.callbacks.store is not None
        return self.service.callbacks.store

    async def add(self, number: str, queue: str = "algemeen", ago: float = 60.0,
                  **kw: Any) -> int:
        now = datetime.now(UTC)
        return await self.store.create(kind=kw.pop("kind", "virtual_hold"), queue=queue,
                                       number=number,
                                       queued_at=now - timedelta(seconds=ago),
                                       due_at=kw.pop("due_at", now - timedelta(seconds=ago)),
                                       subject=kw.pop("subject", "paspoort"), **kw)

    async def row(self, cid: int) -> dict[str, Any]:  # type: ignore[override]
        row = await self.store.get(cid)
        assert row is not None
        return row

    async def until_status(self, cid: int, *status: str, timeout: float = 30) -> dict:
        async def check():
            row = await self.row(cid)
            return row if row["status"] in status else None
        return await wait_for(check, timeout=timeout, what=f"callback {cid} {status}")  # type: ignore[return-value]

    async def logout_all(self) -> None:
        for login in AGENTS:
            if await self.service.agents_repo.get(login):
                with contextlib.suppress(Exception):
                    await self.service.acd.logout(login)

    def state(self, login: str) -> str:
        return self.service.acd.state_of(login)["state"]
