"""What stands between ``POST /api/auth/login`` and the CPU (issue 10, finding 3).

A scrypt check costs ~50 ms of a core. Run on the event loop, a flood of wrong logins
froze AMI handling and FastAGI (callers heard silence). Here:

* the check runs in a thread (``asyncio.to_thread``), at most ``hash_concurrency`` at
  once, with a bounded number waiting; more is answered 429 at once instead of queueing;
* a token bucket caps checks per second for the whole instance;
* wrong passwords lock the login and the client address out with doubling waits
  (counters in Redis, so every instance sees them);
* an unknown or inactive login is checked against a dummy hash, so it costs the same
  time as a known one and timing tells no one which logins exist.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from typing import Any

from telephony.acd.agents_repo import check_password, hash_password
from telephony.auth_config import AuthConfig


class LoginRefused(Exception):
    """Not checked at all: locked out or too busy. ``retry_after`` in seconds."""

    def __init__(self, code: str, retry_after: float) -> None:
        super().__init__(code)
        self.code = code
        self.retry_after = max(1, int(retry_after + 0.999))


@dataclass
class TokenBucket:
    """``rate`` tokens a second, at most ``rate`` saved up (a one-second burst)."""

    rate: float
    tokens: float = 0.0
    at: float = 0.0

    def __post_init__(self) -> None:
        self.tokens, self.at = self.rate, time.monotonic()

    def take(self) -> float:
        """0 when a token was taken, else seconds until the next one."""
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class PasswordChecker:
    """scrypt off the event loop, bounded in concurrency, queue and rate."""

    def __init__(self, config: AuthConfig) -> None:
        self.config = config
        self.semaphore = asyncio.Semaphore(config.hash_concurrency)
        self.bucket = TokenBucket(config.checks_per_second)
        self.waiting = 0
        self.checked = 0  # how many checks ran (the benchmark reads it)
        self._dummy: str | None = None

    async def dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = await asyncio.to_thread(hash_password, "not-a-password-at-all")
        return self._dummy

    async def check(self, password: str, stored: str | None) -> bool:
        """True when ``password`` matches ``stored``; None/empty stored checks a dummy."""
        wait = self.bucket.take()
        if wait:
            raise LoginRefused("busy", wait)
        if self.waiting >= self.config.hash_queue + self.config.hash_concurrency:
            raise LoginRefused("busy", 1)
        target = stored or await self.dummy_hash()
        self.waiting += 1
        try:
            async with self.semaphore:
                self.checked += 1
                ok = await asyncio.to_thread(check_password, password, target)
        finally:
            self.waiting -= 1
        return ok and bool(stored)


class LoginThrottle:
    """Per-login and per-address failure counters and lockouts in Redis."""

    def __init__(self, redis: Any, prefix: str, config: AuthConfig) -> None:
        self.r = redis
        self.prefix = f"{prefix}login:"
        self.config = config

    def _keys(self, ip: str, login: str) -> list[tuple[str, int]]:
        # Hashed: an attacker's login strings never become Redis key names as such.
        lk = hashlib.sha256(login.encode("utf-8", "replace")).hexdigest()[:32]
        ik = hashlib.sha256(ip.encode("utf-8", "replace")).hexdigest()[:32]
        return [(f"login:{lk}", self.config.free_failures_per_login),
                (f"ip:{ik}", self.config.free_failures_per_ip)]

    async def locked_for(self, ip: str, login: str) -> float:
        """Seconds the login or the address is still locked out (0: go ahead)."""
        pipe = self.r.pipeline(transaction=False)
        for key, _ in self._keys(ip, login):
            pipe.pttl(f"{self.prefix}lock:{key}")
        ttls = await pipe.execute()
        return max([t / 1000 for t in ttls if t and t > 0] or [0.0])

    async def failed(self, ip: str, login: str) -> None:
        cfg = self.config
        keys = self._keys(ip, login)
        pipe = self.r.pipeline(transaction=False)
        for key, _ in keys:
            pipe.incr(f"{self.prefix}fail:{key}")
            pipe.expire(f"{self.prefix}fail:{key}", cfg.failure_window_seconds, nx=True)
        counts = (await pipe.execute())[::2]
        pipe = self.r.pipeline(transaction=False)
        for (key, free), count in zip(keys, counts, strict=True):
            over = int(count) - free
            if over > 0:
                seconds = min(cfg.backoff_base_seconds * 2 ** min(over - 1, 30),
                              cfg.backoff_max_seconds)
                pipe.set(f"{self.prefix}lock:{key}", "1", px=int(seconds * 1000))
        await pipe.execute()

    async def succeeded(self, ip: str, login: str) -> None:
        key = self._keys(ip, login)[0][0]
        await self.r.delete(f"{self.prefix}fail:{key}", f"{self.prefix}lock:{key}")
