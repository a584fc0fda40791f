"""The report queries on real PostgreSQL against hand-computed figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import asyncpg
import pytest

from telephony.config import Config
from telephony.reports import api, queries

from .fixtures import AMS, D0, D1, D2, at, load

TZ = "Europe/Amsterdam"


@pytest.fixture
async def loaded(pool: asyncpg.Pool) -> asyncpg.Pool:
    await load(pool)
    return pool


def _service(pool: asyncpg.Pool, cfg: Config) -> SimpleNamespace:
    return SimpleNamespace(pool=pool, config=cfg)


async def _queues(pool: asyncpg.Pool, cfg: Config) -> dict[tuple[str, str], dict]:
    shaped = await api._queues(_service(pool, cfg), D1, D2, TZ)  # type: ignore[arg-type]
    return {(r["day"], r["queue"]): r for r in shaped}


async def test_queue_report_figures(loaded: asyncpg.Pool, kcc_config: Config) -> None:
    assert kcc_config.acd.short_abandon_seconds == 5
    got = await _queues(loaded, kcc_config)
    assert set(got) == {("2025-03-10", "algemeen"), ("2025-03-10", "belastingen"),
                        ("2025-03-11", "afval")}  # c0 (D0) is outside the range
    algemeen = got[("2025-03-10", "algemeen")]
    assert algemeen == {
        "day": "2025-03-10", "queue": "algemeen",
        "offered": 8,               # c1..c8; c6 (queued 23:59:50, answered after 0:00) in D1
        "answered": 5,              # c1 c2 c3 c6 c7
        "answered_within": 4,       # within 20 s: c1 c3 c6 c7
        "abandoned": 1,             # c5 (40 s)
        "short_abandoned": 1,       # c4 (3 s < 5 s): not in the service level
        "left_for_callback": 1,     # c8: not an abandon
        "cut_off": 0,               # no call cut by the PBX (see the test below)
        "answered_wait": 75.0,      # 10 + 30 + 15 + 15 + 5
        "max_wait": 61.0,
        "callbacks_ended": 1, "callbacks_reached": 1,  # keep-my-place, reached after 30 min
        "callbacks_within": 0,
        "callbacks_kept": 1,        # before the end of the 2nd working day (Wed 17:00)
        "self_service": 0,          # the IVR's answers have no queue
        "handled": 6,               # 5 answered + 1 call-back reached
        "talk": 760.0,              # 300 + 120 + 60 + 120 + 100 + the call-back's 60
        "wrapup": 30.0,             # anna's nawerk after c7
        "transfers": 1,             # c3; c2's transfer was refused by the dialplan
        "refused_transfers": 1,     # c2
        "registered": 4,            # c1 c2 c3 c7 have an outcome
        "resolved_by_outcome": 2,   # "Vraag beantwoord" (c1), "beantwoord" (c3)
        "repeat_base": 4,           # answered, known number: c1 c2 c3 c7 (c6 anonymous)
        "resolved_no_repeat": 2,    # c1 repeated by c2, c3 by c5 (same number + subject)
        "service_level": 0.571,     # (4 + 0) / (5 + 1 + 1)
        "service_level_target": 0.8, "service_level_met": False,
        "asa": 15.0,                # 75 / 5
        "aht": 131.7,               # (760 + 30) / 6
        "avg_talk": 126.7,          # 760 / 6
        "abandon_rate": 0.143,      # 1 / (5 + 1 + 1)
        "transfers_per_call": 0.167,  # 1 / 6
        "registration": 0.667,      # 4 / 6
        "fcr_outcome": 0.5,         # 2 / 4
        "fcr_repeat": 0.5,          # 2 / 4
        "callbacks_on_time": 1.0,
    }
    afval = got[("2025-03-11", "afval")]
    assert (afval["service_level"], afval["asa"], afval["service_level_met"]) == (1.0, 22.0,
                                                                                  True)
    belastingen = got[("2025-03-10", "belastingen")]  # only a reached callback (wait 1 h)
    assert (belastingen["offered"], belastingen["callbacks_reached"],
            belastingen["service_level"], belastingen["asa"]) == (0, 1, 0.0, None)
    # two call-backs ended: one reached before window_end, one became a task
    assert (belastingen["callbacks_ended"], belastingen["callbacks_kept"],
            belastingen["callbacks_on_time"]) == (2, 1, 0.5)


async def test_contacts_by_channel_and_hour(loaded: asyncpg.Pool, kcc_config: Config) -> None:
    service = _service(loaded, kcc_config)
    rows = await api.contact_rows(service, D1, D1, "total", "channel")  # type: ignore[arg-type]
    got = {r["channel"]: r for r in rows}
    assert set(got) == {"direct", "callback", "ivr"}
    assert (got["direct"]["offered"], got["direct"]["answered"]) == (8, 5)
    assert (got["callback"]["callbacks_ended"], got["callback"]["callbacks_reached"]) == (3, 2)
    assert (got["ivr"]["self_service"], got["ivr"]["offered"]) == (1, 0)  # u1 only
    hours = {r["hour"]: r for r in await api.contact_rows(
        service, D1, D1, "hour", "total")}  # type: ignore[arg-type]
    assert hours[0]["answered"] == 1 and hours[23]["answered"] == 1  # c1, c6
    assert hours[10]["offered"] == 1 and hours[10]["self_service"] == 1  # c2; u1
    assert sum(h["offered"] for h in hours.values()) == 8
    outcomes = {r["outcome"]: r["handled"] for r in await api.contact_rows(
        service, D1, D1, "total", "outcome")}  # type: ignore[arg-type]
    assert outcomes == {"": 3, "Doorverbonden": 1, "Terugbelverzoek": 1, "Vraag beantwoord": 1,
                        "beantwoord": 1}  # c6 and the call-backs were not registered
    total = (await api.contact_rows(service, D1, D2, "total", "total"))[0]  # type: ignore
    assert (total["offered"], total["answered"], total["fcr_repeat"]) == (9, 6, 0.6)



async def test_queue_report_local_days(loaded: asyncpg.Pool, kcc_config: Config) -> None:
    """A one-day report of D1 holds c1 (23:30 UTC the day before) but not c9 (D2)."""
    rows = await api._queues(_service(loaded, kcc_config), D1, D1, TZ)  # type: ignore[arg-type]
    assert [(r["day"], r["queue"], r["offered"]) for r in rows] == [
        ("2025-03-10", "algemeen", 8), ("2025-03-10", "belastingen", 0)]


async def test_agent_report(loaded: asyncpg.Pool) -> None:
    rows = await queries.agent_rows(loaded, D1, D2, TZ, datetime.now(UTC))
    got = {(a["day"], a["agent"]): a for a in api.shape_agents(rows)}
    assert set(got) == {("2025-03-10", "anna"), ("2025-03-10", "bob"),
                        ("2025-03-11", "anna"), ("2025-03-11", "bob")}
    anna1 = got[("2025-03-10", "anna")]
    assert anna1 == {
        "day": "2025-03-10", "agent": "anna",
        "logged_in": 86400.0,      # available since D0 23:00 carries into D1 from 0:00
        # 0:00-8:00 and 8:11-23:30 less c7's wrap-up (14:01:46-14:02:16)
        "available": 8 * 3600 + 15 * 3600 + 19 * 60 - 30,
        "ringing": 0.0, "on_call": 600.0, "wrap_up": 90.0, "unavailable": 0.0,
        "paused": {"pauze": 1800.0},                    # 23:30-24:00, the rest on D2
        "calls_answered": 3, "talk": 520.0,             # c1 c2 c7 (not c0: D0)
        "aht": 203.3,                                   # (520 + 90) / 3
    }
    anna2 = got[("2025-03-11", "anna")]
    assert (anna2["logged_in"], anna2["paused"], anna2["calls_answered"], anna2["aht"]) == (
        1800.0, {"pauze": 1800.0}, 1, 60.0)
    bob1 = got[("2025-03-10", "bob")]
    assert (bob1["logged_in"], bob1["available"], bob1["paused"], bob1["calls_answered"],
            bob1["aht"]) == (3600.0, 1800.0, {"overleg": 1800.0}, 1, 60.0)
    bob2 = got[("2025-03-11", "bob")]  # c6: queued on D1, answered after midnight
    assert (bob2["logged_in"], bob2["calls_answered"], bob2["aht"]) == (0.0, 1, 120.0)


async def test_agent_report_clipped_to_now(loaded: asyncpg.Pool) -> None:
    now = at(D1, "12:00:00")
    rows = await queries.agent_rows(loaded, D1, D2, TZ, now)
    got = {(a["day"], a["agent"]): a for a in api.shape_agents(rows)}
    anna = got[("2025-03-10", "anna")]
    assert (anna["logged_in"], anna["available"], anna["on_call"], anna["wrap_up"]) == (
        12 * 3600.0, 8 * 3600 + 3 * 3600 + 49 * 60.0, 600.0, 60.0)
    assert ("2025-03-11", "anna") in got and got[("2025-03-11", "anna")]["logged_in"] == 0.0


async def test_callback_report(loaded: asyncpg.Pool) -> None:
    now = datetime(2025, 3, 20, 12, 0, tzinfo=AMS)
    rows = api.shape_callbacks(await queries.callback_rows(loaded, D1, D2, TZ, now))
    got = {(r["day"], r["kind"]): r for r in rows}
    zero = {"done": 0, "done_on_time": 0, "done_late": 0, "open": 0, "open_past_deadline": 0,
            "failed_to_task": 0, "cancelled": 0, "without_deadline": 0}
    assert got == {
        ("2025-03-10", "terugbelnotitie"): {
            "day": "2025-03-10", "kind": "terugbelnotitie", **zero, "requested": 3,
            "done": 2, "done_on_time": 1, "done_late": 1, "open": 1,
            "open_past_deadline": 1},
        ("2025-03-11", "terugbelnotitie"): {
            "day": "2025-03-11", "kind": "terugbelnotitie", **zero, "requested": 1,
            "open": 1},
        ("2025-03-10", "virtual_hold"): {
            "day": "2025-03-10", "kind": "virtual_hold", **zero, "requested": 1, "done": 1,
            "without_deadline": 1},
        ("2025-03-10", "scheduled"): {
            "day": "2025-03-10", "kind": "scheduled", **zero, "requested": 3, "done": 1,
            "done_on_time": 1, "open": 1, "open_past_deadline": 1, "failed_to_task": 1},
    }


async def test_fcr_repeat_window_is_configurable(loaded: asyncpg.Pool,
                                                 kcc_config: Config) -> None:
    """c7 (D1 14:00, +31610101010, belastingen) is called again 3 days later on the same
    subject: a repeat within 7 days (the default), not within 2."""
    again = at(D1, "14:00:00") + timedelta(days=3)
    await loaded.execute(
        """INSERT INTO calls (linkedid, direction, queue, started_at, queued_at, ended_at,
                              abandoned, caller_number, subject)
           VALUES ('r7', 'inbound', 'algemeen', $1, $1, $1, true, '+31610101010',
                   'belastingen')""", again)
    assert kcc_config.supervisor.fcr_repeat_days == 7
    short = kcc_config.model_copy(update={"supervisor": kcc_config.supervisor.model_copy(
        update={"fcr_repeat_days": 2})})
    got = {}
    for cfg in (kcc_config, short):
        row = (await api.contact_rows(_service(loaded, cfg), D1, D1, "total",
                                      "total"))[0]  # type: ignore[arg-type]
        got[cfg.supervisor.fcr_repeat_days] = (row["repeat_base"], row["resolved_no_repeat"])
    # c1 c2 c3 c7 answered from a known number; c1 and c3 repeated the same day
    assert got == {7: (4, 1), 2: (4, 2)}


async def test_a_call_cut_by_the_pbx_is_counted_apart_not_abandoned(
        loaded: asyncpg.Pool, kcc_config: Config) -> None:
    """Issue 13: an Asterisk restart is not callers giving up."""
    await loaded.execute("UPDATE calls SET end_reason = 'system', abandoned = false "
                         "WHERE linkedid = 'c5'")
    algemeen = (await _queues(loaded, kcc_config))[("2025-03-10", "algemeen")]
    assert (algemeen["abandoned"], algemeen["cut_off"], algemeen["offered"]) == (0, 1, 8)
    assert algemeen["abandon_rate"] == 0.0  # 0 / (5 + 0 + 1)


async def test_fcr_from_the_script_outcomes_resolved_flag(loaded: asyncpg.Pool,
                                                          kcc_config: Config) -> None:
    """Issue 11: a call script's completed contactmoment decides the outcome and FCR by
    its ``resolved`` flag; an 'onvolledig' one is no registration."""
    rows = [("c2", "voltooid", "doorverwezen", True),     # legacy "Doorverbonden": now resolved
            ("c7", "voltooid", "terugbelverzoek", False),  # still not resolved
            ("c6", "onvolledig", None, None)]              # nawerk forced: not registered
    for call_id, status, outcome, resolved in rows:
        await loaded.execute(
            """INSERT INTO call_contactmomenten (call_id, agent_login, status, outcome,
                   resolved, completed_at) VALUES ($1, 'anna', $2, $3, $4, now())""",
            call_id, status, outcome, resolved)
    algemeen = (await _queues(loaded, kcc_config))[("2025-03-10", "algemeen")]
    assert algemeen["registered"] == 4          # c1 c2 c3 c7, not c6
    assert algemeen["resolved_by_outcome"] == 3  # c1, c3 by name; c2 by its flag
    assert algemeen["fcr_outcome"] == 0.75


async def test_registration_and_refusals_per_day(pool: asyncpg.Pool) -> None:
    """Issue 11: registration completeness per agent and queue, refused actions per rule."""
    from telephony.reports import queries

    rows = [("r1", "anna", "algemeen", "voltooid", True, at(D1, "09:00:00")),
            ("r2", "anna", "algemeen", "onvolledig", None, at(D1, "10:00:00")),
            ("r3", "anna", "algemeen", "voltooid", False, at(D1, "11:00:00")),
            ("r4", "bob", "afval", "open", None, at(D2, "00:30:00")),
            ("r5", "bob", "afval", "voltooid", True, at(D0, "12:00:00"))]  # before range
    for call_id, agent, queue, status, resolved, created in rows:
        await pool.execute(
            """INSERT INTO call_contactmomenten (call_id, agent_login, queue, status,
                   outcome, resolved, created_at, completed_at)
               VALUES ($1, $2, $3, $4::text,
                       CASE WHEN $4::text = 'voltooid' THEN 'beantwoord' END,
                       $5, $6::timestamptz,
                       CASE WHEN $4::text <> 'open' THEN $6::timestamptz END)""",
            call_id, agent, queue, status, resolved, created)
    for agent, action, code in (("anna", "end_nawerk", "outcome_required"),
                                ("bob", "end_nawerk", "outcome_required"),
                                ("anna", "transfer", "handover_required")):
        await pool.execute("INSERT INTO rule_refusals (agent_login, action, code, at) "
                           "VALUES ($1, $2, $3, $4)", agent, action, code, at(D1, "12:00:00"))
    got = await queries.registration_rows(pool, D1, D2, TZ)
    assert [(r["day"], r["agent"], r["queue"], r["contacts"], r["registered"],
             r["incomplete"], r["open"], r["resolved"], r["completeness"]) for r in got] == [
        ("2025-03-10", "anna", "algemeen", 3, 2, 1, 0, 1, 0.667),
        ("2025-03-11", "bob", "afval", 1, 0, 0, 1, 0, 0.0)]
    refused = await queries.refusal_rows(pool, D1, D2, TZ)
    assert [(r["action"], r["code"], r["refused"], r["agents"]) for r in refused] == [
        ("end_nawerk", "outcome_required", 2, 2), ("transfer", "handover_required", 1, 1)]
