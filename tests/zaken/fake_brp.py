"""A local stand-in for the BRP API Personen (Haal Centraal BRP Personen bevragen v2).

Shapes follow the published OAS (BRP API Personen 2.5.0,
``BRP-API/Haal-Centraal-BRP-bevragen`` ``specificatie/resolved/openapi.yaml``) and its
fout-cases features:

* one operation, ``POST {BASE}/personen``; the body's ``type`` picks the search, ``fields``
  (1-130 dotted paths) is required, and the answer is ``{"type": ..., "personen": [...]}``
  holding only the requested fields (plus the ``type`` of polymorphic objects);
* ``Zoek...`` answers hold a restricted person (``PersoonBeperkt``: no ``verblijfplaats``,
  ``geboorte`` only ``datum``); a field path outside what the type answers is refused
  with 400, as the OAS says of paths "naar een niet-bestaand veld" (our inference for
  the restricted person: the OAS states it for non-existent fields in general);
* errors as ``application/problem+json`` ``Foutbericht`` (``type, title, status, detail,
  code, instance``) and, on 400, ``invalidParams`` (``code, name, reason``), with the
  codes of the features (``paramsCombination`` + ``required``, ``paramsValidation`` +
  ``pattern``/``date``/``integer``/``field``, ``unknownParam``);
* auth by API key header ``X-API-KEY`` (as KISS and the proefomgeving): 401 without or
  with a wrong key, 403 for a search type this client is not authorised for;
* a found-nothing answer is 200 with an empty list (the API has no 404 on /personen).

Every request is recorded, so tests can assert that no personal data left in a URL.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from aiohttp import web

from tests.zaken.fake_zgw import Seen  # the same record of what a fake server saw

BASE = "/haalcentraal/api/brp"
API_KEY = "test-brp-api-key"
REF_KEY = "test-brp-ref-key-that-is-long-enough-0123456789"

_GESLACHTSNAAM = re.compile(r"^[a-zA-Z0-9\u00c0-\u017e .\-']{1,200}$|"
                            r"^[a-zA-Z0-9\u00c0-\u017e .\-']{3,199}\*$")
_VOORNAMEN = re.compile(r"^[a-zA-Z0-9\u00c0-\u017e .\-']{1,199}\*?$")
_VOORVOEGSEL = re.compile(r"^[a-zA-Z ']{1,10}$")
_POSTCODE = re.compile(r"^[1-9][0-9]{3} ?[A-Za-z]{2}$")
_HUISLETTER = re.compile(r"^[a-zA-Z]$")
_TOEVOEGING = re.compile(r"^[a-zA-Z0-9 \-]{1,4}$")
_BSN = re.compile(r"^[0-9]{9}$")
_GEMEENTE = re.compile(r"^[0-9]{4}$")
_FIELD = re.compile(r"^[a-zA-Z0-9._]{1,200}$")

_COMMON = {"type", "fields", "gemeenteVanInschrijving"}
# Parameters per search type (required, optional), from the OAS schemas.
TYPES: dict[str, tuple[set[str], set[str]]] = {
    "RaadpleegMetBurgerservicenummer": ({"burgerservicenummer"}, set()),
    "ZoekMetGeslachtsnaamEnGeboortedatum": (
        {"geslachtsnaam", "geboortedatum"},
        {"inclusiefOverledenPersonen", "geslacht", "voorvoegsel", "voornamen"}),
    "ZoekMetPostcodeEnHuisnummer": (
        {"postcode", "huisnummer"},
        {"inclusiefOverledenPersonen", "huisletter", "huisnummertoevoeging",
         "geboortedatum"}),
}
_NAAM = {"naam", *(f"naam.{f}" for f in ("voornamen", "voorvoegsel", "geslachtsnaam",
                                           "voorletters", "volledigeNaam",
                                           "adellijkeTitelPredicaat"))}
_ADRESSERING = {"adressering", *(f"adressering.{f}" for f in (
    "adresregel1", "adresregel2", "adresregel3", "land"))}
# PersoonBeperkt (the Zoek... answers) and Persoon (RaadpleegMetBurgerservicenummer); the
# fake knows the part of the model its persons have.
FIELDS_BEPERKT = {"burgerservicenummer", "geslacht", "leeftijd", "geboorte",
                  "geboorte.datum", *_NAAM, *_ADRESSERING}
FIELDS_PERSOON = FIELDS_BEPERKT | {
    "geboorte.plaats", "geboorte.land", "gemeenteVanInschrijving",
    "adressering.aanhef", "adressering.aanschrijfwijze", "adressering.gebruikInLopendeTekst",
    "verblijfplaats", "verblijfplaats.functieAdres",
    *(f"verblijfplaats.verblijfadres{f}" for f in (
        "", ".officieleStraatnaam", ".korteStraatnaam", ".huisnummer", ".huisletter",
        ".huisnummertoevoeging", ".postcode", ".woonplaats"))}
# Delivered automatically; asking for them is a 400 (OAS, PersonenQuery.fields).
AUTOMATIC = {"inOnderzoek", "geheimhoudingPersoonsgegevens", "opschortingBijhouding", "rni",
             "verificatie"}


class Problem(Exception):
    def __init__(self, status: int, title: str, code: str, detail: str = "",
                 invalid: list[tuple[str, str, str]] | None = None) -> None:
        super().__init__(code)
        self.status, self.title, self.code = status, title, code
        self.detail = detail or title
        self.invalid = invalid

    def response(self, request: web.Request) -> web.Response:
        sections = {400: "6.5.1", 401: "3.1", 403: "6.5.3", 415: "6.5.13"}
        body: dict[str, Any] = {
            "type": f"https://datatracker.ietf.org/doc/html/rfc7231#section-"
                    f"{sections.get(self.status, '6.6.1')}",
            "title": self.title, "status": self.status, "detail": self.detail,
            "code": self.code, "instance": request.path}
        if self.invalid is not None:
            body["invalidParams"] = [{"code": c, "name": n, "reason": r}
                                     for c, n, r in self.invalid]
        return web.json_response(body, status=self.status,
                                 content_type="application/problem+json")


def _validation(invalid: list[tuple[str, str, str]]) -> Problem:
    names = ", ".join(n for _, n, _ in invalid)
    return Problem(400, "Een of meerdere parameters zijn niet correct.", "paramsValidation",
                   f"De foutieve parameter(s) zijn: {names}.", invalid)


@dataclass
class FakeBrp:
    delay: float = 0.0
    forbidden_types: set[str] = field(default_factory=set)  # 403 for these search types
    personen: list[dict[str, Any]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)

    # -- data -------------------------------------------------------------------------
    def add_person(self, bsn: str, voornamen: str, voorvoegsel: str, geslachtsnaam: str,
                   geboortedatum: str | None, *, postcode: str = "2801AB",
                   huisnummer: int = 12, straat: str = "Markt", woonplaats: str = "Gouda",
                   gemeente: str = "0513", jaar_only: bool = False,
                   overleden: bool = False) -> dict[str, Any]:
        naam = {"voornamen": voornamen, "geslachtsnaam": geslachtsnaam,
                "voorletters": "".join(f"{w[0]}." for w in voornamen.split()),
                "volledigeNaam": " ".join(p for p in (voornamen, voorvoegsel, geslachtsnaam)
                                          if p)}
        if voorvoegsel:
            naam["voorvoegsel"] = voorvoegsel
        if geboortedatum is None:
            datum: dict[str, Any] = {"type": "DatumOnbekend", "onbekend": True,
                                     "langFormaat": "onbekend"}
        elif jaar_only:
            datum = {"type": "JaarDatum", "jaar": int(geboortedatum[:4]),
                     "langFormaat": geboortedatum[:4]}
        else:
            datum = {"type": "Datum", "datum": geboortedatum, "langFormaat": geboortedatum}
        persoon = {
            "burgerservicenummer": bsn, "naam": naam, "leeftijd": 42,
            "geslacht": {"code": "O", "omschrijving": "onbekend"},
            "geboorte": {"datum": datum, "plaats": {"code": "0513", "omschrijving": "Gouda"},
                         "land": {"code": "6030", "omschrijving": "Nederland"}},
            "gemeenteVanInschrijving": {"code": gemeente, "omschrijving": woonplaats},
            "adressering": {"adresregel1": f"{straat} {huisnummer}",
                            "adresregel2": f"{postcode} {woonplaats.upper()}",
                            "land": {"code": "6030", "omschrijving": "Nederland"}},
            "verblijfplaats": {
                "type": "Adres", "functieAdres": {"code": "W", "omschrijving": "woonadres"},
                "verblijfadres": {"officieleStraatnaam": straat, "korteStraatnaam": straat,
                                  "huisnummer": huisnummer, "postcode": postcode,
                                  "woonplaats": woonplaats}},
            "_overleden": overleden, "_huisnummer": huisnummer, "_postcode": postcode,
            "_geboortedatum": None if jaar_only else geboortedatum}
        self.personen.append(persoon)
        return persoon

    # -- server -----------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        app.router.add_post(f"{BASE}/personen", self.zoek)
        return app

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            body = await request.json() if request.can_read_body else None
        except ValueError:
            body = None
        self.seen.append(Seen(request.method, request.path_qs, dict(request.headers), body))
        if self.delay:
            await asyncio.sleep(self.delay)
        try:
            if request.headers.get("X-API-KEY") != API_KEY:
                raise Problem(401, "Niet correct geauthenticeerd.", "authentication")
            return await handler(request)
        except Problem as problem:
            return problem.response(request)

    async def zoek(self, request: web.Request) -> web.Response:
        if not request.content_type.startswith("application/json"):
            raise Problem(415, "Unsupported Media Type", "unsupported")
        try:
            body = await request.json()
        except ValueError:
            raise _validation([("json", "body", "Geen geldige JSON.")]) from None
        if not isinstance(body, dict):
            raise _validation([("object", "body", "Verwacht een object.")])
        kind = body.get("type")
        if kind not in TYPES:
            raise _validation([("value", "type", "Waarde is geen geldige zoek type.")])
        if kind in self.forbidden_types:
            raise Problem(403, "U bent niet geautoriseerd voor deze operatie.", "authorization",
                          f"U bent niet geautoriseerd voor het gebruik van {kind}.")
        required, optional = TYPES[kind]
        unknown = sorted(set(body) - _COMMON - required - optional)
        if unknown:
            raise _validation([("unknownParam", n, "Parameter is niet verwacht.")
                               for n in unknown])
        missing = sorted(n for n in required | {"fields"} if body.get(n) in (None, "", []))
        if missing:
            raise Problem(400, "Minimale combinatie van parameters moet worden opgegeven.",
                          "paramsCombination",
                          f"De foutieve parameter(s) zijn: {', '.join(missing)}.",
                          [("required", n, "Parameter is verplicht.") for n in missing])
        self._check(kind, body)
        found = [p for p in self.personen if self._matches(kind, body, p)]
        fields = body["fields"]
        return web.json_response(
            {"type": kind, "personen": [_select(p, fields) for p in found]},
            content_type="application/json")

    def _check(self, kind: str, body: dict[str, Any]) -> None:
        invalid: list[tuple[str, str, str]] = []

        def pattern(name: str, regex: re.Pattern[str]) -> None:
            value = body.get(name)
            if value is not None and (not isinstance(value, str) or not regex.match(value)):
                invalid.append(("pattern", name,
                                f"Waarde voldoet niet aan patroon {regex.pattern}."))

        fields = body["fields"]
        allowed = FIELDS_PERSOON if kind == "RaadpleegMetBurgerservicenummer" \
            else FIELDS_BEPERKT
        if not isinstance(fields, list) or not 1 <= len(fields) <= 130:
            invalid.append(("array", "fields", "Parameter is geen lijst van 1 tot 130."))
        else:
            for i, path in enumerate(fields):
                if not isinstance(path, str) or not _FIELD.match(path) \
                        or path.split(".")[0] in AUTOMATIC or path not in allowed:
                    invalid.append(("field", f"fields[{i}]",
                                    "Parameter bevat een niet bestaande veldnaam."))
        pattern("gemeenteVanInschrijving", _GEMEENTE)
        if kind == "RaadpleegMetBurgerservicenummer":
            bsns = body["burgerservicenummer"]
            if not isinstance(bsns, list) or not 1 <= len(bsns) <= 20:
                invalid.append(("array", "burgerservicenummer", "Parameter is geen lijst."))
            else:
                invalid += [("pattern", f"burgerservicenummer[{i}]",
                             "Waarde voldoet niet aan patroon ^[0-9]{9}$.")
                            for i, b in enumerate(bsns)
                            if not isinstance(b, str) or not _BSN.match(b)]
        pattern("geslachtsnaam", _GESLACHTSNAAM)
        pattern("voorvoegsel", _VOORVOEGSEL)
        pattern("voornamen", _VOORNAMEN)
        pattern("postcode", _POSTCODE)
        pattern("huisletter", _HUISLETTER)
        pattern("huisnummertoevoeging", _TOEVOEGING)
        if "geboortedatum" in body:
            try:
                date.fromisoformat(str(body["geboortedatum"]))
                ok = re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", str(body["geboortedatum"]))
            except ValueError:
                ok = None
            if not ok:
                invalid.append(("date", "geboortedatum", "Waarde is geen geldige datum."))
        if "huisnummer" in body:
            nummer = body["huisnummer"]
            if not isinstance(nummer, int) or isinstance(nummer, bool) \
                    or not 1 <= nummer <= 99999:
                invalid.append(("integer", "huisnummer", "Waarde is geen geldig getal."))
        if invalid:
            raise _validation(invalid)

    def _matches(self, kind: str, body: dict[str, Any], persoon: dict[str, Any]) -> bool:
        gemeente = body.get("gemeenteVanInschrijving")
        if gemeente and persoon["gemeenteVanInschrijving"]["code"] != gemeente:
            return False
        if kind == "RaadpleegMetBurgerservicenummer":
            return persoon["burgerservicenummer"] in body["burgerservicenummer"]
        if persoon["_overleden"] and body.get("inclusiefOverledenPersonen") is not True:
            return False
        naam = persoon["naam"]
        if kind == "ZoekMetGeslachtsnaamEnGeboortedatum":
            wanted = body["geslachtsnaam"].lower()
            actual = naam["geslachtsnaam"].lower()
            same = actual.startswith(wanted[:-1]) if wanted.endswith("*") else actual == wanted
            voorvoegsel = body.get("voorvoegsel")
            return same and persoon["_geboortedatum"] == body["geboortedatum"] and (
                voorvoegsel is None
                or naam.get("voorvoegsel", "").lower() == voorvoegsel.lower())
        postcode = body["postcode"].replace(" ", "").upper()
        return persoon["_postcode"] == postcode and persoon["_huisnummer"] == body["huisnummer"]


def _select(persoon: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """Only the requested paths; a polymorphic object keeps its ``type``."""
    out: dict[str, Any] = {}
    for path in fields:
        _copy(persoon, out, path.split("."))
    return out


def _copy(src: dict[str, Any], dst: dict[str, Any], parts: list[str]) -> None:
    if parts[0] not in src:
        return
    if len(parts) == 1:
        dst[parts[0]] = src[parts[0]]
        return
    inner = src[parts[0]]
    if not isinstance(inner, dict):
        return
    target = dst.setdefault(parts[0], {})
    if "type" in inner:
        target["type"] = inner["type"]
    _copy(inner, target, parts[1:])
