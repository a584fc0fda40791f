"""Self-service answers the IVR gives without an agent: hours, address, zaak status.

Each returns the sentences to speak; the flow plays them and logs the use as a contact
with its outcome. The zaak source is a Protocol so the IVR does not depend on the zaken
store (issue 6): the lead wires the PostgreSQL implementation in; tests use a double.

Verification by phone: a caller proves they may hear a zaak's status with zaaknummer +
the four digits of the postcode + house number, all typeable on a keypad (postcode
letters are not). The source must answer None for any mismatch, so a wrong guess and an
unknown zaak sound the same (no oracle for which zaaknummers exist).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Protocol

from ivr.config import Lang
from ivr.hours import WEEKDAYS, Hours
from ivr.numbers_nl import say_date, say_time


@dataclass(frozen=True)
class ZaakStatus:
    zaaknummer: str
    status_nl: str  # e.g. "in behandeling"
    status_en: str = ""
    expected_end: date | None = None
    klant_ref: str = ""  # whose zaak: for the processing log, never spoken


class ZaakGate(Protocol):
    """Limits zaak status lookups per caller number per day and records disclosures."""

    async def allow(self, caller_number: str) -> bool: ...

    async def disclosed(self, call_id: str, status: ZaakStatus) -> None: ...


class MemoryZaakGate:
    """One process's daily counts and no log: for an IVR without a database (tests, the
    IVR alone). The service wires the PostgreSQL gate (telephony/zaken/ivr_status.py)."""

    def __init__(self, per_day: int) -> None:
        self.per_day = per_day
        self.counts: dict[tuple[str, date], int] = {}

    async def allow(self, caller_number: str) -> bool:
        key = (caller_number or "anonymous", date.today())
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key] <= self.per_day

    async def disclosed(self, call_id: str, status: ZaakStatus) -> None:
        return None


class ZaakSource(Protocol):
    async def zaak_status(self, zaaknummer: str, postcode: str,
                          huisnummer: str) -> ZaakStatus | None: ...


class NoZaken:
    """No zaak system connected: every lookup is "not found" (and logged as such)."""

    async def zaak_status(self, zaaknummer: str, postcode: str,
                          huisnummer: str) -> ZaakStatus | None:
        return None


_DAY_NAMES = {"nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag",
                     "zondag"),
              "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                     "Sunday")}


def _clock(moment: time, lang: Lang) -> str:
    text = say_time(moment, lang)
    return text.removeprefix("om ").removeprefix("at ")


def hours_sentences(hours: Hours, lang: Lang) -> list[str]:
    """One sentence per weekday with opening hours, grouped as a person would say them."""
    out = []
    word_from, word_to, word_and = (("van", "tot", "en") if lang == "nl"
                                    else ("from", "to", "and"))
    for weekday in range(len(WEEKDAYS)):
        spans = hours.spans(weekday)
        if not spans:
            continue
        parts = [f"{word_from} {_clock(a, lang)} {word_to} {_clock(b, lang)}" for a, b in spans]
        out.append(f"{_DAY_NAMES[lang][weekday]} {f' {word_and} '.join(parts)}.")
    return out


def when_text(moment: datetime, today: date, lang: Lang) -> str:
    """``morgen om acht uur dertig`` / ``tomorrow at half past eight``."""
    return f"{say_date(moment.date(), today, lang)} {say_time(moment.time(), lang)}"
