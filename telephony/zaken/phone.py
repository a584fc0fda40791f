"""Caller numbers to E.164, and the spellings to look a number up by.

Dutch numbers reach us in many forms: ``0612345678`` (national), ``+31612345678``,
``0031612345678`` (international prefix), ``612345678`` (trunk stripped the leading 0),
``+31 (0)6-12345678`` (as printed on letterheads), ``sip:+31612345678@carrier``. Stored
numbers (ours and Open Klant's free-text ``adres``) are just as varied, so matching always
normalises *both* sides to E.164. The caller ID is attacker-controlled: anything that is
not a plausible, valid number yields ``None`` (an empty card), never an exception.
"""

from __future__ import annotations

import re

import phonenumbers

ANONYMOUS = {"", "anonymous", "unknown", "restricted", "private", "unavailable", "withheld",
             "asterisk", "<unknown>", "s"}
_URI = re.compile(r"^(?:sips?|tel):([^@;]+)", re.IGNORECASE)
_ALLOWED = re.compile(r"^[0-9+()\-. /]{1,40}$")


def normalise(raw: str | None, region: str = "NL") -> str | None:
    """E.164 form of a caller number, or ``None`` when it is anonymous or not a number."""
    if raw is None:
        return None
    text = raw.strip()
    if len(text) > 64:
        return None
    uri = _URI.match(text)
    if uri:
        text = uri.group(1)
    if text.lower() in ANONYMOUS or not _ALLOWED.match(text):
        return None
    compact = re.sub(r"[ ()\-./]", "", text)
    if compact.count("+") > 1 or ("+" in compact and not compact.startswith("+")):
        return None
    # "+31 (0)6..." and "00310..." carry the trunk 0 after the country code; drop it.
    compact = re.sub(r"^(\+31|0031)0", r"\1", compact)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    elif region == "NL" and re.fullmatch(r"[1-9][0-9]{8}", compact):
        compact = "0" + compact  # nine digits: the trunk prefix 0 was stripped
    try:
        parsed = phonenumbers.parse(compact, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


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
