"""Agent first: reserve the agent, pop the callback on their screen, ring them, and only
when they answered have Asterisk dial the citizen (dialplan ``kcc-callback-agent``).

The agent is rung first so a citizen never answers to silence; the citizen is bridged
only after pressing 1 (``kcc-callback-confirm``), so an answering machine is not
"reached". Originate is synchronous (the response comes when the agent answered or the
ring timed out), and carries ``ChannelId=cb-<id>-<attempt>``: the call's linkedid, by
which any instance recognises a live callback call after a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telephony.acd.agents_repo import AgentError
from telephony.acd.service import AcdService
from telephony.ami.link import AmiError, AmiLink, AmiUnavailable
from telephony.callbacks.config import CallbacksConfig
from telephony.callbacks.destinations import DestinationPolicy
from telephony.callbacks.numbers import E164
from telephony.callbacks.store import Claim

log = logging.getLogger(__name__)
MISSED_REASON = "gemist"
Notify = Callable[[str, dict[str, Any]], Awaitable[None]]


async def _no_notify(_agent: str, _message: dict[str, Any]) -> None:
    return None


class DialUncertain(Exception):
    """AMI dropped after the Originate was sent: Asterisk may be dialling right now.

    The claim must not be given back (another dial could call the citizen twice); the
    dispatcher keeps it and lets the lease settle it from what Asterisk shows: the call
    alive (adopt), a result in AstDB (record it), or neither (lost, retried).
    """


class Dialer:
    def __init__(self, cfg: CallbacksConfig, link: AmiLink, acd: AcdService,
                 notify: Notify = _no_notify,
                 policy: DestinationPolicy | None = None, namespace: str = "") -> None:
        self.cfg = cfg
        self.policy = policy
        self.namespace = namespace  # AstDB key prefix of this database (service.py)
        self.link = link
        self.acd = acd
        self.notify = notify
        self.agent_answered_at: dict[int, float] = {}

    async def dial(self, claim: Claim, linkedid: str) -> bool:
        """True when the agent answered (the citizen is being dialled now)."""
        if not E164.match(claim.number):  # stored numbers are checked; never trust blindly
            log.error("callback %s: refusing to dial a non-E.164 number", claim.id)
            return False
        if self.policy is not None:
            # Same rules as at booking, plus the dial caps: a row written past the API
            # (or before a rule changed) is still never dialled. Raises
            # DestinationRefused, which the dispatcher turns into a task.
            await self.policy.check_destination(claim.number, where="dial",
                                                callback_id=claim.id)
        try:
            record = await self.acd.reserve(claim.agent, self.cfg.pause_reason)
        except AgentError as exc:
            # e.g. the agent was deleted or logged out between "free" and the claim.
            log.warning("callback %s: agent %s cannot be reserved: %s", claim.id,
                        claim.agent, exc)
            return False
        if self.acd.state_of(claim.agent)["state"] in ("ringing", "on_call"):
            # app_queue offered them a waiting call between "free" and our pause: that
            # caller goes first; the callback is given back with its place.
            log.info("callback %s: agent %s took a queue call first", claim.id, claim.agent)
            await self.unreserve(claim.agent)
            return False
        await self.notify(claim.agent, {
            "type": "callback.offered", "callback_id": claim.id, "attempt": claim.attempt,
            "linkedid": linkedid, "number": claim.number, "queue": claim.queue,
            "queued_at": claim.queued_at.timestamp(), "subject": claim.subject,
            "original_linkedid": claim.linkedid, "ivr": claim.ivr})
        variables = ",".join([f"KCC_CB_NS={self.namespace}", f"KCC_CB_ID={claim.id}",
                              f"KCC_CB_ATTEMPT={claim.attempt}",
                              f"KCC_CB_NUMBER={claim.number}",
                              f"KCC_CB_CONTEXT={self.cfg.citizen_context}",
                              f"KCC_CB_RING={self.cfg.citizen_ring_seconds}"])
        try:
            await self.link.action(
                "Originate", Channel=record.endpoint, Context="kcc-callback-agent", Exten="s",
                Priority="1", Timeout=str(self.cfg.agent_answer_seconds * 1000),
                ChannelId=linkedid, OtherChannelId=f"{linkedid}-o",
                CallerID=f'"Terugbellen" <{claim.number}>', Variable=variables,
                timeout=self.cfg.agent_answer_seconds + 5)
        except AmiUnavailable as exc:
            if exc.sent:
                log.warning("callback %s: AMI dropped during Originate; outcome uncertain",
                            claim.id)
                raise DialUncertain(str(exc)) from None
            # Never reached Asterisk: nothing dials; the agent's reservation ends when
            # AMI is back (unreserve below), and the claim is given back.
            log.warning("callback %s: AMI down before Originate: %s", claim.id, exc)
            await self.unreserve(claim.agent)
            return False
        except (AmiError, TimeoutError) as exc:
            # The agent did not answer: like a missed queue call, they stay paused (reason
            # "gemist") until they resume, or the next tick would ring them again at once.
            log.warning("callback %s: agent %s did not answer: %s", claim.id, claim.agent, exc)
            try:
                await self.acd.reserve(claim.agent, MISSED_REASON)
            except Exception:
                log.exception("could not pause %s after a missed callback", claim.agent)
            return False
        return True

    async def unreserve(self, agent: str) -> None:
        try:
            await self.acd.unreserve(agent, self.cfg.pause_reason)
        except Exception:
            log.exception("could not end the callback reservation of %s", agent)
