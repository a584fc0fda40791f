"""asyncpg repositories of the built-in zaak store (klanten, zaken, contactmomenten, taken).

Each query is shaped by the index it uses (see migration 0010): the pop path is a phone
lookup, a count plus the first N open zaken, and the last N contactmomenten, so it stays
within a few milliseconds on the 1M-zaken benchmark database. Only columns the pop shows
are selected ("fetch no more than the pop shows").
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg

from telephony.zaken.schemas import (
    Contactmoment,
    Klant,
    KlantQuery,
    KlantSummary,
    OpenZaken,
    Zaak,
)

_NAAM = """CASE WHEN k.soort = 'niet_natuurlijk_persoon' THEN k.bedrijfsnaam
              ELSE concat_ws(' ', nullif(k.voornamen, ''), nullif(k.voorvoegsel, ''),
                             k.achternaam) END"""
_SUMMARY = f"SELECT k.ref::text AS ref, {_NAAM} AS naam, k.soort FROM klanten k"


def _summary(row: asyncpg.Record) -> KlantSummary:
    return KlantSummary(row["ref"], row["naam"], row["soort"])


def _zaak(row: asyncpg.Record) -> Zaak:
    return Zaak(identificatie=row["identificatie"], omschrijving=row["omschrijving"],
                zaaktype=row["zaaktype"], status=row["status"],
                status_datum=row["status_datum"], startdatum=row["startdatum"],
                uiterlijke_einddatum=row["uiterlijke_einddatum"], afdeling=row["afdeling"],
                medewerker=row["medewerker"], uuid=str(row["uuid"]))


class KlantRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def by_phone(self, e164: str, limit: int) -> list[KlantSummary]:
        rows = await self.pool.fetch(
            f"""{_SUMMARY} JOIN klant_telefoonnummers t ON t.klant_id = k.id
                WHERE t.e164 = $1 ORDER BY k.id LIMIT $2""", e164, limit)
        return [_summary(r) for r in rows]

    async def by_zaaknummer(self, identificatie: str) -> list[KlantSummary]:
        """By identificatie, or by its digits alone (as keyed in on a phone, see 0011)."""
        if identificatie.isdigit():
            rows = await self.pool.fetch(
                f"""{_SUMMARY} JOIN zaken z ON z.klant_id = k.id
                    WHERE regexp_replace(z.identificatie, '[^0-9]', '', 'g') = $1
                    ORDER BY k.id LIMIT 20""", identificatie)
        else:
            rows = await self.pool.fetch(
                f"{_SUMMARY} JOIN zaken z ON z.klant_id = k.id WHERE z.identificatie = $1",
                identificatie)
        seen: dict[str, KlantSummary] = {}
        for row in rows:
            seen.setdefault(row["ref"], _summary(row))
        return list(seen.values())

    async def greeting(self, refs: list[str]) -> list[tuple[KlantSummary, int]]:
        """Each known ref's summary and open-zaak count, in the order given: the whole
        greeting view in one round trip (the pop's hot path)."""
        rows = await self.pool.fetch(
            f"""SELECT k.ref::text AS ref, {_NAAM} AS naam, k.soort,
                       (SELECT count(*) FROM zaken z
                        WHERE z.klant_id = k.id AND z.einddatum IS NULL) AS open_zaken
                FROM unnest($1::uuid[]) WITH ORDINALITY AS w(ref, n)
                JOIN klanten k ON k.ref = w.ref ORDER BY w.n""", refs)
        return [(_summary(r), int(r["open_zaken"])) for r in rows]

    async def search(self, q: KlantQuery, limit: int) -> list[KlantSummary]:
        if q.bsn is not None:
            where, args = "k.bsn = $1", [q.bsn]
        elif q.zaaknummer is not None:
            return await self.by_zaaknummer(q.zaaknummer)
        elif q.achternaam is not None:
            where, args = "lower(k.achternaam) = lower($1) AND k.geboortedatum = $2", \
                [q.achternaam, q.geboortedatum]
        else:
            where, args = "k.postcode = $1 AND k.huisnummer = $2", [q.postcode, q.huisnummer]
        rows = await self.pool.fetch(
            f"{_SUMMARY} WHERE {where} ORDER BY k.id LIMIT {int(limit)}", *args)
        return [_summary(r) for r in rows]

    async def get(self, ref: str) -> Klant | None:
        try:
            ref_uuid = uuid.UUID(ref)
        except ValueError:
            return None
        row = await self.pool.fetchrow(
            f"""SELECT k.*, {_NAAM} AS naam,
                       ARRAY(SELECT e164 FROM klant_telefoonnummers t
                             WHERE t.klant_id = k.id ORDER BY e164) AS nummers
                FROM klanten k WHERE k.ref = $1""", ref_uuid)
        if row is None:
            return None
        huis = f"{row['huisnummer']}{row['huisnummer_toevoeging']}" if row["huisnummer"] else ""
        return Klant(ref=str(row["ref"]), soort=row["soort"], naam=row["naam"],
                     bsn=row["bsn"] or "", kvk=row["kvk"] or "",
                     geboortedatum=row["geboortedatum"],
                     adres=f"{row['straat']} {huis}".strip(), postcode=row["postcode"],
                     woonplaats=row["woonplaats"], telefoonnummers=tuple(row["nummers"]),
                     email=row["email"])

    async def bsn_to_ref(self, bsn: str) -> str | None:
        value = await self.pool.fetchval("SELECT ref::text FROM klanten WHERE bsn = $1", bsn)
        return None if value is None else str(value)


class ZaakRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def count_open(self, klant_ref: str) -> int:
        return int(await self.pool.fetchval(
            """SELECT count(*) FROM zaken z JOIN klanten k ON k.id = z.klant_id
               WHERE k.ref = $1::uuid AND z.einddatum IS NULL""", klant_ref))

    async def open_zaken(self, klant_ref: str, limit: int) -> OpenZaken:
        rows = await self.pool.fetch(
            """SELECT z.uuid, z.identificatie, z.omschrijving, z.zaaktype, z.status,
                      z.status_datum, z.startdatum, z.uiterlijke_einddatum, z.afdeling,
                      z.medewerker, count(*) OVER () AS total
               FROM zaken z JOIN klanten k ON k.id = z.klant_id
               WHERE k.ref = $1::uuid AND z.einddatum IS NULL
               ORDER BY z.startdatum DESC, z.id DESC LIMIT $2""", klant_ref, limit)
        # The window count is computed before LIMIT: the total without fetching the rest.
        return OpenZaken(total=rows[0]["total"] if rows else 0, zaken=[_zaak(r) for r in rows])

    async def status_history(self, identificatie: str) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            """SELECT s.status, s.datum, s.toelichting FROM zaak_statussen s
               JOIN zaken z ON z.id = s.zaak_id WHERE z.identificatie = $1
               ORDER BY s.datum""", identificatie)
        return [{"status": r["status"], "datum": r["datum"].isoformat(),
                 "toelichting": r["toelichting"]} for r in rows]


class ContactRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def recent(self, klant_ref: str, limit: int) -> list[Contactmoment]:
        rows = await self.pool.fetch(
            """SELECT c.kanaal, c.onderwerp, c.tekst, c.medewerker, c.uitkomst,
                      c.registered_at, c.call_id, coalesce(z.identificatie, '') AS zaak
               FROM contactmomenten c JOIN klanten k ON k.id = c.klant_id
               LEFT JOIN zaken z ON z.id = c.zaak_id
               WHERE k.ref = $1::uuid ORDER BY c.registered_at DESC LIMIT $2""",
            klant_ref, limit)
        return [Contactmoment(kanaal=r["kanaal"], onderwerp=r["onderwerp"], tekst=r["tekst"],
                              medewerker=r["medewerker"], uitkomst=r["uitkomst"],
                              at=r["registered_at"], call_id=r["call_id"], zaak=r["zaak"])
                for r in rows]

    async def add(self, *, klant_ref: str | None, zaak_identificatie: str | None, kanaal: str,
                  onderwerp: str, tekst: str, medewerker: str, uitkomst: str,
                  call_id: str) -> int:
        return int(await self.pool.fetchval(
            """INSERT INTO contactmomenten (klant_id, zaak_id, kanaal, onderwerp, tekst,
                   medewerker, uitkomst, call_id)
               VALUES ((SELECT id FROM klanten WHERE ref = $1::uuid),
                       (SELECT id FROM zaken WHERE identificatie = $2),
                       $3, $4, $5, $6, $7, $8) RETURNING id""",
            klant_ref, zaak_identificatie, kanaal, onderwerp, tekst, medewerker, uitkomst,
            call_id))


class TaskRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def add_callback(self, *, klant_ref: str | None, call_id: str, telefoonnummer: str,
                           toelichting: str) -> str:
        ref = uuid.uuid4()
        await self.pool.execute(
            """INSERT INTO taken (uuid, soort, klant_id, call_id, telefoonnummer, toelichting)
               VALUES ($1, 'terugbellen', (SELECT id FROM klanten WHERE ref = $2::uuid),
                       $3, $4, $5)""", ref, klant_ref, call_id, telefoonnummer, toelichting)
        return str(ref)


# Union of two candidate lists, first appearance first (the order the agent saw them).
_MERGE = """ARRAY(SELECT ref FROM unnest({old} || {new}) WITH ORDINALITY AS t(ref, n)
                GROUP BY ref ORDER BY min(n))"""


class PopStateRepository:
    """Per (call, agent): the call snapshot, candidates shown, choice and verification.

    The row exists only for the agent the call was offered to, which is what lets the API
    refuse every other agent (issue 6, point 6) across service instances.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def forget(self, call_id: str) -> int:
        """Drop the pop state of a call (it holds the caller's number): call it at hangup."""
        result = await self.pool.execute("DELETE FROM zaak_call_pops WHERE call_id = $1",
                                         call_id)
        return int(result.split()[-1])

    async def purge(self, older_than_seconds: float) -> int:
        result = await self.pool.execute(
            "DELETE FROM zaak_call_pops WHERE offered_at < now() - make_interval(secs => $1)",
            older_than_seconds)
        return int(result.split()[-1])

    async def offered(self, call_id: str, agent: str, call: dict[str, Any],
                      candidates: list[str]) -> None:
        await self.pool.execute(
            """INSERT INTO zaak_call_pops (call_id, agent_login, call, candidates)
               VALUES ($1, $2, $3::jsonb, $4)
               ON CONFLICT (call_id, agent_login) DO UPDATE SET call = EXCLUDED.call,
                   candidates = """ + _MERGE.format(old="zaak_call_pops.candidates",
                                                    new="EXCLUDED.candidates"),
            call_id, agent, json.dumps(call, default=str), candidates)

    async def get(self, call_id: str, agent: str) -> dict[str, Any] | None:
        row = await self.pool.fetchrow(
            """SELECT call, candidates, chosen_ref, verified_at FROM zaak_call_pops
               WHERE call_id = $1 AND agent_login = $2""", call_id, agent)
        if row is None:
            return None
        return {"call": json.loads(row["call"]), "candidates": list(row["candidates"]),
                "chosen_ref": row["chosen_ref"], "verified": row["verified_at"] is not None}

    async def add_candidates(self, call_id: str, agent: str, refs: list[str]) -> bool:
        result = await self.pool.execute(
            "UPDATE zaak_call_pops SET candidates = "
            + _MERGE.format(old="candidates", new="$3::text[]")
            + " WHERE call_id = $1 AND agent_login = $2", call_id, agent, refs)
        return result.endswith(" 1")

    async def choose(self, call_id: str, agent: str, ref: str) -> bool:
        """Pick a candidate; a different klant needs verifying again."""
        result = await self.pool.execute(
            """UPDATE zaak_call_pops SET
                   verified_at = CASE WHEN chosen_ref IS NOT DISTINCT FROM $3
                                      THEN verified_at END,
                   chosen_ref = $3
               WHERE call_id = $1 AND agent_login = $2 AND $3 = ANY(candidates)""",
            call_id, agent, ref)
        return result.endswith(" 1")

    async def verify(self, call_id: str, agent: str, ref: str) -> bool:
        result = await self.pool.execute(
            """UPDATE zaak_call_pops SET chosen_ref = $3, verified_at = now()
               WHERE call_id = $1 AND agent_login = $2 AND $3 = ANY(candidates)""",
            call_id, agent, ref)
        return result.endswith(" 1")
