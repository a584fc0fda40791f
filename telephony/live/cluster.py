"""What several service instances on one Redis share, so two behave as one.

Every instance watches the same Asterisk over AMI, so every instance sees every
``AgentCalled``. Without coordination each would build the screen-pop (zaak source
queries, a processing-log entry per instance: the AVG log would say N people looked) and
only the instance that holds the agent's WebSocket could show it. Here:

* :meth:`Cluster.claim` — a Redis ``SET NX`` per piece of once-only work (one offer of one
  call to one agent). The instance that wins builds the pop; the others drop it.
* :meth:`Cluster.to_agent` — the winner shows the pop on its own sockets for that agent
  and publishes it on ``{prefix}hub``; every other instance delivers it to the sockets it
  holds for that agent. So the pop reaches the agent's screen whichever instance the
  browser is connected to, and is built, and logged, once.

When Redis does not answer a claim, the instance builds the pop anyway: a pop twice is
better than no pop, and the processing log then truthfully records both builds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import TYPE_CHECKING, Any

from telephony.tasks import cancel_and_wait

if TYPE_CHECKING:
    from agent_ui.hub import Hub

log = logging.getLogger(__name__)
CLAIM_SECONDS = 3600


class Cluster:
    def __init__(self, redis: Any, prefix: str, instance_id: str, hub: Hub) -> None:
        self.redis, self.prefix, self.hub = redis, prefix, hub
        # Unique per process: two instances may share a configured instance_id by mistake.
        self.origin = f"{instance_id}:{uuid.uuid4().hex[:8]}"
        self.channel = f"{prefix}hub"
        self.claimed = 0
        self.relayed = 0
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="cluster-hub")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def wait_subscribed(self, timeout: float = 5.0) -> None:
        await asyncio.wait_for(self._subscribed.wait(), timeout)

    async def claim(self, kind: str, key: str, seconds: int = CLAIM_SECONDS) -> bool:
        """True for exactly one instance per (kind, key) within ``seconds``."""
        try:
            won = bool(await self.redis.set(f"{self.prefix}claim:{kind}:{key}", self.origin,
                                            nx=True, ex=seconds))
        except (OSError, ConnectionError, TimeoutError) as exc:
            log.warning("cluster claim %s failed (%s): doing it here", kind, exc)
            return True
        except Exception as exc:  # redis-py's own errors (ConnectionError subclasses)
            log.warning("cluster claim %s failed (%s): doing it here", kind, exc)
            return True
        if won:
            self.claimed += 1
        return won

    async def to_agent(self, login: str, message: dict[str, Any]) -> int:
        """Show ``message`` on every socket of ``login``, on this and the other instances."""
        sent = await self.hub.send_to_agent(login, message)
        data = json.dumps({"origin": self.origin, "agent": login, "message": message},
                          ensure_ascii=False, default=str)
        try:
            await self.redis.publish(self.channel, data)
        except Exception as exc:
            log.warning("cluster hub publish failed (%s): only local sockets got it", exc)
        return sent

    async def _listen(self) -> None:
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                self._subscribed.set()
                async for item in pubsub.listen():
                    if item.get("type") == "message":
                        await self._relay(item["data"])
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("cluster hub: Redis subscription lost; resubscribing",
                            exc_info=True)
                await asyncio.sleep(1.0)
            finally:
                self._subscribed.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _relay(self, raw: str | bytes) -> None:
        try:
            item = json.loads(raw)
        except ValueError:
            return
        if not isinstance(item, dict) or item.get("origin") == self.origin:
            return
        login, message = item.get("agent"), item.get("message")
        if isinstance(login, str) and isinstance(message, dict):
            self.relayed += await self.hub.send_to_agent(login, message)
