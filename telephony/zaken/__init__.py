"""Caller identification and the screen-pop of the caller's zaken (issue 6).

Kept import-light: ``telephony.config`` imports ``telephony.zaken.config`` at start.
"""
