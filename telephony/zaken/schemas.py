"""Domain records (klant, zaak, contactmoment) and the validated inputs of the zaken API.

Every source (PostgreSQL, the ZGW APIs) maps onto these records, so the popper and the
API never see a source's own shape. The BSN lives only on :class:`Klant` and is never part
of ``to_dict`` output: the pop and the logs cannot leak what they never receive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Kanaal = Literal["telefoon", "balie", "e-mail", "web", "post"]
KANALEN: tuple[str, ...] = ("telefoon", "balie", "e-mail", "web", "post")
REF = re.compile(r"^[0-9A-Za-z-]{1,64}$")
ZAAKNUMMER = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,39}$")
POSTCODE = re.compile(r"^([1-9][0-9]{3})\s?([A-Za-z]{2})$")


def valid_bsn(value: str) -> bool:
    """The elfproef for a BSN: 9 digits, weighted sum (last weight -1) divisible by 11."""
    if not re.fullmatch(r"[0-9]{9}", value) or value == "000000000":
        return False
    total = sum(int(d) * w for d, w in zip(value, (9, 8, 7, 6, 5, 4, 3, 2, -1), strict=True))
    return total % 11 == 0


@dataclass(frozen=True)
class KlantSummary:
    """What is needed to greet: a reference and a name. Nothing else."""

    ref: str
    naam: str
    soort: str = "natuurlijk_persoon"  # or "niet_natuurlijk_persoon"

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "naam": self.naam, "soort": self.soort}


@dataclass(frozen=True)
class GreetingCard:
    """A candidate as the unverified pop shows it: the name and how many open zaken."""

    summary: KlantSummary
    open_zaken: int | None  # None: the count was not available in time

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary.to_dict(), "open_zaken": self.open_zaken}


@dataclass
class Greeting:
    """The greeting view's data and the lookups that failed or timed out building it."""

    cards: list[GreetingCard] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Klant:
    ref: str
    soort: str
    naam: str
    bsn: str = ""  # never serialised
    kvk: str = ""
    geboortedatum: date | None = None
    adres: str = ""
    postcode: str = ""
    woonplaats: str = ""
    telefoonnummers: tuple[str, ...] = ()
    email: str = ""

    def summary(self) -> KlantSummary:
        return KlantSummary(self.ref, self.naam, self.soort)

    def to_dict(self) -> dict[str, Any]:
        """Details shown after verification; the BSN is deliberately absent."""
        return {"ref": self.ref, "soort": self.soort, "naam": self.naam, "kvk": self.kvk,
                "geboortedatum": self.geboortedatum.isoformat() if self.geboortedatum else None,
                "adres": self.adres, "postcode": self.postcode, "woonplaats": self.woonplaats,
                "telefoonnummers": list(self.telefoonnummers), "email": self.email}

    def __repr__(self) -> str:  # keeps the BSN out of tracebacks and debug logs
        return f"Klant(ref={self.ref!r}, soort={self.soort!r})"


@dataclass(frozen=True)
class Zaak:
    identificatie: str
    omschrijving: str
    zaaktype: str
    status: str
    status_datum: datetime | None
    startdatum: date | None
    uiterlijke_einddatum: date | None
    afdeling: str = ""
    medewerker: str = ""
    uuid: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"identificatie": self.identificatie, "omschrijving": self.omschrijving,
                "zaaktype": self.zaaktype, "status": self.status,
                "status_datum": self.status_datum.isoformat() if self.status_datum else None,
                "startdatum": self.startdatum.isoformat() if self.startdatum else None,
                "uiterlijke_einddatum": (self.uiterlijke_einddatum.isoformat()
                                         if self.uiterlijke_einddatum else None),
                "afdeling": self.afdeling, "medewerker": self.medewerker}


@dataclass(frozen=True)
class Contactmoment:
    kanaal: str
    onderwerp: str
    tekst: str
    medewerker: str
    uitkomst: str
    at: datetime | None
    call_id: str = ""
    zaak: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"kanaal": self.kanaal, "onderwerp": self.onderwerp, "tekst": self.tekst,
                "medewerker": self.medewerker, "uitkomst": self.uitkomst,
                "at": self.at.isoformat() if self.at else None, "call_id": self.call_id,
                "zaak": self.zaak}


@dataclass(frozen=True)
class OpenZaken:
    """The open zaken the pop shows (at most ``limit``) and how many there are in all."""

    total: int
    zaken: list[Zaak] = field(default_factory=list)


# ------------------------------------------------------------------ validated inputs
class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class KlantQuery(_Input):
    """One agent search: exactly one of the four ways of the issue (name + birth date,
    postcode + house number, BSN, zaaknummer)."""

    achternaam: str | None = Field(default=None, min_length=2, max_length=80)
    geboortedatum: date | None = None
    postcode: str | None = None
    huisnummer: int | None = Field(default=None, ge=1, le=99999)
    bsn: str | None = None
    zaaknummer: str | None = None

    @field_validator("bsn")
    @classmethod
    def _bsn(cls, value: str | None) -> str | None:
        if value is not None and not valid_bsn(value):
            raise ValueError("not a valid BSN (9 digits, elfproef)")
        return value

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = POSTCODE.match(value)
        if not match:
            raise ValueError("postcode must look like 1234 AB")
        return f"{match.group(1)}{match.group(2).upper()}"

    @field_validator("zaaknummer")
    @classmethod
    def _zaaknummer(cls, value: str | None) -> str | None:
        if value is not None and not ZAAKNUMMER.match(value):
            raise ValueError("zaaknummer: 1-40 characters [0-9A-Za-z._-]")
        return value

    @field_validator("achternaam")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and any(ord(c) < 32 for c in value):
            raise ValueError("control characters are not allowed")
        return value

    @model_validator(mode="after")
    def _one_way(self) -> KlantQuery:
        ways = [self.bsn is not None, self.zaaknummer is not None,
                self.achternaam is not None or self.geboortedatum is not None,
                self.postcode is not None or self.huisnummer is not None]
        if sum(ways) != 1:
            raise ValueError("search by exactly one of: bsn; zaaknummer; achternaam + "
                             "geboortedatum; postcode + huisnummer")
        if (self.achternaam is None) != (self.geboortedatum is None):
            raise ValueError("achternaam and geboortedatum go together")
        if (self.postcode is None) != (self.huisnummer is None):
            raise ValueError("postcode and huisnummer go together")
        return self

    @property
    def kind(self) -> str:
        """What kind of search this was, for the processing log (never the values)."""
        if self.bsn is not None:
            return "bsn"
        if self.zaaknummer is not None:
            return "zaaknummer"
        if self.achternaam is not None:
            return "naam_geboortedatum"
        return "postcode_huisnummer"


class NewContactmoment(_Input):
    call_id: str = Field(default="", pattern=r"^[0-9A-Za-z._-]{0,64}$")
    klant_ref: str | None = Field(default=None, pattern=REF.pattern)
    zaak_identificatie: str | None = Field(default=None, pattern=ZAAKNUMMER.pattern)
    kanaal: Kanaal = "telefoon"
    onderwerp: str = Field(min_length=1, max_length=200)
    tekst: str = Field(default="", max_length=10000)
    uitkomst: str = Field(default="", max_length=200)


class CallbackTask(_Input):
    """A "Terugbellen" request (the callback issue creates these)."""

    call_id: str = Field(default="", pattern=r"^[0-9A-Za-z._-]{0,64}$")
    klant_ref: str | None = Field(default=None, pattern=REF.pattern)
    telefoonnummer: str = Field(min_length=1, max_length=32)
    toelichting: str = Field(default="", max_length=2000)
