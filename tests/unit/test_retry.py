"""RetryWrapper over the scripted backend: what is retried, how long it waits, what it raises."""

from __future__ import annotations

import random

import pytest

from tinytroupe.errors import LLMOutputError, LLMRateLimitError, LLMTransportError
from tinytroupe.llm import LLMClient, ScriptedBackend
from tinytroupe.llm.retry import RetryWrapper
from tinytroupe.llm.types import CallContext, LLMRequest, Message

REQUEST = LLMRequest(messages=(Message(role="user", content="hi"),))


class SleepRecorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def transient(status: int | None = 500, retry_after: float | None = None) -> LLMTransportError:
    return LLMTransportError(f"transient {status}", status_code=status, retryable=True,
                             retry_after=retry_after)


async def test_retries_until_success_and_counts_attempts() -> None:
    inner = ScriptedBackend([transient(), transient(None), "ok"])
    sleep = SleepRecorder()
    completion = await RetryWrapper(inner, sleep=sleep).generate(REQUEST, CallContext())
    assert completion.text == "ok" and completion.attempts == 3
    assert inner.calls == 3 and len(sleep.waits) == 2


async def test_attempts_reach_the_client_result() -> None:
    inner = ScriptedBackend([transient(503), "fine"])
    result = await LLMClient(RetryWrapper(inner, sleep=SleepRecorder())).acomplete(
        [{"role": "user", "content": "hi"}])
    assert (result.value, result.attempts) == ("fine", 2)


async def test_non_retryable_error_is_raised_at_once() -> None:
    error = LLMTransportError("bad request", status_code=400, retryable=False)
    inner = ScriptedBackend([error, "never"])
    sleep = SleepRecorder()
    with pytest.raises(LLMTransportError) as info:
        await RetryWrapper(inner, sleep=sleep).generate(REQUEST, CallContext())
    assert info.value is error
    assert inner.calls == 1 and sleep.waits == []


async def test_other_errors_are_not_retried() -> None:
    inner = ScriptedBackend([LLMOutputError("garbled", raw_text="??"), "never"])
    with pytest.raises(LLMOutputError):
        await RetryWrapper(inner, sleep=SleepRecorder()).generate(REQUEST, CallContext())
    assert inner.calls == 1


async def test_gives_up_with_attempt_count_and_cause() -> None:
    inner = ScriptedBackend([transient(502)], cycle=True)
    sleep = SleepRecorder()
    with pytest.raises(LLMTransportError) as info:
        await RetryWrapper(inner, max_attempts=3, sleep=sleep).generate(REQUEST, CallContext())
    assert not isinstance(info.value, LLMRateLimitError)
    assert "gave up after 3 attempts" in str(info.value) and "transient 502" in str(info.value)
    assert info.value.status_code == 502
    assert isinstance(info.value.__cause__, LLMTransportError)
    assert inner.calls == 3 and len(sleep.waits) == 2


async def test_persistent_429_becomes_rate_limit_error() -> None:
    inner = ScriptedBackend([transient(429, retry_after=2.0)], cycle=True)
    sleep = SleepRecorder()
    with pytest.raises(LLMRateLimitError) as info:
        await RetryWrapper(inner, max_attempts=4, sleep=sleep).generate(REQUEST, CallContext())
    assert "4 attempts" in str(info.value) and info.value.retry_after == 2.0
    assert all(w >= 2.0 for w in sleep.waits) and len(sleep.waits) == 3


async def test_exponential_backoff_without_jitter_is_capped() -> None:
    inner = ScriptedBackend([transient()], cycle=True)
    sleep = SleepRecorder()
    wrapper = RetryWrapper(inner, max_attempts=6, base_delay=0.5, max_delay=3.0, jitter=False, sleep=sleep)
    with pytest.raises(LLMTransportError):
        await wrapper.generate(REQUEST, CallContext())
    assert sleep.waits == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_jitter_stays_between_half_and_full_delay() -> None:
    wrapper = RetryWrapper(ScriptedBackend(["x"]), base_delay=1.0, max_delay=100.0, rng=random.Random(1))
    for attempt in range(1, 6):
        full = 2.0 ** (attempt - 1)
        waits = {wrapper.delay_for(attempt, None) for _ in range(20)}
        assert all(full / 2 <= w <= full for w in waits)
        assert len(waits) > 1  # really randomised


def test_retry_after_wins_over_backoff_but_not_over_max_delay() -> None:
    wrapper = RetryWrapper(ScriptedBackend(["x"]), base_delay=0.1, max_delay=10.0, jitter=False)
    assert wrapper.delay_for(1, transient(429, retry_after=4.0)) == 4.0
    assert wrapper.delay_for(1, transient(429, retry_after=60.0)) == 10.0
    assert wrapper.delay_for(1, transient(429, retry_after=None)) == pytest.approx(0.1)


def test_wrapper_keeps_identity_and_rejects_bad_settings() -> None:
    inner = ScriptedBackend(["x"], model="m1")
    assert RetryWrapper(inner).identity() == inner.identity()
    with pytest.raises(ValueError, match="max_attempts"):
        RetryWrapper(inner, max_attempts=0)
