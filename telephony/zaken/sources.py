"""Where klanten, zaken and contacts come from: one Protocol, two implementations.

The popper and the API talk to a :class:`ZaakSource` only, so a municipality switches
between the built-in PostgreSQL store and its ZGW landscape (Open Klant + Open Zaak) with
``[zaken] source``. ``agent`` is passed through everywhere because the ZGW APIs must know
the real person looking (JWT ``user_id``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any, Protocol, runtime_checkable

import asyncpg

from telephony.zaken.brp import REF_PREFIX as BRP_REF_PREFIX
from telephony.zaken.brp import BrpPersonen
from telephony.zaken.config import ZakenConfig
from telephony.zaken.http import SourceError
from telephony.zaken.openklant import OpenKlant
from telephony.zaken.schemas import (
    CallbackTask,
    Contactmoment,
    Greeting,
    GreetingCard,
    Klant,
    KlantQuery,
    KlantSummary,
    NewContactmoment,
    OpenZaken,
)
from telephony.zaken.store import (
    ContactRepository,
    KlantRepository,
    TaskRepository,
    ZaakRepository,
)
from telephony.zaken.zgw_zaken import ZakenApi

log = logging.getLogger(__name__)


class SearchNotSupported(SourceError):
    """The configured source cannot do this kind of search."""


async def bounded(what: str, coro: Any, timeout: float, missing: list[str]) -> Any:
    """Await ``coro`` within ``timeout``; on timeout/source error note ``what`` and return
    ``None``. The reason is logged by type only (a message could carry personal data)."""
    try:
        return await asyncio.wait_for(coro, timeout)
    except (TimeoutError, SourceError) as exc:
        missing.append(what)
        log.warning("zaak source lookup %s failed: %s", what, type(exc).__name__)
        return None


@runtime_checkable
class ZaakSource(Protocol):
    name: str

    async def klanten_by_phone(self, e164: str, limit: int) -> list[KlantSummary]:
        """Klanten on file with this number (already E.164); several = the agent chooses."""
        ...

    async def klanten_by_zaaknummer(self, identificatie: str, *, agent: str,
                                    ) -> list[KlantSummary]:
        """The klant(en) of the zaak with this identificatie (IVR entry or agent search)."""
        ...

    async def search_klanten(self, query: KlantQuery, limit: int, *, agent: str,
                             ) -> list[KlantSummary]: ...

    async def klant(self, ref: str, *, agent: str) -> Klant | None:
        """One klant by opaque ref; ``None`` for unknown or malformed refs (never raises
        on attacker-chosen refs)."""
        ...

    async def count_open_zaken(self, klant: Klant, *, agent: str) -> int:
        """Only the number: the greeting view shows no zaak data."""
        ...

    async def greeting(self, refs: list[str], *, agent: str, timeout: float) -> Greeting:
        """Name and open-zaak count of each candidate, for the unverified pop.

        On the screen-pop's hot path, so a source answers it in as few round trips as it
        can (one query for PostgreSQL). Unknown or malformed refs are left out; lookups
        that fail or exceed ``timeout`` are named in ``missing``, never raised.
        """
        ...

    async def open_zaken(self, klant: Klant, limit: int, *, agent: str) -> OpenZaken:
        """The newest ``limit`` open zaken and the total; never more than the pop shows."""
        ...

    async def recent_contacts(self, klant: Klant, limit: int) -> list[Contactmoment]: ...

    async def ref_for_bsn(self, bsn: str) -> str | None:
        """The klant ref this source gives the person with ``bsn`` (the privacy officer's
        processing-log query by BSN); ``None`` if unknown."""
        ...

    async def register_contact(self, contact: NewContactmoment, *, agent: str) -> str: ...

    async def create_callback(self, task: CallbackTask) -> str: ...

    async def close(self) -> None: ...


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class PostgresZaakSource:
    """The built-in store (migration 0010); also what the demo and benchmark use."""

    name = "postgres"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.klanten = KlantRepository(pool)
        self.zaken = ZaakRepository(pool)
        self.contacts = ContactRepository(pool)
        self.tasks = TaskRepository(pool)

    async def klanten_by_phone(self, e164: str, limit: int) -> list[KlantSummary]:
        return await self.klanten.by_phone(e164, limit)

    async def klanten_by_zaaknummer(self, identificatie: str, *, agent: str,
                                    ) -> list[KlantSummary]:
        return await self.klanten.by_zaaknummer(identificatie)

    async def search_klanten(self, query: KlantQuery, limit: int, *, agent: str,
                             ) -> list[KlantSummary]:
        return await self.klanten.search(query, limit)

    async def klant(self, ref: str, *, agent: str) -> Klant | None:
        return await self.klanten.get(ref) if _is_uuid(ref) else None

    async def count_open_zaken(self, klant: Klant, *, agent: str) -> int:
        return await self.zaken.count_open(klant.ref)

    async def greeting(self, refs: list[str], *, agent: str, timeout: float) -> Greeting:
        result = Greeting()
        wanted = [ref for ref in refs if _is_uuid(ref)]
        if wanted:
            rows = await bounded("klant", self.klanten.greeting(wanted), timeout,
                                 result.missing)
            result.cards = [GreetingCard(summary, count) for summary, count in rows or []]
        return result

    async def open_zaken(self, klant: Klant, limit: int, *, agent: str) -> OpenZaken:
        return await self.zaken.open_zaken(klant.ref, limit)

    async def recent_contacts(self, klant: Klant, limit: int) -> list[Contactmoment]:
        return await self.contacts.recent(klant.ref, limit)

    async def ref_for_bsn(self, bsn: str) -> str | None:
        return await self.klanten.bsn_to_ref(bsn)

    async def register_contact(self, contact: NewContactmoment, *, agent: str) -> str:
        klant_ref = contact.klant_ref if contact.klant_ref and _is_uuid(contact.klant_ref) \
            else None
        new_id = await self.contacts.add(
            klant_ref=klant_ref, zaak_identificatie=contact.zaak_identificatie,
            kanaal=contact.kanaal, onderwerp=contact.onderwerp, tekst=contact.tekst,
            medewerker=agent, uitkomst=contact.uitkomst, call_id=contact.call_id)
        return str(new_id)

    async def create_callback(self, task: CallbackTask) -> str:
        klant_ref = task.klant_ref if task.klant_ref and _is_uuid(task.klant_ref) else None
        return await self.tasks.add_callback(klant_ref=klant_ref, call_id=task.call_id,
                                             telefoonnummer=task.telefoonnummer,
                                             toelichting=task.toelichting)

    async def close(self) -> None:
        return None


class ZgwZaakSource:
    """Open Klant for klanten and contacts, the Zaken API for zaken, the BRP for persons.

    A klant ref is an Open Klant partij uuid, ``r-<rol uuid>`` for a person found through
    a zaak's initiator rol (zaaknummer entered in the IVR or searched by the agent), or
    ``p-<encrypted BSN>`` for a person found in the BRP (``brp.py``).

    BSN, name+birth date and postcode searches go to the BRP API Personen when
    ``[zaken.brp]`` is enabled (every personal value in a POST body). Without it they are
    refused (:class:`SearchNotSupported`): the ZGW APIs could only do them with the BSN or
    address in a logged query string.
    """

    name = "zgw"

    def __init__(self, config: ZakenConfig) -> None:
        self.openklant = OpenKlant(config.openklant, config.timeout_seconds,
                                   config.default_region)
        self.zaken_api = ZakenApi(config.zaken_api, config.timeout_seconds)
        self.brp = BrpPersonen(config.brp, config.timeout_seconds) \
            if config.brp.enabled else None

    async def klanten_by_phone(self, e164: str, limit: int) -> list[KlantSummary]:
        uuids = (await self.openklant.partij_uuids_by_phone(e164))[:limit]
        found = await asyncio.gather(*(self.openklant.summary(u) for u in uuids))
        return [s for s in found if s is not None]

    async def klanten_by_zaaknummer(self, identificatie: str, *, agent: str,
                                    ) -> list[KlantSummary]:
        zaak = await self.zaken_api.by_identificatie(identificatie, user_id=agent)
        if zaak is None or not isinstance(zaak.get("url"), str):
            return []
        out = []
        for rol in await self.zaken_api.initiator_rollen(zaak["url"], user_id=agent):
            ident = rol.get("betrokkeneIdentificatie") or {}
            if not isinstance(rol.get("uuid"), str) or not isinstance(ident, dict):
                continue
            out.append(KlantSummary(f"r-{rol['uuid']}", _rol_naam(rol),
                                    str(rol.get("betrokkeneType") or "natuurlijk_persoon")))
        return out

    async def search_klanten(self, query: KlantQuery, limit: int, *, agent: str,
                             ) -> list[KlantSummary]:
        if query.zaaknummer is not None:
            return (await self.klanten_by_zaaknummer(query.zaaknummer, agent=agent))[:limit]
        if self.brp is None:
            raise SearchNotSupported(f"search by {query.kind} is not available with the "
                                     "ZGW source without [zaken.brp]")
        return await self.brp.search(query, limit, agent=agent)

    async def klant(self, ref: str, *, agent: str) -> Klant | None:
        if ref.startswith(BRP_REF_PREFIX):
            return await self.brp.klant(ref, agent=agent) if self.brp is not None else None
        if ref.startswith("r-"):
            if not _is_uuid(ref[2:]):
                return None
            rol = await self.zaken_api.rol(ref[2:], user_id=agent)
            if rol is None:
                return None
            ident = rol.get("betrokkeneIdentificatie") or {}
            return Klant(ref=ref, soort=str(rol.get("betrokkeneType") or "natuurlijk_persoon"),
                         naam=_rol_naam(rol), bsn=str(ident.get("inpBsn") or ""),
                         kvk=str(ident.get("kvkNummer") or ""))
        return await self.openklant.klant(ref) if _is_uuid(ref) else None

    async def greeting(self, refs: list[str], *, agent: str, timeout: float) -> Greeting:
        return await greeting_one_by_one(self, refs, agent=agent, timeout=timeout)

    async def count_open_zaken(self, klant: Klant, *, agent: str) -> int:
        if not (klant.bsn or klant.kvk):
            return 0
        return await self.zaken_api.count_open_for(user_id=agent, bsn=klant.bsn,
                                                   kvk="" if klant.bsn else klant.kvk)

    async def open_zaken(self, klant: Klant, limit: int, *, agent: str) -> OpenZaken:
        if not (klant.bsn or klant.kvk):
            return OpenZaken(total=0)
        return await self.zaken_api.open_zaken_for(user_id=agent, limit=limit, bsn=klant.bsn,
                                                   kvk="" if klant.bsn else klant.kvk)

    async def recent_contacts(self, klant: Klant, limit: int) -> list[Contactmoment]:
        if klant.ref.startswith("r-"):
            return []  # no partij in Open Klant to hang contacts on
        if klant.ref.startswith(BRP_REF_PREFIX):
            # Such a person's contacts could only be found in Open Klant by BSN, through
            # GET filters (klantcontacten ...__partijIdentificator__objectId): the BSN
            # would land in access logs. Without a body-based search there, none are shown.
            return []
        return await self.openklant.recent_contacts(klant.ref, limit)

    async def ref_for_bsn(self, bsn: str) -> str | None:
        """The ``p-`` ref of a BRP person (computed, nothing is looked up). Entries made
        under an Open Klant partij ref of the same person are found by that ref."""
        if self.brp is None:
            raise SearchNotSupported("lookup by BSN needs [zaken.brp] with the ZGW source; "
                                     "use klant_ref")
        return self.brp.refs.ref(bsn)

    async def register_contact(self, contact: NewContactmoment, *, agent: str) -> str:
        return await self.klantcontact(contact, agent=agent, gelukt=True)

    async def klantcontact(self, contact: NewContactmoment, *, agent: str,
                           gelukt: bool) -> str:
        """The klantcontact in Open Klant: betrokkene, the zaak as onderwerpobject, and
        ``indicatieContactGelukt`` as given (the call script's outcome decides it)."""
        partij = contact.klant_ref if contact.klant_ref and _is_uuid(contact.klant_ref) \
            else None
        zaak_uuid = None
        if contact.zaak_identificatie:
            # KISS links a contact to a zaak by the zaak's uuid; without it the link is
            # recorded by identificatie only (a missing zaak must not lose the contact).
            with contextlib.suppress(SourceError):
                zaak = await self.zaken_api.by_identificatie(contact.zaak_identificatie,
                                                             user_id=agent)
                if zaak is not None and _is_uuid(str(zaak.get("uuid") or "")):
                    zaak_uuid = str(zaak["uuid"])
        return await self.openklant.maak_klantcontact(
            partij_uuid=partij, kanaal=contact.kanaal, onderwerp=contact.onderwerp,
            inhoud=contact.tekst, gelukt=gelukt, zaak_identificatie=contact.zaak_identificatie,
            zaak_uuid=zaak_uuid)

    async def create_callback(self, task: CallbackTask) -> str:
        partij = task.klant_ref if task.klant_ref and _is_uuid(task.klant_ref) else None
        return await self.openklant.terugbelverzoek(
            partij_uuid=partij, telefoonnummer=task.telefoonnummer, toelichting=task.toelichting)

    async def close(self) -> None:
        await self.openklant.close()
        await self.zaken_api.close()
        if self.brp is not None:
            await self.brp.close()


async def greeting_one_by_one(source: ZaakSource, refs: list[str], *, agent: str,
                              timeout: float) -> Greeting:
    """The greeting for a source without a combined query: each klant, then its count,
    all candidates in parallel. A count that fails still shows the name (count None)."""
    result = Greeting()
    klanten = await asyncio.gather(*(
        bounded("klant", source.klant(ref, agent=agent), timeout, result.missing)
        for ref in refs))
    shown = [k for k in klanten if k is not None]
    counts = await asyncio.gather(*(
        bounded("open_zaken_count", source.count_open_zaken(k, agent=agent), timeout,
                result.missing) for k in shown))
    result.cards = [GreetingCard(k.summary(), c) for k, c in zip(shown, counts, strict=True)]
    return result


def _rol_naam(rol: dict[str, object]) -> str:
    ident = rol.get("betrokkeneIdentificatie")
    if not isinstance(ident, dict):
        return ""
    if ident.get("statutaireNaam"):
        return str(ident["statutaireNaam"])
    parts = [ident.get("voornamen"), ident.get("voorvoegselGeslachtsnaam"),
             ident.get("geslachtsnaam")]
    return " ".join(str(p) for p in parts if p)


def make_source(pool: asyncpg.Pool, config: ZakenConfig) -> ZaakSource:
    if config.source == "zgw":
        return ZgwZaakSource(config)
    return PostgresZaakSource(pool)
