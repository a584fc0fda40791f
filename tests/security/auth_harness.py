"""Fixtures for the attack tests of issue 10 (findings 3, 4, 6, 7, 8): one real service
instance on the sandbox Asterisk, the test PostgreSQL database and Redis (its own key
prefix), reused from tests/integration/harness.py; an AMI connection for the IVR test.

Not a conftest.py (tests/security is shared with the edge findings' tests): each test
module imports the fixtures it uses, registered under the names in ``name=``."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from harness import (  # noqa: E402
    NAME,
    TEST_DSN,
    Harness,
    _test_config,
    hangup_all,
    wait_for,
)

__all__ = ["NAME", "TEST_DSN", "Harness", "_test_config", "wait_for"]

from tests.integration.conftest import Ami, connect_ami  # noqa: E402
from tests.ivr.conftest import hangup_all as hangup_all_ami  # noqa: E402

# kcc_config and sandbox: tests/conftest.py


@pytest.fixture(name="svc")
async def svc_fixture(kcc_config, sandbox) -> AsyncIterator[Harness]:  # sandbox must be up
    h = Harness(_test_config(kcc_config, http_offset=113))
    await h.start()
    try:
        yield h
    finally:
        try:
            await hangup_all(h)
        finally:
            await h.stop()


@pytest.fixture(name="ivr_ami")
async def ivr_ami_fixture(kcc_config, sandbox) -> AsyncIterator[Ami]:
    """As tests/ivr's ``ami``: a connected AMI client, no calls left before or after."""
    manager = await connect_ami(kcc_config)
    client = Ami(manager)
    await hangup_all_ami(client)
    try:
        yield client
    finally:
        await hangup_all_ami(client)
        manager.close()


def base_url(h: Harness) -> str:
    return f"http://127.0.0.1:{h.config.service.http_port}"


async def login(http: aiohttp.ClientSession, h: Harness, who: str,
                password: str | None = None) -> tuple[int, dict]:
    async with http.post(f"{base_url(h)}/api/auth/login",
                         json={"login": who, "password": password or f"demo-{who}"}) as r:
        return r.status, await r.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
