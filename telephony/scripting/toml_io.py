"""Call scripts to and from TOML, with errors that name file, line and key.

A supervisor who mistypes one answer type in a 200-line script gets
``afval.toml:42: steps[3].answer: Input should be 'choice', ...`` (the line found with
``telephony.toml_lines``, the same scanner the municipality config uses).
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

import tomli_w
from pydantic import ValidationError

from telephony.scripting.model import DEFAULT_OUTCOMES, Script
from telephony.toml_lines import find_line, line_index

# Cross-field messages from Script's validator start with where they apply: "steps[3]: ..."
_WHERE = re.compile(r"^([a-z_]+)(?:\[(\d+)\])?(?:\.([a-z_]+))?: ")
MAX_SCRIPT_BYTES = 256 * 1024


class ScriptError(ValueError):
    """One or more problems, each ``file:line: key: message``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _dotted(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_script(text: str, filename: str = "script.toml") -> Script:
    """Validate ``text`` as a call script; ScriptError names file, line and key."""
    if len(text.encode()) > MAX_SCRIPT_BYTES:
        raise ScriptError([f"{filename}: script larger than {MAX_SCRIPT_BYTES} bytes"])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib says "(at line 3, column 7)": keep its position.
        raise ScriptError([f"{filename}: {exc}"]) from None
    try:
        return Script.model_validate(data)
    except ValidationError as exc:
        index = line_index(text)
        problems = []
        errors = exc.errors()
        for error in errors:
            if error["type"] == "too_short" and len(errors) > 1:
                continue  # "no valid steps" only repeats the steps' own errors
            loc: tuple[str | int, ...] = tuple(
                p for p in error["loc"] if not (isinstance(p, str) and "[" in p))
            message = str(error["msg"]).removeprefix("Value error, ")
            where = _WHERE.match(message)
            if not loc and where:
                name, position, key = where.groups()
                loc = (name, *((int(position),) if position else ()), *((key,) if key else ()))
                message = message[where.end():]
            line = find_line(index, loc) if loc else None
            prefix = f"{filename}:{line}" if line else filename
            problems.append(f"{prefix}: {_dotted(loc) or 'script'}: {message}")
        raise ScriptError(problems) from None


def dump_script(script: Script) -> str:
    """The script as TOML (defaults left out, so an export reads like what was written)."""
    data: dict[str, Any] = script.model_dump(mode="json", exclude_defaults=True)
    data["script"] = script.script.model_dump(mode="json", exclude_defaults=True)
    data["script"]["subject"] = script.script.subject
    data["steps"] = [s.model_dump(mode="json", exclude_defaults=True) | {"kind": s.kind}
                     for s in script.steps]
    if script.outcomes != DEFAULT_OUTCOMES:
        data["outcomes"] = [o.model_dump(mode="json") for o in script.outcomes]
    return tomli_w.dumps(data)
