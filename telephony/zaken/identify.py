"""Who is probably calling: by zaaknummer entered in the IVR, then by caller ID.

Both inputs are attacker-controlled (caller ID is set by the calling network; the
zaaknummer is DTMF or speech), so both are validated before any lookup and a bad value
simply yields no candidates. A lookup that fails or times out marks the identification
incomplete instead of failing it: the pop must still reach the agent.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from telephony.zaken.phone import normalise
from telephony.zaken.schemas import ZAAKNUMMER, KlantSummary
from telephony.zaken.sources import ZaakSource, bounded


@dataclass
class Identification:
    caller_e164: str | None
    anonymous: bool
    method: str  # "zaaknummer" | "caller_id" | "none"
    candidates: list[KlantSummary] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # lookups that failed or timed out
    matches: int | None = None  # on a rebuild: how many the first identification found

    @property
    def incomplete(self) -> bool:
        return bool(self.missing)


async def identify_call(source: ZaakSource, call: dict[str, Any], *, agent: str,
                        limit: int, timeout: float, region: str = "NL") -> Identification:
    e164 = normalise(str(call.get("caller_number") or ""), region)
    zaaknummer = str(call.get("zaaknummer") or "").strip()
    if not ZAAKNUMMER.match(zaaknummer):
        zaaknummer = ""
    ident = Identification(caller_e164=e164, anonymous=e164 is None, method="none")
    found: list[KlantSummary] = []
    by_zaak, by_phone = await asyncio.gather(
        bounded("zaaknummer", source.klanten_by_zaaknummer(zaaknummer, agent=agent),
                timeout, ident.missing) if zaaknummer else _none(),
        bounded("caller_id", source.klanten_by_phone(e164, limit), timeout, ident.missing)
        if e164 else _none())
    if by_zaak:
        ident.method = "zaaknummer"
        found.extend(by_zaak)
    if by_phone:
        ident.method = ident.method if by_zaak else "caller_id"
        found.extend(by_phone)
    seen: set[str] = set()
    for klant in found:
        if klant.ref not in seen:
            seen.add(klant.ref)
            ident.candidates.append(klant)
    ident.candidates = ident.candidates[:limit]
    return ident


async def _none() -> None:
    return None
