"""The rules a call script imposes, decided without I/O so every route can ask cheaply.

``decide(script, state, action)`` answers allow or refuse (a machine code plus a Dutch
sentence naming what is missing); ``apply`` returns the next state, which for a refused
action is the same state (a refusal changes nothing). The HTTP routes load the state from
PostgreSQL, ask here, and only then act: the panel greys out buttons with the same
answers, but the server is what enforces them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal

from telephony.scripting.model import AnswerError, Script, check_answer

ActionKind = Literal["view_details", "answer", "verify", "transfer", "outcome",
                     "end_nawerk", "terugbelnotitie"]
ACTION_KINDS: tuple[str, ...] = ("view_details", "answer", "verify", "transfer", "outcome",
                                 "end_nawerk", "terugbelnotitie")
_EMPTY: MappingProxyType[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class CallState:
    """What the rules need to know about one call (stored in ``call_scripts``)."""

    answers: MappingProxyType[str, str] = field(default_factory=lambda: _EMPTY)
    verify: Literal["", "passed", "failed"] = ""
    facts_checked: tuple[str, ...] = ()
    transfers: int = 0
    max_transfers: int = 1
    outcome: str = ""
    ended: bool = False  # the citizen hung up (nawerk)

    @property
    def verified(self) -> bool:
        return self.verify == "passed"


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    step: str = ""
    value: Any = None
    facts: MappingProxyType[str, bool] = field(default_factory=lambda: MappingProxyType({}))
    note: str = ""
    reason: str = ""
    outcome: str = ""
    detail: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Decision:
    allowed: bool
    code: str = ""
    message: str = ""
    value: str = ""  # for an allowed answer: the normalised value

    @staticmethod
    def refuse(code: str, message: str) -> Decision:
        return Decision(False, code, message)


ALLOW = Decision(True)
AFSPRAAK_FIELDS = ("datum", "tijd", "plaats")


def missing_steps(script: Script, state: CallState) -> list[str]:
    """Step ids on this call's path that must be done before an outcome is registered."""
    out = []
    for step in script.path(dict(state.answers)):
        if step.kind == "ask" and step.required and step.id not in state.answers:
            out.append(step.id)
        elif step.kind == "verify" and not state.verify:
            out.append(step.id)
    return out


def decide(script: Script, state: CallState, action: Action) -> Decision:
    kind = action.kind
    if kind in script.forbidden:
        return Decision.refuse("forbidden", f"Dit script ({script.script.title}) staat "
                                            f"'{kind}' niet toe voor dit onderwerp.")
    if kind == "view_details":
        if script.verify_step is not None and not state.verified:
            return Decision.refuse("verify_required", "Eerst de identiteit verifiëren "
                                   "(stap '" + script.verify_step.id + "') voordat "
                                   "persoonsgegevens, zaken of contacthistorie getoond worden.")
        if script.verify_step is None:
            return Decision.refuse("verify_required", "Dit script heeft geen "
                                   "verificatiestap: persoonsgegevens blijven verborgen.")
        return ALLOW
    if state.outcome and kind in ("answer", "verify", "outcome", "transfer",
                                  "terugbelnotitie"):
        return Decision.refuse("already_registered", "De uitkomst van dit gesprek is al "
                               "geregistreerd.")
    if kind == "answer":
        step = script.by_id.get(action.step)
        if step is None or step.kind != "ask":
            return Decision.refuse("unknown_step", "Deze vraag staat niet in het script.")
        try:
            value = check_answer(step, action.value)
        except AnswerError as exc:
            return Decision.refuse("bad_answer", f"Antwoord op '{step.id}': {exc}.")
        return Decision(True, value=value)
    if kind == "verify":
        step = script.verify_step
        if step is None:
            return Decision.refuse("unknown_step", "Dit script heeft geen verificatiestap.")
        if state.verify == "passed":
            return Decision.refuse("already_verified", "De identiteit is al geverifieerd.")
        missing = [f for f in step.facts if f not in action.facts]
        if missing:
            return Decision.refuse("facts_missing", "Nog niet gecontroleerd: "
                                   + ", ".join(missing) + ".")
        return ALLOW
    if kind == "transfer":
        missing_parts = [name for name, value in (("een overdrachtsnotitie", action.note),
                                                  ("een reden", action.reason))
                         if not value.strip()]
        if missing_parts:
            return Decision.refuse("handover_required", "Doorverbinden kan alleen met "
                                   + " en ".join(missing_parts) + ".")
        if state.ended:
            return Decision.refuse("call_ended", "De burger heeft al opgehangen.")
        if state.transfers >= state.max_transfers:
            return Decision.refuse("transfer_limit", f"Deze burger is al {state.transfers}x "
                                   f"doorverbonden (maximum {state.max_transfers}): beantwoord "
                                   "de vraag zelf of boek een terugbelverzoek.")
        return ALLOW
    if kind == "outcome":
        outcome = script.outcome_by_code.get(action.outcome)
        if outcome is None:
            return Decision.refuse("unknown_outcome", "Kies een uitkomst uit de lijst: "
                                   + ", ".join(o.label for o in script.outcomes) + ".")
        if outcome.code in script.forbidden:
            return Decision.refuse("forbidden", f"De uitkomst '{outcome.label}' is niet "
                                                "toegestaan voor dit onderwerp.")
        if outcome.follow_up == "terugbelnotitie" and "terugbelnotitie" in script.forbidden:
            return Decision.refuse("forbidden", "Terugbelverzoeken zijn niet toegestaan "
                                                "voor dit onderwerp.")
        missing = missing_steps(script, state)
        if missing:
            return Decision.refuse("steps_missing", "Eerst het script afmaken; nog open: "
                                   + ", ".join(missing) + ".")
        if outcome.follow_up == "afspraak":
            absent = [f for f in AFSPRAAK_FIELDS if not str(action.detail.get(f, "")).strip()]
            if absent:
                return Decision.refuse("afspraak_incomplete", "Een afspraak heeft nog nodig: "
                                       + ", ".join(absent) + ".")
        if outcome.follow_up == "transfer" and state.transfers == 0:
            return Decision.refuse("no_transfer", "Er is in dit gesprek niet doorverbonden.")
        return ALLOW
    if kind == "terugbelnotitie":
        return ALLOW
    if kind == "end_nawerk":
        if not state.outcome:
            return Decision.refuse("outcome_required", "Registreer eerst de uitkomst van het "
                                   "gesprek voordat u het nawerk beëindigt.")
        return ALLOW
    return Decision.refuse("unknown_action", "Onbekende actie.")


def apply(script: Script, state: CallState, action: Action) -> tuple[Decision, CallState]:
    """Decide, then the state after the action (unchanged when refused)."""
    decision = decide(script, state, action)
    if not decision.allowed:
        return decision, state
    if action.kind == "answer":
        answers = MappingProxyType({**state.answers, action.step: decision.value})
        return decision, replace(state, answers=answers)
    if action.kind == "verify":
        step = script.verify_step
        assert step is not None
        passed = all(action.facts.get(f) is True for f in step.facts)
        return decision, replace(state, verify="passed" if passed else "failed",
                                 facts_checked=tuple(step.facts))
    if action.kind == "transfer":
        return decision, replace(state, transfers=state.transfers + 1)
    if action.kind == "outcome":
        return decision, replace(state, outcome=action.outcome)
    return decision, state
