"""BRP API Personen adapter (Haal Centraal "BRP Personen bevragen" v2; ``POST /personen``).

The agent's search by BSN, by geslachtsnaam + geboortedatum and by postcode + huisnummer
when caller data comes from the ZGW landscape, done as municipal KCCs (KISS) do it: one
``POST {base_url}/personen`` whose JSON body names the search ``type`` and its parameters,
so a BSN, name or address is never in a URL (the API was designed that way for the AVG).

Names below were checked against the published OAS (BRP API Personen 2.5.0,
``BRP-API/Haal-Centraal-BRP-bevragen`` ``specificatie/resolved/openapi.yaml``) and its
features; the report of that check lists the sources. Points that matter here:

* ``fields`` is required (1-130 paths) and is the data minimisation: we ask for the name
  (and the BSN, to make a ref) when searching, and for birth date and address only when
  one person's details are fetched. The ``Zoek...`` searches answer with a restricted
  person (``PersoonBeperkt``: no ``verblijfplaats``), so search fields stay within it.
* ``geboorte.datum`` is a polymorphic date: ``{"type": "Datum", "datum": "1983-05-26"}``,
  or ``JaarDatum``/``JaarMaandDatum``/``DatumOnbekend`` (shown as no date).
* A BSN that is not found is a 200 with no (or an empty) ``personen``; there is no 404 on
  ``/personen``, so a 404 means a wrong ``base_url`` and is reported as a source error.
* Errors are ``application/problem+json`` (``type, title, status, detail, code, instance``
  plus ``invalidParams`` on 400); the :class:`JsonClient` turns them into typed errors and
  never logs a body.
* Geslachtsnaam is matched case-insensitively and exactly (no ``*`` wildcard: the same
  rule as the PostgreSQL search, and fewer persons shown); voorvoegsels are separate, so
  "de Boer" is sent as geslachtsnaam "Boer" + voorvoegsel "de" (and, if that finds no
  one, once more as geslachtsnaam "de Boer" for names like "De Gucht").

A person found here gets an opaque ref ``p-<base32 AES-SIV(bsn)>``: deterministic (the
same person always has the same ref, so the processing log can be queried per klant),
authenticated (a tampered or foreign ref decrypts to nothing) and readable only with the
server's key. Refs fit :data:`telephony.zaken.schemas.REF` (``[0-9A-Za-z-]``, <= 64).
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from telephony.zaken.config import BrpSection
from telephony.zaken.http import JsonClient, SourceError
from telephony.zaken.schemas import Klant, KlantQuery, KlantSummary

REF_PREFIX = "p-"
_REF_AD = b"kcc-brp-ref"
_REF_BODY = re.compile(r"^[a-z2-7]{40}$")  # base32 of 16-byte SIV tag + 9-byte BSN
_BSN = re.compile(r"^[0-9]{9}$")  # Burgerservicenummer in the OAS

RAADPLEEG_BSN = "RaadpleegMetBurgerservicenummer"
ZOEK_NAAM_GEBOORTEDATUM = "ZoekMetGeslachtsnaamEnGeboortedatum"
ZOEK_POSTCODE_HUISNUMMER = "ZoekMetPostcodeEnHuisnummer"

# What a search result shows (a name) plus the BSN that becomes the ref.
SEARCH_FIELDS = ("burgerservicenummer", "naam.voornamen", "naam.voorvoegsel",
                 "naam.geslachtsnaam")
# What the verified pop shows of one person.
DETAIL_FIELDS = (*SEARCH_FIELDS, "geboorte.datum", "adressering.adresregel1",
                 "verblijfplaats.verblijfadres.postcode",
                 "verblijfplaats.verblijfadres.woonplaats")

# GeslachtsnaamFilter / VoorvoegselFilter patterns of the OAS (without the wildcard
# form). A name outside the first cannot be in the BRP, so it is not sent at all.
GESLACHTSNAAM = re.compile(r"^[a-zA-Z0-9\u00c0-\u017e .\-']{1,200}$")
VOORVOEGSEL = re.compile(r"^[a-zA-Z ']{1,10}$")
_VOORVOEGSEL_WORDS = frozenset({
    "van", "de", "der", "den", "het", "'t", "ter", "ten", "te", "in", "op", "aan", "bij",
    "uit", "la", "le", "du", "des", "von", "zu", "di", "da", "del", "dos", "el", "al"})


class PersonRefs:
    """BSN <-> opaque ``p-`` ref, with AES-SIV (RFC 5297) under a key derived from the
    configured secret (HKDF-SHA256, 64 bytes = AES-256-SIV)."""

    def __init__(self, secret: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=64, salt=None,
                   info=b"kcc-telefonie brp person ref v1").derive(secret.encode())
        self._siv = AESSIV(key)

    def ref(self, bsn: str) -> str:
        if not _BSN.match(bsn):
            raise ValueError("not a burgerservicenummer")
        token = self._siv.encrypt(bsn.encode("ascii"), [_REF_AD])
        return REF_PREFIX + base64.b32encode(token).decode("ascii").lower()

    def bsn(self, ref: str) -> str | None:
        """The BSN inside ``ref``; ``None`` for anything not made by :meth:`ref` with this
        key (malformed, tampered, another key). Never raises."""
        if not ref.startswith(REF_PREFIX) or not _REF_BODY.match(ref[len(REF_PREFIX):]):
            return None
        try:
            token = base64.b32decode(ref[len(REF_PREFIX):].upper())
            plain = self._siv.decrypt(token, [_REF_AD])
        except (binascii.Error, ValueError, InvalidTag):
            return None
        bsn = plain.decode("ascii", errors="replace")
        return bsn if _BSN.match(bsn) else None


class BrpPersonen:
    def __init__(self, config: BrpSection, timeout: float) -> None:
        self.config = config
        self.http = JsonClient(config.base_url, timeout)
        self._api_key = config.api_key()
        self.refs = PersonRefs(config.ref_key())

    async def close(self) -> None:
        await self.http.close()

    def _headers(self, agent: str) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self._api_key:
            headers[self.config.api_key_header] = self._api_key
        if self.config.user_header and agent:
            headers[self.config.user_header] = agent
        return headers

    async def personen(self, body: dict[str, Any], *, agent: str) -> list[dict[str, Any]]:
        """One ``POST /personen``; the persons in the answer (personal data in the body)."""
        if self.config.gemeente_van_inschrijving:
            body = {**body, "gemeenteVanInschrijving": self.config.gemeente_van_inschrijving}
        answer = await self.http.request("POST", self.http.url("personen"),
                                         self._headers(agent), body=body)
        if answer is None:  # /personen has no 404: the base URL is wrong
            raise SourceError("no BRP personen endpoint at the configured URL", 404)
        personen = answer.get("personen") or []
        if not isinstance(personen, list):
            raise SourceError("a BRP answer without a personen list")
        return [p for p in personen if isinstance(p, dict)]

    async def search(self, query: KlantQuery, limit: int, *, agent: str,
                     ) -> list[KlantSummary]:
        """Search by BSN, geslachtsnaam + geboortedatum or postcode + huisnummer."""
        fields = list(SEARCH_FIELDS)
        if query.bsn is not None:
            found = await self.personen({"type": RAADPLEEG_BSN,
                                         "burgerservicenummer": [query.bsn],
                                         "fields": fields}, agent=agent)
        elif query.achternaam is not None and query.geboortedatum is not None:
            found = await self._by_naam(query.achternaam, query.geboortedatum, fields,
                                        agent=agent)
        elif query.postcode is not None and query.huisnummer is not None:
            found = await self.personen({"type": ZOEK_POSTCODE_HUISNUMMER,
                                         "postcode": query.postcode,
                                         "huisnummer": query.huisnummer,
                                         "fields": fields}, agent=agent)
        else:
            raise ValueError(f"the BRP has no search by {query.kind}")
        seen: dict[str, dict[str, Any]] = {}
        for persoon in found:
            bsn = persoon.get("burgerservicenummer")
            if isinstance(bsn, str) and _BSN.match(bsn):
                seen.setdefault(bsn, persoon)
        ordered = sorted(seen.items(), key=lambda item: _sort_key(item[1]))
        return [KlantSummary(self.refs.ref(bsn), persoon_naam(p)) for bsn, p in
                ordered[:limit]]

    async def _by_naam(self, achternaam: str, geboortedatum: date, fields: list[str], *,
                       agent: str) -> list[dict[str, Any]]:
        naam = achternaam.replace("\u2019", "'").replace("\u2018", "'").strip()
        if not GESLACHTSNAAM.match(naam):
            return []  # no geslachtsnaam in the BRP can look like this
        body: dict[str, Any] = {"type": ZOEK_NAAM_GEBOORTEDATUM,
                                "geboortedatum": geboortedatum.isoformat(), "fields": fields}
        voorvoegsel, geslachtsnaam = split_voorvoegsel(naam)
        if voorvoegsel:
            found = await self.personen({**body, "geslachtsnaam": geslachtsnaam,
                                         "voorvoegsel": voorvoegsel}, agent=agent)
            if found:
                return found
        return await self.personen({**body, "geslachtsnaam": naam}, agent=agent)

    async def klant(self, ref: str, *, agent: str) -> Klant | None:
        """One person by ``p-`` ref: the BSN goes to the BRP in the body only."""
        bsn = self.refs.bsn(ref)
        if bsn is None:
            return None
        found = await self.personen({"type": RAADPLEEG_BSN, "burgerservicenummer": [bsn],
                                     "fields": list(DETAIL_FIELDS)}, agent=agent)
        persoon = next((p for p in found if p.get("burgerservicenummer") == bsn), None)
        if persoon is None:
            return None
        adres = _obj(_obj(persoon.get("verblijfplaats")).get("verblijfadres"))
        return Klant(ref=ref, soort="natuurlijk_persoon", naam=persoon_naam(persoon), bsn=bsn,
                     geboortedatum=brp_datum(_obj(persoon.get("geboorte")).get("datum")),
                     adres=_str(_obj(persoon.get("adressering")).get("adresregel1")),
                     postcode=_str(adres.get("postcode")),
                     woonplaats=_str(adres.get("woonplaats")))


def split_voorvoegsel(naam: str) -> tuple[str, str]:
    """("de", "Boer") for "de Boer"; ("", naam) when there is no (valid) voorvoegsel."""
    words = naam.split()
    taken = 0
    while taken < len(words) - 1 and words[taken].lower() in _VOORVOEGSEL_WORDS:
        taken += 1
    voorvoegsel = " ".join(words[:taken]).lower()
    if not taken or not VOORVOEGSEL.match(voorvoegsel):
        return "", naam
    return voorvoegsel, " ".join(words[taken:])


def persoon_naam(persoon: dict[str, Any]) -> str:
    naam = _obj(persoon.get("naam"))
    parts = (naam.get("voornamen"), naam.get("voorvoegsel"), naam.get("geslachtsnaam"))
    return " ".join(str(p) for p in parts if isinstance(p, str) and p)


def brp_datum(value: Any) -> date | None:
    """A full date (``type: Datum``); partial and unknown dates are no date."""
    datum = _obj(value)
    if datum.get("type") != "Datum" or not isinstance(datum.get("datum"), str):
        return None
    try:
        return date.fromisoformat(datum["datum"])
    except ValueError:
        return None


def _sort_key(persoon: dict[str, Any]) -> tuple[str, str, str]:
    naam = _obj(persoon.get("naam"))
    return (_str(naam.get("geslachtsnaam")).lower(), _str(naam.get("voorvoegsel")).lower(),
            _str(naam.get("voornamen")).lower())


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""
