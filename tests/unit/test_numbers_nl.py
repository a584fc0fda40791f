"""Spoken numbers, dates and times: table-driven, because every row is a thing a caller hears."""

from __future__ import annotations

from datetime import date, time

import pytest

from ivr import numbers_nl as n

CARDINALS_NL = [
    (0, "nul"), (1, "één"), (2, "twee"), (7, "zeven"), (10, "tien"), (11, "elf"),
    (12, "twaalf"), (13, "dertien"), (14, "veertien"), (18, "achttien"), (19, "negentien"),
    (20, "twintig"), (21, "eenentwintig"), (22, "tweeëntwintig"), (23, "drieëntwintig"),
    (24, "vierentwintig"), (30, "dertig"), (38, "achtendertig"), (40, "veertig"),
    (55, "vijfenvijftig"), (62, "tweeënzestig"), (77, "zevenenzeventig"), (80, "tachtig"),
    (99, "negenennegentig"), (100, "honderd"), (101, "honderdeen"), (110, "honderdtien"),
    (125, "honderdvijfentwintig"), (200, "tweehonderd"), (222, "tweehonderdtweeëntwintig"),
    (999, "negenhonderdnegenennegentig"), (1000, "duizend"), (1001, "duizend één"),
    (1100, "duizend honderd"), (1999, "duizend negenhonderdnegenennegentig"),
    (2000, "tweeduizend"), (2026, "tweeduizend zesentwintig"),
    (2400, "tweeduizend vierhonderd"), (10000, "tienduizend"),
    (21000, "eenentwintigduizend"), (100000, "honderdduizend"),
    (140180, "honderdveertigduizend honderdtachtig"),
    (999999, "negenhonderdnegenennegentigduizend negenhonderdnegenennegentig"),
]

ORDINALS_NL = [
    (1, "eerste"), (2, "tweede"), (3, "derde"), (4, "vierde"), (5, "vijfde"), (6, "zesde"),
    (7, "zevende"), (8, "achtste"), (9, "negende"), (10, "tiende"), (11, "elfde"),
    (12, "twaalfde"), (13, "dertiende"), (19, "negentiende"), (20, "twintigste"),
    (21, "eenentwintigste"), (22, "tweeëntwintigste"), (30, "dertigste"),
    (48, "achtenveertigste"), (100, "honderdste"), (101, "honderdeerste"),
    (103, "honderdderde"), (108, "honderdachtste"), (120, "honderdtwintigste"),
    (1000, "duizendste"), (1001, "duizend eerste"), (2003, "tweeduizend derde"),
    (2021, "tweeduizend eenentwintigste"),
]

CARDINALS_EN = [
    (0, "zero"), (1, "one"), (13, "thirteen"), (20, "twenty"), (21, "twenty-one"),
    (100, "one hundred"), (101, "one hundred and one"), (125, "one hundred and twenty-five"),
    (1000, "one thousand"), (2005, "two thousand and five"),
    (2400, "two thousand four hundred"), (999999,
     "nine hundred and ninety-nine thousand nine hundred and ninety-nine"),
]

ORDINALS_EN = [
    (1, "first"), (2, "second"), (3, "third"), (4, "fourth"), (5, "fifth"), (8, "eighth"),
    (9, "ninth"), (11, "eleventh"), (12, "twelfth"), (20, "twentieth"), (21, "twenty-first"),
    (23, "twenty-third"), (100, "one hundredth"), (101, "one hundred and first"),
]


@pytest.mark.parametrize(("value", "words"), CARDINALS_NL)
def test_cardinal_nl(value: int, words: str) -> None:
    assert n.cardinal_nl(value) == words


@pytest.mark.parametrize(("value", "words"), ORDINALS_NL)
def test_ordinal_nl(value: int, words: str) -> None:
    assert n.ordinal_nl(value) == words


@pytest.mark.parametrize(("value", "words"), CARDINALS_EN)
def test_cardinal_en(value: int, words: str) -> None:
    assert n.cardinal_en(value) == words


@pytest.mark.parametrize(("value", "words"), ORDINALS_EN)
def test_ordinal_en(value: int, words: str) -> None:
    assert n.ordinal_en(value) == words


@pytest.mark.parametrize(
    ("position", "lang", "text"),
    [
        (1, "nl", "u bent de eerste wachtende"),
        (3, "nl", "u bent de derde wachtende"),
        (21, "nl", "u bent de eenentwintigste wachtende"),
        (3, "en", "you are third in the queue"),
    ],
)
def test_queue_position(position: int, lang: n.Lang, text: str) -> None:
    assert n.say_queue_position(position, lang) == text


@pytest.mark.parametrize(
    ("minutes", "lang", "text"),
    [
        (0, "nl", "minder dan één minuut"),
        (1, "nl", "ongeveer één minuut"),
        (2, "nl", "ongeveer twee minuten"),
        (5, "nl", "ongeveer vijf minuten"),
        (25, "nl", "ongeveer vijfentwintig minuten"),
        (0, "en", "less than one minute"),
        (1, "en", "about one minute"),
        (5, "en", "about five minutes"),
    ],
)
def test_wait_minutes(minutes: int, lang: n.Lang, text: str) -> None:
    assert n.say_wait_minutes(minutes, lang) == text


TODAY = date(2026, 3, 2)  # a Monday


@pytest.mark.parametrize(
    ("day", "lang", "text"),
    [
        (date(2026, 3, 2), "nl", "vandaag"),
        (date(2026, 3, 3), "nl", "morgen"),
        (date(2026, 3, 4), "nl", "overmorgen"),
        (date(2026, 3, 9), "nl", "maandag negen maart"),
        (date(2026, 3, 1), "nl", "zondag één maart"),
        (date(2026, 12, 31), "nl", "donderdag eenendertig december"),
        (date(2027, 1, 4), "nl", "maandag vier januari tweeduizend zevenentwintig"),
        (date(2026, 3, 3), "en", "tomorrow"),
        (date(2026, 3, 4), "en", "the day after tomorrow"),
        (date(2026, 3, 9), "en", "Monday the ninth of March"),
        (date(2027, 1, 4), "en", "Monday the fourth of January two thousand and twenty-seven"),
    ],
)
def test_date(day: date, lang: n.Lang, text: str) -> None:
    assert n.say_date(day, TODAY, lang) == text


@pytest.mark.parametrize(
    ("moment", "lang", "text"),
    [
        (time(9, 0), "nl", "om negen uur"),
        (time(9, 30), "nl", "om negen uur dertig"),
        (time(8, 5), "nl", "om acht uur vijf"),
        (time(12, 0), "nl", "om twaalf uur"),
        (time(13, 15), "nl", "om dertien uur vijftien"),
        (time(17, 0), "nl", "om zeventien uur"),
        (time(0, 0), "nl", "om middernacht"),
        (time(0, 30), "nl", "om nul uur dertig"),
        (time(9, 30), "en", "at nine thirty in the morning"),
        (time(8, 5), "en", "at eight oh five in the morning"),
        (time(17, 0), "en", "at five o'clock in the afternoon"),
        (time(19, 45), "en", "at seven forty-five in the evening"),
        (time(12, 0), "en", "at noon"),
        (time(0, 0), "en", "at midnight"),
    ],
)
def test_time(moment: time, lang: n.Lang, text: str) -> None:
    assert n.say_time(moment, lang) == text


@pytest.mark.parametrize("bad", [-1, 1_000_000])
def test_cardinal_out_of_range(bad: int) -> None:
    with pytest.raises(ValueError, match="outside the spoken range"):
        n.cardinal_nl(bad)


def test_ordinal_zero_rejected() -> None:
    with pytest.raises(ValueError):
        n.ordinal_nl(0)


def test_non_int_rejected() -> None:
    with pytest.raises(TypeError):
        n.cardinal_nl(2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        n.cardinal_nl(True)


def test_every_number_below_a_thousand_is_one_word_nl() -> None:
    """Dutch writes 1..999 as one word; a stray space would make the TTS pause mid-number."""
    for value in range(1, 1000):
        assert " " not in n.cardinal_nl(value), value
        assert " " not in n.ordinal_nl(value), value
