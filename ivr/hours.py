"""Opening hours, holidays and closures: "is the KCC open now, and if not, why and when?"

The IVR answers every call with this, so it must be right on the awkward days: the
Monday after a DST switch, Tweede Kerstdag followed by a weekend, an afternoon closed
for staff training. Two rules make that tractable:

* All reasoning is in *wall-clock* time of the KCC's timezone (Europe/Amsterdam),
  because that is how the municipality states its hours ("08:30-17:00"). Inputs are
  aware datetimes in any zone and are converted first; naive datetimes are refused,
  since ``datetime.now()`` on a server in UTC would otherwise shift every answer by
  one or two hours without anyone noticing until a citizen complains.
* A day's opening is computed as intervals: the weekday's spans, minus the whole day
  on a public holiday, minus the configured closures. ``is_open``, ``next_open`` and
  working days all derive from those intervals, so they cannot disagree.

This module must not import :mod:`telephony.config` (that module imports this one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ivr.holidays import Holiday, HolidayPolicy, Language, LiberationDayPolicy, holiday_on

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_TIMEZONE = "Europe/Amsterdam"
# Far enough to cross the Christmas/New Year period plus any summer closure a
# municipality might configure; beyond it "we don't know when we reopen" is honest.
NEXT_OPEN_HORIZON_DAYS = 60
# add_working_days gives up after this many consecutive non-working days, so a
# config that is closed "forever" fails loudly instead of looping.
_MAX_DAYS_WITHOUT_WORK = 3660

ClosedReason = Literal["holiday", "closure", "outside_hours"]
Zone = ZoneInfo | str

_SPAN = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")
_Interval = tuple[datetime, datetime]  # naive local wall-clock times, end exclusive


class _Strict(BaseModel):
    # Same as telephony.config._Strict; repeated here to avoid an import cycle.
    model_config = ConfigDict(extra="forbid", frozen=True)


@lru_cache(maxsize=32)
def load_zone(name: str) -> ZoneInfo:
    """The ``ZoneInfo`` for ``name``; ValueError (not a KeyError subclass) when unknown.

    Meant for validating ``kcc.timezone`` at config load, so a typo such as
    ``Europe/Amsterdan`` stops the service at start instead of at the first call.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {name!r} (expected e.g. 'Europe/Amsterdam')") from None


def _zone(tz: Zone) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else load_zone(tz)


@lru_cache(maxsize=256)
def _offsets(span: str) -> tuple[timedelta, timedelta]:
    """``"08:30-17:00"`` as offsets from local midnight; ``24:00`` is the next midnight."""
    match = _SPAN.fullmatch(span)
    if not match:
        raise ValueError(f"opening hours must look like '08:30-17:00', got {span!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if not (h1 < 24 and m1 < 60 and m2 < 60 and (h2 < 24 or (h2 == 24 and m2 == 0))):
        raise ValueError(f"no such time in {span!r}")
    start, end = timedelta(hours=h1, minutes=m1), timedelta(hours=h2, minutes=m2)
    if end <= start:
        raise ValueError(f"closing time must be after opening time in {span!r}")
    return start, end


def _parse_span(span: str) -> tuple[time, time]:
    """A span as two ``time`` values, with ``24:00`` as 23:59:59 (``time`` has no 24:00).

    Kept for callers that need clock times, such as a dialplan ``GotoIfTime``; the
    open/closed logic in this module uses exact offsets and treats 24:00 exactly.
    """
    start, end = _offsets(span)
    day = datetime.min
    end_time = time(23, 59, 59) if end == timedelta(days=1) else (day + end).time()
    return (day + start).time(), end_time


class Closure(_Strict):
    """An ad-hoc closure: a day, a range of days, or part of a day.

    The closure is one continuous stretch of local time, from ``start`` at ``from``
    (default: midnight) until the end of ``end`` (default: ``start``), or until
    ``until`` on that last day. So "closed from 12:00 on 24 December" is
    ``start = 2025-12-24, from = "12:00"``, and "closed 1-3 July" is
    ``start = 2025-07-01, end = 2025-07-03``. Both reasons are required because the
    IVR reads the reason to the caller in the language they chose.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    start: date
    end: date | None = None
    from_: time | None = Field(default=None, alias="from")
    until: time | None = None
    reason_nl: str = Field(min_length=1, max_length=300)
    reason_en: str = Field(min_length=1, max_length=300)

    @field_validator("from_", "until")
    @classmethod
    def _local_time(cls, value: time | None) -> time | None:
        if value is not None and value.tzinfo is not None:
            raise ValueError("give a local time without offset, e.g. '12:00'")
        return value

    @field_validator("reason_nl", "reason_en")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("reason must not be empty (the IVR reads it to the caller)")
        return value.strip()

    @model_validator(mode="after")
    def _ordered(self) -> Closure:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"closure end {self.end} is before its start {self.start}")
        begin, finish = self.interval()
        if finish <= begin:
            raise ValueError(
                f"closure on {self.start} ends ({self.until}) before it starts ({self.from_})"
            )
        return self

    @property
    def last_day(self) -> date:
        return self.end or self.start

    def interval(self) -> _Interval:
        """The closed stretch in naive local wall-clock time, end exclusive."""
        begin = datetime.combine(self.start, self.from_ or time())
        if self.until is None:
            finish = datetime.combine(self.last_day + timedelta(days=1), time())
        else:
            finish = datetime.combine(self.last_day, self.until)
        return begin, finish

    def reason(self, language: Language = "nl") -> str:
        return self.reason_en if language == "en" else self.reason_nl


class Hours(_Strict):
    """Weekly opening hours, holiday policy and closures (the ``[hours]`` section).

    A day is a list of spans like ``"08:30-12:00"`` (end exclusive, ``24:00`` allowed);
    spans of one day must not overlap. The KCC is closed on every Dutch public holiday
    of :mod:`ivr.holidays`; ``good_friday_closed`` and ``liberation_day`` choose the
    optional ones. All methods take the KCC's timezone as ``tz`` (pass
    ``config.kcc.timezone``); it defaults to Europe/Amsterdam.
    """

    monday: list[str] = []
    tuesday: list[str] = []
    wednesday: list[str] = []
    thursday: list[str] = []
    friday: list[str] = []
    saturday: list[str] = []
    sunday: list[str] = []
    good_friday_closed: bool = False
    liberation_day: LiberationDayPolicy = "lustrum"
    closures: list[Closure] = []

    @field_validator(*WEEKDAYS)
    @classmethod
    def _spans(cls, value: list[str]) -> list[str]:
        parsed = sorted((_offsets(span), span) for span in value)
        for (prev, prev_text), (cur, cur_text) in pairwise(parsed):
            if cur[0] < prev[1]:
                raise ValueError(f"opening hours {prev_text!r} and {cur_text!r} overlap")
        return value

    # -- calendar -----------------------------------------------------------------

    @property
    def policy(self) -> HolidayPolicy:
        return HolidayPolicy(good_friday=self.good_friday_closed,
                             liberation_day=self.liberation_day)

    def holiday(self, day: date) -> Holiday | None:
        """The public holiday the KCC is closed for on local date ``day``, if any."""
        return holiday_on(_plain_date(day), self.policy)

    def spans(self, weekday: int) -> list[tuple[time, time]]:
        """Spans for ``weekday`` (0 = Monday) as clock times; see :func:`_parse_span`."""
        return [_parse_span(s) for s in getattr(self, WEEKDAYS[weekday])]

    def open_intervals(self, day: date) -> list[_Interval]:
        """When the KCC is open on local date ``day``: naive wall-clock intervals.

        The single source of truth for every question below: the weekday's spans,
        nothing on a holiday, and closures cut out.
        """
        day = _plain_date(day)
        if self.holiday(day) is not None:
            return []
        midnight = datetime.combine(day, time())
        intervals = sorted(
            (midnight + start, midnight + end)
            for start, end in (_offsets(s) for s in getattr(self, WEEKDAYS[day.weekday()]))
        )
        for closure in self.closures:
            intervals = _subtract(intervals, closure.interval())
        return intervals

    def is_working_day(self, day: date) -> bool:
        """Whether the KCC is open at all on local date ``day`` (even for an hour)."""
        return bool(self.open_intervals(day))

    def add_working_days(self, day: date, n: int) -> date:
        """The ``n``-th working day after ``day`` (``day`` itself never counts).

        For promises like "we call you back within 2 working days": from a Friday,
        2 working days is Tuesday, or Wednesday when Monday is Tweede Paasdag.
        """
        day = _plain_date(day)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        idle = 0
        while n > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
                idle = 0
            else:
                idle += 1
                if idle > _MAX_DAYS_WITHOUT_WORK:
                    raise ValueError("the opening hours have no working day in ten years")
        return day

    # -- instants -----------------------------------------------------------------

    def is_open(self, at: datetime, tz: Zone = DEFAULT_TIMEZONE) -> bool:
        """Whether the KCC is open at the aware instant ``at``."""
        wall = _wall(at, _zone(tz))
        return any(a <= wall < b for a, b in self.open_intervals(wall.date()))

    def next_open(self, at: datetime, tz: Zone = DEFAULT_TIMEZONE,
                  horizon_days: int = NEXT_OPEN_HORIZON_DAYS) -> datetime | None:
        """The first instant at or after ``at`` when the KCC is open, in ``tz``.

        ``at`` itself (converted to ``tz``) when open now; None when there is no
        opening within ``horizon_days`` days.
        """
        zone = _zone(tz)
        wall = _wall(at, zone)
        for offset in range(horizon_days + 1):
            for begin, end in self.open_intervals(wall.date() + timedelta(days=offset)):
                if end > wall:
                    if begin <= wall:
                        return at.astimezone(zone)
                    return _aware(begin, zone, not_before=at)
        return None

    def status(self, at: datetime, tz: Zone = DEFAULT_TIMEZONE,
               horizon_days: int = NEXT_OPEN_HORIZON_DAYS) -> OpenStatus:
        """Open or closed at ``at``, why, and until/from when: what the IVR announces.

        When closed, the reason is the most specific one: a holiday beats a closure
        (it is what the caller will recognise), a closure beats "outside hours".
        """
        zone = _zone(tz)
        wall = _wall(at, zone)
        local = at.astimezone(zone)
        for begin, end in self.open_intervals(wall.date()):
            if begin <= wall < end:
                return OpenStatus(is_open=True, at=local,
                                  closes_at=_aware(end, zone, not_before=at))
        next_open = self.next_open(at, zone, horizon_days)
        holiday = self.holiday(wall.date())
        if holiday is not None:
            return OpenStatus(is_open=False, at=local, reason="holiday", holiday=holiday,
                              next_open=next_open)
        for closure in self.closures:
            begin, end = closure.interval()
            if begin <= wall < end:
                return OpenStatus(is_open=False, at=local, reason="closure", closure=closure,
                                  next_open=next_open)
        return OpenStatus(is_open=False, at=local, reason="outside_hours", next_open=next_open)


@dataclass(frozen=True)
class OpenStatus:
    """The answer to "are we open?" at one instant, with everything the IVR says about it.

    ``at``, ``next_open`` and ``closes_at`` are aware datetimes in the KCC's timezone,
    ready to be spoken ("we are open again on Monday at 08:30"). Compare them with
    datetimes in other zones via ``.astimezone(UTC)``: Python's ``==`` across zones is
    always False for a time in the repeated autumn hour (PEP 495).
    """

    is_open: bool
    at: datetime
    reason: ClosedReason | None = None
    holiday: Holiday | None = None
    closure: Closure | None = None
    next_open: datetime | None = None
    closes_at: datetime | None = None

    def reason_text(self, language: Language = "nl") -> str | None:
        """The holiday name or closure reason to announce; None if open or just after hours."""
        if self.holiday is not None:
            return self.holiday.name(language)
        if self.closure is not None:
            return self.closure.reason(language)
        return None


@dataclass(frozen=True)
class CalamityMessage:
    """A supervisor's live announcement ("storing", "calamiteit") played before the menu.

    It is switched on during an incident and must not outlive it by accident, hence
    the optional ``active_until``: None means active until switched off. Only the Dutch
    text is mandatory, because in an emergency a supervisor should not be held up by a
    translation; English callers then hear the Dutch text rather than nothing.
    Storage (Redis) lives elsewhere; ``as_dict``/``from_dict`` are its JSON shape.
    """

    text_nl: str
    text_en: str = ""
    active_until: datetime | None = None

    def __post_init__(self) -> None:
        if not self.text_nl.strip():
            raise ValueError("a calamity message needs a Dutch text")
        if self.active_until is not None and self.active_until.tzinfo is None:
            raise ValueError("active_until must be timezone-aware")

    def is_active(self, at: datetime) -> bool:
        if at.tzinfo is None:
            raise ValueError("pass an aware datetime (e.g. datetime.now(UTC))")
        return self.active_until is None or at < self.active_until

    def text(self, language: Language = "nl") -> str:
        return self.text_en if language == "en" and self.text_en.strip() else self.text_nl

    def as_dict(self) -> dict[str, Any]:
        until = self.active_until.isoformat() if self.active_until else None
        return {"text_nl": self.text_nl, "text_en": self.text_en, "active_until": until}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CalamityMessage:
        until = data.get("active_until")
        return cls(text_nl=data["text_nl"], text_en=data.get("text_en") or "",
                   active_until=datetime.fromisoformat(until) if until else None)


def _plain_date(day: date) -> date:
    # datetime is a subclass of date; letting one through would compare unequal to
    # every holiday date and silently mean "never a holiday".
    if isinstance(day, datetime):
        raise TypeError("pass a local date, not a datetime (use .astimezone(tz).date())")
    return day


def _wall(at: datetime, zone: ZoneInfo) -> datetime:
    """``at`` as naive wall-clock time in ``zone``."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("pass a timezone-aware datetime (e.g. datetime.now(UTC)), "
                         "a naive one would be read in the server's timezone")
    return at.astimezone(zone).replace(tzinfo=None)


def _aware(wall: datetime, zone: ZoneInfo, not_before: datetime) -> datetime:
    """The instant at which the clocks in ``zone`` first show ``wall``, not before ``not_before``.

    Two DST cases need care. In the autumn hour that happens twice, take the first
    occurrence unless that is already past. In the spring hour that is skipped (02:00
    to 03:00 does not exist), a business opening "at 02:30" opens when the clock jumps,
    i.e. at 03:00 summer time.
    """
    aware = wall.replace(tzinfo=zone, fold=0)
    if _exists(aware, zone):
        # Compare in UTC: datetimes sharing a tzinfo compare by wall time, ignoring fold.
        if aware.astimezone(UTC) < not_before.astimezone(UTC):
            aware = wall.replace(tzinfo=zone, fold=1)
        return aware
    probe = wall.replace(second=0, microsecond=0)
    for _ in range(24 * 60):  # gaps are at most a few hours, on whole minutes
        probe += timedelta(minutes=1)
        if _exists(probe.replace(tzinfo=zone), zone):
            return probe.replace(tzinfo=zone)
    raise ValueError(f"{wall} does not exist in {zone}")  # pragma: no cover


def _exists(aware: datetime, zone: ZoneInfo) -> bool:
    round_trip = aware.astimezone(UTC).astimezone(zone)
    return round_trip.replace(tzinfo=None, fold=0) == aware.replace(tzinfo=None, fold=0)


def _subtract(intervals: list[_Interval], cut: _Interval) -> list[_Interval]:
    cut_begin, cut_end = cut
    result: list[_Interval] = []
    for begin, end in intervals:
        if cut_end <= begin or cut_begin >= end:
            result.append((begin, end))
            continue
        if begin < cut_begin:
            result.append((begin, cut_begin))
        if cut_end < end:
            result.append((cut_end, end))
    return result
