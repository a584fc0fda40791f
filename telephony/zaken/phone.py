"""Caller numbers to E.164: kept as an import path; the parser is :mod:`telephony.phone`."""

from telephony.phone import ANONYMOUS, mask, normalise, same_number, spellings

__all__ = ["ANONYMOUS", "mask", "normalise", "same_number", "spellings"]
