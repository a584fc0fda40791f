"""Zaken API adapter (VNG ZGW standard, e.g. Open Zaak; base ``/zaken/api/v1``).

Auth follows the ZGW convention: a short-lived HS256 JWT with ``client_id`` and the real
agent as ``user_id``, so the Zaken API's own audit trail names who looked. Every request
sends ``Accept-Crs``. A person's zaken are searched with ``POST /zaken/_zoek`` by default
so the BSN travels in the body, not in a URL the API server writes to its access log.
Only the first page(s) needed for the pop are fetched; the total comes from ``count``.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Any

import jwt

from telephony.zaken.config import ZakenApiSection
from telephony.zaken.http import JsonClient, SourceError
from telephony.zaken.schemas import OpenZaken, Zaak

BSN_FILTER = "rol__betrokkeneIdentificatie__natuurlijkPersoon__inpBsn"
KVK_FILTER = "rol__betrokkeneIdentificatie__nietNatuurlijkPersoon__kvkNummer"


class ZakenApi:
    def __init__(self, config: ZakenApiSection, timeout: float) -> None:
        self.config = config
        self.http = JsonClient(config.base_url, timeout)
        self._secret = config.secret()
        self._tokens: dict[str, tuple[float, str]] = {}

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

    def _headers(self, user_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id)}",
                "Accept-Crs": self.config.accept_crs, "Content-Crs": self.config.accept_crs,
                "Accept": "application/json"}

    async def open_zaken_for(self, *, user_id: str, limit: int, bsn: str = "",
                             kvk: str = "") -> OpenZaken:
        """Open zaken of a person (BSN) or company (KVK): count plus the first ``limit``."""
        if bool(bsn) == bool(kvk):
            raise ValueError("exactly one of bsn, kvk")
        filters = {BSN_FILTER: bsn} if bsn else {KVK_FILTER: kvk}
        query = {"expand": "status,zaaktype", "einddatum__isnull": "true",
                 "ordering": "-startdatum", "pageSize": str(self.config.page_size)}
        if self.config.bsn_search == "post_zoek":
            body: dict[str, Any] | None = {**filters, "einddatum__isnull": True}
            pages = self.http.pages("POST", self.http.url("zaken/_zoek"),
                                    self._headers(user_id), params=query, body=body)
        else:
            pages = self.http.pages("GET", self.http.url("zaken"), self._headers(user_id),
                                    params={**query, **filters})
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

    async def count_open_for(self, *, user_id: str, bsn: str = "", kvk: str = "") -> int:
        return (await self.open_zaken_for(user_id=user_id, limit=1, bsn=bsn, kvk=kvk)).total

    async def by_identificatie(self, identificatie: str, *, user_id: str) -> dict[str, Any] | None:
        """The raw zaak with this identificatie (not personal data in the query)."""
        async for page in self.http.pages(
                "GET", self.http.url("zaken"), self._headers(user_id),
                params={"identificatie": identificatie, "expand": "status,zaaktype"}):
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


def zaak_from_api(item: dict[str, Any]) -> Zaak:
    """Map a Zaken API zaak (with ``_expand`` of status and zaaktype) to a :class:`Zaak`."""
    if not isinstance(item.get("identificatie"), str):
        raise SourceError("a zaak without identificatie")
    expand = item.get("_expand") if isinstance(item.get("_expand"), dict) else {}
    status = expand.get("status") if isinstance(expand.get("status"), dict) else {}
    zaaktype = expand.get("zaaktype") if isinstance(expand.get("zaaktype"), dict) else {}
    status_expand = status.get("_expand") if isinstance(status.get("_expand"), dict) else {}
    statustype = status_expand.get("statustype") if isinstance(
        status_expand.get("statustype"), dict) else {}
    return Zaak(
        identificatie=item["identificatie"],
        omschrijving=str(item.get("omschrijving") or ""),
        zaaktype=str(zaaktype.get("omschrijving") or ""),
        status=str(statustype.get("omschrijving") or status.get("statustoelichting") or ""),
        status_datum=_dt(status.get("datumStatusGezet")),
        startdatum=_d(item.get("startdatum")),
        uiterlijke_einddatum=_d(item.get("uiterlijkeEinddatumAfdoening")),
        afdeling=str(item.get("verantwoordelijkeOrganisatie") or ""),
        uuid=str(item.get("uuid") or ""))


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
