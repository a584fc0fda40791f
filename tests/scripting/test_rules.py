"""The rules engine: table-driven cases and properties over random action sequences."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telephony.scripting.rules import Action, CallState, apply, decide, missing_steps
from telephony.scripting.toml_io import parse_script

SCRIPTS = Path(__file__).resolve().parents[2] / "config" / "scripts"
AFVAL = parse_script((SCRIPTS / "afval.toml").read_text(), "afval.toml")
DEFAULT = parse_script((SCRIPTS / "default.toml").read_text(), "default.toml")
BOTH = MappingProxyType({"postcode_huisnummer": True, "geboortedatum": True})


def _answered(**answers: str) -> CallState:
    return CallState(answers=MappingProxyType(answers))


DONE = CallState(answers=MappingProxyType({"soort": "grofvuil", "adres": "2801AB 12"}),
                 verify="passed")

CASES = [
    # (name, state, action, allowed, code)
    ("details before verify", CallState(), Action("view_details"), False, "verify_required"),
    ("details after failed verify", CallState(verify="failed"), Action("view_details"),
     False, "verify_required"),
    ("details after verify", CallState(verify="passed"), Action("view_details"), True, ""),
    ("verify with one fact unchecked", CallState(),
     Action("verify", facts=MappingProxyType({"geboortedatum": True})), False,
     "facts_missing"),
    ("verify with both facts", CallState(), Action("verify", facts=BOTH), True, ""),
    ("verify twice", CallState(verify="passed"), Action("verify", facts=BOTH), False,
     "already_verified"),
    ("answer a wrong choice", CallState(), Action("answer", step="soort", value="glas"),
     False, "bad_answer"),
    ("answer a choice", CallState(), Action("answer", step="soort", value="grofvuil"),
     True, ""),
    ("answer a say step", CallState(), Action("answer", step="groet", value="x"), False,
     "unknown_step"),
    ("answer a bad postcode", CallState(), Action("answer", step="adres", value="1234"),
     False, "bad_answer"),
    ("transfer without note", CallState(), Action("transfer", reason="specialist"), False,
     "handover_required"),
    ("transfer without reason", CallState(), Action("transfer", note="zie zaak"), False,
     "handover_required"),
    ("transfer with both", CallState(), Action("transfer", note="zie zaak", reason="x"),
     True, ""),
    ("transfer past the limit", CallState(transfers=1),
     Action("transfer", note="n", reason="r"), False, "transfer_limit"),
    ("transfer after hangup", CallState(ended=True),
     Action("transfer", note="n", reason="r"), False, "call_ended"),
    ("outcome before the script is done", CallState(),
     Action("outcome", outcome="beantwoord"), False, "steps_missing"),
    ("outcome on the grofvuil branch", DONE, Action("outcome", outcome="beantwoord"),
     True, ""),
    ("container branch still open", CallState(
        answers=MappingProxyType({"soort": "container", "adres": "2801AB 12"}),
        verify="passed"), Action("outcome", outcome="beantwoord"), False, "steps_missing"),
    ("unknown outcome", DONE, Action("outcome", outcome="weg"), False, "unknown_outcome"),
    ("forbidden outcome", DONE, Action("outcome", outcome="doorverwezen"), False,
     "forbidden"),
    ("afspraak without place", DONE, Action("outcome", outcome="afspraak", detail=(
        MappingProxyType({"datum": "2026-12-03", "tijd": "10:00"}))), False,
     "afspraak_incomplete"),
    ("afspraak complete", DONE, Action("outcome", outcome="afspraak", detail=(
        MappingProxyType({"datum": "2026-12-03", "tijd": "10:00", "plaats": "stadhuis"}))),
     True, ""),
    ("doorverbonden without a transfer", DONE, Action("outcome", outcome="doorverbonden"),
     False, "no_transfer"),
    ("a second outcome", CallState(outcome="beantwoord"),
     Action("outcome", outcome="beantwoord"), False, "already_registered"),
    ("end nawerk without outcome", CallState(ended=True), Action("end_nawerk"), False,
     "outcome_required"),
    ("end nawerk with outcome", CallState(outcome="beantwoord"), Action("end_nawerk"),
     True, ""),
]


@pytest.mark.parametrize(("name", "state", "action", "allowed", "code"), CASES,
                         ids=[c[0] for c in CASES])
def test_rules_table(name: str, state: CallState, action: Action, allowed: bool,
                     code: str) -> None:
    decision = decide(AFVAL, state, action)
    assert decision.allowed is allowed, decision
    assert decision.code == code
    if not allowed:
        assert decision.message.endswith(".") and len(decision.message) > 20


def test_a_forbidden_action_is_refused() -> None:
    script = parse_script((SCRIPTS / "afval.toml").read_text().replace(
        'forbid = ["doorverwezen"]', 'forbid = ["transfer", "terugbelnotitie"]'))
    decision = decide(script, CallState(), Action("transfer", note="n", reason="r"))
    assert (decision.allowed, decision.code) == (False, "forbidden")
    decision = decide(script, CallState(), Action("terugbelnotitie"))
    assert (decision.allowed, decision.code) == (False, "forbidden")
    decision = decide(script, DONE, Action("outcome", outcome="terugbelverzoek"))
    assert (decision.allowed, decision.code) == (False, "forbidden")
    assert decide(AFVAL, CallState(), Action("terugbelnotitie")).allowed


def test_missing_steps_follow_the_branch() -> None:
    assert missing_steps(AFVAL, CallState()) == ["identiteit", "soort", "container-kapot",
                                                 "adres"]
    assert missing_steps(AFVAL, _answered(soort="grofvuil")) == ["identiteit", "adres"]


def test_answers_are_normalised() -> None:
    decision = decide(AFVAL, CallState(), Action("answer", step="adres", value="2801 ab 12a"))
    assert decision.value == "2801AB 12 A"
    decision = decide(AFVAL, CallState(), Action("answer", step="container-kapot",
                                                 value=True))
    assert decision.value == "ja"


# ---------------------------------------------------------------- properties
FACTS = st.dictionaries(st.sampled_from(["geboortedatum", "postcode_huisnummer", "naam"]),
                        st.booleans(), max_size=3).map(MappingProxyType)
ACTIONS = st.one_of(
    st.builds(Action, kind=st.just("view_details")),
    st.builds(Action, kind=st.just("verify"), facts=FACTS),
    st.builds(Action, kind=st.just("answer"),
              step=st.sampled_from(["soort", "container-kapot", "adres", "groet", "x"]),
              value=st.one_of(st.sampled_from(["grofvuil", "container", "ja", "nee",
                                               "2801AB 12", ""]), st.booleans(),
                              st.integers(), st.text(max_size=5))),
    st.builds(Action, kind=st.just("transfer"), note=st.sampled_from(["", "notitie"]),
              reason=st.sampled_from(["", "reden"])),
    st.builds(Action, kind=st.just("outcome"),
              outcome=st.sampled_from(["beantwoord", "afspraak", "doorverbonden",
                                       "terugbelverzoek", "doorverwezen", "x"]),
              detail=st.sampled_from([MappingProxyType({}), MappingProxyType(
                  {"datum": "2026-12-03", "tijd": "10:00", "plaats": "stadhuis"})])),
    st.builds(Action, kind=st.just("end_nawerk")),
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([AFVAL, DEFAULT]), st.lists(ACTIONS, max_size=25))
def test_properties_over_any_sequence(script: object, actions: list[Action]) -> None:
    """No details before a passed verify; no completed call without an outcome and its
    required steps; a refused action changes nothing."""
    from telephony.scripting.model import Script

    assert isinstance(script, Script)
    state = CallState()
    for action in actions:
        decision, after = apply(script, state, action)
        if not decision.allowed:
            assert after == state
        if action.kind == "view_details" and decision.allowed:
            assert state.verify == "passed"
        if action.kind == "end_nawerk" and decision.allowed:
            assert state.outcome in script.outcome_by_code
        if after.outcome and not state.outcome:
            assert missing_steps(script, state) == []
        state = after
