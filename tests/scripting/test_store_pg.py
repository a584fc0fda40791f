"""Scripts and call state on the real PostgreSQL: versions, a call keeps its version,
refusals change nothing and are counted, one contactmoment per call."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from types import MappingProxyType

import asyncpg

from telephony.scripting.rules import Action
from telephony.scripting.store import CallScripts, ScriptStore
from telephony.scripting.toml_io import parse_script

SCRIPTS = Path(__file__).resolve().parents[2] / "config" / "scripts"
_ids = itertools.count(1)


def call_id() -> str:
    return f"s{time.time_ns()}.{next(_ids)}"


async def test_a_new_version_does_not_change_a_call_in_progress(pool: asyncpg.Pool) -> None:
    store = ScriptStore(pool)
    await store.seed(SCRIPTS)
    calls = CallScripts(pool, store, max_transfers=1)
    cid = call_id()
    await calls.start(call_id=cid, agent="anna", subject="afval", municipality="gouda",
                      queue="afval")
    before = await calls.get(cid, "anna")
    assert before.script.script.subject == "afval"
    text = (SCRIPTS / "afval.toml").read_text().replace('"Afval en grofvuil"',
                                                        '"Afval (nieuw)"')
    saved = await store.save(parse_script(text), text, "sylvia")
    assert saved["version"] == before.version + 1
    during = await calls.get(cid, "anna")
    assert during.version == before.version and during.script.script.title == \
        "Afval en grofvuil"
    # A new call starts with the new version; the change log says who and when.
    other = call_id()
    await calls.start(call_id=other, agent="zoe", subject="afval", municipality="gouda",
                      queue="afval")
    assert (await calls.get(other, "zoe")).script.script.title == "Afval (nieuw)"
    history = await store.history("afval", "")
    assert history is not None and history["changes"][0]["by"] == "sylvia"
    # Unknown subject: the default script.
    third = call_id()
    await calls.start(call_id=third, agent="zoe", subject="zorg", municipality="gouda",
                      queue="algemeen")
    assert (await calls.get(third, "zoe")).script.script.subject == "default"


async def test_refused_actions_change_nothing_and_are_counted(pool: asyncpg.Pool) -> None:
    store = ScriptStore(pool)
    await store.seed(SCRIPTS)
    calls = CallScripts(pool, store, max_transfers=1)
    cid = call_id()
    await calls.start(call_id=cid, agent="anna", subject="afval", municipality="gouda",
                      queue="afval")
    before = await calls.get(cid, "anna")
    decision, after = await calls.act(cid, "anna", Action("outcome", outcome="beantwoord"))
    assert (decision.allowed, decision.code) == (False, "steps_missing")
    assert after == before
    assert await pool.fetchval("SELECT count(*) FROM rule_refusals WHERE call_id = $1",
                               cid) == 1
    for step, value in (("soort", "grofvuil"), ("adres", "2801ab 12")):
        decision, _ = await calls.act(cid, "anna", Action("answer", step=step, value=value))
        assert decision.allowed
    decision, _ = await calls.act(cid, "anna", Action("verify", facts=MappingProxyType(
        {"postcode_huisnummer": True, "geboortedatum": True})))
    assert decision.allowed
    decision, done = await calls.act(cid, "anna", Action("outcome", outcome="beantwoord"),
                                     complete={"notes": "uitgelegd", "by": "Anna"})
    assert decision.allowed
    assert done.contact["status"] == "voltooid" and done.contact["resolved"] is True
    row = await pool.fetchrow("SELECT * FROM call_contactmomenten WHERE call_id = $1", cid)
    assert row["outcome"] == "beantwoord" and row["notes"] == "uitgelegd"
    assert "2801AB 12" in row["answers"]
    # Another agent cannot act on it; starting again does not make a second one.
    await calls.start(call_id=cid, agent="anna", subject="afval", municipality="gouda",
                      queue="afval")
    assert await pool.fetchval("SELECT count(*) FROM call_contactmomenten WHERE call_id = $1",
                               cid) == 1


async def test_forced_nawerk_end_leaves_onvolledig(pool: asyncpg.Pool) -> None:
    store = ScriptStore(pool)
    calls = CallScripts(pool, store, max_transfers=1)
    cid = call_id()
    await calls.start(call_id=cid, agent="piet", subject="afval", municipality="gouda",
                      queue="afval")
    assert await calls.mark_incomplete("piet", "Piet Pieters") == []  # still talking
    await calls.hung_up(cid)
    assert await calls.open_after_hangup("piet") == [cid]
    assert await calls.mark_incomplete("piet", "Piet Pieters") == [cid]
    row = await pool.fetchrow("SELECT status, completed_by FROM call_contactmomenten "
                              "WHERE call_id = $1", cid)
    assert tuple(row) == ("onvolledig", "Piet Pieters")


async def test_an_ivr_self_service_answer_is_one_completed_contactmoment(
        pool: asyncpg.Pool) -> None:
    from ivr.session import IvrSession
    from ivr.session_store import PostgresSessionStore

    store = PostgresSessionStore(pool)
    answered = IvrSession(uniqueid=call_id(), linkedid=call_id(), municipality="gouda",
                          outcome="hangup", ended_at=time.time())
    answered.contact("zaak_status", "answered", "ZAAK-2024-0001")
    to_agent = IvrSession(uniqueid=call_id(), linkedid=call_id(), outcome="queue")
    to_agent.contact("hours", "answered")
    for session in (answered, to_agent, answered):  # saved twice: still one
        await store.save(session)
    rows = await pool.fetch("SELECT call_id, kanaal, status, outcome, zaak FROM "
                            "call_contactmomenten WHERE call_id = ANY($1)",
                            [answered.linkedid, to_agent.linkedid])
    assert [tuple(r) for r in rows] == [(answered.linkedid, "ivr", "voltooid", "beantwoord",
                                         "ZAAK-2024-0001")]
