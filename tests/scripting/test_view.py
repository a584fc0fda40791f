"""The panel's script view: the path, what is missing, and the rules' answers per button."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from telephony.scripting.rules import CallState
from telephony.scripting.store import CallScript
from telephony.scripting.toml_io import parse_script
from telephony.scripting.view import script_view

SCRIPTS = Path(__file__).resolve().parents[2] / "config" / "scripts"
AFVAL = parse_script((SCRIPTS / "afval.toml").read_text(), "afval.toml")


def _view(state: CallState) -> dict:
    current = CallScript("1.1", "anna", 1, 3, AFVAL, state, "", {"status": "open"})
    return script_view(current, {"medewerker": "Anna"})


def test_a_fresh_call_shows_what_is_missing_and_why_buttons_are_off() -> None:
    view = _view(CallState())
    ids = [s["id"] for s in view["steps"]]
    assert ids[:4] == ["groet", "identiteit", "soort", "naar-grofvuil"]
    assert "container-kapot" in ids and ids[-1] == "uitkomst"
    assert view["steps"][0]["text"].startswith("Goedemorgen, u spreekt met Anna.")
    assert view["missing"] == ["identiteit", "soort", "container-kapot", "adres"]
    assert view["allowed"]["view_details"]["allowed"] is False
    assert "identiteit" in view["allowed"]["view_details"]["reason"]
    assert view["allowed"]["outcome"]["code"] == "steps_missing"
    assert view["allowed"]["end_nawerk"]["code"] == "outcome_required"
    assert "doorverwezen" not in [o["code"] for o in view["outcomes"]]  # forbidden here
    assert view["version"] == 3


def test_the_branch_skips_a_step_and_the_buttons_come_on() -> None:
    view = _view(CallState(answers=MappingProxyType({"soort": "grofvuil",
                                                     "adres": "2801AB 12"}),
                           verify="passed"))
    assert "container-kapot" not in [s["id"] for s in view["steps"]]
    assert view["missing"] == []
    assert view["allowed"]["view_details"]["allowed"] is True
    assert view["allowed"]["outcome"]["allowed"] is True
    assert view["allowed"]["transfer"]["allowed"] is True
