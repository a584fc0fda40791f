"""Live state in Redis: the present, for panels, wallboards and other instances.

Layout (prefix from config, default ``kcc:``):

* ``{p}call:{linkedid}``   JSON of the live call (deleted when it ends)
* ``{p}calls``             set of live linkedids
* ``{p}agent:{login}``     JSON of the agent's state
* ``{p}events``            pub/sub channel; every domain event as JSON

PostgreSQL is the record; this is a mirror that can always be rebuilt from the model,
which is what :meth:`RedisState.replace_all` does after every resync.
"""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis

from telephony.events import AgentStateChanged, CallEnded, DomainEvent


class RedisState:
    def __init__(self, client: aioredis.Redis, prefix: str = "kcc:") -> None:
        self.r = client
        self.p = prefix

    @classmethod
    def from_url(cls, url: str, prefix: str) -> RedisState:
        return cls(aioredis.from_url(url, decode_responses=True, socket_timeout=5), prefix)

    async def ping(self) -> bool:
        return bool(await self.r.ping())

    async def handle(self, event: DomainEvent, call: dict[str, Any] | None,
                     agent: dict[str, Any] | None = None) -> None:
        """Mirror one domain event: update the live key, then publish the event."""
        await self.handle_many([(event, call, agent)])

    async def handle_many(self, items: list[tuple[DomainEvent, dict[str, Any] | None,
                                                  dict[str, Any] | None]]) -> None:
        """Mirror events in order, in one MULTI/EXEC round trip (under load the bus
        hands over what queued up meanwhile: one pipeline instead of one per event)."""
        pipe = self.r.pipeline(transaction=True)
        for event, call, agent in items:
            if isinstance(event, CallEnded):
                pipe.delete(f"{self.p}call:{event.linkedid}")
                pipe.srem(f"{self.p}calls", event.linkedid)
            elif call is not None:
                pipe.set(f"{self.p}call:{event.linkedid}",
                         json.dumps(call, ensure_ascii=False))
                pipe.sadd(f"{self.p}calls", event.linkedid)
            if isinstance(event, AgentStateChanged) and agent is not None:
                pipe.set(f"{self.p}agent:{event.agent}", json.dumps(agent, ensure_ascii=False))
            pipe.publish(f"{self.p}events", json.dumps(event.to_dict(), ensure_ascii=False))
        await pipe.execute()

    async def replace_all(self, calls: list[dict[str, Any]],
                          agents: list[dict[str, Any]]) -> None:
        """Make Redis equal to the model (after a resync): mark and sweep."""
        live = {c["linkedid"] for c in calls}
        known = set(await self.r.smembers(f"{self.p}calls"))
        pipe = self.r.pipeline(transaction=True)
        for gone in known - live:
            pipe.delete(f"{self.p}call:{gone}")
            pipe.srem(f"{self.p}calls", gone)
        for call in calls:
            pipe.set(f"{self.p}call:{call['linkedid']}", json.dumps(call, ensure_ascii=False))
            pipe.sadd(f"{self.p}calls", call["linkedid"])
        for agent in agents:
            pipe.set(f"{self.p}agent:{agent['login']}", json.dumps(agent, ensure_ascii=False))
        await pipe.execute()

    async def live_calls(self) -> list[dict[str, Any]]:
        ids = sorted(await self.r.smembers(f"{self.p}calls"))
        if not ids:
            return []
        values = await self.r.mget([f"{self.p}call:{i}" for i in ids])
        return [json.loads(v) for v in values if v]

    async def close(self) -> None:
        await self.r.aclose()
