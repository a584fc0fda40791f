"""Shared helpers: a call record as ``Call.to_record()`` gives it, and a popper."""

from __future__ import annotations

import itertools
import time
from typing import Any

import asyncpg

from telephony.zaken.config import DeeplinkSection, ZakenConfig
from telephony.zaken.popper import ScreenPopper
from telephony.zaken.sources import PostgresZaakSource, ZaakSource

_ids = itertools.count(1)
CONFIG = ZakenConfig(deeplinks=DeeplinkSection(
    klant="https://kiss.test/personen/{klant_ref}",
    zaak="https://kiss.test/zaken/{zaak_identificatie}"))


def make_call(caller: str, **extra: Any) -> dict[str, Any]:
    now = time.time()
    call = {"linkedid": f"t{time.time_ns()}.{next(_ids)}", "direction": "inbound",
            "caller_number": caller, "caller_name": "", "dialled": "+31140182",
            "municipality": "gouda", "language": "nl", "subject": "", "queue": "algemeen",
            "queues": ["algemeen"], "started_at": now - 40, "queued_at": now - 30,
            "answered_at": None, "ended_at": None, "wait_seconds": None,
            "talk_seconds": None, "offered": [], "answered_by": "", "abandoned": False,
            "transfers": [], "holds": [], "hangup_cause": "", "hangup_cause_text": "",
            "recovered": False, "legs": 1}
    call.update(extra)
    return call


def popper(pool: asyncpg.Pool, source: ZaakSource | None = None,
           config: ZakenConfig = CONFIG) -> ScreenPopper:
    return ScreenPopper(source or PostgresZaakSource(pool), pool, config)


async def log_rows(pool: asyncpg.Pool, call_id: str) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT * FROM processing_log WHERE call_id = $1 ORDER BY id",
                            call_id)
