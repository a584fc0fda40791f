"""The call-script feature inside one service instance.

It starts a call's script and contactmoment when an agent answers, notes when the citizen
hung up, and offers the checks the other features' routes make (transfer, end of nawerk,
identity verification) so the rules live in one place. Outcome follow-ups are done here:
a terugbelverzoek files the terugbelnotitie with its deadline, an afspraak keeps date,
time and place, doorverbonden links the transfer; the completed contact is also written to
the zaak source, which is where contact history and the reports read it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from telephony.acd.agents_repo import AgentError
from telephony.callbacks.notes import NotesStore, promise_text, promised_deadline
from telephony.events import CallAnswered, CallEnded, DomainEvent
from telephony.scripting.model import Script
from telephony.scripting.outbox import OutboxWorker
from telephony.scripting.rules import Action, CallState, Decision, decide
from telephony.scripting.store import CallScript, CallScripts, NoScriptState, ScriptStore
from telephony.zaken.schemas import NewContactmoment

if TYPE_CHECKING:
    from telephony.service import KccService

log = logging.getLogger(__name__)
SCRIPTS_FOLDER = Path(__file__).resolve().parents[2] / "config" / "scripts"


class Refused(Exception):
    """A rule refused an action: 409 with ``code`` and a Dutch ``message``."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.message)
        self.code = decision.code
        self.message = decision.message


class Scripting:
    def __init__(self, service: KccService) -> None:
        self.service = service
        self.store: ScriptStore = None  # type: ignore[assignment]  # pool arrives in start()
        self.calls: CallScripts = None  # type: ignore[assignment]
        self.outbox: OutboxWorker | None = None  # with Open Klant (the ZGW source) only

    async def start(self, seed_folder: Path | None = SCRIPTS_FOLDER) -> None:
        pool = self.service.pool
        self.store = ScriptStore(pool)
        self.calls = CallScripts(pool, self.store, self.service.config.kcc.max_transfers)
        if seed_folder is not None:
            await self.store.seed(seed_folder)  # a missing folder seeds nothing
        source = self.service.zaak_source
        if hasattr(source, "klantcontact") and getattr(source, "openklant", None):
            metrics = self.service.metrics

            async def send_contact(contact: NewContactmoment, agent: str, gelukt: bool) -> str:
                return str(await source.klantcontact(contact, agent=agent, gelukt=gelukt))

            async def send_task(contact_uuid: str, toelichting: str) -> str:
                return str(await source.openklant.internetaak(contact_uuid=contact_uuid,
                                                              toelichting=toelichting))

            def delivered(delay: float) -> None:
                metrics.outbox_delivered.inc()
                metrics.outbox_delay.observe(delay)

            self.outbox = OutboxWorker(pool, send_contact, send_task, on_delivered=delivered,
                                       on_failure=metrics.outbox_failures.inc)
            self.outbox.start()

    async def stop(self) -> None:
        if self.outbox is not None:
            await self.outbox.stop()

    # -- bus -------------------------------------------------------------------------
    async def on_event(self, event: DomainEvent) -> None:
        if isinstance(event, CallAnswered) and event.agent:
            call = self.service.model.calls.get(event.linkedid)
            await self.start_call(
                call_id=event.linkedid, agent=event.agent,
                subject=(call.subject if call else "") or event.queue,
                municipality=call.municipality if call else "",
                queue=event.queue or (call.queue if call else ""))
        elif isinstance(event, CallEnded):
            await self.calls.hung_up(event.linkedid)
            try:
                await self.push(await self.calls.get(event.linkedid, None))
            except NoScriptState:
                pass  # never answered: no script

    def view(self, current: CallScript, login: str) -> dict[str, Any]:
        """The panel's view of a call's script, placeholders filled from the call."""
        from telephony.scripting.view import script_view

        cfg = self.service.config
        values = {"medewerker": login,
                  "terugbeltermijn": f"binnen {cfg.kcc.callback_promise_working_days} "
                                     "werkdagen"}
        call = self.service.model.calls.get(current.call_id)
        if call is not None:
            values["zaaknummer"] = call.zaaknummer
            names = {m.id: m.name for m in cfg.municipalities}
            values["gemeente"] = names.get(call.municipality, call.municipality)
        return script_view(current, values)

    async def push(self, current: CallScript) -> None:
        """The new script view to the agent's panel (after answer and every change)."""
        await self.service.hub.send_to_agent(current.agent, {
            "type": "call.script", "linkedid": current.call_id,
            "script": self.view(current, current.agent)})

    async def start_call(self, *, call_id: str, agent: str, subject: str, municipality: str,
                         queue: str, kanaal: str = "telefoon") -> None:
        """An agent answered (a queue call, or a call-back): its script and contactmoment."""
        # The agent took a new call: what they left unregistered is 'onvolledig'.
        await self.nawerk_forced(agent)
        await self.calls.start(call_id=call_id, agent=agent, subject=subject,
                               municipality=municipality, queue=queue, kanaal=kanaal)
        await self.push(await self.calls.get(call_id, agent))

    # -- counting --------------------------------------------------------------------
    def counted(self, action: str, decision: Decision) -> Decision:
        if not decision.allowed:
            self.service.metrics.rule_refusals.labels(action, decision.code).inc()
        return decision

    async def refuse(self, call_id: str, agent: str, action: str,
                     decision: Decision) -> Refused:
        """Count and store a refusal decided outside ``CallScripts.act``."""
        self.counted(action, decision)
        await self.calls.refusal(call_id, agent, action, decision.code)
        return Refused(decision)

    async def act(self, call_id: str, agent: str, action: Action, **kwargs: Any) -> CallScript:
        decision, after = await self.calls.act(call_id, agent, action, **kwargs)
        if not self.counted(action.kind, decision).allowed:
            raise Refused(decision)
        return after

    # -- checks for other features' routes ------------------------------------------
    async def check_transfer(self, linkedid: str, login: str, note: object, reason: object,
                             ) -> None:
        """Before a transfer: a handover note and a reason, and what the script allows.
        Raises AgentError (409) so the ACD's error handling answers it."""
        note_s = note.strip()[:2000] if isinstance(note, str) else ""
        reason_s = reason.strip()[:200] if isinstance(reason, str) else ""
        call = self.service.model.calls.get(linkedid)
        transfers = call.transfer_count if call else 0
        action = Action("transfer", note=note_s, reason=reason_s)
        try:
            await self.act(linkedid, login, action, transfers=transfers)
        except NoScriptState:
            # Not this agent's answered call (a supervisor's transfer): the note and
            # reason are still required.
            decision = decide_without_script(action, CallState(
                transfers=transfers, max_transfers=self.service.config.kcc.max_transfers))
            if not decision.allowed:
                raise AgentError(decision.code, decision.message) from None
        except Refused as exc:
            raise AgentError(exc.code, exc.message) from None

    async def check_end_nawerk(self, login: str) -> None:
        """The agent may end nawerk only when every call they left has an outcome."""
        open_calls = await self.calls.open_after_hangup(login)
        if open_calls:
            decision = Decision.refuse("outcome_required", "Registreer eerst de uitkomst van "
                                       "het gesprek voordat u het nawerk beëindigt.")
            await self.refuse(open_calls[0], login, "end_nawerk", decision)
            raise AgentError(decision.code, decision.message)

    async def nawerk_forced(self, login: str) -> list[str]:
        """Nawerk ended without the agent (timer, supervisor, logout): 'onvolledig'."""
        record = await self.service.agents_repo.get(login)
        name = (record.name if record else "") or login
        marked = await self.calls.mark_incomplete(login, name)
        if marked:
            log.info("contactmomenten left onvolledig", extra={"agent": login,
                                                                "calls": len(marked)})
        return marked

    async def verify_gate(self, call_id: str, login: str, klant_ref: str) -> str | None:
        """For the zaken route's bare 'verified': None when the script's verify step
        passed for this klant, else the Dutch reason."""
        try:
            current = await self.calls.get(call_id, login)
        except NoScriptState:
            return "Verifieer de identiteit met de verificatiestap van het gespreksscript."
        decision = self.counted("view_details", decide(current.script, current.state,
                                                       Action("view_details")))
        if not decision.allowed:
            await self.calls.refusal(call_id, login, "view_details", decision.code)
            return decision.message
        if current.klant_ref and current.klant_ref != klant_ref:
            return "De geverifieerde klant is een andere dan deze."
        return None

    async def refused_for_call(self, call_id: str, login: str, action: str,
                               ) -> Decision | None:
        """For other features' actions on a call (e.g. a terugbelnotitie): the refusal
        when the call's script forbids it, else None (also for calls without a script)."""
        if not call_id:
            return None
        try:
            current = await self.calls.get(call_id, login)
        except NoScriptState:
            return None
        decision = decide(current.script, current.state, Action(action))  # type: ignore[arg-type]
        if decision.allowed:
            return None
        await self.refuse(call_id, login, action, decision)
        return decision

    async def owns(self, call_id: str, login: str) -> bool:
        try:
            await self.calls.get(call_id, login)
        except NoScriptState:
            return False
        return True

    # -- outcome with follow-ups -----------------------------------------------------
    async def register_outcome(self, call_id: str, agent: dict[str, str], *, outcome: str,
                               notes: str, detail: dict[str, str], klant_ref: str,
                               zaak: str) -> CallScript:
        login = agent["login"]
        current = await self.calls.get(call_id, login)
        action = Action("outcome", outcome=outcome, detail=MappingProxyType(detail))
        decision = decide(current.script, current.state, action)
        if not decision.allowed:
            raise await self.refuse(call_id, login, "outcome", decision)
        chosen = current.script.outcome_by_code[outcome]
        extra: dict[str, Any] = {k: v for k, v in detail.items()
                                 if k in ("datum", "tijd", "plaats", "team", "vraag")}
        if chosen.follow_up == "terugbelnotitie":
            extra.update(await self._terugbelnotitie(call_id, login, current, notes, detail))
        if chosen.follow_up == "transfer":
            handovers = await self.service.pool.fetchval(
                "SELECT handovers FROM call_scripts WHERE call_id = $1", call_id)
            extra["transfer"] = handovers
        record = await self.service.agents_repo.get(login)
        contact = NewContactmoment(
            call_id=call_id, klant_ref=klant_ref or current.klant_ref or None,
            zaak_identificatie=zaak or None, onderwerp=current.script.script.title[:200],
            tekst=_inhoud(chosen.label, notes, extra)[:10000], uitkomst=chosen.code)
        complete: dict[str, Any] = {
            "detail": extra, "notes": notes, "by": (record.name if record else "") or login,
            "klant_ref": klant_ref, "zaak": zaak}
        if self.outbox is not None:
            complete["outbox"] = {
                "contact": contact.model_dump(mode="json"), "gelukt": chosen.gelukt,
                "internetaak": ({"toelichting": (detail.get("vraag") or notes)[:1000]}
                                if chosen.follow_up == "terugbelnotitie" else None)}
        after = await self.act(call_id, login, action, complete=complete)
        if self.outbox is not None:
            self.outbox.wake.set()
            await self._log_contact(agent, contact, call_id, zaak)
        else:
            await self._to_source(agent, contact, call_id, zaak)
        return after

    async def _terugbelnotitie(self, call_id: str, login: str, current: CallScript,
                               notes: str, detail: dict[str, str]) -> dict[str, Any]:
        service = self.service
        cfg = service.config
        call = service.model.calls.get(call_id)
        if call is not None:
            record: dict[str, Any] = call.to_record()
        else:
            record = (await service.calls.get(call_id) if service.calls else None) or {}
        number = str(record.get("caller_number") or "")
        now = datetime.now(UTC)
        days = cfg.kcc.callback_promise_working_days
        deadline = promised_deadline(cfg.hours, cfg.kcc.timezone, now, days)
        team = detail.get("team") or str(current.contact.get("queue") or "") or "algemeen"
        note = await NotesStore(service.pool).create(
            onderwerp=current.script.script.title, vraag=detail.get("vraag") or notes or "-",
            number=number, deadline=deadline, team=team, person="", by=login,
            call_id=call_id)
        return {"terugbelnotitie": note["id"], "deadline": note["deadline"],
                "promise": promise_text(deadline, days, cfg.kcc.timezone)}

    async def _to_source(self, agent: dict[str, str], contact: NewContactmoment,
                         call_id: str, zaak: str) -> None:
        """The built-in store: contact history and the reports read its contactmomenten
        (a local write; Open Klant goes through the outbox instead)."""
        try:
            await self.service.zaak_source.register_contact(contact, agent=agent["login"])
            await self._log_contact(agent, contact, call_id, zaak)
        except Exception:
            log.warning("contactmoment not written to the zaak source",
                        extra={"linkedid": call_id}, exc_info=True)

    async def _log_contact(self, agent: dict[str, str], contact: NewContactmoment,
                           call_id: str, zaak: str) -> None:
        service = self.service
        assert service.popper is not None
        await service.popper.log.record(
            actor=agent["login"], actor_role=agent["role"], action="contact_registered",
            purpose=service.config.zaken.purpose, call_id=call_id,
            klant_ref=contact.klant_ref or "", zaken=[zaak] if zaak else [],
            source=service.zaak_source.name)


def _inhoud(label: str, notes: str, extra: dict[str, Any]) -> str:
    """The klantcontact's inhoud: the outcome in words, the notes, an afspraak's when and
    where, a call-back's promised term."""
    parts = [f"Uitkomst: {label}."]
    if extra.get("datum"):
        parts.append(f"Afspraak {extra.get('datum')} {extra.get('tijd', '')} "
                     f"{extra.get('plaats', '')}".strip() + ".")
    if extra.get("promise"):
        parts.append(str(extra["promise"]))
    if notes:
        parts.append(notes)
    return " ".join(parts)


_BARE = Script.model_validate({"script": {"subject": "default", "title": "geen script"},
                               "steps": [{"id": "uitkomst", "kind": "outcome"}]})


def decide_without_script(action: Action, state: CallState) -> Decision:
    """The script-independent part of the rules (transfer note, reason, limit)."""
    return decide(_BARE, state, action)
