"""Klantinteracties API adapter (Open Klant 2; base ``/klantinteracties/api/v1``).

Names below were checked against Open Klant's published OAS
(``src/openklant/components/klantinteracties/openapi.yaml``, API 0.5.0) and its changelog;
the report of that check lists the sources. Minimum Open Klant version: 2.4.0 (the
``hadBetrokkene__wasPartij__uuid`` filter, ``/maak-klantcontact`` and the
``soortDigitaalAdres`` enum all arrived then; ``toegewezenAanActoren`` in 2.2.0).

Caller number -> ``digitaleadressen`` (``soortDigitaalAdres=telefoonnummer``, exact
``adres``) -> ``verstrektDoorPartij`` -> partij -> BSN/KVK from its
``partijIdentificatoren`` (``codeSoortObjectId`` ``bsn`` / ``kvk_nummer``). Numbers stored
before 2.4.0 are free text, so we ask for the usual spellings and keep only answers whose
``adres`` normalises to the caller's E.164. Contact history comes from ``klantcontacten``
(the API has no ``ordering`` parameter; it lists newest-registered first and we sort by
``plaatsgevondenOp``); a registration is written with ``maak-klantcontact``; a callback
request becomes an ``internetaken`` entry "Terugbellen".
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from telephony.zaken.config import OpenKlantSection
from telephony.zaken.http import JsonClient
from telephony.zaken.phone import normalise, spellings
from telephony.zaken.schemas import Contactmoment, Klant, KlantSummary

# maxLength of the fields we write (Klantcontact, InterneTaak in the OAS).
MAX_KANAAL, MAX_ONDERWERP, MAX_INHOUD, MAX_TOELICHTING = 50, 200, 1000, 1000


class OpenKlant:
    def __init__(self, config: OpenKlantSection, timeout: float, region: str = "NL") -> None:
        self.config = config
        self.region = region
        self.http = JsonClient(config.base_url, timeout)
        self._token = config.token()

    async def close(self) -> None:
        await self.http.close()

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self._token}", "Accept": "application/json"}

    async def partij_uuids_by_phone(self, e164: str) -> list[str]:
        async def one(spelling: str) -> list[str]:
            found = []
            async for page in self.http.pages(
                    "GET", self.http.url("digitaleadressen"), self._headers,
                    params={"adres": spelling, "soortDigitaalAdres": "telefoonnummer"}):
                for item in page["results"]:
                    if not isinstance(item, dict):
                        continue
                    if normalise(str(item.get("adres") or ""), self.region) != e164:
                        continue
                    partij = item.get("verstrektDoorPartij")
                    if isinstance(partij, dict) and isinstance(partij.get("uuid"), str):
                        found.append(partij["uuid"])
            return found

        results = await asyncio.gather(*(one(s) for s in spellings(e164)))
        seen: dict[str, None] = {}
        for uuids in results:
            for value in uuids:
                seen.setdefault(value, None)
        return list(seen)

    async def partij(self, partij_uuid: str) -> dict[str, Any] | None:
        return await self.http.request("GET", self.http.url(f"partijen/{partij_uuid}"),
                                       self._headers)

    async def klant(self, partij_uuid: str) -> Klant | None:
        """The partij as a :class:`Klant`, BSN/KVK resolved from its identificatoren.

        ``partijIdentificatoren`` are embedded whole in the partij; a server that only
        gives references (``uuid``/``url``) gets each one fetched.
        """
        partij = await self.partij(partij_uuid)
        if partij is None:
            return None
        embedded = [p for p in partij.get("partijIdentificatoren") or [] if isinstance(p, dict)]
        idents = [p for p in embedded if isinstance(p.get("partijIdentificator"), dict)]
        refs = [p["uuid"] for p in embedded
                if p not in idents and isinstance(p.get("uuid"), str)]
        fetched = await asyncio.gather(*(
            self.http.request("GET", self.http.url(f"partij-identificatoren/{u}"),
                              self._headers) for u in refs))
        bsn = kvk = ""
        for ident in [*idents, *(f for f in fetched if f)]:
            inner = ident.get("partijIdentificator") or {}
            soort, value = inner.get("codeSoortObjectId"), str(inner.get("objectId") or "")
            if soort == "bsn":
                bsn = value
            elif soort == "kvk_nummer":
                kvk = value
        return Klant(ref=partij_uuid, soort=_soort(partij), naam=partij_naam(partij),
                     bsn=bsn, kvk=kvk)

    async def summary(self, partij_uuid: str) -> KlantSummary | None:
        partij = await self.partij(partij_uuid)
        if partij is None:
            return None
        return KlantSummary(partij_uuid, partij_naam(partij), _soort(partij))

    async def recent_contacts(self, partij_uuid: str, limit: int) -> list[Contactmoment]:
        out: list[Contactmoment] = []
        async for page in self.http.pages(
                "GET", self.http.url("klantcontacten"), self._headers,
                params={"hadBetrokkene__wasPartij__uuid": partij_uuid}):
            for item in page["results"]:
                if isinstance(item, dict):
                    out.append(Contactmoment(
                        kanaal=str(item.get("kanaal") or ""),
                        onderwerp=str(item.get("onderwerp") or ""),
                        tekst=str(item.get("inhoud") or ""), medewerker="",
                        uitkomst="gelukt" if item.get("indicatieContactGelukt") else "",
                        at=_dt(item.get("plaatsgevondenOp"))))
            if len(out) >= limit:
                break
        out.sort(key=lambda c: c.at or datetime.min.replace(tzinfo=UTC), reverse=True)
        return out[:limit]

    async def maak_klantcontact(self, *, partij_uuid: str | None, kanaal: str, onderwerp: str,
                                inhoud: str, gelukt: bool, zaak_identificatie: str | None,
                                zaak_uuid: str | None = None) -> str:
        """One ``POST /maak-klantcontact``: klantcontact, betrokkene and onderwerpobject.

        A zaak is referred to as KISS does (``zgw-Zaak``/``openzaak``/``uuid`` + the zaak's
        uuid) when its uuid is known; with only the identificatie it is recorded as such
        (``codeSoortObjectId`` ``identificatie``), which KISS will not resolve.
        """
        body: dict[str, Any] = {"klantcontact": {
            "kanaal": kanaal[:MAX_KANAAL], "onderwerp": onderwerp[:MAX_ONDERWERP],
            "inhoud": inhoud[:MAX_INHOUD], "indicatieContactGelukt": gelukt, "taal": "nld",
            "vertrouwelijk": False, "plaatsgevondenOp": datetime.now(UTC).isoformat()}}
        if partij_uuid:
            body["betrokkene"] = {"wasPartij": {"uuid": partij_uuid}, "rol": "klant",
                                  "initiator": True}
        if zaak_uuid:
            body["onderwerpobject"] = {"onderwerpobjectidentificator": {
                "objectId": zaak_uuid, "codeObjecttype": "zgw-Zaak",
                "codeRegister": "openzaak", "codeSoortObjectId": "uuid"}}
        elif zaak_identificatie:
            body["onderwerpobject"] = {"onderwerpobjectidentificator": {
                "objectId": zaak_identificatie, "codeObjecttype": "zaak",
                "codeRegister": "openzaak", "codeSoortObjectId": "identificatie"}}
        answer = await self.http.request("POST", self.http.url("maak-klantcontact"),
                                         self._headers, body=body)
        contact = (answer or {}).get("klantcontact") or {}
        return str(contact.get("uuid") or "")

    async def terugbelverzoek(self, *, partij_uuid: str | None, telefoonnummer: str,
                              toelichting: str) -> str:
        """An internetaak "Terugbellen", hung on a klantcontact that records the request."""
        contact_uuid = await self.maak_klantcontact(
            partij_uuid=partij_uuid, kanaal=self.config.kanaal, onderwerp="Terugbelverzoek",
            inhoud=f"Terugbellen op {telefoonnummer}. {toelichting}".strip(), gelukt=True,
            zaak_identificatie=None)
        return await self.internetaak(contact_uuid=contact_uuid, toelichting=toelichting)

    async def internetaak(self, *, contact_uuid: str, toelichting: str) -> str:
        """An internetaak "Terugbellen" on an existing klantcontact."""
        body: dict[str, Any] = {
            "nummer": "", "gevraagdeHandeling": "Terugbellen",
            "aanleidinggevendKlantcontact": {"uuid": contact_uuid},
            "toegewezenAanActoren": ([{"uuid": self.config.actor_uuid}]
                                     if self.config.actor_uuid else []),
            "toelichting": toelichting[:MAX_TOELICHTING], "status": "te_verwerken"}
        answer = await self.http.request("POST", self.http.url("internetaken"), self._headers,
                                         body=body)
        return str((answer or {}).get("uuid") or "")


def partij_naam(partij: dict[str, Any]) -> str:
    """``naam`` of an organisatie; else ``volledigeNaam`` or the parts of ``contactnaam``."""
    ident = partij.get("partijIdentificatie") if isinstance(
        partij.get("partijIdentificatie"), dict) else {}
    for key in ("naam", "volledigeNaam"):
        if isinstance(ident.get(key), str) and ident[key].strip():
            return ident[key].strip()
    naam = ident.get("contactnaam") if isinstance(ident.get("contactnaam"), dict) else {}
    parts = [naam.get("voornaam") or naam.get("voorletters"), naam.get("voorvoegselAchternaam"),
             naam.get("achternaam")]
    return " ".join(str(p) for p in parts if p)


def _soort(partij: dict[str, Any]) -> str:
    """``soortPartij`` is persoon, organisatie or contactpersoon."""
    return "niet_natuurlijk_persoon" if partij.get("soortPartij") == "organisatie" \
        else "natuurlijk_persoon"


def _dt(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
