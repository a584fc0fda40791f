"""What the panel shows of a call's script, built from the stored state and the rules.

The same rules that refuse an action server-side decide here whether a button is enabled
and what its reason is, so the panel never guesses.
"""

from __future__ import annotations

from typing import Any

from telephony.scripting.rules import Action, decide, missing_steps
from telephony.scripting.store import CallScript


def script_view(current: CallScript, values: dict[str, str]) -> dict[str, Any]:
    """The path's steps with rendered text, what is still needed, and per action whether
    the rules allow it now (with the reason when not)."""
    script, state = current.script, current.state
    steps = []
    for step in script.path(dict(state.answers)):
        item: dict[str, Any] = {"id": step.id, "kind": step.kind,
                                "text": step.render(values) if step.text else ""}
        if step.kind == "ask":
            item.update(answer=step.answer, choices=list(step.choices),
                        required=step.required, value=state.answers.get(step.id))
        elif step.kind == "verify":
            item.update(facts=list(step.facts), result=state.verify)
        elif step.kind == "knowledge":
            item["url"] = step.url
        steps.append(item)
    outcomes = [o for o in script.outcomes if o.code not in script.forbidden]
    probes = {
        "view_details": Action("view_details"),
        "transfer": Action("transfer", note="x", reason="x"),
        "end_nawerk": Action("end_nawerk"),
        # Whether an outcome can be registered at all: the simplest one on the list.
        "outcome": Action("outcome", outcome=next(
            (o.code for o in outcomes if o.follow_up in ("none", "terugbelnotitie")),
            outcomes[0].code if outcomes else "")),
    }
    allowed = {}
    for name, probe in probes.items():
        decision = decide(script, state, probe)
        allowed[name] = {"allowed": decision.allowed, "code": decision.code,
                         "reason": decision.message}
    return {**current.view(), "steps": steps, "missing": missing_steps(script, state),
            "outcomes": [o.model_dump() for o in outcomes], "allowed": allowed}
