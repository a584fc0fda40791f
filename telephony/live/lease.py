"""A Redis lease: one holder among the service instances, handed over when it dies.

Several instances run side by side on one PostgreSQL and Redis (active-active). Work that
must happen once — computing the live board, ending an agent's nawerk on time — belongs to
whoever holds the lease. The holder renews it well within its term; when it stops it
deletes the key (hand-over at once); when it dies the key expires and another instance
takes it within ``seconds``. Renew and release check the owner in one Lua script, so an
instance that lost the lease (paused process, network split) can never renew or delete
another instance's.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

_RENEW = """if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"""
_RELEASE = """if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1]) else return 0 end"""


class RedisLease:
    def __init__(self, redis: Any, key: str, owner: str, seconds: float,
                 what: str = "lease") -> None:
        self.redis, self.key, self.owner = redis, key, owner
        self.ms = int(seconds * 1000)
        self.what = what
        self.held = False

    async def hold(self) -> bool:
        """Renew the lease if held, else try to take it; True while this owner holds it."""
        if self.held and await self.redis.eval(_RENEW, 1, self.key, self.owner, self.ms):
            return True
        took = bool(await self.redis.set(self.key, self.owner, nx=True, px=self.ms))
        if took != self.held:
            log.info("%s: %s", self.what, "this instance holds it" if took
                     else "another instance holds it")
        self.held = took
        return took

    async def release(self) -> None:
        """Hand over at once (the next instance need not wait for the term to run out)."""
        if self.held:
            await self.redis.eval(_RELEASE, 1, self.key, self.owner)
        self.held = False
