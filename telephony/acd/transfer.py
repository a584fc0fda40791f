"""Transfers on the agent's request, within the municipality's limit.

"Never bounce a citizen around": ``[kcc] max_transfers`` (1 by default) caps how often
one call is transferred. The service refuses a transfer past the cap *before* anything
happens (HTTP 409: the agent keeps the citizen and answers the question), and the
dialplan (``kcc-transfer``) enforces the same cap for transfers that bypass the service
(a softphone's SIP REFER, the #1 key): there the citizen goes back to the agent who
transferred. Only blind transfers to a queue or a colleague are offered here; the
target is checked against the config, never passed through as typed.
"""

from __future__ import annotations

from typing import Any

from telephony.acd.agents_repo import LOGIN, AgentError
from telephony.ami.link import AmiLink
from telephony.config import Config
from telephony.model.calls import Call, CallModel

TRANSFER_CONTEXT = "kcc-transfer"


def transfer_target(config: Config, to: object) -> str:
    """The dialplan extension for ``to``: a queue id, or ``agent-<login>`` of an agent
    with a softphone. Anything else is refused."""
    if not isinstance(to, str):
        raise AgentError("bad_target", "to must be a queue id or agent-<login>")
    if to in {q.id for q in config.queues}:
        return to
    login = to.removeprefix("agent-")
    if to.startswith("agent-") and LOGIN.match(login) and any(
            a.login == login and a.role in ("agent", "supervisor") for a in config.agents):
        return to
    raise AgentError("bad_target", f"unknown transfer target {to[:40]!r}: a queue id or "
                                   "agent-<login>")


def agent_leg(model: CallModel, call: Call, login: str) -> str:
    """The agent's channel in the bridge with the citizen (what BlindTransfer moves away
    from), or "" when the agent is not talking to them."""
    live = [leg for leg in call.legs.values() if leg.ended_at is None and leg.bridge]
    for leg in live:
        if model.agents.agent_for_channel(leg.channel) != login:
            continue
        if any(o.bridge == leg.bridge and o.uniqueid != leg.uniqueid for o in live):
            return leg.channel
    return ""


async def transfer(config: Config, model: CallModel, link: AmiLink, *, linkedid: str,
                   login: str, role: str, to: object) -> dict[str, Any]:
    call = model.calls.get(linkedid)
    if call is None or call.ended_at is not None:
        raise AgentError("not_found", "no such call in progress")
    if call.answered_by != login and role not in ("supervisor", "admin"):
        raise AgentError("not_your_call", "only the agent who answered may transfer it")
    target = transfer_target(config, to)
    limit = config.kcc.max_transfers
    if call.transfer_count >= limit:
        raise AgentError("transfer_limit",
                         f"deze burger is al {call.transfer_count}x doorverbonden (maximum "
                         f"{limit}): beantwoord de vraag zelf of boek een terugbelverzoek")
    channel = agent_leg(model, call, call.answered_by)
    if not channel:
        raise AgentError("not_connected", "the agent is not in a conversation with this call")
    after = call.transfer_count + 1  # before the action: its event may come in meanwhile
    await link.action("BlindTransfer", Channel=channel, Context=TRANSFER_CONTEXT, Exten=target)
    return {"linkedid": linkedid, "to": target, "transfers": after, "max_transfers": limit}
