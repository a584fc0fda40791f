"""Call scripts through the real service and sandbox Asterisk (issue 11): a call answered
in the afval queue gets the afval script; details only after its verify step; the agent
registers the outcome in nawerk after the citizen hung up, and only then ends nawerk; a
nawerk a supervisor ends leaves an 'onvolledig' contactmoment with the agent's name."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from harness import Harness, wait_for
from test_acd import acd, call_named, queue_caller, state  # noqa: F401  (acd: fixture)

pytestmark = pytest.mark.asterisk


class Api:
    def __init__(self, h: Harness, http: aiohttp.ClientSession) -> None:
        self.base = f"http://127.0.0.1:{h.config.service.http_port}"
        self.h = h
        self.http = http

    async def __call__(self, method: str, path: str, login: str,
                       body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {await self.h.token(login)}"}
        async with self.http.request(method, self.base + path, json=body,
                                     headers=headers) as resp:
            return resp.status, await resp.json()


async def test_script_flow_with_registration_in_nawerk(acd: Harness) -> None:  # noqa: F811
    async with aiohttp.ClientSession() as http:
        api = Api(acd, http)
        await acd.service.acd.login("mehmet")
        await wait_for(lambda: state(acd, "mehmet") == "available", what="available")
        await queue_caller(acd, "afval", "Script Een", wait=5)
        call = await wait_for(lambda: call_named(acd, "Script Een"), what="call")
        await wait_for(lambda: call.answered_by == "mehmet", what="answered")
        path = f"/api/calls/{call.linkedid}/script"

        async def started() -> bool:
            return (await api("GET", path, "mehmet"))[0] == 200

        await wait_for(started, what="the call's script")
        status, view = await api("GET", path, "mehmet")
        assert view["subject"] == "afval" and view["contactmoment"]["status"] == "open"
        assert view["allowed"]["view_details"]["allowed"] is False
        assert (await api("GET", path, "anna"))[0] == 404  # not anna's call
        # The bare 'verified' is refused: the script's verify step decides.
        status, body = await api("POST", f"/api/zaken/calls/{call.linkedid}/verify",
                                 "mehmet", {"klant_ref": "abc"})
        assert (status, body["error"]["code"]) == (409, "verify_required")
        status, body = await api("POST", path + "/outcome", "mehmet",
                                 {"outcome": "beantwoord"})
        assert (status, body["error"]["code"]) == (409, "steps_missing")
        for step, value in (("soort", "grofvuil"), ("adres", "2801 ab 12")):
            status, view = await api("POST", path + "/answer", "mehmet",
                                     {"step": step, "value": value})
            assert status == 200, view
        status, body = await api("POST", path + "/verify", "mehmet", {
            "klant_ref": "abc", "facts": {"geboortedatum": True, "postcode_huisnummer": True}})
        assert (status, body["error"]["code"]) == (409, "not_a_candidate")
        status, view = await api("POST", path + "/verify", "mehmet", {
            "facts": {"geboortedatum": True, "postcode_huisnummer": False}})
        assert status == 200 and view["verify"] == "failed"
        assert view["allowed"]["view_details"]["allowed"] is False
        status, view = await api("POST", path + "/verify", "mehmet", {
            "facts": {"geboortedatum": True, "postcode_huisnummer": True}})
        assert status == 200 and view["verify"] == "passed"
        assert view["allowed"]["view_details"]["allowed"] is True

        # The citizen hangs up: nawerk. Ending it needs the outcome.
        await wait_for(lambda: state(acd, "mehmet") == "wrap_up", timeout=20, what="nawerk")
        status, body = await api("POST", "/api/me/end-wrapup", "mehmet")
        assert (status, body["error"]["code"]) == (409, "outcome_required")
        assert "uitkomst" in body["error"]["message"]
        status, body = await api("POST", path + "/outcome", "mehmet", {
            "outcome": "afspraak", "detail": {"datum": "2026-12-08", "tijd": "07:30"}})
        assert (status, body["error"]["code"]) == (409, "afspraak_incomplete")
        status, view = await api("POST", path + "/outcome", "mehmet", {
            "outcome": "afspraak", "notes": "grofvuil ophalen",
            "detail": {"datum": "2026-12-08", "tijd": "07:30", "plaats": "aan de straat"}})
        assert status == 200, view
        assert view["contactmoment"]["status"] == "voltooid"
        assert view["contactmoment"]["outcome_detail"]["plaats"] == "aan de straat"
        status, body = await api("POST", "/api/me/end-wrapup", "mehmet")
        assert status == 200, body
        async with acd.service.pool.acquire() as conn:
            facts = await conn.fetchval(
                "SELECT purpose FROM processing_log WHERE call_id = $1 "
                "AND action = 'identity_check'", call.linkedid)
            refused = await conn.fetch(
                "SELECT action, code FROM rule_refusals WHERE call_id = $1 ORDER BY id",
                call.linkedid)
            source_row = await conn.fetchval(
                "SELECT uitkomst FROM contactmomenten WHERE call_id = $1", call.linkedid)
        assert "postcode_huisnummer" in facts and "geboortedatum" in facts
        assert [tuple(r) for r in refused] == [
            ("view_details", "verify_required"), ("outcome", "steps_missing"),
            ("end_nawerk", "outcome_required"), ("outcome", "afspraak_incomplete")]
        assert source_row == "afspraak"  # contact history and reports read it there
        metric = acd.service.metrics.rule_refusals.labels("end_nawerk", "outcome_required")
        assert metric._value.get() == 1

        # Second call: the supervisor ends mehmet's nawerk: 'onvolledig', with his name.
        await wait_for(lambda: state(acd, "mehmet") == "available", what="available again")
        await queue_caller(acd, "afval", "Script Twee", wait=2)
        second = await wait_for(lambda: call_named(acd, "Script Twee"), what="second call")
        await wait_for(lambda: second.answered_by == "mehmet", what="answered")
        await wait_for(lambda: state(acd, "mehmet") == "wrap_up", timeout=20, what="nawerk")
        status, body = await api("POST", "/api/acd/agents/mehmet/resume", "sanne")
        assert status == 200, body
        status, listing = await api("GET", "/api/contactmomenten", "sanne")
        assert status == 200
        mine = {c["call_id"]: c for c in listing["contactmomenten"]}
        assert mine[call.linkedid]["status"] == "voltooid"
        assert mine[second.linkedid]["status"] == "onvolledig"
        record = await acd.service.agents_repo.get("mehmet")
        assert record is not None and mine[second.linkedid]["completed_by"] == record.name
        assert (await api("GET", "/api/contactmomenten", "mehmet"))[0] == 403
