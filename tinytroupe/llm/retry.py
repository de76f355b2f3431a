"""Retrying transient transport failures, as a wrapper around any backend.

Only :class:`~tinytroupe.errors.LLMTransportError` with ``retryable=True`` is retried (timeouts,
connection errors, HTTP 429 and 5xx); everything else is raised at once. Waits grow exponentially
with jitter and respect the server's ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from tinytroupe.errors import InvalidArgument, LLMRateLimitError, LLMTransportError
from tinytroupe.llm.backend import Backend, BackendWrapper
from tinytroupe.llm.types import CallContext, Completion, LLMRequest

#: the longest single wait before a retry, in seconds (a server's ``Retry-After`` included)
MAX_DELAY = 30.0

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, LLMTransportError) and exc.retryable


class RetryWrapper(BackendWrapper):
    """Calls the inner backend again after retryable failures.

    Args:
        inner: the backend to call.
        max_attempts: attempts in all (the first call included).
        base_delay: the wait before the second attempt, in seconds; it doubles on each retry.
        max_delay: the longest single wait, ``Retry-After`` included.
        jitter: randomise each wait between half and all of its length, so that many callers
            failing together do not retry together.
        sleep: the coroutine used to wait (tests pass one that does not really sleep).
        rng: the random generator for jitter (seed it for reproducible waits).

    Example:
        >>> from tinytroupe.llm import LLMClient, ScriptedBackend
        >>> from tinytroupe.errors import LLMTransportError
        >>> async def no_wait(seconds: float) -> None: ...
        >>> flaky = ScriptedBackend([LLMTransportError("boom", status_code=500, retryable=True), "ok"])
        >>> client = LLMClient(RetryWrapper(flaky, sleep=no_wait))
        >>> result = client.complete([{"role": "user", "content": "hi"}])
        >>> (result.value, result.attempts)
        ('ok', 2)
    """

    def __init__(self, inner: Backend, *, max_attempts: int = 5, base_delay: float = 0.5,
                 max_delay: float = MAX_DELAY, jitter: bool = True, sleep: Sleep | None = None,
                 rng: random.Random | None = None) -> None:
        if max_attempts < 1:
            raise InvalidArgument(f"max_attempts must be at least 1, got {max_attempts}")
        if base_delay < 0 or max_delay < 0:
            raise InvalidArgument(f"delays must not be negative (base_delay={base_delay}, max_delay={max_delay})")
        super().__init__(inner)
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.jitter = jitter
        self._sleep: Sleep = sleep if sleep is not None else asyncio.sleep
        self._rng = rng if rng is not None else random.Random()

    def delay_for(self, attempt: int, error: BaseException | None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based) that raised ``error``."""
        delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        if self.jitter:
            delay = delay / 2 + self._rng.uniform(0, delay / 2)
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            # The server knows best when it will take us again, but never wait beyond max_delay.
            delay = max(delay, min(float(retry_after), self.max_delay))
        return delay

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        return self.delay_for(state.attempt_number, error)

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        logger.warning("LLM call attempt %d/%d failed (%s); retrying in %.2f s",
                       state.attempt_number, self.max_attempts, error, wait)

    async def generate(self, request: LLMRequest, context: CallContext) -> Completion:
        # Most calls succeed at once, and setting up tenacity's machinery costs more than the rest
        # of a scripted agent turn: make the first attempt directly, and retry only after a failure.
        try:
            return await self.inner.generate(request, context)
        except Exception as exc:
            if not _is_retryable(exc):
                raise
            first_failure = exc
        return await self._retry(request, context, first_failure)

    async def _retry(self, request: LLMRequest, context: CallContext, first_failure: Exception) -> Completion:
        """The retry loop, whose first attempt replays ``first_failure`` (waits, logs and give-up as usual)."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(_is_retryable),
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        attempt_number = 0
        try:
            async for attempt in retrying:
                with attempt:
                    attempt_number = attempt.retry_state.attempt_number
                    if attempt_number == 1:
                        raise first_failure
                    completion = await self.inner.generate(request, context)
        except LLMTransportError as exc:
            if not exc.retryable or attempt_number < self.max_attempts:
                raise
            raise self._gave_up(exc, attempt_number) from exc
        # An inner backend may have counted attempts of its own (a nested wrapper): add them up.
        return completion.model_copy(update={"attempts": attempt_number - 1 + completion.attempts})

    @staticmethod
    def _gave_up(exc: LLMTransportError, attempts: int) -> LLMTransportError:
        noun = "attempt" if attempts == 1 else "attempts"
        message = (f"{exc} (gave up after {attempts} {noun}; raise [OpenAI] MAX_ATTEMPTS or "
                   "try again later)")
        kind = LLMRateLimitError if exc.status_code == 429 else LLMTransportError
        return kind(message, status_code=exc.status_code, retryable=exc.retryable,
                    retry_after=exc.retry_after, kind=exc.kind)


__all__ = ["MAX_DELAY", "RetryWrapper", "Sleep"]
