"""The supervisor's calamity message ("calamiteitenbericht"), kept in Redis.

Redis, not the config file: it is switched on during an incident by a supervisor, must
take effect on the very next call on every service instance, and must not need a
restart or a config edit. The IVR reads it once per call; a Redis failure means "no
message" (the menu still works) and one log line.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Protocol

from ivr.hours import CalamityMessage

log = logging.getLogger(__name__)


class CalamitySource(Protocol):
    async def current(self) -> CalamityMessage | None: ...


class StaticCalamity:
    """A fixed message (or none): tests and running without Redis."""

    def __init__(self, message: CalamityMessage | None = None) -> None:
        self.message = message

    async def current(self) -> CalamityMessage | None:
        return self.message


class RedisCalamity:
    def __init__(self, redis: Any, prefix: str) -> None:
        self.r = redis  # redis.asyncio client with decode_responses=True
        self.key = f"{prefix}calamity"

    async def current(self) -> CalamityMessage | None:
        try:
            raw = await self.r.get(self.key)
        except Exception as exc:
            log.warning("calamity message unavailable (Redis: %s); playing none", exc)
            return None
        if not raw:
            return None
        try:
            message = CalamityMessage.from_dict(json.loads(raw))
        except (ValueError, KeyError, TypeError) as exc:
            log.error("calamity message in %s is malformed (%s); ignored", self.key, exc)
            return None
        return message if message.is_active(datetime.now(UTC)) else None

    async def set(self, message: CalamityMessage) -> None:
        await self.r.set(self.key, json.dumps(message.as_dict(), ensure_ascii=False))

    async def clear(self) -> bool:
        return bool(await self.r.delete(self.key))
