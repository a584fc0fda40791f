"""What the agent's panel shows for a call-back before anyone's phone rings.

The dialer sends ``callback.offered`` to the reserved agent *before* it rings them, and
the citizen is dialled only after the agent answered (agent first), so the card — who is
called back, why, what was promised and by when, and the zaken pop — is on screen before
the citizen's phone rings. This module turns the dialer's bare message into that card.

The promise: a terugbelafspraak (``scheduled``) was promised within its window; a
keep-my-place call-back (``virtual_hold``) was promised as soon as an agent is free, and
at the latest the municipality's promise (``[kcc] callback_promise_working_days``), the
same term the reports measure "on time" against.

The pop is the screen-pop of an incoming call (greeting-level until the agent verifies,
every view of personal data logged first) built for the call-back's own linkedid, so the
panel's verify/choose/search work on it unchanged. A slow or failing source gives an
incomplete pop, never a late card.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from telephony.callbacks.notes import promised_deadline

if TYPE_CHECKING:
    from telephony.service import KccService

log = logging.getLogger(__name__)
PROMISES = {
    "virtual_hold": "Terugbellen met behoud van plaats in de wachtrij",
    "scheduled": "Terugbelafspraak binnen het gekozen tijdvak",
}


def _at(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value)
    return None


def promise(row: dict[str, Any], service: KccService) -> dict[str, Any]:
    """What was promised to the citizen and by when (ISO times, the KCC's timezone)."""
    cfg = service.config
    kind = str(row.get("kind") or "virtual_hold")
    window_end = _at(row.get("window_end"))
    made = _at(row.get("created_at")) or datetime.now(UTC)
    if window_end is not None:
        deadline = window_end
    else:
        deadline = promised_deadline(cfg.hours, cfg.kcc.timezone, made,
                                     cfg.kcc.callback_promise_working_days)
    start = _at(row.get("due_at")) if kind == "scheduled" else None
    return {"kind": kind, "text": PROMISES.get(kind, kind),
            "window_start": start.isoformat() if start else None,
            "deadline": deadline.isoformat(), "requested_at": made.isoformat(),
            "requested_by": str(row.get("created_by") or "")}


async def build_offer(service: KccService, agent: str, message: dict[str, Any]
                      ) -> dict[str, Any]:
    """The dialer's ``callback.offered`` with the promise and the pop added."""
    out = dict(message)
    out["offered_at"] = time.time()
    store = service.callbacks.store
    row = await store.get(int(message["callback_id"])) if store is not None else None
    ivr = message.get("ivr") or {}
    out["why"] = {"subject": str(message.get("subject") or ""),
                  "zaaknummer": str(ivr.get("zaaknummer") or ""),
                  "transcript": str(ivr.get("transcript") or "")}
    out["promise"] = promise(row or {}, service)
    out["attempts"] = int((row or {}).get("attempts") or message.get("attempt") or 1)
    if service.popper is not None:
        call = {"linkedid": message["linkedid"], "caller_number": message.get("number", ""),
                "subject": message.get("subject", ""), "queue": message.get("queue", ""),
                "zaaknummer": out["why"]["zaaknummer"],
                "transcript": out["why"]["transcript"]}
        try:
            out["pop"] = await service.popper.build(call, agent)
        except Exception:
            log.exception("call-back pop build failed",
                          extra={"callback_id": message["callback_id"]})
            out["pop"] = {"incomplete": True}
    return out


def notifier(service: KccService):
    """The dialer's ``notify``: the card to that agent's panel only."""
    async def notify(agent: str, message: dict[str, Any]) -> None:
        if message.get("type") == "callback.offered":
            try:
                message = await build_offer(service, agent, message)
            except Exception:  # the bare offer is better than none
                log.exception("call-back offer not enriched")
        await service.hub.send_to_agent(agent, message)
    return notify
