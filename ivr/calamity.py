"""The supervisor's calamity message ("calamiteitenbericht"), kept in Redis.

Redis, not the config file: it is switched on during an incident by a supervisor, must
take effect on the very next call on every service instance, and must not need a
restart or a config edit. The IVR reads it once per call; a Redis failure means "no
message" (the menu still works) and one log line.

A message may be for one municipality (a KCC serving several: a burst water main in
Gouda is not news for Zuidplas): ``{prefix}calamity:<municipality>`` wins over the
KCC-wide ``{prefix}calamity``.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Protocol

from ivr.hours import CalamityMessage

log = logging.getLogger(__name__)


class CalamitySource(Protocol):
    async def current(self, municipality: str = "") -> CalamityMessage | None: ...


class StaticCalamity:
    """A fixed message (or none): tests and running without Redis."""

    def __init__(self, message: CalamityMessage | None = None) -> None:
        self.message = message

    async def current(self, municipality: str = "") -> CalamityMessage | None:
        return self.message


class RedisCalamity:
    def __init__(self, redis: Any, prefix: str) -> None:
        self.r = redis  # redis.asyncio client with decode_responses=True
        self.key = f"{prefix}calamity"

    def _key(self, municipality: str = "") -> str:
        return f"{self.key}:{municipality}" if municipality else self.key

    async def current(self, municipality: str = "") -> CalamityMessage | None:
        """The municipality's own message if there is one, else the KCC-wide one."""
        if municipality:
            own = await self._read(self._key(municipality))
            if own is not None:
                return own
        return await self._read(self.key)

    async def _read(self, key: str) -> CalamityMessage | None:
        try:
            raw = await self.r.get(key)
        except Exception as exc:
            log.warning("calamity message unavailable (Redis: %s); playing none", exc)
            return None
        if not raw:
            return None
        try:
            message = CalamityMessage.from_dict(json.loads(raw))
        except (ValueError, KeyError, TypeError) as exc:
            log.error("calamity message in %s is malformed (%s); ignored", key, exc)
            return None
        return message if message.is_active(datetime.now(UTC)) else None

    async def set(self, message: CalamityMessage, municipality: str = "") -> None:
        await self.r.set(self._key(municipality),
                         json.dumps(message.as_dict(), ensure_ascii=False))

    async def clear(self, municipality: str = "") -> bool:
        return bool(await self.r.delete(self._key(municipality)))

    async def all(self, municipalities: list[str]) -> dict[str, CalamityMessage | None]:
        """What is set now: "" (KCC-wide) and each municipality's own."""
        return {m: await self._read(self._key(m)) for m in ["", *municipalities]}
