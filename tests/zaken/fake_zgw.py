"""A local stand-in for Open Klant 2 and Open Zaak, serving the published OAS shapes.

Shapes follow ``klantinteracties/openapi.yaml`` (Open Klant, API 0.5.0) and the Zaken API
1.5.1 OAS as served by Open Zaak; the names are checked in ``test_zgw_adapters.py``.
Enough of both to test the adapters over real HTTP:

* paged lists ``{count, next, previous, results}`` (page size set here, as the servers do);
* errors in the ZGW problem shape: ``Fout`` (``type, code, title, status, detail,
  instance``) for 401/403/404/412 and ``ValidatieFout`` (plus ``invalidParams``) for 400;
* the Zaken API's refusal of query parameters a list endpoint does not declare (400
  ``unknown-parameters``, as vng-api-common does); the ``_zoek`` body is held to its
  schema the same way (stricter than Open Zaak, which would ignore an unknown key);
* ``expand`` with the nested ``_expand`` shape, ``Accept-Crs``/``Content-Crs`` (412);
* ZGW JWT (401 bad token, 403 unknown client) and Open Klant ``Token`` auth (401);
* optional behaviour of older servers: no ``kvkNummer`` filter (Open Zaak < 1.20),
  ``partijIdentificatoren`` as references only.

Every request is recorded so tests can assert what left the service (e.g. that no URL
carried a BSN, and that every parameter name is one the published spec lists).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from aiohttp import web

OK_BASE = "/klantinteracties/api/v1"
ZRC_BASE = "/zaken/api/v1"
ZTC_BASE = "/catalogi/api/v1"
TOKEN = "test-openklant-token"
SECRET = "test-zgw-secret-of-at-least-32-bytes!"
CLIENT_ID = "kcc-telefonie"

_ROL_FILTERS = {f"betrokkeneIdentificatie__{name}" for name in (
    "medewerker__identificatie", "natuurlijkPersoon__anpIdentificatie",
    "natuurlijkPersoon__inpA_nummer", "natuurlijkPersoon__inpBsn",
    "nietNatuurlijkPersoon__annIdentificatie", "nietNatuurlijkPersoon__innNnpId",
    "organisatorischeEenheid__identificatie", "vestiging__vestigingsNummer")}
_DATES = {f"{name}{op}" for name, ops in (
    ("archiefactiedatum", ("", "__gt", "__lt", "__isnull")),
    ("einddatum", ("", "__gt", "__lt", "__isnull")),
    ("einddatumGepland", ("", "__gt", "__lt")),
    ("registratiedatum", ("", "__gt", "__lt")),
    ("startdatum", ("", "__gt", "__gte", "__lt", "__lte")),
    ("uiterlijkeEinddatumAfdoening", ("", "__gt", "__lt"))) for op in ops}
# GET /zaken and POST /zaken/_zoek (query), Zaken API 1.5.1.
ZAKEN_QUERY = {"archiefnominatie", "archiefnominatie__in", "archiefstatus",
               "archiefstatus__in", "bronorganisatie", "bronorganisatie__in", "expand",
               "identificatie", "maximaleVertrouwelijkheidaanduiding", "ordering", "page",
               "rol__betrokkene", "rol__betrokkeneType", "rol__omschrijvingGeneriek",
               "zaaktype", *_DATES, *(f"rol__{f}" for f in _ROL_FILTERS)}
# The POST /zaken/_zoek request body, Zaken API 1.5.1.
ZOEK_BODY = (ZAKEN_QUERY - {"page"}) | {"zaakgeometrie", "uuid__in", "zaaktype__in"}
ROLLEN_QUERY = {"betrokkene", "betrokkeneType", "omschrijving", "omschrijvingGeneriek",
                "page", "roltype", "zaak", *_ROL_FILTERS}
# Open Zaak >= 1.20 (docs/api/experimental.rst): the KVK number of a niet-natuurlijk persoon.
KVK_NUMMER = "rol__betrokkeneIdentificatie__nietNatuurlijkPersoon__kvkNummer"
ZAAK_ORDERING = {"archiefactiedatum", "einddatum", "identificatie", "publicatiedatum",
                 "registratiedatum", "startdatum"}
ZAAK_EXPAND = {"zaaktype", "status", "status.statustype", "resultaat", "rollen",
               "eigenschappen", "zaakobjecten", "zaakinformatieobjecten"}

_PARTIJ_ID = ("codeObjecttype", "codeRegister", "codeSoortObjectId", "objectId")
# Open Klant query parameters (klantinteracties openapi.yaml 0.5.0); Open Klant ignores
# others, the tests check we never send any.
OK_QUERY = {
    "digitaleadressen": {
        "adres", "adres__icontains", "expand", "isGeverifieerd", "isStandaardAdres",
        "omschrijving", "page", "pageSize", "referentie", "soortDigitaalAdres",
        "verificatieDatum", "verificatieDatum__gt", "verificatieDatum__gte",
        "verificatieDatum__lt", "verificatieDatum__lte", "verstrektDoorBetrokkene__rol",
        "verstrektDoorBetrokkene__url", "verstrektDoorBetrokkene__uuid",
        "verstrektDoorPartij__soortPartij", "verstrektDoorPartij__url",
        "verstrektDoorPartij__uuid",
        *(f"verstrektDoorPartij__partijIdentificator__{f}" for f in _PARTIJ_ID)},
    "klantcontacten": {
        "expand", "hadBetrokkene__url", "hadBetrokkene__uuid", "hadBetrokkene__wasPartij__url",
        "hadBetrokkene__wasPartij__uuid", "indicatieContactGelukt", "inhoud", "kanaal",
        "nummer", "onderwerp", "onderwerpobject__url", "onderwerpobject__uuid", "page",
        "pageSize", "plaatsgevondenOp", "vertrouwelijk", "wasOnderwerpobject__url",
        "wasOnderwerpobject__uuid",
        *(f"hadBetrokkene__wasPartij__partijIdentificator__{f}" for f in _PARTIJ_ID),
        *(f"{prefix}__onderwerpobjectidentificator{f[0].upper()}{f[1:]}"
          for prefix in ("onderwerpobject", "wasOnderwerpobject") for f in _PARTIJ_ID)},
    "partijen": {"expand"},
    "partij-identificatoren": set(),
}
SOORT_DIGITAAL_ADRES = {"email", "telefoonnummer", "overig"}
PARTIJ_EXPAND = {"betrokkenen", "betrokkenen.hadKlantcontact", "categorieRelaties",
                 "digitaleAdressen"}
KLANTCONTACT_FIELDS = {"nummer", "kanaal", "onderwerp", "inhoud", "indicatieContactGelukt",
                       "taal", "vertrouwelijk", "plaatsgevondenOp"}
BETROKKENE_FIELDS = {"wasPartij", "bezoekadres", "correspondentieadres", "contactnaam", "rol",
                     "organisatienaam", "initiator"}
INTERNETAAK_FIELDS = {"nummer", "gevraagdeHandeling", "aanleidinggevendKlantcontact",
                      "toegewezenAanActor", "toegewezenAanActoren", "toelichting", "status",
                      "afgehandeldOp"}


class Problem(Exception):
    """An error answer in the ZGW ``Fout``/``ValidatieFout`` shape."""

    def __init__(self, status: int, code: str, title: str, detail: str = "",
                 invalid: list[tuple[str, str, str]] | None = None) -> None:
        super().__init__(code)
        self.status, self.code, self.title, self.detail = status, code, title, detail or title
        self.invalid = invalid

    def response(self, request: web.Request) -> web.Response:
        name = "".join(part.capitalize() for part in self.code.replace("-", "_").split("_"))
        body: dict[str, Any] = {
            "type": f"{request.scheme}://{request.host}/ref/fouten/{name}/", "code": self.code,
            "title": self.title, "status": self.status, "detail": self.detail,
            "instance": f"urn:uuid:{uuid.uuid4()}"}
        if self.invalid is not None:
            body["invalidParams"] = [{"name": n, "code": c, "reason": r}
                                     for n, c, r in self.invalid]
        return web.json_response(body, status=self.status,
                                 content_type="application/problem+json")


def invalid(name: str, code: str, reason: str) -> Problem:
    return Problem(400, "invalid", "Invalid input.", reason, [(name, code, reason)])


def not_found() -> Problem:
    return Problem(404, "not_found", "Niet gevonden.")


def _check_query(request: web.Request, allowed: set[str]) -> None:
    unknown = sorted(set(request.query) - allowed)
    if unknown:
        reason = f"Onbekende query parameters: {', '.join(unknown)}"
        raise Problem(400, "invalid", "Invalid input.", reason,
                      [("nonFieldErrors", "unknown-parameters", reason)])


def _check_keys(body: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid(where or "nonFieldErrors", "invalid", "Expected an object.")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise invalid(f"{where}{'.' if where else ''}{unknown[0]}", "unknown-field",
                      "Not a field of this resource in the published schema.")
    return body


def _max_length(data: dict[str, Any], where: str, **limits: int) -> None:
    for name, limit in limits.items():
        if isinstance(data.get(name), str) and len(data[name]) > limit:
            raise invalid(f"{where}.{name}", "max_length",
                          f"Zorg ervoor dat dit veld niet meer dan {limit} tekens bevat.")


def _required(data: dict[str, Any], where: str, *names: str) -> None:
    for name in names:
        if name not in data:
            raise invalid(f"{where}.{name}" if where else name, "required",
                          "Dit veld is vereist.")


def _expand_list(raw: Any) -> list[str]:
    if isinstance(raw, list):
        return [str(x) for x in raw]
    return [x for x in str(raw or "").split(",") if x]


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


@dataclass
class Seen:
    method: str
    path_qs: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeZgw:
    page_size: int = 2
    delays: dict[str, float] = field(default_factory=dict)  # path suffix -> seconds
    foreign_next: bool = False
    supports_kvk_nummer: bool = True  # Open Zaak >= 1.20
    identificator_refs_only: bool = False  # partijIdentificatoren as {uuid, url} only
    partijen: dict[str, dict[str, Any]] = field(default_factory=dict)
    identificatoren: dict[str, dict[str, Any]] = field(default_factory=dict)
    adressen: list[dict[str, Any]] = field(default_factory=list)
    klantcontacten: list[dict[str, Any]] = field(default_factory=list)
    zaken: list[dict[str, Any]] = field(default_factory=list)
    statussen: dict[str, dict[str, Any]] = field(default_factory=dict)  # zaak url -> status
    rollen: list[dict[str, Any]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    created: list[tuple[str, Any]] = field(default_factory=list)
    base: str = ""

    # -- data -------------------------------------------------------------------------
    def _url(self, base: str, resource: str, ident: str) -> str:
        return f"{self.base}{base}/{resource}/{ident}"

    def add_partij(self, soort: str, identificatie: dict[str, Any],
                   ids: list[tuple[str, str, str, str]], phones: list[str]) -> str:
        partij = str(uuid.uuid4())
        refs = []
        for objecttype, register, soort_id, value in ids:
            ident = str(uuid.uuid4())
            self.identificatoren[ident] = {
                "uuid": ident, "url": self._url(OK_BASE, "partij-identificatoren", ident),
                "identificeerdePartij": {"uuid": partij,
                                         "url": self._url(OK_BASE, "partijen", partij)},
                "anderePartijIdentificator": "",
                "partijIdentificator": {"codeObjecttype": objecttype,
                                        "codeSoortObjectId": soort_id, "objectId": value,
                                        "codeRegister": register},
                "subIdentificatorVan": None}
            refs.append(ident)
        self.partijen[partij] = {
            "uuid": partij, "url": self._url(OK_BASE, "partijen", partij), "nummer": "0000000001",
            "interneNotitie": "", "betrokkenen": [], "categorieRelaties": [],
            "digitaleAdressen": [], "voorkeursDigitaalAdres": None, "vertegenwoordigden": [],
            "rekeningnummers": [], "voorkeursRekeningnummer": None, "_identificatoren": refs,
            "soortPartij": soort, "indicatieGeheimhouding": None, "voorkeurstaal": "nld",
            "indicatieActief": True, "bezoekadres": None, "correspondentieadres": None,
            "partijIdentificatie": identificatie}
        for phone in phones:
            adres = str(uuid.uuid4())
            self.adressen.append({
                "uuid": adres, "url": self._url(OK_BASE, "digitaleadressen", adres),
                "verstrektDoorBetrokkene": None,
                "verstrektDoorPartij": {"uuid": partij,
                                        "url": self._url(OK_BASE, "partijen", partij)},
                "adres": phone, "soortDigitaalAdres": "telefoonnummer",
                "isStandaardAdres": False, "omschrijving": "", "referentie": "",
                "verificatieDatum": None})
            self.partijen[partij]["digitaleAdressen"].append(
                {"uuid": adres, "url": self._url(OK_BASE, "digitaleadressen", adres)})
        return partij

    def add_person(self, naam: tuple[str, str, str], bsn: str, phones: list[str]) -> str:
        contactnaam = {"voorletters": naam[0][0], "voornaam": naam[0],
                       "voorvoegselAchternaam": naam[1], "achternaam": naam[2]}
        volledig = " ".join(p for p in (naam[0], naam[1], naam[2]) if p)
        return self.add_partij("persoon", {"contactnaam": contactnaam, "volledigeNaam": volledig},
                               [("natuurlijk_persoon", "brp", "bsn", bsn)], phones)

    def add_company(self, naam: str, kvk: str, phones: list[str]) -> str:
        return self.add_partij("organisatie", {"naam": naam},
                               [("niet_natuurlijk_persoon", "hr", "kvk_nummer", kvk)], phones)

    def add_zaak(self, bsn: str = "", identificatie: str = "ZAAK-1", *, open_: bool = True,
                 startdatum: str = "2026-10-01", kvk: str = "", inn_nnp_id: str = "",
                 statutaire_naam: str = "Bakkerij De Korst B.V.") -> dict[str, Any]:
        zaak_uuid = str(uuid.uuid4())
        url = self._url(ZRC_BASE, "zaken", zaak_uuid)
        zaaktype = self._url(ZTC_BASE, "zaaktypen", "6f8ed9bb-7a2e-4d3c-8f0e-1e4b0a1f4d11")
        status_uuid = str(uuid.uuid4())
        status_url = self._url(ZRC_BASE, "statussen", status_uuid)
        statustype = self._url(ZTC_BASE, "statustypen", "1b2c7f5a-2d3e-4c8b-9a0f-6e5d4c3b2a10")
        zaak = {"url": url, "uuid": zaak_uuid, "identificatie": identificatie,
                "bronorganisatie": "002220647", "omschrijving": f"Omschrijving {identificatie}",
                "toelichting": "", "zaaktype": zaaktype, "registratiedatum": startdatum,
                "verantwoordelijkeOrganisatie": "002220647", "startdatum": startdatum,
                "einddatum": None if open_ else "2026-10-20", "einddatumGepland": None,
                "uiterlijkeEinddatumAfdoening": "2026-12-01", "publicatiedatum": None,
                "status": status_url, "resultaat": None, "rollen": [],
                "vertrouwelijkheidaanduiding": "openbaar", "_bsn": bsn, "_kvk": kvk,
                "_innNnpId": inn_nnp_id}
        self.zaken.append(zaak)
        self.statussen[url] = {
            "url": status_url, "uuid": status_uuid, "zaak": url, "statustype": statustype,
            "datumStatusGezet": "2026-10-02T09:00:00Z", "statustoelichting": "",
            "indicatieLaatstGezetteStatus": True, "gezetdoor": None,
            "zaakinformatieobjecten": [],
            "_statustype": {"url": statustype, "omschrijving": "In behandeling",
                            "volgnummer": 2, "isEindstatus": False},
            "_zaaktype": {"url": zaaktype, "identificatie": "MOR",
                          "omschrijving": "Melding openbare ruimte"}}
        rol = str(uuid.uuid4())
        if bsn:
            betrokkene: dict[str, Any] = {
                "betrokkeneType": "natuurlijk_persoon",
                "betrokkeneIdentificatie": {
                    "inpBsn": bsn, "anpIdentificatie": "", "inpA_nummer": "",
                    "geslachtsnaam": "Jansen", "voorvoegselGeslachtsnaam": "",
                    "voorletters": "K", "voornamen": "Kees", "geslachtsaanduiding": "m",
                    "geboortedatum": "", "verblijfsadres": None, "subVerblijfBuitenland": None}}
        else:
            ident = {"innNnpId": inn_nnp_id, "annIdentificatie": "",
                     "statutaireNaam": statutaire_naam, "innRechtsvorm": "besloten_vennootschap",
                     "bezoekadres": "", "subVerblijfBuitenland": None}
            if kvk:
                ident["kvkNummer"] = kvk
            betrokkene = {"betrokkeneType": "niet_natuurlijk_persoon",
                          "betrokkeneIdentificatie": ident}
        self.rollen.append({
            "url": self._url(ZRC_BASE, "rollen", rol), "uuid": rol, "zaak": url,
            "betrokkene": "", **betrokkene, "afwijkendeNaamBetrokkene": "",
            "roltype": self._url(ZTC_BASE, "roltypen", "aa0e5b14-6f2c-4a43-8c3e-5e7f0b8d9c21"),
            "omschrijving": "Melder", "omschrijvingGeneriek": "initiator",
            "roltoelichting": "", "registratiedatum": "2026-10-01T09:00:00Z",
            "indicatieMachtiging": "", "contactpersoonRol": None, "statussen": []})
        return zaak

    def add_klantcontact(self, partij: str, *, onderwerp: str, plaatsgevonden_op: str,
                         inhoud: str = "...", kanaal: str = "telefoon") -> dict[str, Any]:
        contact_uuid = str(uuid.uuid4())
        contact = {"uuid": contact_uuid, "url": self._url(OK_BASE, "klantcontacten", contact_uuid),
                   "gingOverOnderwerpobjecten": [], "hadBetrokkenActoren": [],
                   "omvatteBijlagen": [], "hadBetrokkenen": [], "leiddeTotInterneTaken": [],
                   "nummer": f"{len(self.klantcontacten) + 1:010d}", "kanaal": kanaal,
                   "onderwerp": onderwerp, "inhoud": inhoud, "indicatieContactGelukt": True,
                   "taal": "nld", "vertrouwelijk": False, "plaatsgevondenOp": plaatsgevonden_op,
                   "_partij": partij}
        self.klantcontacten.append(contact)
        return contact

    # -- server -----------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        r = app.router
        r.add_get(f"{OK_BASE}/digitaleadressen", self.digitaleadressen)
        r.add_get(f"{OK_BASE}/partijen/{{uuid}}", self.partij)
        r.add_get(f"{OK_BASE}/partij-identificatoren/{{uuid}}", self.identificator)
        r.add_get(f"{OK_BASE}/klantcontacten", self.contacten)
        r.add_post(f"{OK_BASE}/maak-klantcontact", self.maak_klantcontact)
        r.add_post(f"{OK_BASE}/internetaken", self.internetaak)
        r.add_post(f"{ZRC_BASE}/zaken/_zoek", self.zaken_zoek)
        r.add_get(f"{ZRC_BASE}/zaken", self.zaken_list)
        r.add_get(f"{ZRC_BASE}/rollen", self.rollen_list)
        r.add_get(f"{ZRC_BASE}/rollen/{{uuid}}", self.rol)
        return app

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        self.seen.append(Seen(request.method, request.path_qs, dict(request.headers), body))
        for suffix, seconds in self.delays.items():
            if request.path.endswith(suffix):
                await asyncio.sleep(seconds)
        try:
            self._authorise(request)
            return await handler(request)
        except Problem as problem:
            return problem.response(request)

    def _authorise(self, request: web.Request) -> None:
        if request.path.startswith(OK_BASE):
            if request.headers.get("Authorization") != f"Token {TOKEN}":
                raise Problem(401, "authentication_failed", "Ongeldige authenticatiegegevens.",
                              "Ongeldige token.")
            return
        try:
            claims = jwt.decode(request.headers.get("Authorization", "")
                                .removeprefix("Bearer "), SECRET, algorithms=["HS256"])
        except jwt.PyJWTError:
            raise Problem(401, "not_authenticated",
                          "Authenticatiegegevens zijn niet opgegeven.") from None
        if claims.get("client_id") != CLIENT_ID or not claims.get("user_id"):
            raise Problem(403, "permission_denied",
                          "U heeft geen toestemming om deze actie uit te voeren.")
        if request.path.startswith(f"{ZRC_BASE}/zaken"):
            if request.headers.get("Accept-Crs") != "EPSG:4326":
                raise Problem(412, "precondition_failed", "Precondition failed.",
                              "'Accept-Crs' header ontbreekt")
            if request.method == "POST" and request.headers.get("Content-Crs") != "EPSG:4326":
                raise Problem(412, "precondition_failed", "Precondition failed.",
                              "'Content-Crs' header ontbreekt")

    def _page(self, request: web.Request, items: list[dict[str, Any]],
              shape: Any = None) -> web.Response:
        try:
            page = int(request.query.get("page", "1"))
        except ValueError:
            raise invalid("page", "invalid", "Ongeldige pagina.") from None
        start = (page - 1) * self.page_size
        if page < 1 or (start >= len(items) and page != 1):
            raise not_found()
        chunk = items[start:start + self.page_size]
        nxt = prev = None
        if start + self.page_size < len(items):
            url = request.url.update_query(page=str(page + 1))
            nxt = str(url.with_host("evil.example")) if self.foreign_next else str(url)
        if page > 1:
            prev = str(request.url.update_query(page=str(page - 1)))
        results = [(shape or _public)(item) for item in chunk]
        return web.json_response({"count": len(items), "next": nxt, "previous": prev,
                                  "results": results})

    # -- Klantinteracties API ---------------------------------------------------------
    async def digitaleadressen(self, request: web.Request) -> web.Response:
        adres = request.query.get("adres")
        soort = request.query.get("soortDigitaalAdres")
        if soort is not None and soort not in SOORT_DIGITAAL_ADRES:
            raise invalid("soortDigitaalAdres", "invalid_choice",
                          f"Selecteer een geldige keuze. {soort} is geen beschikbare keuze.")
        items = [a for a in self.adressen if (adres is None or a["adres"] == adres)
                 and (soort is None or a["soortDigitaalAdres"] == soort)]
        return self._page(request, items)

    def _partij_shape(self, partij: dict[str, Any]) -> dict[str, Any]:
        out = _public(partij)
        refs = partij["_identificatoren"]
        out["partijIdentificatoren"] = (
            [{"uuid": u, "url": self.identificatoren[u]["url"]} for u in refs]
            if self.identificator_refs_only else [self.identificatoren[u] for u in refs])
        return out

    async def partij(self, request: web.Request) -> web.Response:
        expand = _expand_list(request.query.get("expand"))
        if set(expand) - PARTIJ_EXPAND:
            raise invalid("expand", "invalid_choice", "Ongeldige expand.")
        found = self.partijen.get(request.match_info["uuid"])
        if not found:
            raise not_found()
        return web.json_response(self._partij_shape(found))

    async def identificator(self, request: web.Request) -> web.Response:
        found = self.identificatoren.get(request.match_info["uuid"])
        if not found:
            raise not_found()
        return web.json_response(found)

    async def contacten(self, request: web.Request) -> web.Response:
        partij = request.query.get("hadBetrokkene__wasPartij__uuid")
        items = [c for c in self.klantcontacten if partij is None or c["_partij"] == partij]
        return self._page(request, list(reversed(items)))  # order_by("-pk")

    async def maak_klantcontact(self, request: web.Request) -> web.Response:
        body = _check_keys(await request.json(), {"klantcontact", "betrokkene",
                                                  "onderwerpobject"}, "")
        _required(body, "", "klantcontact")
        contact = _check_keys(body["klantcontact"], KLANTCONTACT_FIELDS, "klantcontact")
        _required(contact, "klantcontact", "kanaal", "onderwerp", "taal", "vertrouwelijk")
        _max_length(contact, "klantcontact", kanaal=50, onderwerp=200, inhoud=1000, taal=3,
                    nummer=10)
        betrokkene = body.get("betrokkene")
        partij = None
        if betrokkene is not None:
            _check_keys(betrokkene, BETROKKENE_FIELDS, "betrokkene")
            _required(betrokkene, "betrokkene", "rol", "initiator")
            if betrokkene["rol"] not in ("klant", "vertegenwoordiger"):
                raise invalid("betrokkene.rol", "invalid_choice", "Ongeldige rol.")
            partij = (betrokkene.get("wasPartij") or {}).get("uuid")
            if partij is not None and partij not in self.partijen:
                raise invalid("betrokkene.wasPartij.uuid", "does_not_exist",
                              "Object bestaat niet.")
        onderwerpobject = body.get("onderwerpobject")
        if onderwerpobject is not None:
            _check_keys(onderwerpobject, {"wasKlantcontact", "onderwerpobjectidentificator"},
                        "onderwerpobject")
            ident = onderwerpobject.get("onderwerpobjectidentificator") or {}
            _check_keys(ident, set(_PARTIJ_ID), "onderwerpobject.onderwerpobjectidentificator")
        self.created.append(("klantcontact", body))
        new = self.add_klantcontact(
            partij or "", onderwerp=contact["onderwerp"], inhoud=contact.get("inhoud", ""),
            kanaal=contact["kanaal"],
            plaatsgevonden_op=contact.get("plaatsgevondenOp") or datetime.now(UTC).isoformat())
        new["indicatieContactGelukt"] = contact.get("indicatieContactGelukt")
        ref = {"uuid": new["uuid"], "url": new["url"]}
        answer: dict[str, Any] = {"klantcontact": _public(new)}
        if betrokkene is not None:
            b_uuid = str(uuid.uuid4())
            answer["betrokkene"] = {**betrokkene, "uuid": b_uuid,
                                    "url": self._url(OK_BASE, "betrokkenen", b_uuid),
                                    "hadKlantcontact": ref, "digitaleAdressen": [],
                                    "volledigeNaam": ""}
        if onderwerpobject is not None:
            o_uuid = str(uuid.uuid4())
            answer["onderwerpobject"] = {**onderwerpobject, "uuid": o_uuid,
                                         "url": self._url(OK_BASE, "onderwerpobjecten", o_uuid),
                                         "klantcontact": ref}
        return web.json_response(answer, status=201)

    async def internetaak(self, request: web.Request) -> web.Response:
        body = _check_keys(await request.json(), INTERNETAAK_FIELDS, "")
        _required(body, "", "aanleidinggevendKlantcontact", "gevraagdeHandeling", "status")
        if body["status"] not in ("te_verwerken", "verwerkt"):
            raise invalid("status", "invalid_choice", "Ongeldige status.")
        _max_length(body, "", nummer=10, gevraagdeHandeling=200, toelichting=1000)
        aanleiding = (body["aanleidinggevendKlantcontact"] or {}).get("uuid")
        if not any(c["uuid"] == aanleiding for c in self.klantcontacten):
            raise invalid("aanleidinggevendKlantcontact.uuid", "does_not_exist",
                          "Object bestaat niet.")
        self.created.append(("internetaak", body))
        taak = str(uuid.uuid4())
        return web.json_response({**body, "uuid": taak,
                                  "url": self._url(OK_BASE, "internetaken", taak),
                                  "toegewezenOp": datetime.now(UTC).isoformat(),
                                  "afgehandeldOp": None}, status=201)

    # -- Zaken API --------------------------------------------------------------------
    def _zaken_matching(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        bsn = filters.get("rol__betrokkeneIdentificatie__natuurlijkPersoon__inpBsn")
        kvk = filters.get(KVK_NUMMER)
        inn = filters.get("rol__betrokkeneIdentificatie__nietNatuurlijkPersoon__innNnpId")
        ident = filters.get("identificatie")
        open_only = _truthy(filters.get("einddatum__isnull"))
        items = [z for z in self.zaken if (bsn is None or z["_bsn"] == bsn)
                 and (kvk is None or z["_kvk"] == kvk)
                 and (inn is None or z["_innNnpId"] == inn)
                 and (ident is None or z["identificatie"] == ident)
                 and (not open_only or z["einddatum"] is None)]
        ordering = filters.get("ordering") or []
        for key in reversed(ordering if isinstance(ordering, list) else ordering.split(",")):
            if key.lstrip("-") not in ZAAK_ORDERING:
                raise invalid("ordering", "invalid_choice", f"Ongeldige ordering: {key}")
            items.sort(key=lambda z, k=key: z[k.lstrip("-")] or "", reverse=key.startswith("-"))
        return items

    def _zaak_shape(self, expand: list[str]) -> Any:
        unknown = set(expand) - ZAAK_EXPAND
        if unknown:
            raise invalid("expand", "invalid_choice",
                          f"Ongeldige expand: {', '.join(sorted(unknown))}")

        def shape(zaak: dict[str, Any]) -> dict[str, Any]:
            out = _public(zaak)
            if not expand:
                return out
            status = self.statussen[zaak["url"]]
            extra: dict[str, Any] = {}
            if "zaaktype" in expand:
                extra["zaaktype"] = status["_zaaktype"]
            if "status" in expand or "status.statustype" in expand:
                extra["status"] = _public(status)
                if "status.statustype" in expand:
                    extra["status"]["_expand"] = {"statustype": status["_statustype"]}
            out["_expand"] = extra
            return out
        return shape

    def _zaken_query(self, request: web.Request) -> None:
        allowed = ZAKEN_QUERY | ({KVK_NUMMER} if self.supports_kvk_nummer else set())
        _check_query(request, allowed)

    async def zaken_zoek(self, request: web.Request) -> web.Response:
        self._zaken_query(request)
        allowed = ZOEK_BODY | ({KVK_NUMMER} if self.supports_kvk_nummer else set())
        body = _check_keys(await request.json(), allowed, "")
        for key in ("expand", "ordering"):
            if key in body and not isinstance(body[key], list):
                raise invalid(key, "not_a_list", "Verwachtte een lijst.")
        if "einddatum__isnull" in body and not isinstance(body["einddatum__isnull"], bool):
            raise invalid("einddatum__isnull", "invalid", "Moet een boolean zijn.")
        expand = _expand_list(body.get("expand")) + _expand_list(request.query.get("expand"))
        filters = {**request.query, **body}
        return self._page(request, self._zaken_matching(filters), self._zaak_shape(expand))

    async def zaken_list(self, request: web.Request) -> web.Response:
        self._zaken_query(request)
        expand = _expand_list(request.query.get("expand"))
        return self._page(request, self._zaken_matching(dict(request.query)),
                          self._zaak_shape(expand))

    async def rollen_list(self, request: web.Request) -> web.Response:
        _check_query(request, ROLLEN_QUERY)
        zaak = request.query.get("zaak")
        generiek = request.query.get("omschrijvingGeneriek")
        return self._page(request, [
            r for r in self.rollen if (zaak is None or r["zaak"] == zaak)
            and (generiek is None or r["omschrijvingGeneriek"] == generiek)])

    async def rol(self, request: web.Request) -> web.Response:
        found = next((r for r in self.rollen if r["uuid"] == request.match_info["uuid"]), None)
        if not found:
            raise not_found()
        return web.json_response(found)


def _public(item: dict[str, Any]) -> dict[str, Any]:
    """The resource as served: without the fake's own ``_``-prefixed bookkeeping."""
    return {k: v for k, v in item.items() if not k.startswith("_")}
