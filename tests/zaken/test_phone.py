"""Caller-number normalisation: the forms Dutch numbers arrive in, and hostile input."""

from __future__ import annotations

import pytest

from telephony.zaken.phone import mask, normalise, same_number, spellings

MOBILE = "+31612345678"


@pytest.mark.parametrize("raw", [
    "0612345678", "+31612345678", "0031612345678", "612345678", "06-12345678",
    "06 12 34 56 78", "+31 6 12345678", "+31 (0)6 12345678", "+31(0)612345678",
    "0031 (0)6 1234 5678", "00310612345678", "+310612345678", "(06) 12345678",
    "06.12.34.56.78", " 0612345678 ", "sip:+31612345678@trunk.example", "tel:+31612345678",
    "sip:0612345678@10.0.0.1;user=phone",
])
def test_dutch_mobile_forms(raw: str) -> None:
    assert normalise(raw) == MOBILE


@pytest.mark.parametrize(("raw", "e164"), [
    ("0182123456", "+31182123456"), ("+31180654321", "+31180654321"),
    ("0180-777888", "+31180777888"), ("180777888", "+31180777888"),
    ("0031612121212", "+31612121212"), ("020 555 1234", "+31205551234"),
    ("+32 2 555 12 12", "+3225551212"), ("0032 2 555 12 12", "+3225551212"),
    ("+44 20 7946 0958", "+442079460958"), ("+49 30 123456", "+4930123456"),
])
def test_landlines_and_foreign(raw: str, e164: str) -> None:
    assert normalise(raw) == e164


@pytest.mark.parametrize("raw", [
    None, "", "   ", "anonymous", "Anonymous", "unknown", "restricted", "Private",
    "<unknown>", "s", "0612", "06123456789012", "abc", "06abcdefgh", "+31+612345678",
    "06123456+78", "0612345678;drop", "0612345678\x00", "06\n12345678", "'; DROP TABLE--",
    "+99912345678", "1" * 200, "\u0660\u0666\u0661\u0662", "112", "0000000000",
    "sip:anonymous@anonymous.invalid",
])
def test_bad_or_anonymous_input_is_none(raw: str | None) -> None:
    assert normalise(raw) is None


def test_same_number_normalises_both_sides() -> None:
    assert same_number("06-12345678", "0031612345678")
    assert not same_number("0612345678", "0612345679")
    assert not same_number("anonymous", "anonymous")


def test_spellings_cover_register_forms() -> None:
    forms = spellings(MOBILE)
    for expected in ("+31612345678", "0612345678", "0031612345678", "06-12345678",
                     "06 12345678"):
        assert expected in forms
    assert all(normalise(f) == MOBILE for f in forms)


def test_mask_hides_middle() -> None:
    assert mask(MOBILE) == "+316****5678"
    assert mask(None) == ""
