"""Scripts and each call's script state in PostgreSQL.

Versions are immutable: a saved script gets the next version number and becomes current;
a call points at the version it started with (``call_scripts.version_id``), so editing a
script never changes a conversation in progress. Versions are cached in memory by id for
that reason too. Every change to a call's state goes through ``act``: one transaction that
locks the call's row, asks the rules engine and writes either the new state or a refusal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import asyncpg

from telephony.scripting.model import Script
from telephony.scripting.outbox import enqueue
from telephony.scripting.rules import Action, CallState, Decision, apply
from telephony.scripting.toml_io import dump_script, parse_script

BUILTIN_DEFAULT = """[script]
subject = "default"
title = "Algemeen gesprek"

[[steps]]
id = "identiteit"
kind = "verify"
text = "Vraag naar geboortedatum en postcode met huisnummer."
facts = ["geboortedatum", "postcode_huisnummer"]

[[steps]]
id = "uitkomst"
kind = "outcome"
"""


class NoScriptState(LookupError):
    """This call has no script state for this agent (not answered by them)."""


@dataclass(frozen=True)
class CallScript:
    call_id: str
    agent: str
    version_id: int
    version: int
    script: Script
    state: CallState
    klant_ref: str
    contact: dict[str, Any]

    def view(self) -> dict[str, Any]:
        return {"call_id": self.call_id, "agent": self.agent, "version": self.version,
                "subject": self.script.script.subject, "title": self.script.script.title,
                "answers": dict(self.state.answers), "verify": self.state.verify,
                "facts_checked": list(self.state.facts_checked), "klant_ref": self.klant_ref,
                "transfers": self.state.transfers, "outcome": self.state.outcome,
                "ended": self.state.ended, "contactmoment": self.contact}


def _contact(row: asyncpg.Record) -> dict[str, Any]:
    out = {k: row[k] for k in ("status", "outcome", "resolved", "notes", "kanaal",
                               "completed_by", "subject", "queue", "zaak")}
    out["outcome_detail"] = json.loads(row["outcome_detail"])
    for key in ("created_at", "hung_up_at", "completed_at"):
        out[key] = row[key].isoformat() if row[key] else None
    return out


def _read_folder(folder: Path) -> list[tuple[str, str]]:
    """The TOML files of a folder (a few small files, read once at start)."""
    return [(p.name, p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.toml"))]


class ScriptStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._versions: dict[int, tuple[int, Script]] = {}

    async def save(self, script: Script, text: str, actor: str) -> dict[str, Any]:
        """Store ``script`` as the next version and make it current."""
        head = script.script
        async with self.pool.acquire() as conn, conn.transaction():
            script_id = await conn.fetchval(
                """INSERT INTO scripts (subject, municipality) VALUES ($1, $2)
                   ON CONFLICT (subject, municipality) DO UPDATE SET subject = EXCLUDED.subject
                   RETURNING id""", head.subject, head.municipality)
            version = await conn.fetchval(
                "UPDATE scripts SET current = current + 1 WHERE id = $1 RETURNING current",
                script_id)
            version_id = await conn.fetchval(
                """INSERT INTO script_versions (script_id, version, toml, body, created_by)
                   VALUES ($1, $2, $3, $4::jsonb, $5) RETURNING id""",
                script_id, version, text, script.model_dump_json(), actor)
        self._versions[version_id] = (version, script)
        return {"subject": head.subject, "municipality": head.municipality,
                "version": version, "version_id": version_id}

    async def seed(self, folder: Path, actor: str = "system") -> int:
        """Load ``folder/*.toml`` for subjects that have no script yet (demo, first start)."""
        saved = 0
        for name, text in _read_folder(folder):
            script = parse_script(text, name)
            exists = await self.pool.fetchval(
                "SELECT 1 FROM scripts WHERE subject = $1 AND municipality = $2",
                script.script.subject, script.script.municipality)
            if not exists:
                await self.save(script, text, actor)
                saved += 1
        return saved

    async def version(self, version_id: int) -> tuple[int, Script]:
        cached = self._versions.get(version_id)
        if cached is None:
            row = await self.pool.fetchrow(
                "SELECT version, body FROM script_versions WHERE id = $1", version_id)
            if row is None:
                raise LookupError(version_id)
            cached = (row["version"], Script.model_validate_json(row["body"]))
            self._versions[version_id] = cached
        return cached

    async def current_id(self, subject: str, municipality: str) -> int:
        """The version a new call on ``subject`` starts with: the municipality's own
        script, the KCC's, the municipality's default, the KCC's default — or a built-in
        default saved on first use."""
        version_id = await self.pool.fetchval(
            """SELECT v.id FROM scripts s JOIN script_versions v
                   ON v.script_id = s.id AND v.version = s.current
               WHERE (s.subject = $1 OR s.subject = 'default')
                 AND (s.municipality = $2 OR s.municipality = '')
               ORDER BY (s.subject = 'default'), (s.municipality = '') LIMIT 1""",
            subject, municipality)
        if version_id is None:
            saved = await self.save(parse_script(BUILTIN_DEFAULT, "builtin"), BUILTIN_DEFAULT,
                                    "system")
            version_id = saved["version_id"]
        return int(version_id)

    async def listing(self) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            """SELECT s.subject, s.municipality, s.current, v.created_by, v.created_at,
                      v.body->'script'->>'title' AS title
               FROM scripts s JOIN script_versions v ON v.script_id = s.id
                    AND v.version = s.current ORDER BY s.subject, s.municipality""")
        return [{**dict(r), "created_at": r["created_at"].isoformat()} for r in rows]

    async def history(self, subject: str, municipality: str) -> dict[str, Any] | None:
        rows = await self.pool.fetch(
            """SELECT v.version, v.created_by, v.created_at, v.toml, s.current
               FROM scripts s JOIN script_versions v ON v.script_id = s.id
               WHERE s.subject = $1 AND s.municipality = $2 ORDER BY v.version DESC""",
            subject, municipality)
        if not rows:
            return None
        return {"subject": subject, "municipality": municipality,
                "version": rows[0]["current"], "toml": rows[0]["toml"],
                "changes": [{"version": r["version"], "by": r["created_by"],
                             "at": r["created_at"].isoformat()} for r in rows]}

    async def export(self, subject: str, municipality: str) -> str | None:
        body = await self.pool.fetchval(
            """SELECT v.body FROM scripts s JOIN script_versions v ON v.script_id = s.id
                   AND v.version = s.current WHERE s.subject = $1 AND s.municipality = $2""",
            subject, municipality)
        return None if body is None else dump_script(Script.model_validate_json(body))


class CallScripts:
    """The script state of calls and their contactmomenten."""

    def __init__(self, pool: asyncpg.Pool, scripts: ScriptStore, max_transfers: int) -> None:
        self.pool = pool
        self.scripts = scripts
        self.max_transfers = max_transfers

    async def start(self, *, call_id: str, agent: str, subject: str, municipality: str,
                    queue: str, kanaal: str = "telefoon") -> None:
        """At answer: the call's script (current version) and its open contactmoment.
        Idempotent; a call answered again after a transfer moves to the new agent."""
        version_id = await self.scripts.current_id(subject, municipality)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """INSERT INTO call_scripts (call_id, agent_login, version_id)
                   VALUES ($1, $2, $3)
                   ON CONFLICT (call_id) DO UPDATE SET agent_login = EXCLUDED.agent_login,
                       updated_at = now()""", call_id, agent, version_id)
            await conn.execute(
                """INSERT INTO call_contactmomenten (call_id, agent_login, kanaal, subject,
                       queue, municipality) VALUES ($1, $2, $3, $4, $5, $6)
                   ON CONFLICT (call_id) DO UPDATE SET agent_login = EXCLUDED.agent_login
                   WHERE call_contactmomenten.status = 'open'""",
                call_id, agent, kanaal, subject, queue, municipality)

    async def hung_up(self, call_id: str) -> None:
        await self.pool.execute(
            "UPDATE call_contactmomenten SET hung_up_at = now() WHERE call_id = $1 "
            "AND hung_up_at IS NULL", call_id)

    async def _load(self, conn: asyncpg.Connection, call_id: str, agent: str | None, *,
                    lock: bool = False) -> CallScript:
        row = await conn.fetchrow(
            f"""SELECT c.*, m.status, m.outcome, m.resolved, m.notes, m.kanaal, m.completed_by,
                       m.subject, m.queue, m.zaak, m.outcome_detail, m.created_at,
                       m.hung_up_at, m.completed_at
                FROM call_scripts c JOIN call_contactmomenten m USING (call_id)
                WHERE c.call_id = $1 {"FOR UPDATE OF c, m" if lock else ""}""", call_id)
        if row is None or (agent is not None and row["agent_login"] != agent):
            raise NoScriptState(call_id)
        version, script = await self.scripts.version(row["version_id"])
        state = CallState(answers=MappingProxyType(json.loads(row["answers"])),
                          verify=row["verify"], facts_checked=tuple(row["facts_checked"]),
                          transfers=row["transfers"], max_transfers=self.max_transfers,
                          outcome=row["outcome"] or "", ended=row["hung_up_at"] is not None)
        return CallScript(call_id, row["agent_login"], row["version_id"], version, script,
                          state, row["klant_ref"], _contact(row))

    async def get(self, call_id: str, agent: str | None) -> CallScript:
        async with self.pool.acquire() as conn:
            return await self._load(conn, call_id, agent)

    async def act(self, call_id: str, agent: str, action: Action, *, klant_ref: str = "",
                  transfers: int | None = None,
                  complete: dict[str, Any] | None = None) -> tuple[Decision, CallScript]:
        """Decide ``action`` for the agent's call and store its effect, atomically.

        ``transfers`` overrides the stored count with the live call model's (the model
        sees transfers made in the softphone too); ``complete`` holds the contactmoment's
        fields when an outcome is registered.
        """
        async with self.pool.acquire() as conn, conn.transaction():
            current = await self._load(conn, call_id, agent, lock=True)
            state = current.state
            if transfers is not None:
                state = replace(state, transfers=transfers)
            decision, after = apply(current.script, state, action)
            if not decision.allowed:
                await conn.execute(
                    """INSERT INTO rule_refusals (call_id, agent_login, action, code)
                       VALUES ($1, $2, $3, $4)""", call_id, agent, action.kind, decision.code)
                return decision, current
            if action.kind in ("answer", "verify", "transfer"):
                handover = ([{"note": action.note, "reason": action.reason}]
                            if action.kind == "transfer" else [])
                await conn.execute(
                    """UPDATE call_scripts SET answers = $2::jsonb, verify = $3,
                           facts_checked = $4, transfers = $5,
                           klant_ref = CASE WHEN $6 = '' THEN klant_ref ELSE $6 END,
                           handovers = handovers || $7::jsonb, updated_at = now()
                       WHERE call_id = $1""",
                    call_id, json.dumps(dict(after.answers)), after.verify,
                    list(after.facts_checked), after.transfers,
                    klant_ref if action.kind == "verify" else "", json.dumps(handover))
            if action.kind == "outcome":
                outcome = current.script.outcome_by_code[action.outcome]
                extra = complete or {}
                await conn.execute(
                    """UPDATE call_contactmomenten SET status = 'voltooid', outcome = $2,
                           resolved = $3, outcome_detail = $4::jsonb, answers = $5::jsonb,
                           notes = $6, completed_by = $7, klant_ref = $8, zaak = $9,
                           completed_at = now()
                       WHERE call_id = $1""",
                    call_id, outcome.code, outcome.resolved,
                    json.dumps(extra.get("detail") or {}), json.dumps(dict(after.answers)),
                    extra.get("notes", ""), extra.get("by", agent),
                    extra.get("klant_ref") or current.klant_ref, extra.get("zaak", ""))
                if extra.get("outbox"):
                    # Same transaction: a completed contact is always on its way to Open Klant.
                    await enqueue(conn, call_id=call_id, agent=agent, payload=extra["outbox"])
            return decision, await self._load(conn, call_id, agent)

    async def open_after_hangup(self, agent: str) -> list[str]:
        """The agent's last ended call, when its contactmoment is not registered: the call
        the nawerk is for. (Older ones became 'onvolledig' when the agent moved on.)"""
        row = await self.pool.fetchrow(
            """SELECT call_id, status FROM call_contactmomenten WHERE agent_login = $1
               AND hung_up_at IS NOT NULL ORDER BY hung_up_at DESC LIMIT 1""", agent)
        return [row["call_id"]] if row is not None and row["status"] == "open" else []

    async def mark_incomplete(self, agent: str, name: str) -> list[str]:
        """Nawerk forced to end: the agent's unregistered contactmomenten of ended calls
        become 'onvolledig' with the agent's name."""
        rows = await self.pool.fetch(
            """UPDATE call_contactmomenten SET status = 'onvolledig', completed_by = $2,
                   completed_at = now()
               WHERE agent_login = $1 AND status = 'open' AND hung_up_at IS NOT NULL
               RETURNING call_id""", agent, name)
        return [r["call_id"] for r in rows]

    async def refusal(self, call_id: str, agent: str, action: str, code: str) -> None:
        await self.pool.execute(
            "INSERT INTO rule_refusals (call_id, agent_login, action, code) "
            "VALUES ($1, $2, $3, $4)", call_id, agent, action, code)

    async def listing(self, *, since: Any, until: Any, status: str | None,
                      agent: str | None, limit: int) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            """SELECT call_id, agent_login, kanaal, status, subject, queue, municipality,
                      klant_ref, zaak, outcome, resolved, outcome_detail, answers, notes,
                      completed_by, created_at, hung_up_at, completed_at
               FROM call_contactmomenten
               WHERE created_at >= $1 AND created_at < $2
                 AND ($3::text IS NULL OR status = $3)
                 AND ($4::text IS NULL OR agent_login = $4)
               ORDER BY created_at DESC LIMIT $5""", since, until, status, agent, limit)
        out = []
        for r in rows:
            item = dict(r)
            item["outcome_detail"] = json.loads(r["outcome_detail"])
            item["answers"] = json.loads(r["answers"])
            for key in ("created_at", "hung_up_at", "completed_at"):
                item[key] = r[key].isoformat() if r[key] else None
            out.append(item)
        return out
