"""A realistic synthetic municipality: klanten, zaken with status history, contacts.

For the demo (``demo``: 500 klanten, with the numbers ``telephony/demo.py`` calls from, so
demo calls pop real cards) and for benchmarks (``large``: 100k klanten, 1M zaken). Rows
are generated in chunks and loaded with COPY (``copy_records_to_table``), so the large set
loads in about a minute without holding it in memory. Deterministic for a given seed.
BSNs are drawn from the 99xxxxxxx range (elfproef-valid, outside the numbers issued to
residents), so synthetic data can never be mistaken for a real person.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg

from telephony.zaken.phone import normalise

SIZES: dict[str, tuple[int, float]] = {"demo": (500, 6.0), "large": (100_000, 10.5)}
# (klanten, mean zaken per klant)
CHUNK = 5_000

VOORNAMEN = ["Jan", "Piet", "Kees", "Anna", "Sanne", "Lotte", "Daan", "Sem", "Emma", "Julia",
             "Mohamed", "Fatima", "Noah", "Liam", "Sophie", "Eva", "Thijs", "Bram", "Ingrid",
             "Hendrik", "Wilma", "Gerrit", "Ayşe", "Mehmet", "Priya", "Wei", "Joost", "Femke",
             "Lieke", "Ruben", "Yasmina", "Karim", "Marloes", "Pieter", "Anouk", "Stijn"]
ACHTERNAMEN = [("", "Jansen"), ("de", "Vries"), ("van den", "Berg"), ("van", "Dijk"),
               ("", "Bakker"), ("", "Visser"), ("", "Smit"), ("", "Meijer"), ("de", "Boer"),
               ("", "Mulder"), ("de", "Groot"), ("", "Bos"), ("", "Vos"), ("", "Peters"),
               ("", "Hendriks"), ("van", "Leeuwen"), ("", "Dekker"), ("", "Brouwer"),
               ("de", "Wit"), ("", "Dijkstra"), ("", "Yılmaz"), ("", "Kaya"), ("El", "Amrani"),
               ("", "Şahin"), ("van der", "Linden"), ("", "Verhoeven"), ("", "Kok"),
               ("van", "Beek"), ("", "Çelik"), ("", "Nguyen")]
PLAATSEN = [("Gouda", "28", ["Markt", "Lange Tiendeweg", "Goverwellesingel", "Bloemendaal"]),
            ("Nieuwerkerk aan den IJssel", "29", ["Dorrestein", "Kerklaan", "Parkweg"]),
            ("Moordrecht", "28", ["Dorpsstraat", "Julianastraat"]),
            ("Zevenhuizen", "27", ["Kerklaan", "Bredeweg"]),
            ("Stolwijk", "28", ["Koestraat", "Achterof", "Weteringsingel"]),
            ("Schoonhoven", "28", ["Haven", "Lopikerstraat"]),
            ("Bergambacht", "28", ["Hoofdstraat", "Bergsteeg"])]
BEDRIJVEN = ["Bakkerij", "Installatietechniek", "Kaashandel", "Hoveniersbedrijf",
             "Transport", "Schildersbedrijf", "Café", "Autobedrijf", "Zorgboerderij"]
MEDEWERKERS = ["A. de Vries", "M. Yılmaz", "Z. Çelik", "P. van Dam", "R. Groen", "S. Bos",
               "K. Mulder", "T. Hendriks"]

# zaaktype, afdeling, doorlooptijd (days), statuses in order, details for the omschrijving
ZAAKTYPEN: list[tuple[str, str, int, list[str], list[str]]] = [
    ("Aanvraag paspoort", "Burgerzaken", 7,
     ["Ontvangen", "In behandeling", "Klaar om af te halen", "Afgehandeld"], [""]),
    ("Aanvraag rijbewijs", "Burgerzaken", 7,
     ["Ontvangen", "In behandeling", "Klaar om af te halen", "Afgehandeld"], [""]),
    ("Verhuizing doorgeven", "Burgerzaken", 5, ["Ontvangen", "Gecontroleerd", "Afgehandeld"],
     [""]),
    ("Melding openbare ruimte", "Beheer openbare ruimte", 14,
     ["Ontvangen", "Ingepland", "Afgehandeld"],
     ["losliggende stoeptegel", "kapotte lantaarnpaal", "zwerfafval", "overhangende tak",
      "verstopte put"]),
    ("Ophalen grofvuil", "Afval", 10, ["Ontvangen", "Ingepland", "Afgehandeld"], [""]),
    ("Bezwaar WOZ-beschikking", "Belastingen", 42,
     ["Ontvangen", "In behandeling", "Taxatie", "Besluit genomen"], [""]),
    ("Kwijtschelding gemeentelijke belastingen", "Belastingen", 56,
     ["Ontvangen", "Aanvullende gegevens gevraagd", "In behandeling", "Besluit genomen"], [""]),
    ("Aanvraag Wmo-voorziening", "Sociaal domein", 56,
     ["Ontvangen", "Keukentafelgesprek gepland", "Onderzoek", "Besluit genomen"],
     ["huishoudelijke hulp", "scootmobiel", "woningaanpassing"]),
    ("Aanvraag bijstand", "Werk en inkomen", 56,
     ["Ontvangen", "Aanvullende gegevens gevraagd", "In behandeling", "Besluit genomen"],
     [""]),
    ("Omgevingsvergunning", "Vergunningen", 56,
     ["Ontvangen", "In behandeling", "Advies gevraagd", "Besluit genomen"],
     ["dakkapel", "uitbouw", "kap van een boom", "schuur"]),
    ("Aanvraag parkeervergunning", "Vergunningen", 14,
     ["Ontvangen", "In behandeling", "Afgehandeld"], [""]),
    ("Klacht", "Klachtencoördinatie", 42, ["Ontvangen", "In behandeling", "Afgehandeld"],
     ["bejegening", "afvalinzameling", "wachttijd"]),
]
BEDRIJF_ZAAKTYPEN: list[tuple[str, str, int, list[str], list[str]]] = [
    ("Evenementenvergunning", "Vergunningen", 56,
     ["Ontvangen", "In behandeling", "Advies gevraagd", "Besluit genomen"],
     ["braderie", "zomerfestival", "sportdag"]),
    ("Exploitatievergunning horeca", "Vergunningen", 56,
     ["Ontvangen", "Bibob-toets", "In behandeling", "Besluit genomen"], [""]),
    ("Bedrijfsafval container", "Afval", 14, ["Ontvangen", "Ingepland", "Afgehandeld"], [""]),
]
UITKOMSTEN = ["informatie gegeven", "doorverbonden", "terugbelverzoek", "zaak aangemaakt",
              "beantwoord"]
KANALEN = ["telefoon"] * 5 + ["balie"] * 2 + ["e-mail"] * 2 + ["web"] * 2 + ["post"]

# The demo callers of telephony/demo.py. Jan de Boer shares his landline with Marieke (two
# matches: the agent chooses); 0180777888 is a company (KVK); Ömer calls as 0031612121212
# and is on file as +31612121212.
DEMO_KLANTEN: list[dict[str, Any]] = [
    {"voornamen": "Zoë", "achternaam": "Şahin", "phones": ["0612345678"]},
    {"voornamen": "Jan", "voorvoegsel": "de", "achternaam": "Boer", "phones": ["0182123456"]},
    {"voornamen": "Marieke", "voorvoegsel": "de", "achternaam": "Boer",
     "phones": ["0182123456", "0623456789"]},
    {"voornamen": "Fatma", "achternaam": "Yılmaz", "phones": ["0687654321"]},
    {"voornamen": "Renée", "voorvoegsel": "van", "achternaam": "Dijk",
     "phones": ["+31180654321"]},
    {"voornamen": "Ömer", "achternaam": "Çelik", "phones": ["+31612121212"]},
    {"voornamen": "Anouk", "achternaam": "Bakker", "phones": ["0610101010"]},
    {"bedrijfsnaam": "Doğan Installatietechniek B.V.", "phones": ["0180777888"]},
]


@dataclass
class Chunk:
    klanten: list[tuple[Any, ...]] = field(default_factory=list)
    telefoons: list[tuple[Any, ...]] = field(default_factory=list)
    zaken: list[tuple[Any, ...]] = field(default_factory=list)
    statussen: list[tuple[Any, ...]] = field(default_factory=list)
    contacten: list[tuple[Any, ...]] = field(default_factory=list)


KLANT_COLUMNS = ("id", "ref", "soort", "bsn", "kvk", "voornamen", "voorvoegsel", "achternaam",
                 "bedrijfsnaam", "geboortedatum", "straat", "huisnummer",
                 "huisnummer_toevoeging", "postcode", "woonplaats", "email")
TELEFOON_COLUMNS = ("klant_id", "e164", "soort")
ZAAK_COLUMNS = ("id", "uuid", "identificatie", "klant_id", "omschrijving", "zaaktype",
                "status", "status_datum", "startdatum", "uiterlijke_einddatum", "einddatum",
                "afdeling", "medewerker")
STATUS_COLUMNS = ("zaak_id", "status", "datum", "toelichting")
CONTACT_COLUMNS = ("klant_id", "zaak_id", "kanaal", "onderwerp", "tekst", "medewerker",
                   "uitkomst", "call_id", "registered_at")


def bsn_from(n: int) -> str | None:
    """The ``n``-th candidate in the 99xxxxxxx test range, or None if it fails the elfproef."""
    prefix = f"99{n:06d}"
    total = sum(int(d) * w for d, w in zip(prefix, (9, 8, 7, 6, 5, 4, 3, 2), strict=True))
    check = total % 11
    return None if check == 10 else prefix + str(check)


class Generator:
    def __init__(self, size: str = "demo", seed: int = 14, today: date | None = None) -> None:
        if size not in SIZES:
            raise ValueError(f"size must be one of {sorted(SIZES)}")
        self.n_klanten, self.mean_zaken = SIZES[size]
        self.rng = random.Random(seed)
        self.today = today or date.today()
        self._bsn_n = 0
        self._zaak_id = 0
        self._phone_seq = 0
        self._used_phones = {normalise(p) for k in DEMO_KLANTEN for p in k["phones"]}

    # -- identifiers --------------------------------------------------------------------
    def _bsn(self) -> str:
        while True:
            self._bsn_n += 1
            bsn = bsn_from(self._bsn_n)
            if bsn:
                return bsn

    def _mobile(self) -> str:
        while True:
            self._phone_seq += 1
            # A multiplicative walk over 8 digits: unique, yet not visibly sequential.
            digits = (self._phone_seq * 7_919_111) % 100_000_000
            # Only the series phonenumbers accepts as mobile (06-1..5, 06-8): 066 is for
            # pagers, 067/069 are not mobile numbers, and invalid numbers never match.
            number = f"+316{'123458'[digits % 6]}{digits // 6 % 10_000_000:07d}"
            if number not in self._used_phones and normalise(number) == number:
                self._used_phones.add(number)
                return number

    def _uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    # -- rows ---------------------------------------------------------------------------
    def chunks(self) -> Iterator[Chunk]:
        chunk = Chunk()
        for klant_id in range(1, self.n_klanten + 1):
            spec = DEMO_KLANTEN[klant_id - 1] if klant_id <= len(DEMO_KLANTEN) else None
            self._klant(chunk, klant_id, spec)
            if len(chunk.klanten) >= CHUNK:
                yield chunk
                chunk = Chunk()
        if chunk.klanten:
            yield chunk

    def _klant(self, chunk: Chunk, klant_id: int, spec: dict[str, Any] | None) -> None:
        rng = self.rng
        bedrijf = (spec is not None and "bedrijfsnaam" in spec) or (
            spec is None and rng.random() < 0.06)
        plaats, pc2, straten = rng.choice(PLAATSEN)
        postcode = f"{pc2}{rng.randint(0, 99):02d}{chr(65 + rng.randint(0, 25))}" \
                   f"{chr(65 + rng.randint(0, 25))}"
        huisnummer = rng.randint(1, 180)
        if bedrijf:
            naam = (spec or {}).get("bedrijfsnaam") or \
                f"{rng.choice(ACHTERNAMEN)[1]} {rng.choice(BEDRIJVEN)} B.V."
            row = (klant_id, self._uuid(), "niet_natuurlijk_persoon", None,
                   f"{90_000_000 + klant_id:08d}", "", "", "", naam, None,
                   rng.choice(straten), huisnummer, "", postcode, plaats,
                   f"info@{klant_id}.bedrijf.example")
        else:
            voorvoegsel, achternaam = rng.choice(ACHTERNAMEN)
            voornaam = rng.choice(VOORNAMEN)
            if spec:
                voornaam = spec["voornamen"]
                voorvoegsel, achternaam = spec.get("voorvoegsel", ""), spec["achternaam"]
            geboren = date(1935, 1, 1) + timedelta(days=rng.randint(0, 365 * 70))
            row = (klant_id, self._uuid(), "natuurlijk_persoon", self._bsn(), None, voornaam,
                   voorvoegsel, achternaam, "", geboren, rng.choice(straten), huisnummer,
                   rng.choice(["", "", "", "A", "B", "-2"]), postcode, plaats,
                   f"klant{klant_id}@mail.example")
        chunk.klanten.append(row)
        phones = [normalise(p) for p in spec["phones"]] if spec else (
            [self._mobile()] + ([self._mobile()] if rng.random() < 0.2 else []))
        for phone in phones:
            chunk.telefoons.append((klant_id, phone, "vast" if phone and not
                                    phone.startswith("+316") else "mobiel"))
        n_zaken = max(1, int(rng.expovariate(1 / self.mean_zaken))) if spec is None else 4
        types = BEDRIJF_ZAAKTYPEN + ZAAKTYPEN[3:5] if bedrijf else ZAAKTYPEN
        zaak_ids = [self._zaak(chunk, klant_id, rng.choice(types), force_open=spec is not None
                               and i < 2) for i in range(n_zaken)]
        for _ in range(rng.randint(1, 6) if spec is None else 4):
            self._contact(chunk, klant_id, rng.choice(zaak_ids) if rng.random() < 0.7 else None)

    def _zaak(self, chunk: Chunk, klant_id: int, zaaktype: tuple[str, str, int, list[str],
              list[str]], force_open: bool) -> int:
        rng = self.rng
        naam, afdeling, doorloop, statuses, details = zaaktype
        self._zaak_id += 1
        zaak_id = self._zaak_id
        is_open = force_open or rng.random() < 0.15
        age = rng.randint(0, min(doorloop * 2, 180)) if is_open else rng.randint(30, 3 * 365)
        start = self.today - timedelta(days=age)
        reached = rng.randint(1, len(statuses) - 1) if is_open else len(statuses)
        moment = datetime.combine(start, time(9, 0), UTC)
        for status in statuses[:reached]:
            chunk.statussen.append((zaak_id, status, moment, ""))
            moment += timedelta(days=rng.randint(0, max(1, doorloop // len(statuses))),
                                hours=rng.randint(0, 7))
        detail = rng.choice(details)
        chunk.zaken.append((
            zaak_id, self._uuid(), f"ZAAK-{start.year}-{zaak_id:07d}", klant_id,
            f"{naam}: {detail}" if detail else naam, naam, statuses[reached - 1],
            chunk.statussen[-1][2], start, start + timedelta(days=doorloop),
            None if is_open else (chunk.statussen[-1][2].date()), afdeling,
            rng.choice(MEDEWERKERS)))
        return zaak_id

    def _contact(self, chunk: Chunk, klant_id: int, zaak_id: int | None) -> None:
        rng = self.rng
        at = datetime.combine(self.today - timedelta(days=rng.randint(0, 400)),
                              time(rng.randint(8, 16), rng.randint(0, 59)), UTC)
        onderwerp = rng.choice(["Vraag over status zaak", "Afspraak maken",
                                "Vraag over aanslag", "Melding", "Informatie aanvraag",
                                "Klacht"])
        chunk.contacten.append((klant_id, zaak_id, rng.choice(KANALEN), onderwerp,
                                f"Klant heeft contact opgenomen: {onderwerp.lower()}.",
                                rng.choice(MEDEWERKERS), rng.choice(UITKOMSTEN), "", at))


async def load(pool: asyncpg.Pool, size: str = "demo", *, seed: int = 14,
               replace: bool = True) -> dict[str, int]:
    """Generate and COPY a municipality into the (migrated) database; returns row counts."""
    gen = Generator(size, seed)
    counts = dict.fromkeys(("klanten", "telefoonnummers", "zaken", "statussen",
                            "contactmomenten"), 0)
    async with pool.acquire() as conn:
        if replace:
            await conn.execute("TRUNCATE klanten, klant_telefoonnummers, zaken, zaak_statussen,"
                               " contactmomenten, taken RESTART IDENTITY CASCADE")
        for chunk in gen.chunks():
            async with conn.transaction():
                await conn.copy_records_to_table("klanten", records=chunk.klanten,
                                                 columns=KLANT_COLUMNS)
                await conn.copy_records_to_table("klant_telefoonnummers",
                                                 records=chunk.telefoons,
                                                 columns=TELEFOON_COLUMNS)
                await conn.copy_records_to_table("zaken", records=chunk.zaken,
                                                 columns=ZAAK_COLUMNS)
                await conn.copy_records_to_table("zaak_statussen", records=chunk.statussen,
                                                 columns=STATUS_COLUMNS)
                await conn.copy_records_to_table("contactmomenten", records=chunk.contacten,
                                                 columns=CONTACT_COLUMNS)
            counts["klanten"] += len(chunk.klanten)
            counts["telefoonnummers"] += len(chunk.telefoons)
            counts["zaken"] += len(chunk.zaken)
            counts["statussen"] += len(chunk.statussen)
            counts["contactmomenten"] += len(chunk.contacten)
        for table in ("klanten", "zaken"):
            await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT coalesce(max(id), 1) FROM {table}))")
        # VACUUM too, not only ANALYZE: freshly COPYed tables have no visibility map, so
        # the first queries read the heap and set hint bits (slow, noisy benchmarks).
        await conn.execute("VACUUM (ANALYZE) klanten, klant_telefoonnummers, zaken, "
                           "zaak_statussen, contactmomenten")
    return counts
