"""Finding 2: call-backs are not a toll-fraud path.

Attacks, each against the running service on the real sandbox, PostgreSQL and Redis:
a foreign (revenue-share style) or satellite number booked through the API; the same
number written straight into the table and then claimed by the dialler; a caller whose
caller ID is spoofed to a foreign number, who then keys ``00`` + a foreign number into
the IVR; and booking the same number over and over (caps, one open call-back).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from harness import hangup_all, wait_for

from telephony.asterisk_conf import render
from telephony.callbacks.destinations import DestinationPolicy, DestinationRefused
from tests.callbacks.cbharness import REACHED, CbHarness, cb_config

pytestmark = [pytest.mark.asterisk]
UK = "0044 20 7946 0958"          # a valid foreign fixed number
SATELLITE = "+881 6 1234 5678"     # Iridium-style: no country at all
FOREIGN_MOBILE = "+447400123456"


def _refused(h: CbHarness, reason: str, where: str) -> float:
    value = h.service.metrics.registry.get_sample_value(
        "kcc_callback_refused_total", {"reason": reason, "where": where})
    return value or 0.0


def test_policy_rules_without_a_database(kcc_config) -> None:
    policy = DestinationPolicy(kcc_config.callbacks)
    assert policy.number("06-12340001", "test") == "+31612340001"
    for raw, code in ((UK, "country_not_allowed"), (SATELLITE, "country_not_allowed"),
                      ("0900-1234567", "premium_rate"), ("0800-0123", "type_not_allowed"),
                      (FOREIGN_MOBILE, "country_not_allowed")):
        with pytest.raises(DestinationRefused) as info:
            policy.number(raw, "test")
        assert info.value.code == code, raw
        assert info.value.dutch and info.value.dutch.endswith(".")


def test_citizen_sees_the_municipality_number(kcc_config) -> None:
    out = render(kcc_config)["extensions.conf"].split("[kcc-callback-out]", 1)[1]
    first = out.split("\n[", 1)[0]
    number = kcc_config.callbacks.callback_caller_id or kcc_config.numbers[0].e164
    assert f"Set(CALLERID(all)=\"{kcc_config.kcc.name}\" <{number}>)" in first
    assert first.index("CALLERID(all)") < first.index("Dial(")


@pytest.fixture
async def api(kcc_config, sandbox, edge_pool):
    h = CbHarness(cb_config(kcc_config, http_offset=133, max_per_number_per_day=2),
                  open_now=False)  # nothing is dialled in the API tests
    await h.start()
    token = await h.token("anna")
    base = f"http://127.0.0.1:{h.config.service.http_port}"
    async with aiohttp.ClientSession(base, headers={"Authorization": f"Bearer {token}"}) as s:
        yield h, s
    await hangup_all(h)
    await h.stop()


def _window(h: CbHarness) -> dict[str, str]:
    start = h.config.hours.next_open(datetime.now(UTC) + timedelta(days=1),
                                     h.config.kcc.timezone)
    return {"window_start": start.isoformat(),
            "window_end": (start + timedelta(hours=1)).isoformat()}


async def test_api_refuses_foreign_and_satellite_and_caps(api) -> None:
    h, s = api
    for raw, code in ((UK, "country_not_allowed"), (SATELLITE, "country_not_allowed")):
        async with s.post("/api/callbacks", json={"number": raw, **_window(h)}) as r:
            body = await r.json()
            assert r.status == 400 and body["error"]["code"] == code, body
            assert "terug" in body["error"]["message"] or "nummer" in body["error"]["message"]
    assert _refused(h, "country_not_allowed", "api") == 2
    assert await h.service.pool.fetchval("SELECT count(*) FROM callbacks") == 0

    async with s.post("/api/callbacks", json={"number": "06-12340001", **_window(h)}) as r:
        assert r.status == 201, await r.text()
        first = (await r.json())["id"]
    async with s.post("/api/callbacks", json={"number": "+31612340001", **_window(h)}) as r:
        body = await r.json()
        assert r.status == 409 and body["error"]["code"] == "already_open"
        assert body["error"]["message"] == "Voor dit nummer staat al een terugbelverzoek open."
    await h.service.pool.execute("UPDATE callbacks SET status = 'done' WHERE id = $1", first)
    async with s.post("/api/callbacks", json={"number": "0612340001", **_window(h)}) as r:
        assert r.status == 201  # the second of max_per_number_per_day = 2
        second = (await r.json())["id"]
    await h.service.pool.execute("UPDATE callbacks SET status = 'done' WHERE id = $1", second)
    async with s.post("/api/callbacks", json={"number": "0612340001", **_window(h)}) as r:
        body = await r.json()
        assert r.status == 429 and body["error"]["code"] == "number_cap", body
    assert _refused(h, "number_cap", "api") == 1


async def test_click_to_dial_refuses_foreign_and_satellite_numbers(api) -> None:
    """The panel's "Bel" button dials a number that came from a caller ID: the same
    destination rules as a call-back, checked before anything is originated."""
    h, s = api
    for raw in (UK, SATELLITE, FOREIGN_MOBILE):
        async with s.post("/api/calls/dial", json={"number": raw}) as r:
            body = await r.json()
            assert r.status == 400 and body["error"]["code"] == "country_not_allowed", body
            assert "nummer" in body["error"]["message"] or "terug" in body["error"]["message"]
    assert _refused(h, "country_not_allowed", "click_to_dial") == 3
    # A Dutch mobile passes the number rules (anna's demo phone is no softphone: 409 after).
    async with s.post("/api/calls/dial", json={"number": "0612340001"}) as r:
        assert r.status == 409 and (await r.json())["error"]["code"] == "no_phone"


async def test_racing_bookings_leave_one_open_callback(api) -> None:
    h, s = api

    async def book() -> int:
        async with s.post("/api/callbacks", json={"number": "0612340009", **_window(h)}) as r:
            return r.status

    statuses = await asyncio.gather(*(book() for _ in range(5)))
    assert sorted(statuses) == [201, 409, 409, 409, 409]


@pytest.fixture
async def dialler(kcc_config, sandbox, edge_pool):
    h = CbHarness(cb_config(kcc_config, http_offset=134))
    await h.start()
    await hangup_all(h)
    await h.logout_all()
    yield h
    await h.logout_all()
    await hangup_all(h)
    await h.stop()


async def test_dialler_refuses_a_foreign_row_and_makes_a_task(dialler) -> None:
    """A foreign number that reached the table past every booking path is never dialled."""
    h = dialler
    originated: list[str] = []
    real_action = h.service.link.action

    async def watch(name: str, **fields):
        if name == "Originate":
            originated.append(fields.get("Channel", ""))
        return await real_action(name, **fields)

    h.service.link.action = watch  # type: ignore[method-assign]
    foreign = await h.add("+442079460958")
    control = await h.add(REACHED, ago=30)  # dialled after the foreign one (younger)
    await h.service.acd.login("zoe")
    row = await h.until_status(foreign, "task")
    assert row["outcome"] == "refused_destination" and row["attempts"] == 0
    task = await h.service.pool.fetchrow(
        "SELECT toelichting FROM taken WHERE uuid = $1::uuid", row["task_uuid"])
    assert task["toelichting"].startswith("terugbellen geweigerd: Wij bellen alleen nummers")
    # The control proves the dialler was running and dialling in that time.
    await h.until_status(control, "done")
    assert len(originated) == 1
    assert _refused(h, "country_not_allowed", "dial") == 1


@pytest.fixture
async def ivr(kcc_config, sandbox, edge_pool):
    config = cb_config(kcc_config, http_offset=135)
    config = config.model_copy(update={"ivr": kcc_config.ivr.model_copy(update={
        "enabled": True, "prompts": kcc_config.ivr.prompts.model_copy(update={"speed": 260})})})
    h = CbHarness(config)
    await h.start()
    await hangup_all(h)
    await h.logout_all()
    yield h
    await h.logout_all()
    await hangup_all(h)
    await h.stop()


async def test_ivr_refuses_spoofed_foreign_caller_id_and_keyed_00_number(ivr) -> None:
    """The caller ID says +44 (spoofed): it is not even offered; keyed 00 + foreign and
    a satellite number are refused with the prompt; the caller goes back to the queue."""
    from tests.callbacks.test_virtual_hold import Caller

    h = ivr
    caller = Caller(h)
    asked: list[str] = []
    route = h.service.ivr.callback_route
    say = route._say

    async def record(key: str, lang, **params):
        asked.append(key)
        return await say(key, lang, **params)

    route._say = record
    await caller.call(FOREIGN_MOBILE, name="Spoof Beller")
    await asyncio.sleep(1)
    await caller.press("1")                                    # the call-back offer
    await caller.when_asked("key_number", "00442079460958#")   # 00 + a UK number
    await caller.when_asked("key_number", "008816123456789#")  # satellite
    call = caller.call_record
    await wait_for(lambda: call.linkedid in h.service.model.calls and call.queue == "algemeen"
                   and asked.count("bad_number") == 2, timeout=30, what="back in the queue")
    assert "confirm_number" not in asked, asked
    assert await h.service.pool.fetchval("SELECT count(*) FROM callbacks") == 0
    assert _refused(h, "country_not_allowed", "ivr") == 3
