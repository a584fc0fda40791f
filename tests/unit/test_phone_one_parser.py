"""One phone-number parser: the screen-pop's lookup and the call-back's dial check agree."""

from __future__ import annotations

import pytest

from telephony import phone
from telephony.callbacks import numbers
from telephony.zaken import phone as zaken_phone


def test_old_import_paths_are_the_one_module() -> None:
    assert zaken_phone.normalise is phone.normalise
    assert numbers.normalise is phone.callback_number
    assert numbers.BadNumber is phone.BadNumber


@pytest.mark.parametrize("raw", [
    "+31 (0)6 12345678", "612345678", "sip:+31612345678@trunk.example", "0031 6 1234 5678",
])
def test_every_form_the_pop_matches_can_be_called_back(raw: str) -> None:
    assert phone.normalise(raw) == phone.callback_number(raw) == "+31612345678"


@pytest.mark.parametrize(("raw", "code"), [
    ("0900-1234567", "premium_rate"), ("sip:anonymous@anonymous.invalid", "no_number"),
    ("1" * 200, "malformed"),
])
def test_lookup_is_none_where_dialling_is_refused(raw: str, code: str) -> None:
    with pytest.raises(phone.BadNumber) as info:
        phone.callback_number(raw)
    assert info.value.code == code
    if code != "premium_rate":
        assert phone.normalise(raw) is None
