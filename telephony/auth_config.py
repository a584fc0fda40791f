"""``[auth]``: how logins are throttled and sessions are signed (issue 10, findings 3-4).

Defaults fit one KCC on a small machine: one scrypt check at a time (each ~50 ms of one
core), at most 10 checks a second for the whole instance, a login or address locked out
with doubling waits after a handful of wrong passwords.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class AuthConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Password checks run in threads, at most this many at once (one ~50 ms check at a
    # time is 20/s, above checks_per_second, and leaves the other core to the loop)...
    hash_concurrency: int = Field(default=1, ge=1, le=16)
    # ...with at most this many waiting; beyond it a login is answered 429 at once.
    hash_queue: int = Field(default=16, ge=0, le=1000)
    # Password checks per second for the whole instance (token bucket; burst = this).
    checks_per_second: float = Field(default=10.0, gt=0, le=1000)
    # Wrong passwords allowed before waits start, per login and per client address,
    # counted over failure_window_seconds.
    free_failures_per_login: int = Field(default=5, ge=1, le=100)
    free_failures_per_ip: int = Field(default=20, ge=1, le=10000)
    failure_window_seconds: int = Field(default=900, ge=60, le=86400)
    # Each failure past the free ones locks for base * 2^k seconds, at most max.
    backoff_base_seconds: float = Field(default=1.0, gt=0, le=60)
    backoff_max_seconds: float = Field(default=900.0, gt=0, le=86400)
    # The environment variable holding the key that MACs session records in Redis.
    session_secret_env: str = "KCC_SESSION_SECRET"

    @model_validator(mode="after")
    def _backoff_order(self) -> AuthConfig:
        if self.backoff_max_seconds < self.backoff_base_seconds:
            raise ValueError("backoff_max_seconds must be >= backoff_base_seconds")
        return self
