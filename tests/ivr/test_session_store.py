"""IVR sessions and self-service contacts in (real) PostgreSQL, from a real call."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

from ivr.session_store import PostgresSessionStore
from telephony.config import Config
from telephony.store import db
from tests.ivr.conftest import IvrHarness, ivr_config, running

if TYPE_CHECKING:
    from tests.integration.conftest import Ami

TEST_DSN = ("postgresql://postgres@127.0.0.1:5432/"
            f"{os.environ.get('KCC_TEST_DATABASE') or 'kcc_test_ivr'}")

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]


@pytest.fixture
async def pool() -> AsyncIterator[Any]:
    pool = await db.connect(TEST_DSN, 1, 4)
    try:
        yield pool
    finally:
        await pool.close()


async def test_self_service_use_is_logged_as_contact(ami: Ami, kcc_config: Config,
                                                     pool: Any) -> None:
    store = PostgresSessionStore(pool)
    harness = IvrHarness(ivr_config(kcc_config, ask_language=False), ami)
    harness.app.route.store = store
    harness.script = {"onderwerp": ["6"], "zelfservice": ["2", "3"],
                      "after_hours": ["2"], "after_address": ["0"]}
    async with running(harness):
        mark = ami.mark()
        await harness.call("140182")
        join = await ami.wait_event("QueueCallerJoin", since=mark, timeout=90)
    uniqueid = join.get("Uniqueid")
    row = None
    for _ in range(50):
        row = await store.get(uniqueid)
        if row is not None:
            break
        await asyncio.sleep(0.1)
    assert row is not None, "the session is stored"
    assert row["outcome"] == "agent_after_service" and row["queue"] == "algemeen"
    assert row["linkedid"] and row["municipality"] == "gouda"
    assert [(c["kind"], c["outcome"]) for c in row["contacts"]] == [
        ("hours", "answered"), ("address", "answered")]
    assert [s["where"] for s in row["steps"]] == [
        "onderwerp", "zelfservice", "after_hours", "zelfservice", "after_address"]
    assert row["first_prompt_ms"] is not None
