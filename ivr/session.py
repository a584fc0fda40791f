"""What one caller did in the IVR: the record kept for the call and for reporting.

Filled in as the dialogue goes, so a caller who hangs up mid-menu still leaves a
complete record of how far they got (outcome ``hangup``). Every value that came from
the caller (keys, speech) is stored capped and cleaned: it is attacker-controlled.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

MAX_STEPS = 200  # a caller looping through menus must not grow a record without bound


def clean(value: str, limit: int = 200) -> str:
    return "".join(ch for ch in value if ch.isprintable())[:limit]


@dataclass
class Contact:
    """One self-service use ("contactmoment") and how it ended."""

    kind: str
    outcome: str
    zaaknummer: str = ""
    at: float = field(default_factory=time.time)


@dataclass
class IvrSession:
    uniqueid: str
    linkedid: str = ""
    dialled: str = ""
    caller_number: str = ""
    municipality: str = ""
    language: str = "nl"
    subject: str = ""
    queue: str = ""
    outcome: str = ""  # queue, agent, agent_after_tries, callback, closed, hangup, error
    zaaknummer: str = ""
    transcript: str = ""
    callback: bool = False
    steps: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    ended_at: float | None = None
    first_prompt_ms: float | None = None

    def step(self, where: str, answer: str, via: str = "dtmf", result: str = "") -> None:
        if len(self.steps) < MAX_STEPS:
            self.steps.append({"at": round(time.time(), 3), "where": where,
                               "answer": clean(answer, 40), "via": via, "result": result})

    def contact(self, kind: str, outcome: str, zaaknummer: str = "") -> None:
        self.contacts.append(Contact(kind, outcome, clean(zaaknummer, 40)))

    def to_record(self) -> dict[str, Any]:
        return {
            "uniqueid": self.uniqueid, "linkedid": self.linkedid, "dialled": self.dialled,
            "caller_number": self.caller_number, "municipality": self.municipality,
            "language": self.language, "subject": self.subject, "queue": self.queue,
            "outcome": self.outcome, "zaaknummer": self.zaaknummer,
            "transcript": self.transcript, "callback": self.callback,
            "steps": list(self.steps), "started_at": self.started_at,
            "ended_at": self.ended_at, "first_prompt_ms": self.first_prompt_ms,
            "contacts": [vars(c) for c in self.contacts],
        }
