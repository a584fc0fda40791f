"""A local stand-in for Open Klant 2 and Open Zaak, serving the published response shapes.

Enough of the Klantinteracties API (digitaleadressen, partijen, partij-identificatoren,
klantcontacten, maak-klantcontact, internetaken) and the Zaken API (zaken list and
``_zoek`` with ``expand``, rollen) to test the adapters: paged answers (``count``,
``next``, ``previous``, ``results``), 404s, auth failures (Token / ZGW JWT), the
``Accept-Crs`` precondition, and configurable slowness. Every request is recorded so tests
can assert what left the service (e.g. that no URL carried a BSN).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web

OK_BASE = "/klantinteracties/api/v1"
ZRC_BASE = "/zaken/api/v1"
TOKEN = "test-openklant-token"
SECRET = "test-zgw-secret-of-at-least-32-bytes!"
CLIENT_ID = "kcc-telefonie"


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
    partijen: dict[str, dict[str, Any]] = field(default_factory=dict)
    identificatoren: dict[str, dict[str, Any]] = field(default_factory=dict)
    adressen: list[dict[str, Any]] = field(default_factory=list)
    klantcontacten: list[dict[str, Any]] = field(default_factory=list)
    zaken: list[dict[str, Any]] = field(default_factory=list)
    rollen: list[dict[str, Any]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    created: list[tuple[str, Any]] = field(default_factory=list)
    base: str = ""

    # -- data -------------------------------------------------------------------------
    def add_person(self, naam: tuple[str, str, str], bsn: str, phones: list[str]) -> str:
        partij = str(uuid.uuid4())
        ident = str(uuid.uuid4())
        self.identificatoren[ident] = {
            "uuid": ident, "identificeerdePartij": {"uuid": partij},
            "partijIdentificator": {"codeObjecttype": "natuurlijk_persoon",
                                    "codeSoortObjectId": "bsn", "objectId": bsn,
                                    "codeRegister": "brp"}}
        self.partijen[partij] = {
            "uuid": partij, "url": f"{self.base}{OK_BASE}/partijen/{partij}", "nummer": "1",
            "soortPartij": "persoon", "indicatieActief": True,
            "partijIdentificatoren": [{"uuid": ident}],
            "partijIdentificatie": {"contactnaam": {"voorletters": naam[0][0],
                                                    "voornaam": naam[0],
                                                    "voorvoegselAchternaam": naam[1],
                                                    "achternaam": naam[2]}}}
        for phone in phones:
            self.adressen.append({"uuid": str(uuid.uuid4()), "adres": phone,
                                  "soortDigitaalAdres": "telefoonnummer",
                                  "verstrektDoorPartij": {"uuid": partij}})
        return partij

    def add_zaak(self, bsn: str, identificatie: str, *, open_: bool = True,
                 startdatum: str = "2026-10-01") -> dict[str, Any]:
        zaak_uuid = str(uuid.uuid4())
        url = f"{self.base}{ZRC_BASE}/zaken/{zaak_uuid}"
        zaak = {"url": url, "uuid": zaak_uuid, "identificatie": identificatie,
                "omschrijving": f"Omschrijving {identificatie}", "startdatum": startdatum,
                "einddatum": None if open_ else "2026-10-20",
                "uiterlijkeEinddatumAfdoening": "2026-12-01",
                "verantwoordelijkeOrganisatie": "002220647", "_bsn": bsn,
                "_expand": {"zaaktype": {"omschrijving": "Melding openbare ruimte"},
                            "status": {"datumStatusGezet": "2026-10-02T09:00:00Z",
                                       "statustoelichting": "",
                                       "_expand": {"statustype": {"omschrijving":
                                                                  "In behandeling"}}}}}
        self.zaken.append(zaak)
        rol = str(uuid.uuid4())
        self.rollen.append({"uuid": rol, "url": f"{self.base}{ZRC_BASE}/rollen/{rol}",
                            "zaak": url, "betrokkeneType": "natuurlijk_persoon",
                            "omschrijvingGeneriek": "initiator",
                            "betrokkeneIdentificatie": {"inpBsn": bsn, "voornamen": "Kees",
                                                        "voorvoegselGeslachtsnaam": "",
                                                        "geslachtsnaam": "Jansen"}})
        return zaak

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
        if request.path.startswith(OK_BASE):
            if request.headers.get("Authorization") != f"Token {TOKEN}":
                return web.json_response({"detail": "Ongeldige token."}, status=401)
        else:
            try:
                claims = jwt.decode(request.headers.get("Authorization", "")
                                    .removeprefix("Bearer "), SECRET, algorithms=["HS256"])
            except jwt.PyJWTError:
                return web.json_response({"code": "not_authenticated"}, status=401)
            if claims.get("client_id") != CLIENT_ID or not claims.get("user_id"):
                return web.json_response({"code": "permission_denied"}, status=403)
            if "Accept-Crs" not in request.headers:
                return web.json_response({"code": "missing-accept-crs-header"}, status=412)
        return await handler(request)

    def _page(self, request: web.Request, items: list[dict[str, Any]]) -> web.Response:
        page = int(request.query.get("page", "1"))
        start = (page - 1) * self.page_size
        chunk = items[start:start + self.page_size]
        more = start + self.page_size < len(items)
        nxt = None
        if more:
            url = request.url.update_query(page=str(page + 1))
            nxt = str(url.with_host("evil.example")) if self.foreign_next else str(url)
        results = [{k: v for k, v in item.items() if not k.startswith("_") or
                    (k == "_expand" and "expand" in request.query)} for item in chunk]
        return web.json_response({"count": len(items), "next": nxt,
                                  "previous": None if page == 1 else str(request.url),
                                  "results": results})

    async def digitaleadressen(self, request: web.Request) -> web.Response:
        adres = request.query.get("adres")
        soort = request.query.get("soortDigitaalAdres")
        items = [a for a in self.adressen if (adres is None or a["adres"] == adres)
                 and (soort is None or a["soortDigitaalAdres"] == soort)]
        return self._page(request, items)

    async def partij(self, request: web.Request) -> web.Response:
        found = self.partijen.get(request.match_info["uuid"])
        return web.json_response(found) if found else _not_found()

    async def identificator(self, request: web.Request) -> web.Response:
        found = self.identificatoren.get(request.match_info["uuid"])
        return web.json_response(found) if found else _not_found()

    async def contacten(self, request: web.Request) -> web.Response:
        partij = request.query.get("hadBetrokkene__wasPartij__uuid")
        items = [c for c in self.klantcontacten if c["_partij"] == partij]
        items.sort(key=lambda c: c["plaatsgevondenOp"], reverse=True)
        return self._page(request, items)

    async def maak_klantcontact(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.created.append(("klantcontact", body))
        new = {**body["klantcontact"], "uuid": str(uuid.uuid4())}
        return web.json_response({"klantcontact": new, "betrokkene": body.get("betrokkene"),
                                  "onderwerpobject": body.get("onderwerpobject")}, status=201)

    async def internetaak(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.created.append(("internetaak", body))
        return web.json_response({**body, "uuid": str(uuid.uuid4())}, status=201)

    def _zaken_matching(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        bsn = filters.get("rol__betrokkeneIdentificatie__natuurlijkPersoon__inpBsn")
        ident = filters.get("identificatie")
        open_only = str(filters.get("einddatum__isnull", "")).lower() == "true"
        items = [z for z in self.zaken if (bsn is None or z["_bsn"] == bsn)
                 and (ident is None or z["identificatie"] == ident)
                 and (not open_only or z["einddatum"] is None)]
        return sorted(items, key=lambda z: z["startdatum"], reverse=True)

    async def zaken_zoek(self, request: web.Request) -> web.Response:
        body = await request.json()
        return self._page(request, self._zaken_matching({**request.query, **body}))

    async def zaken_list(self, request: web.Request) -> web.Response:
        return self._page(request, self._zaken_matching(dict(request.query)))

    async def rollen_list(self, request: web.Request) -> web.Response:
        zaak = request.query.get("zaak")
        return self._page(request, [r for r in self.rollen if r["zaak"] == zaak])

    async def rol(self, request: web.Request) -> web.Response:
        found = next((r for r in self.rollen if r["uuid"] == request.match_info["uuid"]), None)
        return web.json_response(found) if found else _not_found()


def _not_found() -> web.Response:
    return web.json_response({"type": "NotFound", "code": "not_found", "title": "Niet gevonden.",
                              "status": 404, "detail": "Niet gevonden."}, status=404)
