"""Fixtures for the attack tests of issue 10 (findings 3, 4, 6, 7, 8): one real service
instance on the sandbox Asterisk, the test PostgreSQL database and Redis (its own key
prefix), reused from tests/integration/harness.py."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from harness import Harness, _test_config, hangup_all  # noqa: E402

from tests.ivr.conftest import ami  # noqa: E402, F401  (the IVR tests' AMI fixture)

# kcc_config and sandbox: tests/conftest.py


@pytest.fixture
async def svc(kcc_config, sandbox) -> AsyncIterator[Harness]:  # sandbox must be up
    h = Harness(_test_config(kcc_config, http_offset=113))
    await h.start()
    try:
        yield h
    finally:
        try:
            await hangup_all(h)
        finally:
            await h.stop()


def base_url(h: Harness) -> str:
    return f"http://127.0.0.1:{h.config.service.http_port}"


async def login(http: aiohttp.ClientSession, h: Harness, who: str,
                password: str | None = None) -> tuple[int, dict]:
    async with http.post(f"{base_url(h)}/api/auth/login",
                         json={"login": who, "password": password or f"demo-{who}"}) as r:
        return r.status, await r.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
