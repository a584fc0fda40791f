"""Numbers, dates and times as the words a caller hears (Dutch, with English equivalents).

Why words and not digits: the IVR speaks text through espeak-ng, and a TTS engine reading "3"
guesses at context (cardinal? ordinal? part of a date?). Writing the words ourselves makes the
prompt say exactly what a Dutch call-centre agent would say, and makes it testable as plain text.

Style decisions (kept deliberately simple and unambiguous for callers, including non-native
speakers who are a large share of a municipal KCC's callers):

* Standalone *one* is written ``één`` (with accents) so the TTS stresses it as the number, not as
  the article ``een``; inside compounds it stays ``een`` (``eenentwintig``, ``honderdeen``).
* Above a thousand a space follows ``duizend`` (Taalunie spelling): ``tweeduizend vierhonderd``.
* 1100..1999 are ``duizend honderd`` etc., not ``elfhonderd``: the latter is idiomatic for years
  but needlessly hard for non-native listeners.
* Times use the 24-hour "digital" style: ``om negen uur dertig``, ``om zeventien uur``. The
  colloquial ``om half tien`` means 9:30 and is a classic trap (English "half ten" is 10:30),
  and ``vijf uur`` leaves morning/afternoon open; the digital style has neither problem and
  matches how municipalities write times (``17.00 uur``).
* Dates are ``vandaag`` / ``morgen`` / ``overmorgen`` when that close, else
  ``maandag drie maart`` (plus the year only when it is not the current year).

All functions are pure; English versions (``*_en``) follow the same shapes with British usage.
"""

from __future__ import annotations

from datetime import date, time
from typing import Literal

Lang = Literal["nl", "en"]
MAX_NUMBER = 999_999

# --------------------------------------------------------------------------- Dutch

_UNITS_NL = (
    "nul", "een", "twee", "drie", "vier", "vijf", "zes", "zeven", "acht", "negen",
    "tien", "elf", "twaalf", "dertien", "veertien", "vijftien", "zestien", "zeventien",
    "achttien", "negentien",
)
_TENS_NL = ("", "", "twintig", "dertig", "veertig", "vijftig", "zestig", "zeventig", "tachtig",
            "negentig")
_ORDINAL_SMALL_NL = (
    "", "eerste", "tweede", "derde", "vierde", "vijfde", "zesde", "zevende", "achtste",
    "negende", "tiende", "elfde", "twaalfde", "dertiende", "veertiende", "vijftiende",
    "zestiende", "zeventiende", "achttiende", "negentiende",
)
_WEEKDAYS_NL = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
_MONTHS_NL = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
              "september", "oktober", "november", "december")


def _check_range(n: int, low: int = 0) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"expected an int, got {type(n).__name__}")
    if not low <= n <= MAX_NUMBER:
        raise ValueError(f"number {n} outside the spoken range {low}..{MAX_NUMBER}")


def _below_100_nl(n: int) -> str:
    """1..99 as a compound word: ``eenentwintig``, ``tweeëntwintig`` (trema after e)."""
    if n < 20:
        return _UNITS_NL[n]
    tens, unit = divmod(n, 10)
    if unit == 0:
        return _TENS_NL[tens]
    unit_word = _UNITS_NL[unit]
    # "twee" + "en" would read as "tween"; Dutch spelling puts a trema: tweeëntwintig.
    joiner = "ën" if unit_word.endswith("e") else "en"
    return f"{unit_word}{joiner}{_TENS_NL[tens]}"


def _below_1000_nl(n: int) -> str:
    """1..999 as one word: ``honderd``, ``tweehonderdvijfentwintig``."""
    hundreds, rest = divmod(n, 100)
    head = "" if hundreds == 0 else ("honderd" if hundreds == 1 else
                                     f"{_UNITS_NL[hundreds]}honderd")
    return head + (_below_100_nl(rest) if rest else "")


def cardinal_nl(n: int) -> str:
    """0..999999 in words: 21 → ``eenentwintig``, 2400 → ``tweeduizend vierhonderd``."""
    _check_range(n)
    if n == 0:
        return "nul"
    if n == 1:
        return "één"
    thousands, rest = divmod(n, 1000)
    parts = []
    if thousands:
        parts.append("duizend" if thousands == 1 else f"{_below_1000_nl(thousands)}duizend")
    if rest:
        parts.append("één" if rest == 1 else _below_1000_nl(rest))
    return " ".join(parts)


def ordinal_nl(n: int) -> str:
    """1..999999 as an ordinal: ``eerste``, ``achtste``, ``twintigste``, ``honderdeerste``.

    Dutch ordinals change only the last element: 1..19 (and whatever precedes them) take the
    irregular table (``eerste``, ``derde``, ``achtste``...); everything ending in a ten, a hundred
    or a thousand takes ``-ste``.
    """
    _check_range(n, low=1)
    small = n % 100
    if small == 0 or small >= 20:
        return cardinal_nl(n) + "ste"
    head_value = n - small
    tail = _ORDINAL_SMALL_NL[small]
    if head_value == 0:
        return tail
    head = cardinal_nl(head_value)
    # After "duizend" a space (like the cardinal); within a hundred-group one word.
    return f"{head} {tail}" if head_value % 1000 == 0 else f"{head}{tail}"


def queue_position_nl(position: int) -> str:
    """``u bent de derde wachtende``."""
    return f"u bent de {ordinal_nl(position)} wachtende"


def wait_minutes_nl(minutes: int) -> str:
    """Expected wait: ``minder dan één minuut``, ``ongeveer één minuut``, ``ongeveer vijf minuten``.

    Rounding (and whether to announce long waits at all) is the caller's policy; this only says
    a whole number of minutes the way it should sound.
    """
    _check_range(minutes)
    if minutes == 0:
        return "minder dan één minuut"
    if minutes == 1:
        return "ongeveer één minuut"
    return f"ongeveer {cardinal_nl(minutes)} minuten"


def date_nl(day: date, today: date) -> str:
    """``vandaag``, ``morgen``, ``overmorgen`` or ``maandag drie maart`` (year when not this year).

    Days in the past are said as a plain date: "gisteren" in an IVR almost always means a
    clock/timezone bug, and a full date makes that visible instead of plausible.
    """
    delta = (day - today).days
    relative = {0: "vandaag", 1: "morgen", 2: "overmorgen"}
    if delta in relative:
        return relative[delta]
    text = f"{_WEEKDAYS_NL[day.weekday()]} {cardinal_nl(day.day)} {_MONTHS_NL[day.month - 1]}"
    if day.year != today.year:
        text += f" {cardinal_nl(day.year)}"
    return text


def time_nl(moment: time) -> str:
    """24-hour digital style: ``om negen uur``, ``om negen uur dertig``, ``om zeventien uur vijf``.

    Midnight is ``om middernacht`` (``om nul uur`` sounds like a fault). Seconds are ignored.
    """
    if moment.hour == 0 and moment.minute == 0:
        return "om middernacht"
    text = f"om {cardinal_nl(moment.hour)} uur"
    if moment.minute:
        text += f" {cardinal_nl(moment.minute)}"
    return text


# --------------------------------------------------------------------------- English

_UNITS_EN = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)
_TENS_EN = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_ORDINAL_IRREGULAR_EN = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}
_WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")


def _below_1000_en(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    parts = []
    if hundreds:
        parts.append(f"{_UNITS_EN[hundreds]} hundred")
    if rest:
        if rest < 20:
            words = _UNITS_EN[rest]
        else:
            tens, unit = divmod(rest, 10)
            words = _TENS_EN[tens] + (f"-{_UNITS_EN[unit]}" if unit else "")
        parts.append(f"and {words}" if hundreds else words)
    return " ".join(parts)


def cardinal_en(n: int) -> str:
    """0..999999, British style: 125 → ``one hundred and twenty-five``."""
    _check_range(n)
    if n == 0:
        return "zero"
    thousands, rest = divmod(n, 1000)
    parts = []
    if thousands:
        parts.append(f"{_below_1000_en(thousands)} thousand")
    if rest:
        # "two thousand and five": British usage keeps the "and" before a final part < 100.
        parts.append(("and " if thousands and rest < 100 else "") + _below_1000_en(rest))
    return " ".join(parts)


def ordinal_en(n: int) -> str:
    """1..999999: ``first``, ``twenty-third``, ``one hundredth``."""
    _check_range(n, low=1)
    words = cardinal_en(n)
    # Only the last element changes; it may follow a space or a hyphen.
    cut = max(words.rfind(" "), words.rfind("-")) + 1
    head, last = words[:cut], words[cut:]
    if last in _ORDINAL_IRREGULAR_EN:
        last = _ORDINAL_IRREGULAR_EN[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + last


def queue_position_en(position: int) -> str:
    """``you are third in the queue``."""
    return f"you are {ordinal_en(position)} in the queue"


def wait_minutes_en(minutes: int) -> str:
    """``less than one minute``, ``about one minute``, ``about five minutes``."""
    _check_range(minutes)
    if minutes == 0:
        return "less than one minute"
    if minutes == 1:
        return "about one minute"
    return f"about {cardinal_en(minutes)} minutes"


def date_en(day: date, today: date) -> str:
    """``today``, ``tomorrow``, ``the day after tomorrow`` or ``Monday the third of March``."""
    delta = (day - today).days
    relative = {0: "today", 1: "tomorrow", 2: "the day after tomorrow"}
    if delta in relative:
        return relative[delta]
    text = f"{_WEEKDAYS_EN[day.weekday()]} the {ordinal_en(day.day)} of {_MONTHS_EN[day.month - 1]}"
    if day.year != today.year:
        text += f" {cardinal_en(day.year)}"
    return text


def time_en(moment: time) -> str:
    """12-hour clock with the part of day: ``at nine thirty in the morning``, ``at noon``.

    English speakers do not say 24-hour times aloud, so the day part carries the AM/PM.
    """
    hour, minute = moment.hour, moment.minute
    if minute == 0 and hour in (0, 12):
        return "at midnight" if hour == 0 else "at noon"
    spoken_hour = _UNITS_EN[hour % 12 or 12]
    if minute == 0:
        clock = f"{spoken_hour} o'clock"
    elif minute < 10:
        clock = f"{spoken_hour} oh {_UNITS_EN[minute]}"
    else:
        clock = f"{spoken_hour} {cardinal_en(minute)}"
    part = ("at night" if hour < 6 else "in the morning" if hour < 12
            else "in the afternoon" if hour < 18 else "in the evening")
    return f"at {clock} {part}"


# --------------------------------------------------------------------------- by language


def say_number(n: int, lang: Lang) -> str:
    return cardinal_nl(n) if lang == "nl" else cardinal_en(n)


def say_ordinal(n: int, lang: Lang) -> str:
    return ordinal_nl(n) if lang == "nl" else ordinal_en(n)


def say_queue_position(position: int, lang: Lang) -> str:
    return queue_position_nl(position) if lang == "nl" else queue_position_en(position)


def say_wait_minutes(minutes: int, lang: Lang) -> str:
    return wait_minutes_nl(minutes) if lang == "nl" else wait_minutes_en(minutes)


def say_date(day: date, today: date, lang: Lang) -> str:
    return date_nl(day, today) if lang == "nl" else date_en(day, today)


def say_time(moment: time, lang: Lang) -> str:
    return time_nl(moment) if lang == "nl" else time_en(moment)
