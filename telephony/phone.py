"""The one place phone numbers are parsed: caller numbers to E.164, and call-back numbers.

Dutch numbers reach us in many forms: ``0612345678`` (national), ``+31612345678``,
``0031612345678`` (international prefix), ``612345678`` (trunk stripped the leading 0),
``+31 (0)6-12345678`` (as printed on letterheads), ``sip:+31612345678@carrier``. Stored
numbers (ours and Open Klant's free-text ``adres``) are just as varied, so matching always
normalises *both* sides to E.164.

Two callers need two answers from the same parse, so both live here (earlier the screen-pop
and the call-backs each had their own parser, and they drifted apart):

* :func:`normalise` — a number to *look up* (screen-pop, call records): ``None`` when it is
  anonymous or not a number, never an exception, because caller ID is attacker-controlled;
* :func:`callback_number` — a number the KCC will *dial*: only valid numbers of a callable
  type, in E.164, else :class:`BadNumber` with a code the API and IVR act on (a caller could
  ask the KCC to dial a premium-rate number: the municipality pays, the attacker earns).
"""

from __future__ import annotations

import functools
import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

ANONYMOUS = frozenset({"", "anonymous", "unknown", "restricted", "private", "unavailable",
                       "withheld", "asterisk", "<unknown>", "s"})
_URI = re.compile(r"^(?:sips?|tel):([^@;]+)", re.IGNORECASE)
_ALLOWED = re.compile(r"^[0-9+()\-. /]{1,40}$")
_SEPARATORS = re.compile(r"[ ()\-./]")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")

# Types a KCC may call back. Premium rate, shared cost, UAN, pagers, VoIP-only and
# "unknown" are refused: they cost the municipality money or are not a citizen's phone.
ALLOWED_TYPES = frozenset({
    PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE, PhoneNumberType.TOLL_FREE,
})
_REFUSED_PREFIXES = ("+31900", "+31906", "+31909")  # belt and braces for NL premium rate


class BadNumber(ValueError):
    """A number that is refused, with a code the API and IVR can act on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse(raw: str | None, region: str = "NL") -> phonenumbers.PhoneNumber:
    """A valid parsed number from any spelling, or :class:`BadNumber` saying why not.

    Codes: ``no_number`` (anonymous/empty), ``malformed`` (not a phone number's
    characters or shape), ``invalid`` (well formed but not an existing number).
    """
    text = (raw or "").strip()
    if len(text) > 64:
        raise BadNumber("malformed", "not a phone number")
    uri = _URI.match(text)
    if uri:
        text = uri.group(1)
    if text.lower() in ANONYMOUS:
        raise BadNumber("no_number", "no number (anonymous caller?)")
    if not _ALLOWED.match(text):
        raise BadNumber("malformed", "a phone number has only digits, spaces and + ( ) - . /")
    compact = _SEPARATORS.sub("", text)
    if (len(compact) < 3 or compact.count("+") > 1
            or ("+" in compact and not compact.startswith("+"))):
        raise BadNumber("malformed", "not a phone number")
    # "+31 (0)6..." and "00310..." carry the trunk 0 after the country code; drop it.
    compact = re.sub(r"^(\+31|0031)0", r"\1", compact)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    elif region == "NL" and re.fullmatch(r"[1-9][0-9]{8}", compact):
        compact = "0" + compact  # nine digits: the trunk prefix 0 was stripped
    try:
        parsed = phonenumbers.parse(compact, region)
    except NumberParseException:
        raise BadNumber("malformed", "not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise BadNumber("invalid", "not a valid phone number")
    return parsed


def _e164(parsed: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@functools.lru_cache(maxsize=8192)
def normalise(raw: str | None, region: str = "NL") -> str | None:
    """E.164 form of a caller number, or ``None`` when it is anonymous or not a number.

    Cached: the call model asks on every channel event of the caller's leg, and
    ``phonenumbers`` takes tens of microseconds per parse (bench_sipp's profile).
    """
    try:
        return _e164(parse(raw, region))
    except BadNumber:
        return None


def callback_number(raw: str | None, region: str = "NL") -> str:
    """``raw`` (06-12345678, 0031 6..., +31 6 ..., 0049...) -> E.164 to dial, or BadNumber.

    ``00`` international prefix is accepted as Dutch callers key it on a phone keypad.
    """
    parsed = parse(raw, region)
    e164 = _e164(parsed)
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


def same_number(a: str | None, b: str | None, region: str = "NL") -> bool:
    """True when both are valid numbers and normalise to the same E.164."""
    na, nb = normalise(a, region), normalise(b, region)
    return na is not None and na == nb


def spellings(e164: str) -> list[str]:
    """How the number is likely written in a free-text register, for exact-match lookups.

    Open Klant filters ``digitaleadressen`` on the stored string; we ask for the common
    spellings and normalise what comes back, so "06-12345678" on file still matches.
    """
    parsed = phonenumbers.parse(e164, None)
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    intl = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    digits_national = re.sub(r"\D", "", national)
    out = [e164, digits_national, "00" + e164[1:], national, intl,
           intl.replace(" ", ""), national.replace(" ", "-")]
    if parsed.country_code == 31 and digits_national.startswith("06"):
        out.append(f"06-{digits_national[2:]}")
        out.append(f"06 {digits_national[2:]}")
    seen: dict[str, None] = {}
    for item in out:
        seen.setdefault(item, None)
    return list(seen)


def mask(e164: str | None) -> str:
    """A number for logs: enough to correlate, not enough to call (``+316****5678``)."""
    if not e164:
        return ""
    return e164[:4] + "*" * max(0, len(e164) - 8) + e164[-4:]
