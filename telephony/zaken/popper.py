"""The screen-pop payload for the agent a call is offered to, privacy first.

Two views (AVG data minimisation): until the agent marks the caller's identity verified,
the pop holds only what is needed to greet — the candidate names and how many open zaken
each has. After verification it holds the chosen klant's details, open zaken and recent
contacts. Zaak data is fetched only for the view being built, and every build that shows
personal data writes the processing log first (see ``privacy.py``).

A slow or failing source never blocks the pop: each lookup has a deadline, and the pop is
sent with ``incomplete: true`` and the parts that are ``missing``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import quote

import asyncpg

from telephony.zaken.config import ZakenConfig
from telephony.zaken.identify import Identification, identify_call
from telephony.zaken.phone import normalise
from telephony.zaken.privacy import ProcessingLog
from telephony.zaken.schemas import ZAAKNUMMER, Klant, KlantSummary, OpenZaken
from telephony.zaken.sources import ZaakSource, bounded
from telephony.zaken.store import PopStateRepository

CALL_FIELDS = ("caller_number", "caller_name", "dialled", "municipality", "language",
               "subject", "queue")


class PopNotFound(Exception):
    """No pop for this call and agent: the call was not offered to them."""


class ScreenPopper:
    def __init__(self, source: ZaakSource, pool: asyncpg.Pool, config: ZakenConfig) -> None:
        self.source = source
        self.config = config
        self.log = ProcessingLog(pool)
        self.state = PopStateRepository(pool)

    # -- entry points ------------------------------------------------------------------
    async def build(self, call: dict[str, Any], agent_login: str, *, verified: bool = False,
                    chosen_klant: str | None = None, agent_role: str = "agent",
                    ) -> dict[str, Any]:
        """The pop for ``call`` (``Call.to_record()``) offered to ``agent_login``.

        Called by the lead's ``CallOffered`` subscriber (first build: identifies the
        caller and records the offer) and by the API after a choice or verification.
        """
        t0 = time.perf_counter()
        cfg = self.config
        call_id = str(call.get("linkedid") or "")
        first = call.get("_ident") is None
        if first:
            # The offer itself: look the caller up while the stored state (a re-offer of
            # the same call to the same agent) is read, to save a round trip.
            state, ident = await asyncio.gather(
                self.state.get(call_id, agent_login),
                identify_call(self.source, call, agent=agent_login,
                              limit=cfg.max_candidates, timeout=cfg.timeout_seconds,
                              region=cfg.default_region))
        else:
            state, ident = await self.state.get(call_id, agent_login), None
        stored_ident = (state or {}).get("call", {}).get("_ident") or {}
        offer: tuple[dict[str, Any], list[str]] | None = None
        if state is None or stored_ident.get("incomplete", True):
            # First offer (or the first identification was cut short): use the lookup.
            if ident is None:
                ident = await identify_call(self.source, call, agent=agent_login,
                                            limit=cfg.max_candidates,
                                            timeout=cfg.timeout_seconds,
                                            region=cfg.default_region)
            snapshot = {**_snapshot(call), "_ident": {"method": ident.method,
                                                      "matches": len(ident.candidates),
                                                      "incomplete": ident.incomplete}}
            offer = (snapshot, [k.ref for k in ident.candidates])
            refs = list(dict.fromkeys([k.ref for k in ident.candidates]
                                      + ((state or {}).get("candidates") or [])))
        else:
            # A rebuild (choice, verification): the candidates are known; no new lookup.
            ident = Identification(
                caller_e164=normalise(str(call.get("caller_number") or ""),
                                      cfg.default_region),
                anonymous=False, method=str(stored_ident.get("method") or "none"))
            ident.anonymous = ident.caller_e164 is None
            ident.matches = int(stored_ident.get("matches") or 0)
            refs = list(state["candidates"])
        if state is not None:
            chosen_klant = chosen_klant or state["chosen_ref"]
            verified = verified or state["verified"]
        refs = refs[: cfg.max_candidates * 2]
        missing = list(ident.missing)
        selected = chosen_klant if chosen_klant in refs else None
        if selected is None and len(refs) == 1:
            selected = refs[0]
        pop = self._base(call, agent_login, ident)
        pop["selected"] = selected
        pop["verified"] = False
        klant = None
        if verified and selected is not None:
            # Details concern the selected klant only: fetch nobody else.
            klant = (await self._klanten([selected], agent_login, missing))[selected]
        if klant is not None:
            pop["verified"] = True
            await self._details(pop, klant, agent_login, agent_role, call_id, missing)
        else:
            await self._greeting(pop, refs, agent_login, agent_role, call_id, missing, offer)
        if offer is not None and klant is not None:
            await self.state.offered(call_id, agent_login, *offer)
        pop["incomplete"] = bool(missing)
        pop["missing"] = sorted(set(missing))
        pop["build_ms"] = round((time.perf_counter() - t0) * 1000, 2)
        return pop

    async def rebuild(self, call_id: str, agent_login: str, *, agent_role: str = "agent",
                      ) -> dict[str, Any]:
        state = await self.state.get(call_id, agent_login)
        if state is None:
            raise PopNotFound(call_id)
        return await self.build(state["call"], agent_login, agent_role=agent_role)

    async def choose(self, call_id: str, agent_login: str, klant_ref: str, *,
                     agent_role: str = "agent") -> dict[str, Any]:
        """The agent picks one of the candidates (or of their own search results)."""
        if not await self.state.choose(call_id, agent_login, klant_ref):
            raise PopNotFound(call_id)
        return await self.rebuild(call_id, agent_login, agent_role=agent_role)

    async def mark_verified(self, call_id: str, agent_login: str, klant_ref: str, *,
                            agent_role: str = "agent") -> dict[str, Any]:
        """The agent checked the caller's identity in the call script: show details."""
        if not await self.state.verify(call_id, agent_login, klant_ref):
            raise PopNotFound(call_id)
        return await self.rebuild(call_id, agent_login, agent_role=agent_role)

    async def add_search_results(self, call_id: str, agent_login: str,
                                 refs: list[str]) -> bool:
        """Let the agent choose klanten found by their own search for this call."""
        return await self.state.add_candidates(call_id, agent_login, refs)

    async def forget_call(self, call_id: str) -> None:
        """At hangup: the pop state (call snapshot, choice) is no longer needed (AVG
        storage limitation). The processing log stays."""
        await self.state.forget(call_id)

    # -- views -------------------------------------------------------------------------
    async def _klanten(self, refs: list[str], agent: str,
                       missing: list[str]) -> dict[str, Klant | None]:
        found = await asyncio.gather(*(
            bounded("klant", self.source.klant(ref, agent=agent), self.config.timeout_seconds,
                    missing) for ref in refs))
        return dict(zip(refs, found, strict=True))

    async def _greeting(self, pop: dict[str, Any], refs: list[str], agent: str, role: str,
                        call_id: str, missing: list[str],
                        offer: tuple[dict[str, Any], list[str]] | None) -> None:
        greeting = await self.source.greeting(refs, agent=agent,
                                              timeout=self.config.timeout_seconds)
        missing.extend(greeting.missing)
        # Log before the data leaves; recording the offer is independent of it, so both
        # writes share one round trip's wait.
        await asyncio.gather(
            self.log.record_many(actor=agent, actor_role=role, action="greeting",
                                 purpose=self.config.purpose, call_id=call_id,
                                 klant_refs=[c.summary.ref for c in greeting.cards],
                                 source=self.source.name),
            self.state.offered(call_id, agent, *offer) if offer is not None else _empty())
        pop["candidates"] = [card.to_dict() for card in greeting.cards]
        pop["klant"] = None
        pop["zaken"] = []
        pop["zaken_total"] = None
        pop["contacten"] = []
        pop["links"] = {}

    async def _details(self, pop: dict[str, Any], klant: Klant, agent: str, role: str,
                       call_id: str, missing: list[str]) -> None:
        cfg = self.config
        open_zaken, contacts = await asyncio.gather(
            bounded("zaken", self.source.open_zaken(klant, cfg.max_open_zaken, agent=agent),
                    cfg.timeout_seconds, missing),
            bounded("contacten", self.source.recent_contacts(klant, cfg.max_contacts),
                    cfg.timeout_seconds, missing) if cfg.max_contacts else _empty())
        open_zaken = open_zaken or OpenZaken(total=0)
        # Log before the data leaves: no trace, no data.
        await self.log.record(actor=agent, actor_role=role, action="details",
                              purpose=cfg.purpose, call_id=call_id, klant_ref=klant.ref,
                              zaken=[z.identificatie for z in open_zaken.zaken],
                              source=self.source.name)
        pop["candidates"] = [{**klant.summary().to_dict(), "open_zaken": open_zaken.total}]
        pop["klant"] = klant.to_dict()
        pop["zaken"] = [z.to_dict() for z in open_zaken.zaken]
        pop["zaken_total"] = open_zaken.total
        pop["contacten"] = [c.to_dict() for c in contacts or []]
        pop["links"] = self._links(klant, open_zaken)

    def _links(self, klant: Klant, zaken: OpenZaken) -> dict[str, Any]:
        links: dict[str, Any] = {}
        tpl = self.config.deeplinks
        if tpl.klant:
            links["klant"] = tpl.klant.format(klant_ref=quote(klant.ref, safe=""),
                                              zaak_identificatie="", zaak_uuid="")
        if tpl.zaak:
            links["zaken"] = {z.identificatie: tpl.zaak.format(
                klant_ref=quote(klant.ref, safe=""),
                zaak_identificatie=quote(z.identificatie, safe=""),
                zaak_uuid=quote(z.uuid, safe="")) for z in zaken.zaken}
        return links

    def _base(self, call: dict[str, Any], agent: str, ident: Identification,
              ) -> dict[str, Any]:
        zaaknummer = str(call.get("zaaknummer") or "")
        return {
            "type": "screen_pop", "version": 1, "call_id": str(call.get("linkedid") or ""),
            "agent": agent, "built_at": time.time(),
            "call": {**{k: str(call.get(k) or "") for k in CALL_FIELDS},
                     "caller_e164": ident.caller_e164 or "", "anonymous": ident.anonymous,
                     "zaaknummer": zaaknummer if ZAAKNUMMER.match(zaaknummer) else "",
                     "transcript": str(call.get("transcript") or "")[:2000],
                     "wait_seconds": wait_seconds(call)},
            "identification": {"method": ident.method,
                               "matches": ident.matches if ident.matches is not None
                               else len(ident.candidates)},
        }


def wait_seconds(call: dict[str, Any], now: float | None = None) -> float | None:
    """Waited so far: the model's figure once answered, else now - queued_at."""
    if isinstance(call.get("wait_seconds"), int | float):
        return round(float(call["wait_seconds"]), 1)
    queued = call.get("queued_at") or call.get("started_at")
    if isinstance(queued, int | float):
        return round(max(0.0, (now or time.time()) - float(queued)), 1)
    return None


def _snapshot(call: dict[str, Any]) -> dict[str, Any]:
    """The call fields the pop needs later (rebuilds after a choice or verification)."""
    keep = (*CALL_FIELDS, "linkedid", "zaaknummer", "transcript", "wait_seconds",
            "queued_at", "started_at")
    return {k: call.get(k) for k in keep}


async def _empty() -> list[Any]:
    return []


__all__ = ["KlantSummary", "PopNotFound", "ScreenPopper", "wait_seconds"]
