"""Validate and normalise the number a citizen is called back on.

Caller ID and keyed digits are attacker-controlled: a caller could ask the KCC to dial a
premium-rate number (0900/0906/0909: the municipality pays, the attacker earns), a
shared-cost number, or something malformed that would reach the dialplan. Only numbers
that ``phonenumbers`` parses as valid, of a callable type, leave this module, and only in
E.164 form (``+31612345678``), so the dialplan sees ``+`` and digits and nothing else.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

# Types a KCC may call back. Premium rate, shared cost, UAN, pagers, VoIP-only and
# "unknown" are refused: they cost the municipality money or are not a citizen's phone.
ALLOWED_TYPES = frozenset({
    PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE, PhoneNumberType.TOLL_FREE,
})
_REFUSED_PREFIXES = ("+31900", "+31906", "+31909")  # belt and braces for NL premium rate
_INPUT = re.compile(r"^[+0-9 ()./-]{3,32}$")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


class BadNumber(ValueError):
    """A number that is refused, with a code the API and IVR can act on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def normalise(raw: str, region: str = "NL") -> str:
    """``raw`` (06-12345678, 0031 6..., +31 6 ..., 0049...) -> E.164, or BadNumber.

    ``00`` international prefix is accepted as Dutch callers key it on a phone keypad.
    """
    text = (raw or "").strip()
    if not text or text.lower() in ("anonymous", "unknown", "restricted", "private"):
        raise BadNumber("no_number", "no number to call back (anonymous caller?)")
    if not _INPUT.match(text):
        raise BadNumber("malformed", "a phone number has only digits, spaces and + ( ) - . /")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, region)
    except NumberParseException:
        raise BadNumber("malformed", "not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise BadNumber("invalid", "not a valid phone number")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    kind = phonenumbers.number_type(parsed)
    if kind == PhoneNumberType.PREMIUM_RATE or e164.startswith(_REFUSED_PREFIXES):
        raise BadNumber("premium_rate", "premium-rate numbers are never called back")
    if kind == PhoneNumberType.SHARED_COST:
        raise BadNumber("shared_cost", "shared-cost numbers are never called back")
    if kind not in ALLOWED_TYPES:
        raise BadNumber("not_callable", "this kind of number is not called back")
    if not E164.match(e164):  # what the dialplan receives: nothing else may pass
        raise BadNumber("malformed", "not a phone number")
    return e164
