"""Opening hours: edges, holidays, closures, DST weekends, working days, validation."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from ivr.hours import CalamityMessage, Closure, Hours, load_zone
from telephony.config import load_config, parse_config

AMS = ZoneInfo("Europe/Amsterdam")
WEEK: dict[str, Any] = {
    "monday": ["08:30-17:00"],
    "tuesday": ["08:30-17:00"],
    "wednesday": ["08:30-17:00"],
    "thursday": ["08:30-20:00"],
    "friday": ["08:30-12:30"],
}
REPO = Path(__file__).resolve().parents[2]


def hours(**extra: Any) -> Hours:
    """Hours as the TOML loader would build them (plain dicts, aliases like ``from``)."""
    return Hours.model_validate({**WEEK, **extra})


def ams(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMS)  # type: ignore[misc]


def closure(**fields: Any) -> dict[str, Any]:
    return {"reason_nl": "Gesloten", "reason_en": "Closed", **fields}


# -- open / closed at the edges -------------------------------------------------------

@pytest.mark.parametrize(("at", "expected"), [
    (ams(2025, 6, 2, 8, 29, 59), False),
    (ams(2025, 6, 2, 8, 30), True),
    (ams(2025, 6, 2, 16, 59, 59), True),
    (ams(2025, 6, 2, 17, 0), False),
    (ams(2025, 6, 5, 19, 59), True),     # Thursday evening
    (ams(2025, 6, 6, 12, 30), False),    # Friday afternoon
    (ams(2025, 6, 7, 10, 0), False),     # Saturday
    (ams(2025, 6, 9, 10, 0), False),     # Tweede Pinksterdag
])
def test_open_at_edges(at: datetime, expected: bool) -> None:
    assert hours().is_open(at) is expected


def test_aware_input_in_any_zone() -> None:
    # 2 June 2025 is summer time: 08:30 in Amsterdam is 06:30 UTC.
    assert not hours().is_open(datetime(2025, 6, 2, 6, 29, 59, tzinfo=UTC))
    assert hours().is_open(datetime(2025, 6, 2, 6, 30, tzinfo=UTC))
    assert hours().is_open(datetime(2025, 6, 2, 2, 30, tzinfo=ZoneInfo("America/New_York")))
    status = hours().status(datetime(2025, 6, 2, 15, 0, tzinfo=UTC))
    assert not status.is_open
    assert status.at == ams(2025, 6, 2, 17, 0) and status.at.tzinfo == AMS


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        hours().is_open(datetime(2025, 6, 2, 10, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        hours().status(datetime(2025, 6, 2, 10, 0))


def test_timezone_parameter() -> None:
    # The same UTC instant is 10:00 in Amsterdam (open) and 04:00 in New York (closed).
    at = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
    assert hours().is_open(at, "Europe/Amsterdam")
    assert not hours().is_open(at, "America/New_York")
    assert hours().next_open(at, ZoneInfo("America/New_York")) == datetime(
        2025, 6, 2, 8, 30, tzinfo=ZoneInfo("America/New_York"))
    with pytest.raises(ValueError, match="unknown timezone"):
        hours().is_open(at, "Europe/Amsterdan")
    with pytest.raises(ValueError, match="unknown timezone"):
        load_zone("not/a/zone")


# -- status and next_open ------------------------------------------------------------

def test_open_status_says_when_we_close() -> None:
    status = hours().status(ams(2025, 6, 6, 9, 0))
    assert status.is_open and status.reason is None and status.next_open is None
    assert status.closes_at == ams(2025, 6, 6, 12, 30)
    assert status.reason_text("nl") is None


def test_next_open_is_now_when_open() -> None:
    at = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
    assert hours().next_open(at) == at
    assert hours().next_open(at).tzinfo == AMS  # type: ignore[union-attr]


def test_later_the_same_day() -> None:
    status = hours().status(ams(2025, 6, 2, 7, 0))
    assert status.reason == "outside_hours" and status.next_open == ams(2025, 6, 2, 8, 30)


def test_lunch_break() -> None:
    h = hours(monday=["08:30-12:00", "13:00-17:00"])
    assert not h.is_open(ams(2025, 6, 2, 12, 30))
    assert h.next_open(ams(2025, 6, 2, 12, 30)) == ams(2025, 6, 2, 13, 0)
    assert h.status(ams(2025, 6, 2, 11, 0)).closes_at == ams(2025, 6, 2, 12, 0)


def test_across_a_weekend() -> None:
    status = hours().status(ams(2025, 6, 13, 13, 0))
    assert status.reason == "outside_hours" and status.reason_text("en") is None
    assert status.next_open == ams(2025, 6, 16, 8, 30)


def test_across_a_weekend_and_whit_monday() -> None:
    assert hours().next_open(ams(2025, 6, 6, 12, 30)) == ams(2025, 6, 10, 8, 30)


def test_on_a_holiday() -> None:
    status = hours().status(ams(2025, 4, 21, 10, 0))
    assert not status.is_open and status.reason == "holiday"
    assert status.holiday is not None and status.holiday.key == "tweede_paasdag"
    assert status.reason_text("nl") == "Tweede Paasdag"
    assert status.reason_text("en") == "Easter Monday"
    assert status.next_open == ams(2025, 4, 22, 8, 30)


def test_holiday_on_a_weekend_is_still_named() -> None:
    # Koningsdag 2025 is Saturday 26 April; the caller hears the holiday, not "weekend".
    status = hours().status(ams(2025, 4, 26, 10, 0))
    assert status.reason == "holiday" and status.reason_text("en") == "King's Day"


def test_across_christmas_and_a_weekend() -> None:
    # 2025: Christmas on Thursday and Friday, then the weekend.
    h = hours(closures=[closure(start="2025-12-24", **{"from": "12:00"},
                                reason_nl="Kerstavond", reason_en="Christmas Eve")])
    assert h.is_open(ams(2025, 12, 24, 11, 59))
    status = h.status(ams(2025, 12, 24, 12, 0))
    assert status.reason == "closure" and status.reason_text("en") == "Christmas Eve"
    assert status.closure is not None and status.closure.from_ == time(12, 0)
    assert status.next_open == ams(2025, 12, 29, 8, 30)
    assert h.status(ams(2025, 12, 25, 9, 0)).reason_text("nl") == "Eerste Kerstdag"
    assert h.next_open(ams(2025, 12, 26, 9, 0)) == ams(2025, 12, 29, 8, 30)


def test_across_christmas_on_friday_2026() -> None:
    # 2026: Christmas on Friday and Saturday; Thursday evening -> Monday.
    assert hours().next_open(ams(2026, 12, 24, 20, 0)) == ams(2026, 12, 28, 8, 30)


def test_across_a_closure_range() -> None:
    h = hours(closures=[closure(start=date(2025, 7, 1), end=date(2025, 7, 3))])
    assert h.next_open(ams(2025, 6, 30, 17, 0)) == ams(2025, 7, 4, 8, 30)
    assert h.status(ams(2025, 7, 2, 10, 0)).reason == "closure"


def test_closure_until_a_time_opens_late() -> None:
    h = hours(closures=[closure(start="2025-06-02", until="10:00")])
    assert not h.is_open(ams(2025, 6, 2, 9, 0))
    status = h.status(ams(2025, 6, 2, 9, 0))
    assert status.reason == "closure" and status.next_open == ams(2025, 6, 2, 10, 0)
    assert h.is_open(ams(2025, 6, 2, 10, 0))


def test_multi_day_closure_with_times() -> None:
    # From Wednesday 12:00 until Friday 10:00.
    h = hours(closures=[closure(start="2025-06-04", end="2025-06-06",
                                **{"from": "12:00"}, until="10:00")])
    assert h.is_open(ams(2025, 6, 4, 11, 59))
    assert not h.is_open(ams(2025, 6, 5, 19, 0))
    assert h.next_open(ams(2025, 6, 4, 12, 0)) == ams(2025, 6, 6, 10, 0)


def test_back_to_back_closures() -> None:
    h = hours(closures=[closure(start="2025-06-02", until="10:00"),
                        closure(start="2025-06-02", **{"from": "10:00"}, until="11:00")])
    assert h.next_open(ams(2025, 6, 2, 8, 0)) == ams(2025, 6, 2, 11, 0)


def test_good_friday_and_liberation_day_policies() -> None:
    good_friday = ams(2025, 4, 18, 10, 0)
    assert hours().is_open(good_friday)
    closed = hours(good_friday_closed=True).status(good_friday)
    assert closed.reason == "holiday" and closed.reason_text("nl") == "Goede Vrijdag"
    assert not hours().is_open(ams(2025, 5, 5, 10, 0))          # lustrum year
    assert hours().is_open(ams(2026, 5, 5, 10, 0))              # not a lustrum year
    assert not hours(liberation_day="yearly").is_open(ams(2026, 5, 5, 10, 0))
    assert hours(liberation_day="never").is_open(ams(2025, 5, 5, 10, 0))


def test_no_opening_within_the_horizon() -> None:
    h = hours(closures=[closure(start="2025-06-01", end="2025-08-31")])
    assert h.next_open(ams(2025, 6, 2, 10, 0)) is None
    assert h.status(ams(2025, 6, 2, 10, 0)).next_open is None
    assert h.next_open(ams(2025, 6, 2, 10, 0), horizon_days=120) == ams(2025, 9, 1, 8, 30)
    assert Hours().next_open(ams(2025, 6, 2, 10, 0)) is None


def test_until_midnight() -> None:
    h = hours(saturday=["20:00-24:00"])
    assert h.is_open(ams(2025, 6, 7, 23, 59, 59, 999999))
    assert not h.is_open(ams(2025, 6, 8, 0, 0))
    assert h.status(ams(2025, 6, 7, 21, 0)).closes_at == ams(2025, 6, 8, 0, 0)
    assert h.spans(5) == [(time(20, 0), time(23, 59, 59))]


# -- daylight saving time ------------------------------------------------------------

def test_spring_forward_weekend() -> None:
    # Last Sunday of March 2025 (30th): Friday is CET (+1), Monday is CEST (+2).
    assert hours().is_open(datetime(2025, 3, 28, 7, 30, tzinfo=UTC))        # 08:30 CET
    assert not hours().is_open(datetime(2025, 3, 31, 6, 29, tzinfo=UTC))    # 08:29 CEST
    assert hours().is_open(datetime(2025, 3, 31, 6, 30, tzinfo=UTC))        # 08:30 CEST
    next_open = hours().next_open(datetime(2025, 3, 28, 12, 0, tzinfo=UTC))
    assert next_open == datetime(2025, 3, 31, 6, 30, tzinfo=UTC)
    assert next_open is not None and next_open.utcoffset() == timedelta(hours=2)


def test_fall_back_weekend() -> None:
    # Last Sunday of October 2025 (26th): Friday is CEST (+2), Monday is CET (+1).
    assert not hours().is_open(datetime(2025, 10, 24, 10, 30, tzinfo=UTC))  # 12:30 CEST
    assert not hours().is_open(datetime(2025, 10, 27, 7, 29, 59, tzinfo=UTC))
    assert hours().is_open(datetime(2025, 10, 27, 7, 30, tzinfo=UTC))       # 08:30 CET
    next_open = hours().next_open(datetime(2025, 10, 24, 11, 0, tzinfo=UTC))
    assert next_open == datetime(2025, 10, 27, 7, 30, tzinfo=UTC)
    assert next_open is not None and next_open.utcoffset() == timedelta(hours=1)


def test_opening_inside_the_skipped_spring_hour() -> None:
    # 02:30 does not exist on 30 March 2025: the clock jumps from 02:00 to 03:00 CEST,
    # and at that moment it is past opening time.
    h = Hours(sunday=["02:30-04:00"])
    assert h.next_open(ams(2025, 3, 29, 12, 0)) == datetime(2025, 3, 30, 1, 0, tzinfo=UTC)
    assert h.is_open(datetime(2025, 3, 30, 1, 0, tzinfo=UTC))
    assert not h.is_open(datetime(2025, 3, 30, 0, 59, tzinfo=UTC))


def test_opening_inside_the_repeated_autumn_hour() -> None:
    # 02:00-03:00 happens twice on 26 October 2025: 00:00-01:00 UTC and 01:00-02:00 UTC.
    # (Compared in UTC: PEP 495 makes == across zones False for these ambiguous times.)
    h = Hours(sunday=["02:30-03:00"])
    first = h.next_open(ams(2025, 10, 25, 12, 0))
    assert first is not None
    assert first.astimezone(UTC) == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)
    assert h.is_open(datetime(2025, 10, 26, 0, 45, tzinfo=UTC))
    assert h.is_open(datetime(2025, 10, 26, 1, 45, tzinfo=UTC))
    # 01:10 UTC is 02:10 CET, the second time round: next is 02:30 CET, not the past CEST.
    second_round = [datetime(2025, 10, 26, 1, 10, tzinfo=UTC),
                    datetime(2025, 10, 26, 2, 10, fold=1, tzinfo=AMS)]
    for at in second_round:
        again = h.next_open(at)
        assert again is not None
        assert again.astimezone(UTC) == datetime(2025, 10, 26, 1, 30, tzinfo=UTC)


# -- working days ----------------------------------------------------------------------

@pytest.mark.parametrize(("start", "n", "expected"), [
    (date(2025, 6, 2), 0, date(2025, 6, 2)),
    (date(2025, 6, 2), 2, date(2025, 6, 4)),
    (date(2025, 6, 12), 2, date(2025, 6, 16)),    # Thursday -> Friday, Monday
    (date(2025, 6, 6), 2, date(2025, 6, 11)),     # skips the weekend and Whit Monday
    (date(2025, 6, 7), 1, date(2025, 6, 10)),     # from a Saturday
    (date(2025, 12, 23), 2, date(2025, 12, 29)),  # Wed 24, then Mon 29
    (date(2025, 12, 24), 2, date(2025, 12, 30)),
])
def test_add_working_days(start: date, n: int, expected: date) -> None:
    assert hours().add_working_days(start, n) == expected


def test_partial_closure_day_is_a_working_day() -> None:
    h = hours(closures=[closure(start="2025-12-24", **{"from": "12:00"}),
                        closure(start="2025-12-23")])
    assert h.is_working_day(date(2025, 12, 24))
    assert not h.is_working_day(date(2025, 12, 23))
    assert h.add_working_days(date(2025, 12, 22), 2) == date(2025, 12, 29)


def test_add_working_days_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        hours().add_working_days(date(2025, 6, 2), -1)
    with pytest.raises(TypeError, match="local date"):
        hours().add_working_days(datetime(2025, 6, 2, 10, 0, tzinfo=UTC), 1)
    with pytest.raises(ValueError, match="no working day"):
        Hours().add_working_days(date(2025, 6, 2), 1)


# -- validation -----------------------------------------------------------------------

@pytest.mark.parametrize(("span", "message"), [
    ("8:30-17", "must look like"),
    ("08:30 tot 17:00", "must look like"),
    ("17:00-08:30", "after opening"),
    ("08:30-08:30", "after opening"),
    ("25:00-26:00", "no such time"),
    ("08:30-24:30", "no such time"),
    ("08:60-17:00", "no such time"),
])
def test_bad_spans(span: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Hours(monday=[span])


def test_overlapping_spans() -> None:
    with pytest.raises(ValidationError, match="overlap"):
        Hours(tuesday=["13:00-17:00", "08:30-13:30"])
    Hours(tuesday=["08:30-12:00", "12:00-17:00"])  # touching is fine


@pytest.mark.parametrize(("fields", "message"), [
    (closure(start="2025-07-03", end="2025-07-01"), "before its start"),
    (closure(start="2025-07-03", **{"from": "12:00"}, until="11:00"), "before it starts"),
    (closure(start="2025-07-03", **{"from": "12:00"}, until="12:00"), "before it starts"),
    (closure(start="2025-07-03", reason_nl="  "), "must not be empty"),
    ({"start": "2025-07-03", "reason_nl": "Gesloten"}, "reason_en"),
    (closure(start="2025-07-03", **{"from": "12:00+01:00"}), "without offset"),
    (closure(start="2025-07-03", **{"from": "25:00"}), "time"),
    (closure(start="2025-02-30"), "date"),
    (closure(start="2025-07-03", reason="typo"), "Extra inputs"),
])
def test_bad_closures(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Closure.model_validate(fields)


def test_closure_range_with_until_before_from_on_other_days_is_fine() -> None:
    c = Closure.model_validate(closure(start="2025-07-01", end="2025-07-02",
                                       **{"from": "12:00"}, until="10:00"))
    assert c.interval() == (datetime(2025, 7, 1, 12), datetime(2025, 7, 2, 10))
    assert c.last_day == date(2025, 7, 2)


def test_bad_hours_keys() -> None:
    with pytest.raises(ValidationError, match="yearly"):
        hours(liberation_day="sometimes")
    with pytest.raises(ValidationError, match="Extra inputs"):
        hours(holidays_closed=True)


def test_toml_shape_and_line_numbers() -> None:
    base = (REPO / "config" / "demo.toml").read_text(encoding="utf-8")
    config = load_config(REPO / "config" / "demo.toml")
    assert config.hours.thursday == ["08:30-20:00"]
    assert config.hours.closures and config.hours.closures[0].from_ == time(12, 0)
    bad = base + '\n[[hours.closures]]\nstart = 2026-03-05\nend = 2026-03-01\n' \
                 'reason_nl = "x"\nreason_en = "y"\n'
    with pytest.raises(Exception, match=r"hours\.closures\[\d\]: closure end"):
        parse_config(bad, "kcc.toml")


# -- calamity message -------------------------------------------------------------------

def test_calamity_message() -> None:
    until = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
    message = CalamityMessage("Storing bij DigiD", "DigiD is down", active_until=until)
    assert message.is_active(until - timedelta(seconds=1))
    assert not message.is_active(until)
    assert message.is_active(ams(2025, 6, 2, 13, 59))       # 11:59 UTC
    assert message.text("en") == "DigiD is down"
    assert CalamityMessage.from_dict(message.as_dict()) == message


def test_calamity_message_without_end_or_english() -> None:
    message = CalamityMessage("Wij zijn slecht bereikbaar")
    assert message.is_active(datetime(2100, 1, 1, tzinfo=UTC))
    assert message.text("en") == "Wij zijn slecht bereikbaar"
    assert CalamityMessage.from_dict(message.as_dict()) == message


def test_calamity_message_refuses_naive_and_empty() -> None:
    with pytest.raises(ValueError, match="aware"):
        CalamityMessage("x", active_until=datetime(2025, 6, 2, 12, 0))
    with pytest.raises(ValueError, match="aware"):
        CalamityMessage("x").is_active(datetime(2025, 6, 2, 12, 0))
    with pytest.raises(ValueError, match="Dutch"):
        CalamityMessage(" ", "English only")
