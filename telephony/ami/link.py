"""One AMI connection that keeps itself up: login, keep-alive, reconnect, resync.

Why not panoramisk's own ``Manager.connect()``: it reconnects on a fixed timer, its ping
never notices a silently dead socket, and after a reconnect nobody re-reads Asterisk's
state. Here the link owns the socket lifecycle and uses panoramisk for what it does well
(framing of actions and responses, futures per ActionID):

* every action has a timeout (panoramisk has none; some responses never complete);
* a ping that is not answered within the action timeout closes the socket, so a dead
  peer is noticed within ``ping_interval + action_timeout`` seconds;
* reconnect uses exponential backoff with jitter (0.5 s doubling to 15 s);
* after every login the link asks for ``CoreShowChannels`` and ``QueueStatus``; their
  complete answers are put into the event stream at their wire position
  (:class:`~telephony.ami.protocol.AmiSnapshot`), so the call model can mark-and-sweep
  without racing against live events.

Consumers read :meth:`next_item` in order; nothing is dispatched behind their back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from typing import Any

from panoramisk.actions import Action
from panoramisk.message import Message

from telephony.ami.protocol import AmiSnapshot, KccAMIProtocol

log = logging.getLogger(__name__)

RESYNC_ACTIONS = ("CoreShowChannels", "QueueStatus")


class AmiError(Exception):
    """Asterisk answered an action with an error."""


class AmiUnavailable(Exception):
    """No AMI connection right now (or it dropped while the action was pending).

    ``sent`` tells the two apart: when True the action was written to Asterisk and may
    have taken effect (an Originate may be dialling) even though no answer came.
    """

    def __init__(self, message: str, *, sent: bool = False) -> None:
        super().__init__(message)
        self.sent = sent


class AmiLink:
    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        action_timeout: float = 5.0,
        ping_interval: float = 10.0,
        max_backoff: float = 15.0,
        boot_timeout: float = 20.0,
        wanted_events: frozenset[str] | None = None,
    ) -> None:
        self.host, self.port = host, port
        self._username, self._secret = username, secret
        self.action_timeout = action_timeout
        self.ping_interval = ping_interval
        self.max_backoff = max_backoff
        self.boot_timeout = boot_timeout
        # Events the consumer reads; the protocol drops the rest unparsed. FullyBooted
        # is the link's own (it gates the resync).
        self.wanted_events = (None if wanted_events is None
                              else frozenset(wanted_events) | {"FullyBooted"})
        self._items: asyncio.Queue[Message | AmiSnapshot] = asyncio.Queue()
        self._protocol: KccAMIProtocol | None = None
        self._task: asyncio.Task[None] | None = None
        self._logged_in = asyncio.Event()  # Login accepted: resync actions may go
        self._booted = asyncio.Event()     # FullyBooted seen on this session
        self._ready = asyncio.Event()      # booted and resynced: "connected"
        self.connects = 0
        self.last_error: str | None = None
        self.connected_since: float | None = None
        self.tap: Any = None  # raw-bytes tap, see KccAMIProtocol.tap

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="ami-link")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._close()

    @property
    def connected(self) -> bool:
        """Logged in, Asterisk fully booted, and the model resynced.

        Not just "logged in": AMI accepts logins while Asterisk is still loading modules,
        and a call originated then fails at once (seen in the crash-restart test).
        """
        return self._ready.is_set()

    async def wait_connected(self, timeout: float) -> None:
        await asyncio.wait_for(self._ready.wait(), timeout)

    # -- events --------------------------------------------------------------------
    async def next_item(self) -> Message | AmiSnapshot:
        """The next event or resync snapshot, strictly in wire order."""
        item = await self._items.get()
        if self._protocol is not None:
            self._protocol.resume_if_drained(self._items.qsize())
        return item

    @property
    def backlog(self) -> int:
        return self._items.qsize()

    def _sink(self, item: Message | AmiSnapshot) -> int:
        if not isinstance(item, AmiSnapshot) and item.get("Event") == "FullyBooted":
            self._booted.set()
        self._items.put_nowait(item)
        return self._items.qsize()

    # -- actions -------------------------------------------------------------------
    async def action(self, name: str, *, timeout: float | None = None,
                     as_list: bool = False, in_stream: bool = False,
                     **fields: Any) -> Message | list[Message]:
        """Send ``name`` with ``fields``; raise AmiError on error, TimeoutError on silence.

        ``as_list`` must be given for event-list actions (QueueStatus, CoreShowChannels...).
        It is never left to panoramisk's guess, which takes QueueAdd's "Added interface to
        queue" and an async Originate's "successfully queued" for list starts and then
        waits forever.
        """
        protocol = self._protocol
        if protocol is None or protocol.closed or (
                name != "Login" and not self._logged_in.is_set()):
            raise AmiUnavailable(f"AMI not connected (action {name})")
        action = Action({"Action": name, **fields}, as_list=as_list)
        action.in_stream = in_stream  # type: ignore[attr-defined]
        future = protocol.send(action, as_list=as_list)
        try:
            result = await asyncio.wait_for(future, timeout or self.action_timeout)
        except ConnectionError as exc:
            raise AmiUnavailable(str(exc), sent=True) from None
        except TimeoutError:
            protocol.responses.pop(action.id, None)
            raise TimeoutError(f"AMI action {name} got no complete answer in "
                               f"{timeout or self.action_timeout:.1f} s") from None
        first = result[0] if isinstance(result, list) else result
        if first.get("Response") == "Error":
            raise AmiError(f"{name}: {first.get('Message', 'error')}")
        return result

    # -- connection loop -------------------------------------------------------------
    async def _run(self) -> None:
        backoff = 0.5
        while True:
            connects_before = self.connects
            try:
                await self._connect_once()
                await self._serve()
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, AmiError, AmiUnavailable) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("AMI %s:%s: %s", self.host, self.port, self.last_error)
            finally:
                self._logged_in.clear()
                self._ready.clear()
                self.connected_since = None
                self._close()
            if self.connects > connects_before:
                backoff = 0.5  # we did get in: the next failure starts afresh
            delay = backoff * (0.8 + 0.4 * random.random())
            backoff = min(backoff * 2, self.max_backoff)
            await asyncio.sleep(delay)

    async def _connect_once(self) -> None:
        loop = asyncio.get_running_loop()
        _, protocol = await asyncio.wait_for(
            loop.create_connection(KccAMIProtocol, self.host, self.port),
            self.action_timeout)
        assert isinstance(protocol, KccAMIProtocol)
        protocol.encoding = "utf8"
        protocol.event_sink = self._sink
        protocol.want(self.wanted_events)
        protocol.tap = self.tap
        protocol.lost_waiter = loop.create_future()
        self._protocol = protocol
        self._booted.clear()
        response = await self.action("Login", Username=self._username, Secret=self._secret,
                                     Events="on")
        assert isinstance(response, Message)
        self._logged_in.set()
        # AMI answers logins before Asterisk has loaded app_queue; a QueueStatus sent then
        # fails. Asterisk sends FullyBooted to every session once it is (at once if it
        # already was), so wait for it before asking for the state.
        try:
            await asyncio.wait_for(self._booted.wait(), self.boot_timeout)
        except TimeoutError:
            log.warning("AMI: no FullyBooted within %.0f s; resyncing anyway", self.boot_timeout)
        # Resync: their answers enter the event stream in wire order.
        for name in RESYNC_ACTIONS:
            for attempt in range(3):
                try:
                    await self.action(name, as_list=True, in_stream=True, timeout=30)
                    break
                except AmiError as exc:
                    if attempt == 2:
                        raise
                    log.warning("AMI resync %s failed (%s); retrying", name, exc)
                    await asyncio.sleep(0.5)
        self.connects += 1
        self.connected_since = time.time()
        self._ready.set()
        log.info("AMI ready at %s:%s (connect #%d)", self.host, self.port, self.connects)

    async def _serve(self) -> None:
        protocol = self._protocol
        assert protocol is not None and protocol.lost_waiter is not None
        while True:
            done, _ = await asyncio.wait({protocol.lost_waiter}, timeout=self.ping_interval)
            if done:
                raise AmiUnavailable("connection closed by Asterisk")
            try:
                await self.action("Ping")
            except TimeoutError:
                raise AmiUnavailable("ping not answered: connection presumed dead") from None

    def _close(self) -> None:
        if self._protocol is not None:
            transport = getattr(self._protocol, "transport", None)
            if transport is not None:
                transport.close()
            self._protocol = None
