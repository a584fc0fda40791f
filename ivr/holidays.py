"""Dutch public holidays, so the IVR can say "we are closed for Tweede Paasdag".

Computed rather than listed: a hard-coded table of dates silently runs out one
January, while these rules hold for every year the service could plausibly see.
Only the holidays a municipal KCC actually closes for are here. Two of them are a
municipal policy choice, not a fact of the calendar, so they are parameters
(:class:`HolidayPolicy`):

* Goede Vrijdag is not an official holiday (it is not in the Algemene termijnenwet),
  yet some municipalities close on it;
* Bevrijdingsdag (5 May) is a day off every year in some collective agreements and
  only every fifth year ("lustrum": 2020, 2025, ...) in others.

The royal birthday moved with the monarch, so it is computed per era (see
:func:`royal_day`). Christmas Eve and New Year's Eve are not public holidays; a
municipality that closes early on them configures that as a closure in the hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Literal

MIN_YEAR = 1900
MAX_YEAR = 2200

LiberationDayPolicy = Literal["yearly", "lustrum", "never"]
Language = Literal["nl", "en"]

# The first year 5 May was a national holiday (the liberation was in 1945).
_FIRST_LIBERATION_DAY = 1945


@dataclass(frozen=True)
class HolidayPolicy:
    """Which of the optional holidays this municipality closes on.

    The defaults are the common case for a Dutch municipality: open on Goede Vrijdag,
    closed on Bevrijdingsdag only in lustrum years. Both are set in the ``[hours]``
    section of the config, because getting them wrong means a day of unanswered calls.
    """

    good_friday: bool = False
    liberation_day: LiberationDayPolicy = "lustrum"

    def __post_init__(self) -> None:
        if self.liberation_day not in ("yearly", "lustrum", "never"):
            raise ValueError("liberation_day must be 'yearly', 'lustrum' or 'never', "
                             f"got {self.liberation_day!r}")


@dataclass(frozen=True)
class Holiday:
    """One public holiday on one date.

    ``key`` is stable across years and languages (``"tweede_paasdag"``) so that audio
    prompts and statistics can be keyed on it; the names are what a caller hears.
    """

    key: str
    date: date
    name_nl: str
    name_en: str

    def name(self, language: Language = "nl") -> str:
        return self.name_en if language == "en" else self.name_nl


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous "Meeus/Jones/Butcher" algorithm).

    Written out instead of depending on a library for ten lines of integer arithmetic;
    the tests check it against an independent algorithm for every supported year.
    """
    _check_year(year)
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday_shift = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_shift) // 451
    month, day = divmod(h + weekday_shift - 7 * m + 114, 31)
    return date(year, month, day + 1)


def royal_day(year: int) -> Holiday:
    """Koningsdag or Koninginnedag of ``year``; never on a Sunday.

    The date follows the monarch and each era had its own Sunday rule:

    * 1900-1948 (Wilhelmina): 31 August, moved to Monday 1 September when a Sunday;
    * 1949-1979 (Juliana): 30 April, moved to Monday 1 May when a Sunday;
    * 1980-2013 (Beatrix): 30 April, moved to Saturday 29 April when a Sunday;
    * from 2014 (Willem-Alexander): 27 April, moved to Saturday 26 April when a Sunday.

    Years after today's reign are projected with today's rule; a new monarch means a
    code change here, which is a decade-scale event with ample notice.
    """
    _check_year(year)
    if year >= 2014:
        day, sunday_shift, queen = date(year, 4, 27), -1, False
    elif year >= 1980:
        day, sunday_shift, queen = date(year, 4, 30), -1, True
    elif year >= 1949:
        day, sunday_shift, queen = date(year, 4, 30), +1, True
    else:
        day, sunday_shift, queen = date(year, 8, 31), +1, True
    if day.weekday() == 6:
        day += timedelta(days=sunday_shift)
    if queen:
        return Holiday("koningsdag", day, "Koninginnedag", "Queen's Day")
    return Holiday("koningsdag", day, "Koningsdag", "King's Day")


def holidays(year: int, policy: HolidayPolicy | None = None) -> list[Holiday]:
    """The holidays of ``year`` the KCC is closed on under ``policy``, in date order."""
    return list(_holidays(year, policy or HolidayPolicy()))


def holiday_on(day: date, policy: HolidayPolicy | None = None) -> Holiday | None:
    """The holiday falling on ``day`` under ``policy``, or None for an ordinary day.

    Pass a *local* date (in the KCC's timezone); a UTC date is wrong between midnight
    and 01:00/02:00 Dutch time. A ``datetime`` is refused: it is a ``date`` subclass
    that never equals a holiday's date, so it would silently mean "no holiday".
    """
    if isinstance(day, datetime):
        raise TypeError("pass a local date, not a datetime (use .astimezone(tz).date())")
    return _by_date(day.year, policy or HolidayPolicy()).get(day)


@lru_cache(maxsize=256)
def _holidays(year: int, policy: HolidayPolicy) -> tuple[Holiday, ...]:
    # Cached because the IVR asks on every call and the answer never changes.
    easter = easter_sunday(year)

    def relative(key: str, days: int, nl: str, en: str) -> Holiday:
        return Holiday(key, easter + timedelta(days=days), nl, en)

    result = [
        Holiday("nieuwjaarsdag", date(year, 1, 1), "Nieuwjaarsdag", "New Year's Day"),
        relative("eerste_paasdag", 0, "Eerste Paasdag", "Easter Sunday"),
        relative("tweede_paasdag", 1, "Tweede Paasdag", "Easter Monday"),
        royal_day(year),
        relative("hemelvaartsdag", 39, "Hemelvaartsdag", "Ascension Day"),
        relative("eerste_pinksterdag", 49, "Eerste Pinksterdag", "Whit Sunday"),
        relative("tweede_pinksterdag", 50, "Tweede Pinksterdag", "Whit Monday"),
        Holiday("eerste_kerstdag", date(year, 12, 25), "Eerste Kerstdag", "Christmas Day"),
        Holiday("tweede_kerstdag", date(year, 12, 26), "Tweede Kerstdag", "Boxing Day"),
    ]
    if policy.good_friday:
        result.append(relative("goede_vrijdag", -2, "Goede Vrijdag", "Good Friday"))
    if _liberation_day_observed(year, policy.liberation_day):
        result.append(
            Holiday("bevrijdingsdag", date(year, 5, 5), "Bevrijdingsdag", "Liberation Day")
        )
    # Sorted by date, then key: Bevrijdingsdag can coincide with Hemelvaartsdag (2016)
    # and a stable order keeps the output deterministic.
    return tuple(sorted(result, key=lambda h: (h.date, h.key)))


@lru_cache(maxsize=256)
def _by_date(year: int, policy: HolidayPolicy) -> dict[date, Holiday]:
    by_date: dict[date, Holiday] = {}
    for holiday in _holidays(year, policy):
        # Bevrijdingsdag can fall on Hemelvaartsdag (2005, 2016) or Pinksteren; one date
        # needs one name to announce, and the church holiday is the better-known one.
        current = by_date.get(holiday.date)
        if current is None or current.key == "bevrijdingsdag":
            by_date[holiday.date] = holiday
    return by_date


def _liberation_day_observed(year: int, policy: LiberationDayPolicy) -> bool:
    if year < _FIRST_LIBERATION_DAY or policy == "never":
        return False
    return policy == "yearly" or year % 5 == 0


def _check_year(year: int) -> None:
    # The Easter arithmetic is valid far beyond this range, but the royal-day and
    # liberation rules are only known (or reasonably projected) within it.
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"Dutch holidays are only computed for {MIN_YEAR}-{MAX_YEAR}, not {year}")
