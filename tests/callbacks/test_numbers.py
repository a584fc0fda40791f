"""Number validation: what may be dialled back (focused unit tests, no I/O)."""

from __future__ import annotations

import pytest

from telephony.callbacks.numbers import BadNumber, normalise


@pytest.mark.parametrize(("raw", "e164"), [
    ("06-12345678", "+31612345678"),
    ("06 1234 5678", "+31612345678"),
    ("0031612345678", "+31612345678"),
    ("+31 (0)10 123 4567".replace("(0)", ""), "+31101234567"),
    ("010-1234567", "+31101234567"),
    ("0800-0123", "+318000123"),
    ("+49 30 1234567", "+49301234567"),
    ("0044 20 7946 0958", "+442079460958"),
])
def test_valid_numbers_normalise_to_e164(raw: str, e164: str) -> None:
    assert normalise(raw) == e164


@pytest.mark.parametrize(("raw", "code"), [
    ("0900-1234567", "premium_rate"),
    ("0906 1234567", "premium_rate"),
    ("0909-1234567", "premium_rate"),
    ("+31 900 1234567", "premium_rate"),
    ("", "no_number"),
    ("anonymous", "no_number"),
    ("Restricted", "no_number"),
    ("12", "malformed"),
    ("06;Dial(PJSIP/x)", "malformed"),
    ("06\n12345678", "malformed"),
    ("+31,612345678", "malformed"),
    ("0612345", "invalid"),
    ("+999123456789", "malformed"),
    ("0842 123456", "not_callable"),
])
def test_refused_numbers_say_why(raw: str, code: str) -> None:
    with pytest.raises(BadNumber) as info:
        normalise(raw)
    assert info.value.code == code, (raw, info.value.code)
