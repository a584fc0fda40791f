"""Finding 3: a flood of wrong logins must not freeze the service (scrypt off the event
loop, bounded), must be throttled per login and per address, and an unknown login must
cost the same password check as a known one. Against the real service, PostgreSQL, Redis.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading

import aiohttp
import pytest

from tests.security.auth_harness import base_url, login, svc_fixture  # noqa: F401

pytestmark = pytest.mark.asterisk


@pytest.fixture
def scrypt_threads(monkeypatch) -> list[int]:
    """Which thread ran each scrypt (the real one: this only records the thread)."""
    real = hashlib.scrypt
    threads: list[int] = []

    def recording(*args, **kwargs):
        threads.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", recording)
    return threads


async def test_flood_of_wrong_logins_is_hashed_off_the_loop_and_rate_bounded(
        svc, scrypt_threads):
    loop_thread = threading.get_ident()
    cfg = svc.config.auth
    await svc.service.password_checker.dummy_hash()
    scrypt_threads.clear()
    async with aiohttp.ClientSession() as http:
        t0 = asyncio.get_running_loop().time()
        results = await asyncio.gather(*(
            login(http, svc, f"nobody{i}", "wrong-password") for i in range(60)))
        elapsed = asyncio.get_running_loop().time() - t0
    statuses = [status for status, _ in results]
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(429) > 0, "60 logins at once were not throttled"
    assert all(body["error"]["code"] == "busy" for status, body in results if status == 429)
    # Every check ran in a worker thread, none on the event loop that serves AMI and AGI.
    assert scrypt_threads and loop_thread not in scrypt_threads
    # The bucket: a burst of checks_per_second, then checks_per_second a second.
    assert len(scrypt_threads) <= cfg.checks_per_second * (1 + elapsed) + 1


async def test_unknown_login_costs_one_password_check_like_a_known_one(svc, scrypt_threads):
    await svc.service.password_checker.dummy_hash()
    async with aiohttp.ClientSession() as http:
        scrypt_threads.clear()
        status, _ = await login(http, svc, "zoe", "wrong-password")
        assert status == 401 and len(scrypt_threads) == 1
        scrypt_threads.clear()
        status, _ = await login(http, svc, "no-such-agent", "wrong-password")
        assert status == 401 and len(scrypt_threads) == 1, "unknown login skipped the check"


async def test_wrong_passwords_lock_the_login_out_with_retry_after(svc, scrypt_threads):
    free = svc.config.auth.free_failures_per_login
    async with aiohttp.ClientSession() as http:
        for _ in range(free + 1):
            status, _ = await login(http, svc, "mehmet", "wrong-password")
            assert status == 401
            await asyncio.sleep(1 / svc.config.auth.checks_per_second)
        scrypt_threads.clear()
        async with http.post(f"{base_url(svc)}/api/auth/login",
                             json={"login": "mehmet", "password": "demo-mehmet"}) as r:
            assert r.status == 429, "the right password got in during a lockout"
            assert (await r.json())["error"]["code"] == "too_many_attempts"
            assert int(r.headers["Retry-After"]) >= 1
        assert scrypt_threads == [], "a locked-out login still cost a password check"
        # The lockout is the login's, not the address's: a colleague still logs in.
        status, body = await login(http, svc, "anna")
        assert status == 200 and body["role"] == "agent"
