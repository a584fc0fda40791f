"""Call-back numbers: kept as an import path; the parser is :mod:`telephony.phone`.

``normalise`` here is :func:`telephony.phone.callback_number` (raises :class:`BadNumber`);
the screen-pop's ``normalise`` answers ``None`` instead. Both share one parse.
"""

from telephony.phone import ALLOWED_TYPES, E164, BadNumber
from telephony.phone import callback_number as normalise

__all__ = ["ALLOWED_TYPES", "E164", "BadNumber", "normalise"]
