"""Bounding the load on a model server: how many calls at once, and how many per minute.

:class:`ConcurrencyLimit` (from :mod:`tinytroupe.llm.concurrency`, fixed or adaptive) caps the calls in
flight; :class:`RateLimit` spaces calls out so that
requests and tokens per minute stay under the provider's quota (waiting before sending, instead
of being answered HTTP 429). Both are wrappers, so they compose around any backend.

Example:
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> backend = RateLimit(ConcurrencyLimit(ScriptedBackend(["ok"]), 4), requests_per_minute=600)
    >>> LLMClient(backend).complete([{"role": "user", "content": "hi"}]).value
    'ok'
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable

from tinytroupe.errors import InvalidArgument
from tinytroupe.llm.backend import Backend, BackendWrapper
from tinytroupe.llm.concurrency import ConcurrencyLimit, LimitChange
from tinytroupe.llm.tokens import tokens_for_chars
from tinytroupe.llm.types import CallContext, Completion, LLMRequest

#: completion tokens assumed for a request without ``max_tokens`` (corrected after the call)
DEFAULT_COMPLETION_ESTIMATE = 256


class _Bucket:
    """A token bucket that may go into debt: a cost bigger than the capacity is allowed, and the
    calls after it wait until the debt is paid, so the long-run rate is exact."""

    def __init__(self, per_minute: float, burst_s: float, minimum: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(self.rate * burst_s, minimum)
        self.level = self.capacity
        self.updated: float | None = None

    def refill(self, now: float) -> None:
        if self.updated is not None:
            self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def reserve(self, cost: float) -> float:
        """Take ``cost`` now; the seconds to wait before the taken amount is really available."""
        self.level -= cost
        return 0.0 if self.level >= 0 else -self.level / self.rate


class RateLimit(BackendWrapper):
    """Waits before each call so that requests and tokens per minute stay within a quota (0 = off).

    Each call reserves one request and an estimate of its tokens (prompt characters / 4 plus
    ``max_tokens``, or 256 when unset) and sleeps until both are available; when the answer
    comes, the estimate is corrected with the real usage. Buckets hold ``burst_s`` seconds of
    quota, so a burst at start-up is bounded too.

    Args:
        inner: the backend to protect.
        requests_per_minute: request quota (0: unlimited).
        tokens_per_minute: prompt plus completion token quota (0: unlimited).
        burst_s: how many seconds of quota may be spent at once.
        clock: monotonic seconds (injectable for tests).
        sleep: the coroutine used to wait (injectable for tests).

    Example:
        >>> from tinytroupe.llm import ScriptedBackend
        >>> limited = RateLimit(ScriptedBackend(["ok"]), requests_per_minute=60)
        >>> limited.waited_s
        0.0
    """

    def __init__(self, inner: Backend, *, requests_per_minute: float = 0, tokens_per_minute: float = 0,
                 burst_s: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        super().__init__(inner)
        if requests_per_minute < 0 or tokens_per_minute < 0:
            raise InvalidArgument("requests_per_minute and tokens_per_minute must be 0 (off) or positive")
        if burst_s <= 0:
            raise InvalidArgument(f"burst_s must be positive, got {burst_s}")
        self._requests = _Bucket(requests_per_minute, burst_s, 1.0) if requests_per_minute else None
        self._tokens = _Bucket(tokens_per_minute, burst_s, 1.0) if tokens_per_minute else None
        self._clock = clock
        self._sleep = sleep
        # A plain lock, not an asyncio one: reservations are instant and may come from any loop.
        self._lock = threading.Lock()
        self.waited_s = 0.0

    @staticmethod
    def estimate_tokens(request: LLMRequest) -> int:
        """The prompt's estimated tokens plus the completion budget: what a call is assumed to cost up front."""
        chars = sum(len(m.content) for m in request.messages)
        completion = request.max_tokens if request.max_tokens is not None else DEFAULT_COMPLETION_ESTIMATE
        return tokens_for_chars(chars) + completion

    def _reserve(self, tokens: int) -> float:
        with self._lock:
            now = self._clock()
            wait = 0.0
            for bucket, cost in ((self._requests, 1.0), (self._tokens, float(tokens))):
                if bucket is not None:
                    bucket.refill(now)
                    wait = max(wait, bucket.reserve(cost))
            return wait

    def _give_back(self, tokens: float, request: bool) -> None:
        with self._lock:
            if self._tokens is not None and tokens:
                self._tokens.refill(self._clock())
                self._tokens.level = min(self._tokens.capacity, self._tokens.level + tokens)
            if self._requests is not None and request:
                self._requests.refill(self._clock())
                self._requests.level = min(self._requests.capacity, self._requests.level + 1)

    async def generate(self, request: LLMRequest, context: CallContext) -> Completion:
        if self._requests is None and self._tokens is None:
            return await self.inner.generate(request, context)
        estimate = self.estimate_tokens(request)
        wait = self._reserve(estimate)
        if wait > 0:
            try:
                await self._sleep(wait)
            except asyncio.CancelledError:
                self._give_back(estimate, request=True)  # never sent: the quota was not used
                raise
            with self._lock:
                self.waited_s += wait
        completion = await self.inner.generate(request, context)
        actual = completion.usage.total_tokens
        if actual and not completion.cached:
            # A positive difference returns unused quota; a negative one charges the overrun.
            self._give_back(estimate - actual, request=False)
        return completion


__all__ = ["DEFAULT_COMPLETION_ESTIMATE", "ConcurrencyLimit", "LimitChange", "RateLimit"]
