"""Pure rules: what a dial attempt's result means, and what happens next.

Kept free of I/O so the rules (which outcome counts as reached, when a callback becomes a
task for the team) are unit-tested exhaustively.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

OUTCOMES = ("reached", "no_answer", "busy", "voicemail", "refused", "unreachable",
            "agent_cancelled", "invalid", "failed", "lost")
FINAL = {"reached", "refused"}
_BY_DIALSTATUS = {"NOANSWER": "no_answer", "BUSY": "busy", "CONGESTION": "busy",
                  "CHANUNAVAIL": "unreachable", "CANCEL": "agent_cancelled",
                  "INVALIDARGS": "invalid"}


def outcome_of(dialstatus: str, confirm: str) -> str:
    """Map Asterisk's DIALSTATUS and the citizen's confirm key to an outcome.

    Only the key "1" counts as reached: an answering machine picks up but presses
    nothing ("none" -> voicemail); any other key is a refusal.
    """
    if confirm == "1":
        return "reached"
    if confirm == "none":
        return "voicemail"
    if (confirm and confirm.isdigit()) or confirm in ("*", "#"):
        return "refused"
    return _BY_DIALSTATUS.get(dialstatus.upper(), "failed")


@dataclass(frozen=True)
class Next:
    status: str                  # done, waiting, task
    due_at: datetime | None = None
    reason: str = ""


def next_step(outcome: str, attempts: int, max_attempts: int, now: datetime,
              spacing: timedelta, next_open: Callable[[datetime], datetime | None],
              window_end: datetime | None = None) -> Next:
    """After an attempt: done, retry later (within opening hours), or a task."""
    if outcome in FINAL:
        return Next("done")
    if outcome == "invalid":
        return Next("task", reason="terugbellen mislukt: nummer ongeldig")
    if attempts >= max_attempts:
        return Next("task", reason=f"terugbellen mislukt na {attempts} pogingen "
                                   f"(laatste: {outcome})")
    due = next_open(now + spacing)
    if due is None:
        return Next("task", reason="terugbellen mislukt: geen openingstijd meer")
    if window_end is not None and due >= window_end:
        return Next("task", reason=f"terugbelafspraak niet gehaald (laatste: {outcome})")
    return Next("waiting", due_at=due)
