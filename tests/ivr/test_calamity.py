"""The calamity message: set and cleared over HTTP, kept in (real) Redis, and played
by the real Asterisk before the menu."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ivr.api import CALAMITY_KEY, ROUTES
from ivr.calamity import RedisCalamity
from telephony.config import Config
from tests.ivr.conftest import IvrHarness, ivr_config, running

if TYPE_CHECKING:
    from tests.integration.conftest import Ami


@pytest.fixture
async def calamity(kcc_config: Config) -> AsyncIterator[RedisCalamity]:
    client = aioredis.from_url(kcc_config.redis_url(), decode_responses=True)
    store = RedisCalamity(client, f"kcct{uuid.uuid4().hex[:6]}:")
    try:
        yield store
    finally:
        await client.delete(store.key)
        await client.aclose()


@pytest.fixture
async def http(calamity: RedisCalamity) -> AsyncIterator[TestClient]:
    app = web.Application()
    app[CALAMITY_KEY] = calamity
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, handler)
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_set_get_clear(http: TestClient, calamity: RedisCalamity) -> None:
    assert (await (await http.get("/api/ivr/calamity")).json())["active"] is False
    resp = await http.put("/api/ivr/calamity", json={
        "text_nl": "Door een storing zijn wij slecht bereikbaar.",
        "text_en": "Due to a fault we are hard to reach."})
    assert resp.status == 200
    message = await calamity.current()
    assert message is not None and message.text("en").startswith("Due to")
    assert (await (await http.delete("/api/ivr/calamity")).json())["removed"] is True
    assert await calamity.current() is None


async def test_expired_message_is_not_played(http: TestClient,
                                             calamity: RedisCalamity) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    resp = await http.put("/api/ivr/calamity", json={"text_nl": "Oud bericht.",
                                                     "active_until": past})
    assert resp.status == 200
    assert await calamity.current() is None


@pytest.mark.parametrize("body", [
    {"text_nl": ""},
    {"text_nl": "stil\u200bte"},                       # invisible character
    {"text_nl": "x" * 601},
    {"text_nl": "ok", "active_until": "2025-01-01T10:00"},  # naive time
    ["not", "an", "object"],
])
async def test_bad_messages_are_refused(http: TestClient, calamity: RedisCalamity,
                                        body: object) -> None:
    resp = await http.put("/api/ivr/calamity", json=body)
    assert resp.status in {400, 422}
    assert await calamity.current() is None


async def test_garbage_in_redis_means_no_message(calamity: RedisCalamity) -> None:
    await calamity.r.set(calamity.key, "{not json")
    assert await calamity.current() is None


@pytest.mark.asterisk
async def test_calamity_plays_before_the_menu(ami: Ami, kcc_config: Config,
                                              calamity: RedisCalamity,
                                              http: TestClient) -> None:
    await http.put("/api/ivr/calamity", json={"text_nl": "Let op: de balie is vandaag dicht."})
    harness = IvrHarness(ivr_config(kcc_config, ask_language=False), ami)
    harness.app.deps.calamity = calamity
    harness.script = {"onderwerp": ["1"]}
    async with running(harness):
        mark = ami.mark()
        await harness.call("140182")
        join = await ami.wait_event("QueueCallerJoin", since=mark, timeout=60)
        session = await harness.session()
    assert join.get("Queue") == "burgerzaken"
    assert [s["where"] for s in session.steps] == ["calamity", "onderwerp"]
