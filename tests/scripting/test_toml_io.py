"""Script import/export: errors name file, line and key; an export reads back the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from telephony.scripting.model import DEFAULT_OUTCOMES, check_answer
from telephony.scripting.toml_io import ScriptError, dump_script, parse_script

SCRIPTS = Path(__file__).resolve().parents[2] / "config" / "scripts"


@pytest.mark.parametrize("name", sorted(p.name for p in SCRIPTS.glob("*.toml")))
def test_shipped_scripts_load_and_round_trip(name: str) -> None:
    script = parse_script((SCRIPTS / name).read_text(), name)
    assert script.outcomes == DEFAULT_OUTCOMES
    again = parse_script(dump_script(script), name)
    assert again == script


def _error(text: str) -> list[str]:
    with pytest.raises(ScriptError) as info:
        parse_script(text, "afval.toml")
    return info.value.problems


BASE = '''[script]
subject = "afval"
title = "Afval"

[[steps]]
id = "groet"
kind = "say"
text = "Hallo"

[[steps]]
id = "soort"
kind = "ask"
text = "Welke?"
answer = "kleur"
'''


def test_a_wrong_value_names_file_line_and_key() -> None:
    [problem] = _error(BASE)
    assert problem.startswith("afval.toml:14: steps[1].answer: ")


def test_a_cross_step_error_names_the_step_line() -> None:
    text = BASE.replace('answer = "kleur"', 'answer = "text"') + '''
[[steps]]
id = "tak"
kind = "branch"
when = { step = "later", equals = "ja" }
goto = "soort"
'''
    [problem] = _error(text)
    assert problem.startswith("afval.toml:16: steps[2]: branch on 'later'")


def test_unknown_placeholder_and_key() -> None:
    problems = _error(BASE.replace('"Hallo"', '"Hallo {bsn}"').replace(
        'answer = "kleur"', 'answer = "text"\ncolour = 1'))
    assert any(p.startswith("afval.toml:8: steps[0].text: unknown placeholder {bsn}")
               for p in problems), problems
    assert any(p.startswith("afval.toml:15: steps[1].colour: ") for p in problems), problems
    assert len(problems) == 2


def test_bad_toml_keeps_the_parsers_position() -> None:
    [problem] = _error("[script\n")
    assert problem.startswith("afval.toml: ") and "line 1" in problem


@pytest.mark.parametrize(("answer", "value", "expected"), [
    ("date", "2026-12-01", "2026-12-01"), ("number", "3,5", "3.5"),
    ("zaaknummer", "ZAAK-2024-0001", "ZAAK-2024-0001"), ("yesno", "JA", "ja"),
    ("postcode_huisnummer", "2801AB12", "2801AB 12"),
])
def test_typed_answers(answer: str, value: str, expected: str) -> None:
    text = BASE.replace('answer = "kleur"', f'answer = "{answer}"')
    step = parse_script(text).by_id["soort"]
    assert check_answer(step, value) == expected
