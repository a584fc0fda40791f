"""A call script as data: steps of a few kinds, typed answers, outcomes with follow-ups.

Scripts are written by a KCC's supervisors in TOML (``toml_io``) and stored versioned in
PostgreSQL (``store``); this module only says what a valid script is and what a valid
answer to a step is. Everything an agent types is checked here before it is stored,
because a script answer travels on to Open Klant and into reports.
"""

from __future__ import annotations

import math
import re
import string
from datetime import date
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from telephony.zaken.schemas import ZAAKNUMMER

StepKind = Literal["say", "ask", "verify", "knowledge", "branch", "outcome"]
AnswerType = Literal["choice", "yesno", "text", "date", "number", "zaaknummer",
                     "postcode_huisnummer"]
FollowUp = Literal["none", "terugbelnotitie", "afspraak", "transfer"]
# Facts an agent can check with the citizen (the IVR's PIN / zaaknummer included).
FACTS = ("geboortedatum", "postcode_huisnummer", "ivr_pin", "zaaknummer", "naam", "adres")
# Placeholders a say step may use: all come from the pop or the KCC's promise.
PLACEHOLDERS = ("naam", "zaaknummer", "terugbeltermijn", "gemeente", "medewerker")
# Actions a script may forbid for its subject (outcome codes may be forbidden too).
FORBIDDABLE = ("transfer", "terugbelnotitie", "view_details")
STEP_ID = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
SUBJECT = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
POSTCODE_HUISNUMMER = re.compile(r"^([1-9][0-9]{3})\s?([A-Za-z]{2})\s*[- ]?\s*([1-9][0-9]{0,4})"
                                 r"\s*([A-Za-z0-9-]{0,6})$")
MAX_TEXT_ANSWER = 2000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Outcome(_Strict):
    """How a call ended. ``resolved`` feeds first-contact resolution."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$")
    label: str = Field(min_length=1, max_length=80)
    resolved: bool = False
    follow_up: FollowUp = "none"
    gelukt: bool = True  # Open Klant's indicatieContactGelukt


DEFAULT_OUTCOMES: tuple[Outcome, ...] = (
    Outcome(code="beantwoord", label="Beantwoord", resolved=True),
    Outcome(code="terugbelverzoek", label="Terugbelverzoek", follow_up="terugbelnotitie"),
    Outcome(code="afspraak", label="Afspraak gemaakt", resolved=True, follow_up="afspraak"),
    Outcome(code="doorverbonden", label="Doorverbonden", follow_up="transfer"),
    Outcome(code="zaak-aangemaakt", label="Zaak aangemaakt", resolved=True),
    Outcome(code="doorverwezen", label="Doorverwezen naar andere organisatie", resolved=True),
    Outcome(code="geen-antwoord", label="Geen antwoord mogelijk", gelukt=False),
)


class When(_Strict):
    step: str = Field(pattern=STEP_ID.pattern)
    equals: str = Field(max_length=200)


class Step(_Strict):
    id: str = Field(pattern=STEP_ID.pattern)
    kind: StepKind
    text: str = Field(default="", max_length=4000)
    # ask
    answer: AnswerType | None = None
    choices: tuple[str, ...] = ()
    required: bool = True
    # verify
    facts: tuple[str, ...] = ()
    # knowledge
    url: str = Field(default="", max_length=500)
    # branch
    when: When | None = None
    goto: str = ""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("url must start with https:// or http://")
        return value

    @field_validator("facts")
    @classmethod
    def _facts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [f for f in value if f not in FACTS]
        if unknown:
            raise ValueError(f"unknown fact {unknown[0]!r}; one of {', '.join(FACTS)}")
        return value

    @field_validator("text")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        try:
            names = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
        except ValueError as exc:
            raise ValueError(f"bad placeholder: {exc}") from None
        unknown = [n for n in names if n not in PLACEHOLDERS]
        if unknown:
            raise ValueError(f"unknown placeholder {{{unknown[0]}}}; one of "
                             + ", ".join("{" + p + "}" for p in PLACEHOLDERS))
        return value

    @model_validator(mode="after")
    def _kind_fields(self) -> Step:
        if self.kind == "ask":
            if self.answer is None:
                raise ValueError("an ask step needs answer = one of choice, yesno, text, "
                                 "date, number, zaaknummer, postcode_huisnummer")
            if self.answer == "choice" and len(self.choices) < 2:
                raise ValueError("a choice question needs at least two choices")
        elif self.answer is not None or self.choices:
            raise ValueError("answer/choices belong to ask steps only")
        if self.kind == "verify" and not self.facts:
            raise ValueError("a verify step needs facts (e.g. [\"geboortedatum\"])")
        if self.kind != "verify" and self.facts:
            raise ValueError("facts belong to verify steps only")
        if self.kind == "branch" and (self.when is None or not self.goto):
            raise ValueError("a branch step needs when = {step, equals} and goto")
        if self.kind != "branch" and (self.when is not None or self.goto):
            raise ValueError("when/goto belong to branch steps only")
        if self.kind in ("say", "ask", "knowledge") and not self.text:
            raise ValueError(f"a {self.kind} step needs text")
        return self

    def render(self, values: dict[str, str]) -> str:
        """The text with placeholders filled (missing ones left as '…')."""
        return self.text.format_map({p: values.get(p) or "…" for p in PLACEHOLDERS})


class ScriptHeader(_Strict):
    subject: str = Field(pattern=SUBJECT.pattern)  # "default" for the fallback script
    municipality: str = Field(default="", pattern=r"^[a-z0-9_-]{0,40}$")  # "" = all
    title: str = Field(min_length=1, max_length=120)
    forbid: tuple[str, ...] = ()


class Script(_Strict):
    script: ScriptHeader
    steps: tuple[Step, ...] = Field(min_length=1, max_length=100)
    outcomes: tuple[Outcome, ...] = DEFAULT_OUTCOMES

    @model_validator(mode="after")
    def _references(self) -> Script:
        ids = [s.id for s in self.steps]
        seen: set[str] = set()
        for position, step in enumerate(self.steps):
            if step.id in seen:
                raise ValueError(f"steps[{position}]: duplicate step id {step.id!r}")
            seen.add(step.id)
            if step.kind == "branch":
                assert step.when is not None
                if step.when.step not in seen:
                    raise ValueError(f"steps[{position}]: branch on {step.when.step!r}, "
                                     "which is not an earlier step")
                if step.goto not in ids or ids.index(step.goto) <= position:
                    raise ValueError(f"steps[{position}]: goto {step.goto!r} must be a later "
                                     "step (scripts only go forward)")
        codes = [o.code for o in self.outcomes]
        if len(set(codes)) != len(codes):
            raise ValueError("outcomes: duplicate code")
        for name in self.script.forbid:
            if name not in FORBIDDABLE and name not in codes:
                raise ValueError(f"script.forbid: {name!r} is neither an action "
                                 f"({', '.join(FORBIDDABLE)}) nor an outcome code")
        if sum(1 for s in self.steps if s.kind == "verify") > 1:
            raise ValueError("a script has at most one verify step")
        return self

    @cached_property
    def by_id(self) -> dict[str, Step]:
        return {s.id: s for s in self.steps}

    @cached_property
    def outcome_by_code(self) -> dict[str, Outcome]:
        return {o.code: o for o in self.outcomes}

    @cached_property
    def verify_step(self) -> Step | None:
        return next((s for s in self.steps if s.kind == "verify"), None)

    @cached_property
    def forbidden(self) -> frozenset[str]:
        return frozenset(self.script.forbid)

    def path(self, answers: dict[str, Any]) -> list[Step]:
        """The steps this call walks, given its answers: branches jump forward, an outcome
        step ends the walk."""
        out: list[Step] = []
        index = 0
        ids = [s.id for s in self.steps]
        while index < len(self.steps):
            step = self.steps[index]
            out.append(step)
            if step.kind == "outcome":
                break
            if step.kind == "branch":
                assert step.when is not None
                if str(answers.get(step.when.step, "")) == step.when.equals:
                    index = ids.index(step.goto)
                    continue
            index += 1
        return out


class AnswerError(ValueError):
    """An answer that does not fit its step; the message is Dutch, for the agent."""


def check_answer(step: Step, value: Any) -> str:
    """The answer to ``step`` normalised to a string, or AnswerError."""
    if step.kind != "ask" or step.answer is None:
        raise AnswerError(f"stap {step.id} is geen vraag")
    kind = step.answer
    if isinstance(value, bool):
        if kind != "yesno":
            raise AnswerError("verwacht geen ja/nee")
        return "ja" if value else "nee"
    if isinstance(value, int | float) and kind == "number":
        if not math.isfinite(value):
            raise AnswerError("geen geldig getal")
        return str(value)
    if not isinstance(value, str):
        raise AnswerError("het antwoord moet tekst zijn")
    text = value.strip()
    if not text:
        raise AnswerError("het antwoord is leeg")
    if kind == "choice":
        if text not in step.choices:
            raise AnswerError("kies een van: " + ", ".join(step.choices))
        return text
    if kind == "yesno":
        lowered = text.lower()
        if lowered not in ("ja", "nee"):
            raise AnswerError("antwoord ja of nee")
        return lowered
    if kind == "text":
        if len(text) > MAX_TEXT_ANSWER:
            raise AnswerError(f"hooguit {MAX_TEXT_ANSWER} tekens")
        return text
    if kind == "date":
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise AnswerError("datum als JJJJ-MM-DD") from None
    if kind == "number":
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            raise AnswerError("geen geldig getal") from None
        if not math.isfinite(number) or len(text) > 30:
            raise AnswerError("geen geldig getal")
        return text.replace(",", ".")
    if kind == "zaaknummer":
        if not ZAAKNUMMER.match(text):
            raise AnswerError("geen geldig zaaknummer")
        return text
    match = POSTCODE_HUISNUMMER.match(text)
    if match is None:
        raise AnswerError("postcode en huisnummer, bijvoorbeeld 2801 AB 12")
    suffix = f" {match.group(4).upper()}" if match.group(4) else ""
    return f"{match.group(1)}{match.group(2).upper()} {match.group(3)}{suffix}"
