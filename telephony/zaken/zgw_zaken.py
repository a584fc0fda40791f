"""Zaken API adapter (VNG ZGW standard, e.g. Open Zaak; base ``/zaken/api/v1``).

Names below were checked against the published OAS (Zaken API 1.5.1 as served by Open
Zaak, ``src/openzaak/components/zaken/openapi.yaml``); the report of that check lists the
sources. Points that matter when changing this file:

* Auth is the ZGW convention: a short-lived HS256 JWT with ``iss``/``client_id``, ``iat``
  and the real agent as ``user_id``/``user_representation``, so the Zaken API's own audit
  trail names who looked.
* Open Zaak answers 400 ``unknown-parameters`` to any query parameter its list endpoint
  does not declare, so only declared names are sent (no ``pageSize``: not in 1.5.1; the
  server pages at 100, more than the pop ever shows).
* ``expand`` (Zaken API >= 1.5.0, Open Zaak >= 1.11) is a comma-separated list on GET and
  a JSON array in the ``_zoek`` body (>= 1.5.1). The status *text* needs the nested path
  ``status.statustype``; it arrives as ``_expand.status._expand.statustype``.
* A person's zaken are searched with ``POST /zaken/_zoek`` by default so the BSN travels
  in the body, not in a URL the API server writes to its access log. A KVK number is
  public-register data and goes through ``GET /zaken``: a filter a server does not know
  is then refused (400) instead of silently dropped from a ``_zoek`` body, which would
  return every zaak the client may see.
* KVK: ``rol__betrokkeneIdentificatie__nietNatuurlijkPersoon__kvkNummer`` exists from Open
  Zaak 1.20 (an Open Zaak extension, not in the 1.5.1 standard). Older servers refuse it
  with 400; we then fall back to the standard ``...__innNnpId`` (where older registrations
  put the KVK number) and remember that for this server.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import jwt

from telephony.zaken.config import ZakenApiSection
from telephony.zaken.http import JsonClient, SourceError
from telephony.zaken.schemas import OpenZaken, Zaak

BSN_FILTER = "rol__betrokkeneIdentificatie__natuurlijkPersoon__inpBsn"
KVK_FILTER = "rol__betrokkeneIdentificatie__nietNatuurlijkPersoon__kvkNummer"  # OZ >= 1.20
KVK_FILTER_STANDARD = "rol__betrokkeneIdentificatie__nietNatuurlijkPersoon__innNnpId"
EXPAND = ("zaaktype", "status", "status.statustype")
ORDERING = "-startdatum"


def _bad_request(exc: SourceError) -> bool:
    """A 400 answer (e.g. ``unknown-parameters``: a server without that filter)."""
    return exc.status == 400


class ZakenApi:
    def __init__(self, config: ZakenApiSection, timeout: float) -> None:
        self.config = config
        self.http = JsonClient(config.base_url, timeout)
        self._secret = config.secret()
        self._tokens: dict[str, tuple[float, str]] = {}
        self._kvk_filter = KVK_FILTER

    async def close(self) -> None:
        await self.http.close()

    def token(self, user_id: str) -> str:
        """A JWT for this agent, reused until half its lifetime has passed."""
        now = time.time()
        cached = self._tokens.get(user_id)
        if cached and cached[0] > now:
            return cached[1]
        lifetime = self.config.jwt_lifetime_seconds
        token = jwt.encode({"iss": self.config.client_id, "iat": int(now),
                            "exp": int(now) + lifetime, "client_id": self.config.client_id,
                            "user_id": user_id, "user_representation": user_id},
                           self._secret, algorithm="HS256")
        self._tokens[user_id] = (now + lifetime / 2, token)
        return token

    def _headers(self, user_id: str, *, body: bool = False) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token(user_id)}",
                   "Accept-Crs": self.config.accept_crs, "Accept": "application/json"}
        if body:  # required on POST /zaken/_zoek (412 without it)
            headers["Content-Crs"] = self.config.accept_crs
        return headers

    def _open_zaken_pages(self, user_id: str, filters: dict[str, str], *,
                          post: bool) -> AsyncIterator[dict[str, Any]]:
        if post:
            body = {**filters, "einddatum__isnull": True, "ordering": [ORDERING],
                    "expand": list(EXPAND)}
            return self.http.pages("POST", self.http.url("zaken/_zoek"),
                                   self._headers(user_id, body=True), body=body)
        params = {**filters, "einddatum__isnull": "true", "ordering": ORDERING,
                  "expand": ",".join(EXPAND)}
        return self.http.pages("GET", self.http.url("zaken"), self._headers(user_id),
                               params=params)

    async def open_zaken_for(self, *, user_id: str, limit: int, bsn: str = "",
                             kvk: str = "") -> OpenZaken:
        """Open zaken of a person (BSN) or company (KVK): count plus the first ``limit``."""
        if bool(bsn) == bool(kvk):
            raise ValueError("exactly one of bsn, kvk")
        if bsn:
            return await _collect(self._open_zaken_pages(
                user_id, {BSN_FILTER: bsn}, post=True),
                limit)
        try:
            return await _collect(self._open_zaken_pages(
                user_id, {self._kvk_filter: kvk}, post=False), limit)
        except SourceError as exc:
            if self._kvk_filter == KVK_FILTER_STANDARD or not _bad_request(exc):
                raise
        self._kvk_filter = KVK_FILTER_STANDARD
        return await _collect(self._open_zaken_pages(
            user_id, {KVK_FILTER_STANDARD: kvk}, post=False), limit)

    async def count_open_for(self, *, user_id: str, bsn: str = "", kvk: str = "") -> int:
        return (await self.open_zaken_for(user_id=user_id, limit=1, bsn=bsn, kvk=kvk)).total

    async def by_identificatie(self, identificatie: str, *, user_id: str) -> dict[str, Any] | None:
        """The raw zaak with this identificatie (not personal data in the query)."""
        async for page in self.http.pages(
                "GET", self.http.url("zaken"), self._headers(user_id),
                params={"identificatie": identificatie}):
            for item in page["results"]:
                if isinstance(item, dict) and item.get("identificatie") == identificatie:
                    return item
            break
        return None

    async def initiator_rollen(self, zaak_url: str, *, user_id: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        async for page in self.http.pages(
                "GET", self.http.url("rollen"), self._headers(user_id),
                params={"zaak": zaak_url, "omschrijvingGeneriek": "initiator"}):
            out.extend(r for r in page["results"] if isinstance(r, dict))
        return out

    async def rol(self, rol_uuid: str, *, user_id: str) -> dict[str, Any] | None:
        return await self.http.request("GET", self.http.url(f"rollen/{rol_uuid}"),
                                       self._headers(user_id))


async def _collect(pages: AsyncIterator[dict[str, Any]], limit: int) -> OpenZaken:
    """The total (``count`` of the first page) and the first ``limit`` open zaken."""
    total: int | None = None
    zaken: list[Zaak] = []
    async for page in pages:
        if total is None:
            total = int(page.get("count") or 0)
        for item in page["results"]:
            if isinstance(item, dict) and not item.get("einddatum"):
                zaken.append(zaak_from_api(item))
        if len(zaken) >= limit:
            break
    return OpenZaken(total=total if total is not None else len(zaken), zaken=zaken[:limit])


def zaak_from_api(item: dict[str, Any]) -> Zaak:
    """Map a Zaken API zaak (with ``_expand`` of zaaktype, status, status.statustype).

    ``verantwoordelijkeOrganisatie`` is an RSIN, not a department, so it is not shown.
    """
    if not isinstance(item.get("identificatie"), str):
        raise SourceError("a zaak without identificatie")
    expand = _obj(item.get("_expand"))
    status = _obj(expand.get("status"))
    zaaktype = _obj(expand.get("zaaktype"))
    statustype = _obj(_obj(status.get("_expand")).get("statustype"))
    return Zaak(
        identificatie=item["identificatie"],
        omschrijving=str(item.get("omschrijving") or ""),
        zaaktype=str(zaaktype.get("omschrijving") or ""),
        status=str(statustype.get("omschrijving") or status.get("statustoelichting") or ""),
        status_datum=_dt(status.get("datumStatusGezet")),
        startdatum=_d(item.get("startdatum")),
        uiterlijke_einddatum=_d(item.get("uiterlijkeEinddatumAfdoening")),
        uuid=str(item.get("uuid") or ""))


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _d(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _dt(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
