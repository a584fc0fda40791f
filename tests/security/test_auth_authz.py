"""Finding 6: authorisation holes. A terugbelnotitie is read and closed only by its team,
its assignee, its writer and supervisors (no id walk; every read on the processing log);
only the agent who answered a call may verify the caller and see details, not another
agent it rang; an admin cannot point an agent's endpoint at the trunk."""

from __future__ import annotations

import aiohttp
import pytest

from tests.security.auth_harness import (  # noqa: F401
    NAME,
    base_url,
    bearer,
    svc_fixture,
    wait_for,
)

pytestmark = pytest.mark.asterisk


async def _log(svc, actor: str, action: str, source: str) -> int:
    return await svc.service.pool.fetchval(
        "SELECT count(*) FROM processing_log WHERE actor = $1 AND action = $2 AND source = $3",
        actor, action, source)


async def test_notitie_is_scoped_to_its_team_and_reads_are_logged(svc):
    tokens = {who: await svc.token(who) for who in ("anna", "zoe", "mehmet")}
    url = base_url(svc)
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/api/callbacks/notes", headers=bearer(tokens["anna"]),
                             json={"number": "010 123 4567", "subject": "bezwaar WOZ",
                                   "question": "Wanneer krijg ik uitspraak?",
                                   "team": "belastingen"}) as r:
            assert r.status == 201
            note = await r.json()
        source = f"terugbelnotitie:{note['id']}"
        # zoe is not in belastingen, did not write it, is not its assignee.
        async with http.get(f"{url}/api/callbacks/notes", headers=bearer(tokens["zoe"])) as r:
            assert note["id"] not in [n["id"] for n in (await r.json())["notes"]]
        for note_id in (note["id"], note["id"] - 1, note["id"] + 1):  # walking the ids
            async with http.post(f"{url}/api/callbacks/notes/{note_id}/close",
                                 headers=bearer(tokens["zoe"]), json={"result": "weg"}) as r:
                assert r.status == 404, "zoe closed another team's notitie"
        assert await _log(svc, "zoe", "callback_note_read", source) == 0
        # mehmet (skill belastingen) sees it; the read is on the processing log.
        async with http.get(f"{url}/api/callbacks/notes",
                            headers=bearer(tokens["mehmet"])) as r:
            seen = [n for n in (await r.json())["notes"] if n["id"] == note["id"]]
        assert seen and seen[0]["telefoonnummer"] == "+31101234567"
        assert await _log(svc, "mehmet", "callback_note_read", source) == 1
        async with http.post(f"{url}/api/callbacks/notes/{note['id']}/close",
                             headers=bearer(tokens["mehmet"]), json={"result": "gebeld"}) as r:
            assert r.status == 200 and (await r.json())["afgerond_door"] == "mehmet"
        assert await _log(svc, "mehmet", "callback_note_closed", source) == 1


async def test_only_the_agent_on_the_call_may_verify_and_see_details(svc):
    from telephony.demo import load_demo_municipality

    await load_demo_municipality(svc.service)
    call = await svc.answered_call(NAME, login="anna", wait=15)
    anna_state = await wait_for(lambda: svc.service.popper.state.get(call.linkedid, "anna"),
                                what="anna's pop")
    ref = anna_state["candidates"][0]
    # The call rang zoe as well (her pop was built when it was offered to her).
    await svc.service.popper.build(call.to_record(), "zoe")
    url = base_url(svc)
    path = f"{url}/api/zaken/calls/{call.linkedid}"
    async with aiohttp.ClientSession() as http:
        zoe = bearer(await svc.token("zoe"))
        async with http.post(f"{path}/verify", headers=zoe, json={"klant_ref": ref}) as r:
            assert r.status == 403, "an agent who is not on the call verified the caller"
            assert (await r.json())["error"]["code"] == "not_on_call"
        async with http.get(f"{path}/pop", headers=zoe) as r:
            assert r.status == 200 and (await r.json())["klant"] is None
        # Nor through the call script's verify step (issue 11), which is how it is done.
        script = f"{url}/api/calls/{call.linkedid}/script"
        facts = {"geboortedatum": True, "postcode_huisnummer": True}
        async with http.post(f"{script}/verify", headers=zoe,
                             json={"klant_ref": ref, "facts": facts}) as r:
            assert r.status in (403, 404, 409), await r.text()
        async with http.get(f"{path}/pop", headers=zoe) as r:
            assert r.status == 200 and (await r.json())["klant"] is None
        anna = bearer(await svc.token("anna"))
        async with http.post(f"{script}/answer", headers=anna,
                             json={"step": "vraag", "value": "paspoort"}) as r:
            assert r.status == 200, await r.text()
        async with http.post(f"{script}/verify", headers=anna,
                             json={"klant_ref": ref, "facts": facts}) as r:
            assert r.status == 200, await r.text()
        async with http.get(f"{path}/pop", headers=anna) as r:
            pop = await r.json()
        assert pop["verified"] is True and pop["klant"] is not None


@pytest.mark.parametrize("endpoint", [
    "PJSIP/trunk", "PJSIP/0031201234567@trunk", "PJSIP/agent-x@trunk",
    "Local/0900123@kcc-inbound", "Local/00881234@kcc-callback", "PJSIP/agent-x/sip:a@b"])
async def test_admin_cannot_point_an_agent_at_the_trunk(svc, endpoint):
    admin = bearer(await svc.token("beheer"))
    async with aiohttp.ClientSession() as http, http.post(
            f"{base_url(svc)}/api/acd/agents", headers=admin,
            json={"login": "trunkagent", "name": "Trunk", "endpoint": endpoint}) as r:
        assert r.status == 400 and (await r.json())["error"]["code"] == "bad_endpoint"
    assert await svc.service.agents_repo.get("trunkagent") is None
