"""Live queue statistics: waiting calls, longest wait, rolling service level, ASA, EWT.

Fed by domain events (pure, no I/O), so it is exact for what this instance saw and
unit-testable. Definitions, as Dutch KCCs report them:

* service level (SL) = calls answered within the queue's threshold (e.g. 20 s) divided by
  all calls that ended their wait in the window: answered + abandoned, where abandons
  shorter than ``short_abandon_seconds`` (misdials, instant hang-ups) are not counted;
* ASA = mean wait of answered calls in the window;
* EWT for a new caller = (calls waiting ahead + 1) / answer rate of the queue over the last
  15 minutes — recent real answers, not a constant. Without recent answers: the mean wait
  of the window's answered calls, else unknown (None).

A call is counted in the queue that answered it (after overflow: the overflow queue),
with its wait measured from when it first queued.

Callbacks (issue 5) are reported separately *and* in SL, as KCCs do: a caller who left
the queue with a keep-my-place callback is not an abandon; when the callback reaches
the citizen it counts as answered, its wait measured from the original first-queued
time (so a long virtual hold does not flatter the SL). Waiting and failed callbacks are
shown next to the live callers.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from telephony.config import Config
from telephony.events import CallAnswered, CallEnded, CallQueued, DomainEvent

EWT_RATE_WINDOW = 900.0


@dataclass
class _Outcome:
    at: float
    wait: float
    answered: bool
    callback: bool = False


@dataclass
class QueueState:
    queue: str
    sl_seconds: int
    sl_target: float
    waiting: dict[str, float] = field(default_factory=dict)  # linkedid -> first queued at
    outcomes: deque[_Outcome] = field(default_factory=deque)
    callbacks_waiting: int = 0
    callbacks_failed: deque[float] = field(default_factory=deque)


class QueueStats:
    def __init__(self, config: Config) -> None:
        self.window = float(config.acd.sl_window_seconds)
        self.short_abandon = float(config.acd.short_abandon_seconds)
        self.queues = {q.id: QueueState(q.id, q.service_level_seconds, q.service_level_target)
                       for q in config.queues}
        self._first_queued: dict[str, float] = {}
        self._where: dict[str, str] = {}
        self._left_for_callback: set[str] = set()

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, CallQueued):
            state = self.queues.get(event.queue)
            if state is None:
                return
            first = self._first_queued.setdefault(event.linkedid, event.at)
            previous = self._where.get(event.linkedid)
            if previous and previous in self.queues:
                self.queues[previous].waiting.pop(event.linkedid, None)
            state.waiting[event.linkedid] = first
            self._where[event.linkedid] = event.queue
        elif isinstance(event, CallAnswered):
            queue = event.queue or self._where.get(event.linkedid, "")
            first = self._first_queued.get(event.linkedid)
            for state in self.queues.values():
                state.waiting.pop(event.linkedid, None)
            if queue in self.queues and first is not None:
                self.queues[queue].outcomes.append(_Outcome(event.at, event.at - first, True))
            self._where.pop(event.linkedid, None)
        elif isinstance(event, CallEnded):
            first = self._first_queued.pop(event.linkedid, None)
            queue = self._where.pop(event.linkedid, None)
            for state in self.queues.values():
                state.waiting.pop(event.linkedid, None)
            took_callback = event.linkedid in self._left_for_callback
            self._left_for_callback.discard(event.linkedid)
            if queue in self.queues and first is not None and event.record.get("abandoned") \
                    and not took_callback:
                wait = event.at - first
                if wait >= self.short_abandon:
                    self.queues[queue].outcomes.append(_Outcome(event.at, wait, False))

    def left_for_callback(self, linkedid: str) -> None:
        """The caller took a keep-my-place callback: their hang-up is no abandon."""
        self._left_for_callback.add(linkedid)

    def callback_result(self, queue: str, queued_at: float, at: float, reached: bool) -> None:
        state = self.queues.get(queue)
        if state is None:
            return
        if reached:
            state.outcomes.append(_Outcome(at, at - queued_at, True, callback=True))
        else:
            state.callbacks_failed.append(at)

    def set_callbacks_waiting(self, counts: dict[str, int]) -> None:
        for queue, state in self.queues.items():
            state.callbacks_waiting = counts.get(queue, 0)

    def _trim(self, state: QueueState, now: float) -> None:
        while state.outcomes and state.outcomes[0].at < now - self.window:
            state.outcomes.popleft()
        while state.callbacks_failed and state.callbacks_failed[0] < now - self.window:
            state.callbacks_failed.popleft()

    def ewt_seconds(self, queue: str, now: float, position: int | None = None) -> float | None:
        state = self.queues.get(queue)
        if state is None:
            return None
        self._trim(state, now)
        ahead = len(state.waiting) if position is None else max(position - 1, 0)
        recent = [o for o in state.outcomes if o.answered and o.at >= now - EWT_RATE_WINDOW]
        if len(recent) >= 2:
            span = max(now - recent[0].at, 60.0)
            rate = len(recent) / span
            return round((ahead + 1) / rate, 1)
        answered = [o.wait for o in state.outcomes if o.answered]
        if answered:
            return round(sum(answered) / len(answered), 1)
        return None

    def snapshot(self, queue: str, now: float) -> dict[str, Any]:
        state = self.queues[queue]
        self._trim(state, now)
        answered = [o for o in state.outcomes if o.answered]
        counted = list(state.outcomes)
        within = sum(1 for o in answered if o.wait <= state.sl_seconds)
        sl = within / len(counted) if counted else None
        return {
            "queue": queue,
            "waiting": len(state.waiting),
            "longest_wait": round(now - min(state.waiting.values()), 1) if state.waiting
            else 0.0,
            "answered": len(answered),
            "abandoned": len(counted) - len(answered),
            "service_level": None if sl is None else round(sl, 3),
            "service_level_seconds": state.sl_seconds,
            "service_level_target": state.sl_target,
            "service_level_met": None if sl is None else sl >= state.sl_target,
            "asa": round(sum(o.wait for o in answered) / len(answered), 1) if answered
            else None,
            "ewt": self.ewt_seconds(queue, now),
            "window_seconds": self.window,
            "callbacks_waiting": state.callbacks_waiting,
            "callbacks_reached": sum(1 for o in answered if o.callback),
            "callbacks_failed": len(state.callbacks_failed),
        }

    def all(self, now: float) -> list[dict[str, Any]]:
        return [self.snapshot(q, now) for q in self.queues]
