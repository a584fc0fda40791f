"""Dutch public holidays: known dates per year, and rules checked for every year 1900-2200."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from ivr.holidays import (
    MAX_YEAR,
    MIN_YEAR,
    HolidayPolicy,
    easter_sunday,
    holiday_on,
    holidays,
    royal_day,
)

ALL_YEARS = range(MIN_YEAR, MAX_YEAR + 1)
EVERYTHING = HolidayPolicy(good_friday=True, liberation_day="yearly")


def _knuth_easter(year: int) -> date:
    """Gregorian Easter by Knuth's Algorithm E (TAOCP 1.3.2): an independent oracle."""
    golden = year % 19 + 1
    century = year // 100 + 1
    skipped_leap = 3 * century // 4 - 12
    moon_correction = (8 * century + 5) // 25 - 5
    sunday = 5 * year // 4 - skipped_leap - 10
    epact = (11 * golden + 20 + moon_correction - skipped_leap) % 30
    if (epact == 25 and golden > 11) or epact == 24:
        epact += 1
    full_moon = 44 - epact
    if full_moon < 21:
        full_moon += 30
    day = full_moon + 7 - (sunday + full_moon) % 7
    return date(year, 4, day - 31) if day > 31 else date(year, 3, day)


@pytest.mark.parametrize(("year", "expected"), [
    (1900, date(1900, 4, 15)),
    (1943, date(1943, 4, 25)),   # latest possible
    (1961, date(1961, 4, 2)),
    (2000, date(2000, 4, 23)),
    (2008, date(2008, 3, 23)),
    (2011, date(2011, 4, 24)),
    (2024, date(2024, 3, 31)),
    (2025, date(2025, 4, 20)),
    (2026, date(2026, 4, 5)),
    (2027, date(2027, 3, 28)),
    (2038, date(2038, 4, 25)),
    (2100, date(2100, 3, 28)),
])
def test_easter_known_dates(year: int, expected: date) -> None:
    assert easter_sunday(year) == expected


@pytest.mark.parametrize("year", ALL_YEARS)
def test_easter_matches_independent_algorithm(year: int) -> None:
    assert easter_sunday(year) == _knuth_easter(year)


@pytest.mark.parametrize(("year", "expected", "name_nl"), [
    (1902, date(1902, 9, 1), "Koninginnedag"),    # Wilhelmina: 31 Aug was a Sunday
    (1931, date(1931, 8, 31), "Koninginnedag"),
    (1950, date(1950, 5, 1), "Koninginnedag"),    # Juliana: 30 Apr Sunday -> Monday
    (1961, date(1961, 5, 1), "Koninginnedag"),
    (1975, date(1975, 4, 30), "Koninginnedag"),
    (1989, date(1989, 4, 29), "Koninginnedag"),   # Beatrix: 30 Apr Sunday -> Saturday
    (2006, date(2006, 4, 29), "Koninginnedag"),
    (2013, date(2013, 4, 30), "Koninginnedag"),
    (2014, date(2014, 4, 26), "Koningsdag"),      # 27 Apr was a Sunday
    (2020, date(2020, 4, 27), "Koningsdag"),
    (2025, date(2025, 4, 26), "Koningsdag"),
    (2026, date(2026, 4, 27), "Koningsdag"),
])
def test_royal_day(year: int, expected: date, name_nl: str) -> None:
    day = royal_day(year)
    assert (day.date, day.name_nl, day.key) == (expected, name_nl, "koningsdag")
    assert day.name_en == ("King's Day" if name_nl == "Koningsdag" else "Queen's Day")


@pytest.mark.parametrize(("year", "policy", "observed"), [
    (2025, "lustrum", True),
    (2026, "lustrum", False),
    (2030, "lustrum", True),
    (2026, "yearly", True),
    (2025, "never", False),
    (1945, "lustrum", True),
    (1940, "yearly", False),   # before the liberation there was nothing to celebrate
])
def test_liberation_day_policy(year: int, policy: str, observed: bool) -> None:
    found = holiday_on(date(year, 5, 5), HolidayPolicy(liberation_day=policy))  # type: ignore[arg-type]
    assert (found is not None and found.key == "bevrijdingsdag") is observed


def test_invalid_liberation_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="liberation_day"):
        HolidayPolicy(liberation_day="sometimes")  # type: ignore[arg-type]


def test_good_friday_only_when_configured() -> None:
    assert holiday_on(date(2025, 4, 18)) is None
    friday = holiday_on(date(2025, 4, 18), HolidayPolicy(good_friday=True))
    assert friday is not None
    assert (friday.name_nl, friday.name_en) == ("Goede Vrijdag", "Good Friday")


def test_full_year_2025() -> None:
    got = [(h.date, h.key) for h in holidays(2025, EVERYTHING)]
    assert got == [
        (date(2025, 1, 1), "nieuwjaarsdag"),
        (date(2025, 4, 18), "goede_vrijdag"),
        (date(2025, 4, 20), "eerste_paasdag"),
        (date(2025, 4, 21), "tweede_paasdag"),
        (date(2025, 4, 26), "koningsdag"),
        (date(2025, 5, 5), "bevrijdingsdag"),
        (date(2025, 5, 29), "hemelvaartsdag"),
        (date(2025, 6, 8), "eerste_pinksterdag"),
        (date(2025, 6, 9), "tweede_pinksterdag"),
        (date(2025, 12, 25), "eerste_kerstdag"),
        (date(2025, 12, 26), "tweede_kerstdag"),
    ]


def test_default_policy_2026() -> None:
    # Default: open on Goede Vrijdag, Bevrijdingsdag only in lustrum years.
    got = {h.key: h.date for h in holidays(2026)}
    assert "goede_vrijdag" not in got and "bevrijdingsdag" not in got
    assert got["tweede_paasdag"] == date(2026, 4, 6)
    assert got["hemelvaartsdag"] == date(2026, 5, 14)
    assert got["tweede_pinksterdag"] == date(2026, 5, 25)


def test_names_in_both_languages() -> None:
    day = holiday_on(date(2024, 5, 20))
    assert day is not None
    assert (day.name("nl"), day.name("en")) == ("Tweede Pinksterdag", "Whit Monday")
    assert holiday_on(date(2024, 5, 21)) is None


def test_coinciding_holidays_announce_the_church_holiday() -> None:
    # 5 May 2016 was both Bevrijdingsdag and Hemelvaartsdag.
    day = holiday_on(date(2016, 5, 5), EVERYTHING)
    assert day is not None and day.key == "hemelvaartsdag"
    assert [h.key for h in holidays(2016, EVERYTHING) if h.date == date(2016, 5, 5)] == [
        "bevrijdingsdag", "hemelvaartsdag"]


def test_out_of_range_and_wrong_types_are_refused() -> None:
    with pytest.raises(ValueError, match="1900-2200"):
        holidays(1899)
    with pytest.raises(ValueError, match="1900-2200"):
        easter_sunday(2201)
    with pytest.raises(TypeError, match="local date"):
        holiday_on(datetime(2025, 12, 25, 10, 0))


def test_result_is_a_fresh_list() -> None:
    first = holidays(2025)
    first.clear()
    assert holidays(2025)


@pytest.mark.parametrize("year", ALL_YEARS)
def test_rules_hold_every_year(year: int) -> None:
    by_key = {h.key: h.date for h in holidays(year, EVERYTHING)}
    easter = by_key["eerste_paasdag"]
    assert easter.weekday() == 6
    assert date(year, 3, 22) <= easter <= date(year, 4, 25)
    assert by_key["goede_vrijdag"] == easter - timedelta(days=2)
    assert by_key["goede_vrijdag"].weekday() == 4
    assert by_key["tweede_paasdag"].weekday() == 0
    assert by_key["hemelvaartsdag"].weekday() == 3
    assert by_key["hemelvaartsdag"] == easter + timedelta(days=39)
    assert by_key["eerste_pinksterdag"].weekday() == 6
    assert by_key["tweede_pinksterdag"] == easter + timedelta(days=50)
    assert by_key["koningsdag"].weekday() != 6
    assert by_key["nieuwjaarsdag"] == date(year, 1, 1)
    assert (by_key["eerste_kerstdag"], by_key["tweede_kerstdag"]) == (
        date(year, 12, 25), date(year, 12, 26))
    assert ("bevrijdingsdag" in by_key) is (year >= 1945)
    dates = [h.date for h in holidays(year, EVERYTHING)]
    assert dates == sorted(dates)
    for holiday in holidays(year, EVERYTHING):
        assert holiday.date.year == year
        assert holiday_on(holiday.date, EVERYTHING) is not None
