"""Record writes that survive a PostgreSQL outage: direct when possible, else spooled.

The PostgreSQL subscriber of the event bus writes through :class:`RecordWriter`, never
straight to the repository. A write that fails because the database cannot be reached
(refused, reset, shutting down, no answer within ``write_timeout``) goes to the
:class:`~telephony.store.spool.Spool`; :meth:`RecordWriter.run_replay` (a supervised task)
writes spooled entries back in order once PostgreSQL answers. Errors that are not about
reaching the database (a bad value) are not retried for ever: the entry is logged at
ERROR with its kind and dropped, and counted, so one poison entry cannot stop the spool.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg

from telephony.store.calls_repo import CallRepository
from telephony.store.spool import Spool, SpoolFull

log = logging.getLogger(__name__)

# "The database cannot be reached right now" — worth keeping the write for later.
UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError, asyncpg.exceptions.InsufficientResourcesError)

Count = Callable[[str], None]


def _no_count(_what: str) -> None:
    return None


class RecordWriter:
    def __init__(self, repo: CallRepository, spool: Spool, *, write_timeout: float = 5.0,
                 retry_seconds: float = 1.0, count: Count = _no_count) -> None:
        self.repo = repo
        self.spool = spool
        self.write_timeout = write_timeout
        self.retry_seconds = retry_seconds
        self.count = count  # metric hook: "spooled", "replayed", "refused", "dropped"
        self._wake = asyncio.Event()
        self.full_since: float | None = None
        self.last_error: str | None = None

    @property
    def pending(self) -> int:
        return self.spool.size

    async def write(self, kind: str, payload: dict[str, Any]) -> None:
        """Write now, or spool behind what is already spooled (order is kept).

        When the spool is full this waits (back-pressure on the record subscriber and,
        through its bounded queue, on the AMI consumer) instead of holding records in
        memory or dropping them.
        """
        key = uuid.uuid4().hex
        if self.spool.size == 0:
            try:
                await self._apply(kind, payload, key)
                return
            except UNREACHABLE as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("PostgreSQL unreachable (%s): spooling %s writes",
                            self.last_error, kind)
        while True:
            try:
                await self.spool.add(kind, payload, key)
                break
            except SpoolFull:
                if self.full_since is None:
                    self.full_since = time.time()
                    log.error("record spool full (%d entries): record writes wait until "
                              "PostgreSQL takes the spool back", self.spool.size)
                self.count("refused")
                self._wake.set()
                await asyncio.sleep(self.retry_seconds)
        self.full_since = None
        self.count("spooled")
        self._wake.set()

    async def _apply(self, kind: str, payload: dict[str, Any], key: str) -> None:
        if kind == "call":
            coro = self.repo.upsert(payload)
        elif kind == "agent_state":
            coro = self.repo.log_agent_state(payload["agent"], payload["queue"],
                                             payload["state"], payload["reason"],
                                             payload["at"], key=key)
        elif kind == "close_orphans":
            coro = self._close_orphans(payload)
        else:
            raise ValueError(f"unknown spool kind {kind!r}")
        await asyncio.wait_for(coro, self.write_timeout)

    async def _close_orphans(self, payload: dict[str, Any]) -> None:
        closed = await self.repo.close_orphans(set(payload["live"]), payload["reason"])
        if closed:
            log.info("closed %d call records that ended while away", closed)

    async def replay_once(self, batch: int = 200) -> int:
        """Write spooled entries in order until empty or PostgreSQL fails; how many."""
        done = 0
        while True:
            entries = await self.spool.head(batch)
            if not entries:
                return done
            for seq, key, kind, payload in entries:
                try:
                    await self._apply(kind, payload, key)
                except UNREACHABLE as exc:
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    return done
                except Exception:
                    log.exception("spooled %s write refused by PostgreSQL; dropped "
                                  "(it would block every entry behind it)", kind)
                    self.count("dropped")
                else:
                    self.count("replayed")
                    done += 1
                await self.spool.remove(seq)

    async def run_replay(self) -> None:
        """Long-running: drain the spool whenever it has entries (supervised task)."""
        while True:
            if self.spool.size:
                done = await self.replay_once()
                if done:
                    log.info("replayed %d spooled record writes; %d left", done,
                             self.spool.size)
                if self.spool.size:
                    await asyncio.sleep(self.retry_seconds)
                    continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), 5.0)
            except TimeoutError:
                pass

    def health(self) -> dict[str, Any]:
        return {"ok": not self.spool.full, "pending": self.spool.size,
                "max": self.spool.max_rows, "full_since": self.full_since,
                "last_error": self.last_error}
