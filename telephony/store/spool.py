"""A bounded local spool for record writes PostgreSQL could not take.

Why: a call record is written at start, answer, transfer and end; when PostgreSQL is
down (restart, failover, network) those writes used to be logged and forgotten, so the
outage lost the calls made during it. Here a write that fails goes to a small SQLite file
next to the service (stdlib ``sqlite3``, every call off the event loop), and a replay
loop writes the entries to PostgreSQL in their original order when it answers again.

* Order: once anything is spooled, every later write is spooled behind it until the
  spool is empty again, so a call's end never overtakes its start.
* Idempotent: call records are upserts by linkedid that merge (replaying one twice is
  harmless); the agent state log is inserted with the entry's key under a unique index
  (migration 0065) and ``ON CONFLICT DO NOTHING``, so a crash between "written" and
  "removed from the spool" does not double a row.
* Bounded: at ``max_rows`` entries :meth:`Spool.add` refuses (``SpoolFull``); the caller
  waits (back-pressure on the record subscriber, never unbounded memory) while health
  says 503 ``spool`` and the metric and an ERROR log say why.
* Durable: the file survives a service crash; the next start replays it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class SpoolFull(Exception):
    """The spool holds ``max_rows`` entries: the write must wait."""


class Spool:
    """Ordered, bounded, durable queue of ``(kind, payload)`` entries in one SQLite file."""

    def __init__(self, path: str | Path, max_rows: int = 100_000) -> None:
        self.path = str(path)
        self.max_rows = max_rows
        self._lock = threading.Lock()  # one sqlite connection, used from worker threads
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS spool (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
            "key TEXT NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL)")
        self.size = self._db.execute("SELECT count(*) FROM spool").fetchone()[0]
        self.full_refusals = 0

    # -- sync parts (run in a worker thread) ---------------------------------------
    def _add(self, kind: str, payload: dict[str, Any], key: str) -> None:
        with self._lock:
            if self.size >= self.max_rows:
                self.full_refusals += 1
                raise SpoolFull(f"spool {self.path} holds {self.size} entries")
            self._db.execute("INSERT INTO spool (key, kind, payload) VALUES (?, ?, ?)",
                             (key, kind, json.dumps(payload)))
            self.size += 1

    def _head(self, limit: int) -> list[tuple[int, str, str, dict[str, Any]]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, key, kind, payload FROM spool ORDER BY seq LIMIT ?",
                (limit,)).fetchall()
        return [(seq, key, kind, json.loads(payload)) for seq, key, kind, payload in rows]

    def _remove(self, seq: int) -> None:
        with self._lock:
            cur = self._db.execute("DELETE FROM spool WHERE seq = ?", (seq,))
            self.size -= cur.rowcount

    # -- async API -------------------------------------------------------------------
    async def add(self, kind: str, payload: dict[str, Any], key: str | None = None) -> None:
        """Append an entry; ``key`` (default: a new one) identifies it on replay."""
        await asyncio.to_thread(self._add, kind, payload, key or uuid.uuid4().hex)

    async def head(self, limit: int = 100) -> list[tuple[int, str, str, dict[str, Any]]]:
        """The oldest entries: (seq, key, kind, payload)."""
        return await asyncio.to_thread(self._head, limit)

    async def remove(self, seq: int) -> None:
        await asyncio.to_thread(self._remove, seq)

    @property
    def full(self) -> bool:
        return self.size >= self.max_rows

    def close(self) -> None:
        with self._lock:
            self._db.close()
