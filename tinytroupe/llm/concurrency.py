"""Bounding the load on a model server: how many calls at once (fixed or adaptive).

:class:`ConcurrencyLimit` caps the calls in flight. With ``adaptive=True`` the cap follows the
server: halved on HTTP 429, 503 or a timeout, grown back by one per round of successful calls,
paused for a ``Retry-After`` (additive increase, multiplicative decrease, as TCP does). The
requests- and tokens-per-minute quota is :class:`~tinytroupe.llm.limits.RateLimit`'s job.

Example:
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> limited = ConcurrencyLimit(ScriptedBackend(["ok"]), 4, adaptive=True)
    >>> LLMClient(limited).complete([{"role": "user", "content": "hi"}]).value
    'ok'
    >>> limited.metrics()["limit"]
    4
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tinytroupe.errors import InvalidArgument, LLMTransportError
from tinytroupe.lazy import PerLoop
from tinytroupe.llm.backend import Backend, BackendWrapper
from tinytroupe.llm.retry import MAX_DELAY
from tinytroupe.llm.types import CallContext, Completion, LLMRequest

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LimitChange:
    """The adaptive concurrency limit moved: from ``previous`` to ``limit`` calls in flight, because of
    ``reason`` (``success``, ``rate_limit``, ``unavailable``, ``timeout``), with ``cooldown_s`` of
    pause asked for by the server's ``Retry-After``."""

    limit: int
    previous: int
    reason: str
    in_flight: int
    cooldown_s: float = 0.0


class _Gate:
    """One event loop's waiting room: calls in flight and those waiting, first come first served."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.waiters: deque[asyncio.Future[None]] = deque()
        self.timer: asyncio.TimerHandle | None = None

    async def acquire(self, owner: ConcurrencyLimit) -> None:
        if not self.waiters and self.in_flight < owner.limit and owner.cooldown_left() <= 0:
            self.in_flight += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(future)
        # Nothing may be in flight to wake the queue later (a cool-down with an idle gate): look now.
        self.wake(owner)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release(owner)  # granted a slot just as it was cancelled: give it back
            else:
                with contextlib.suppress(ValueError):
                    self.waiters.remove(future)
            raise

    def release(self, owner: ConcurrencyLimit) -> None:
        self.in_flight -= 1
        self.wake(owner)

    def wake(self, owner: ConcurrencyLimit) -> None:
        """Let waiters in while there is room (after the server's cool-down, when one is running)."""
        while self.waiters and self.in_flight < owner.limit:
            pause = owner.cooldown_left()
            if pause > 0:
                if self.timer is None:
                    def again() -> None:
                        self.timer = None
                        self.wake(owner)

                    self.timer = asyncio.get_running_loop().call_later(pause, again)
                return
            future = self.waiters.popleft()
            if future.done():
                continue  # cancelled while waiting
            self.in_flight += 1
            future.set_result(None)


class ConcurrencyLimit(BackendWrapper):
    """At most ``max_concurrent`` calls in flight (0 = unlimited); the others wait their turn.

    With ``adaptive=True`` the limit moves (additive increase, multiplicative decrease, as TCP's
    congestion control does): it starts at ``max_concurrent``, is halved (at most once per round of
    calls in flight, never below ``min_concurrent``) when the server answers HTTP 429 or 503 or a
    call times out, and grows back by one for every ``limit`` successful calls, up to
    ``max_concurrent``. A ``Retry-After`` on a 429 or 503 pauses new calls for that long, at most
    ``max_pause`` seconds (the retry wrapper's longest wait: a server asking for an hour must not stall
    a run for an hour; the call that got it is retried by :class:`~tinytroupe.llm.retry.RetryWrapper`).
    Listeners added with :meth:`add_listener` hear of every change (the client publishes them as
    :class:`~tinytroupe.events.ConcurrencyEvent`); :meth:`metrics` sums them up.

    Waiting rooms belong to one event loop each, so the limit holds per loop (the sync portal's, a
    test's, an application's); the adaptive limit itself is shared by them.

    Example:
        >>> from tinytroupe.llm import ScriptedBackend
        >>> limited = ConcurrencyLimit(ScriptedBackend(["ok"]), 8, adaptive=True)
        >>> limited.in_flight, limited.max_in_flight_seen, limited.limit
        (0, 0, 8)
    """

    def __init__(self, inner: Backend, max_concurrent: int, *, adaptive: bool = False,
                 min_concurrent: int = 1, decrease_factor: float = 0.5, max_pause: float = MAX_DELAY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(inner)
        if max_concurrent < 0:
            raise InvalidArgument(f"max_concurrent must be 0 (unlimited) or more, got {max_concurrent}")
        if min_concurrent < 1:
            raise InvalidArgument(f"min_concurrent must be at least 1, got {min_concurrent}")
        if not 0 < decrease_factor < 1:
            raise InvalidArgument(f"decrease_factor must be between 0 and 1, got {decrease_factor}")
        if not max_pause >= 0:
            raise InvalidArgument(f"max_pause must be 0 seconds or more, got {max_pause}")
        self.max_pause = max_pause
        self.max_concurrent = max_concurrent
        # Without a maximum there is nothing to grow towards or shrink from.
        self.adaptive = adaptive and max_concurrent > 0
        self.min_concurrent = min(min_concurrent, max_concurrent) if max_concurrent else min_concurrent
        self.decrease_factor = decrease_factor
        self._clock = clock
        self._gates: PerLoop[_Gate] = PerLoop(_Gate)
        self._lock = threading.Lock()  # the counters are shared by every loop and thread
        self._in_flight = 0
        self._max_seen = 0
        self._window = max_concurrent
        self._successes = 0  # since the limit last moved
        self._epoch = 0
        self._cooldown_until = 0.0
        self._listeners: list[Callable[[LimitChange, CallContext], None]] = []
        self._changes = {"decreases": 0, "increases": 0}
        self._min_limit_seen = max_concurrent
        self._cooldown_total = 0.0

    @property
    def in_flight(self) -> int:
        """Calls now inside the inner backend."""
        return self._in_flight

    @property
    def max_in_flight_seen(self) -> int:
        """The most calls that were ever inside the inner backend at once."""
        return self._max_seen

    @property
    def limit(self) -> int:
        """Calls allowed in flight now (the configured maximum unless adaptive backed off)."""
        return self._window if self.adaptive else self.max_concurrent

    def cooldown_left(self) -> float:
        """Seconds before new calls may start, after a server's ``Retry-After``."""
        return max(0.0, self._cooldown_until - self._clock()) if self.adaptive else 0.0

    def add_listener(self, listener: Callable[[LimitChange, CallContext], None]) -> None:
        """Call ``listener(change, context)`` on every limit change (``context``: the call that caused it)."""
        self._listeners.append(listener)

    def metrics(self) -> dict[str, Any]:
        """The limit now, the configured maximum, how often it moved and the least it went down to."""
        return {"adaptive": self.adaptive, "limit": self.limit, "max": self.max_concurrent,
                "min_limit_seen": self._min_limit_seen, "decreases": self._changes["decreases"],
                "increases": self._changes["increases"], "cooldown_s": round(self._cooldown_total, 3),
                "max_in_flight_seen": self._max_seen}

    async def generate(self, request: LLMRequest, context: CallContext) -> Completion:
        if self.max_concurrent == 0:
            return await self._call(request, context)
        gate = self._gates.get()
        await gate.acquire(self)
        try:
            return await self._call(request, context)
        finally:
            gate.release(self)

    async def _call(self, request: LLMRequest, context: CallContext) -> Completion:
        with self._lock:
            self._in_flight += 1
            self._max_seen = max(self._max_seen, self._in_flight)
            epoch = self._epoch
        try:
            completion = await self.inner.generate(request, context)
        except LLMTransportError as exc:
            if self.adaptive:
                self._on_failure(exc, epoch, context)
            raise
        finally:
            with self._lock:
                self._in_flight -= 1
        if self.adaptive:
            self._on_success(context)
        return completion

    @staticmethod
    def _overload_reason(exc: LLMTransportError) -> str | None:
        if exc.status_code == 429:
            return "rate_limit"
        if exc.status_code == 503:
            return "unavailable"
        if exc.kind == "timeout":
            return "timeout"
        return None

    def _on_failure(self, exc: LLMTransportError, epoch: int, context: CallContext) -> None:
        reason = self._overload_reason(exc)
        if reason is None:
            return
        with self._lock:
            pause = min(float(exc.retry_after or 0.0), self.max_pause) if reason != "timeout" else 0.0
            if pause > 0:
                until = self._clock() + pause
                if until > self._cooldown_until:
                    self._cooldown_total += until - max(self._cooldown_until, self._clock())
                    self._cooldown_until = until
            previous = self.limit
            # Calls sent before the last decrease saw the old limit: their failures are not news.
            if epoch != self._epoch:
                return
            self._epoch += 1
            self._window = max(self.min_concurrent, int(self._window * self.decrease_factor))
            self._successes = 0
            now = self.limit
            if now == previous and pause <= 0:  # at the floor: the limit did not move, nothing to tell or count
                return
            if now != previous:  # (at the floor, only the server's pause is news: told, not counted)
                self._changes["decreases"] += 1
            self._min_limit_seen = min(self._min_limit_seen, now)
            change = LimitChange(limit=now, previous=previous, reason=reason, in_flight=self._in_flight,
                                 cooldown_s=pause)
        self._tell(change, context)

    def _on_success(self, context: CallContext) -> None:
        with self._lock:
            if self._window >= self.max_concurrent:
                return
            self._successes += 1
            if self._successes < self._window:
                return
            previous = self._window
            self._window = min(self.max_concurrent, self._window + 1)
            self._successes = 0
            now = self._window
            self._changes["increases"] += 1
            change = LimitChange(limit=now, previous=previous, reason="success", in_flight=self._in_flight)
        gate = self._gates.get()
        gate.wake(self)
        self._tell(change, context)

    def _tell(self, change: LimitChange, context: CallContext) -> None:
        for listener in list(self._listeners):
            try:
                listener(change, context)
            except Exception:  # a listener's failure must not fail the call it was told about
                logger.exception("a concurrency-limit listener failed")


__all__ = ["ConcurrencyLimit", "LimitChange"]
