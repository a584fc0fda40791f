"""Where a call-back may go: the toll-fraud guard (issue 10, finding 2).

A call-back dials a number a caller gave (keyed, or their caller ID, which anyone can
spoof). International revenue-share fraud turns that into money: the attacker books
call-backs to ranges that pay them per minute (small countries, satellite +881/+882,
premium rate). ``DestinationPolicy.check_destination`` is the one check every path uses —
the IVR booking, the API booking and the dialler right before it originates — so no path
can forget a rule:

* the number is valid, of a callable kind (``numbers.normalise``: no premium rate,
  shared cost, ...), in a configured country (default NL only) and of a configured type
  (default mobile and fixed);
* bookings: at most one open call-back per number, at most ``max_per_number_per_day``
  per number and ``max_per_day`` in total over the last 24 hours;
* dialling: at most ``max_dials_per_number_per_day`` attempts per number and
  ``max_dials_per_day`` in total over 24 hours (a backstop for rows that did not come
  through a booking).

Every refusal has a code, an English reason for logs and a Dutch sentence for the
caller or agent, and is counted (``kcc_callback_refused_total{reason,where}``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberType

from telephony.callbacks.config import CallbacksConfig
from telephony.callbacks.numbers import BadNumber, normalise

TYPES: dict[str, frozenset[int]] = {
    "mobile": frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}),
    "fixed": frozenset({PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE}),
    "toll_free": frozenset({PhoneNumberType.TOLL_FREE}),
}
DUTCH: dict[str, str] = {
    "no_number": "Er is geen nummer om naar terug te bellen.",
    "malformed": "Dit is geen telefoonnummer.",
    "invalid": "Dit is geen geldig telefoonnummer.",
    "premium_rate": "Betaalnummers (0900, 0906, 0909) bellen wij nooit terug.",
    "shared_cost": "Nummers met gedeelde kosten bellen wij niet terug.",
    "not_callable": "Dit soort nummer bellen wij niet terug.",
    "country_not_allowed": "Wij bellen alleen nummers in {countries} terug.",
    "type_not_allowed": "Wij bellen alleen {types} nummers terug.",
    "already_open": "Voor dit nummer staat al een terugbelverzoek open.",
    "number_cap": "Dit nummer heeft vandaag al het maximum aantal terugbelverzoeken.",
    "day_cap": "Het maximum aantal terugbelverzoeken voor vandaag is bereikt.",
    "number_dial_cap": "Dit nummer is vandaag al het maximum aantal keren gebeld.",
    "day_dial_cap": "Het maximum aantal terugbelgesprekken voor vandaag is bereikt.",
}
TYPE_NL = {"mobile": "mobiele", "fixed": "vaste", "toll_free": "gratis (0800)"}
# HTTP status of an API refusal: the number itself (400), the state (409), a cap (429).
STATUS = {"already_open": 409, "number_cap": 429, "day_cap": 429, "number_dial_cap": 429,
          "day_dial_cap": 429}
OnRefused = Callable[[str, str], None]
Create = Callable[[Any, str], Awaitable[int]]


class DestinationRefused(BadNumber):
    """A refused call-back destination: ``code``, English message, ``dutch`` sentence."""

    def __init__(self, code: str, message: str, dutch: str) -> None:
        super().__init__(code, message)
        self.dutch = dutch

    @property
    def status(self) -> int:
        return STATUS.get(self.code, 400)


class DestinationPolicy:
    def __init__(self, cfg: CallbacksConfig, pool: Any = None,
                 on_refused: OnRefused | None = None) -> None:
        self.cfg = cfg
        self.pool = pool
        self.on_refused = on_refused
        self._types = frozenset().union(*(TYPES[t] for t in cfg.allowed_types))

    def _refuse(self, code: str, message: str, where: str) -> DestinationRefused:
        dutch = DUTCH.get(code, DUTCH["not_callable"]).format(
            countries=", ".join(self.cfg.allowed_countries),
            types=" en ".join(TYPE_NL[t] for t in self.cfg.allowed_types))
        if self.on_refused is not None:
            self.on_refused(code, where)
        return DestinationRefused(code, message, dutch)

    def number(self, raw: str, where: str) -> str:
        """The static rules (no database): E.164 of ``raw`` or DestinationRefused."""
        try:
            e164 = normalise(raw, self.cfg.region)
        except BadNumber as exc:
            raise self._refuse(exc.code, str(exc), where) from None
        parsed = phonenumbers.parse(e164, None)
        country = phonenumbers.region_code_for_number(parsed)
        if country not in self.cfg.allowed_countries:
            raise self._refuse("country_not_allowed",
                               f"destination country {country} is not allowed", where)
        if phonenumbers.number_type(parsed) not in self._types:
            raise self._refuse("type_not_allowed", "number type is not allowed", where)
        return e164

    async def check_destination(self, raw: str, *, where: str, conn: Any = None,
                                callback_id: int | None = None) -> str:
        """All rules for ``raw``; E.164 when it may be booked (``callback_id`` None) or
        dialled now (the claimed ``callback_id``), else DestinationRefused."""
        e164 = self.number(raw, where)
        db = conn if conn is not None else self.pool
        if db is None:
            return e164
        cfg = self.cfg
        if callback_id is None:
            row = await db.fetchrow(
                """SELECT count(*) FILTER (WHERE status IN ('waiting', 'dialling')) AS open,
                          count(*) FILTER (WHERE created_at > now() - interval '1 day')
                              AS number_day,
                          (SELECT count(*) FROM callbacks
                            WHERE created_at > now() - interval '1 day') AS day
                     FROM callbacks WHERE number = $1""", e164)
            if row["open"]:
                raise self._refuse("already_open", "an open call-back exists", where)
            if row["number_day"] >= cfg.max_per_number_per_day:
                raise self._refuse("number_cap", "per-number daily cap reached", where)
            if row["day"] >= cfg.max_per_day:
                raise self._refuse("day_cap", "daily cap reached", where)
            return e164
        row = await db.fetchrow(
            """SELECT count(*) FILTER (WHERE c.number = $1) AS number_day, count(*) AS day
                 FROM callback_attempts a JOIN callbacks c ON c.id = a.callback_id
                WHERE a.claimed_at > now() - interval '1 day'""", e164)
        # The claim being dialled has its attempt row already: hence ">".
        if row["number_day"] > cfg.max_dials_per_number_per_day:
            raise self._refuse("number_dial_cap", "per-number daily dial cap reached", where)
        if row["day"] > cfg.max_dials_per_day:
            raise self._refuse("day_dial_cap", "daily dial cap reached", where)
        return e164

    async def book(self, raw: str, where: str, create: Create) -> int:
        """Check and create in one transaction, serialised per number (advisory lock),
        so two bookings racing for one number cannot both pass "one open call-back"."""
        e164 = self.number(raw, where)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 1410))",
                               e164)
            await self.check_destination(e164, where=where, conn=conn)
            return await create(conn, e164)
