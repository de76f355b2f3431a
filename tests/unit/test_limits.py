"""Concurrency and rate limits."""

from __future__ import annotations

import asyncio

import pytest
from helpers import run_in_threads

from tinytroupe.errors import LLMTransportError
from tinytroupe.llm import CallContext, LLMClient, LLMRequest, Message, ScriptedBackend
from tinytroupe.llm.limits import DEFAULT_COMPLETION_ESTIMATE, ConcurrencyLimit, RateLimit

CTX = CallContext()


def _request(content: str = "hi", max_tokens: int | None = None) -> LLMRequest:
    return LLMRequest(messages=(Message(role="user", content=content),), max_tokens=max_tokens)


# -- ConcurrencyLimit -----------------------------------------------------------------------------


async def test_in_flight_never_exceeds_the_limit() -> None:
    seen: list[int] = []

    async def probe(request: LLMRequest) -> str:
        seen.append(limited.in_flight)  # as seen from inside the model
        await asyncio.sleep(0.005)
        return "ok"

    limited = ConcurrencyLimit(ScriptedBackend(probe, latency_s=0.005), 5)
    results = await asyncio.gather(*(limited.generate(_request(str(i)), CTX) for i in range(50)))
    assert len(results) == 50 and limited.in_flight == 0
    assert max(seen) == 5 and limited.max_in_flight_seen == 5


async def test_zero_means_unlimited() -> None:
    limited = ConcurrencyLimit(ScriptedBackend(["ok"], cycle=True, latency_s=0.01), 0)
    await asyncio.gather(*(limited.generate(_request(), CTX) for _ in range(50)))
    assert limited.max_in_flight_seen == 50 and limited.in_flight == 0


async def test_a_failed_call_frees_its_slot() -> None:
    limited = ConcurrencyLimit(ScriptedBackend([LLMTransportError("x"), "ok"]), 1)
    with pytest.raises(LLMTransportError):
        await limited.generate(_request(), CTX)
    assert limited.in_flight == 0
    assert (await limited.generate(_request(), CTX)).text == "ok"


def test_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="max_concurrent"):
        ConcurrencyLimit(ScriptedBackend(["ok"]), -1)


def test_one_limit_serves_several_event_loops() -> None:
    # Contended asyncio semaphores bind to a loop; one shared semaphore would fail on the 2nd loop.
    limited = ConcurrencyLimit(ScriptedBackend(["ok"], cycle=True, latency_s=0.002), 2)

    async def burst() -> int:
        done = await asyncio.gather(*(limited.generate(_request(), CTX) for _ in range(10)))
        return len(done)

    assert asyncio.run(burst()) == 10
    assert asyncio.run(burst()) == 10
    client = LLMClient(limited)  # the sync facade runs on yet another loop (the portal)
    assert client.complete([{"role": "user", "content": "hi"}]).value == "ok"
    assert limited.max_in_flight_seen == 2


def test_limit_holds_for_sync_calls_from_many_threads() -> None:
    limited = ConcurrencyLimit(ScriptedBackend(["ok"], cycle=True, latency_s=0.01), 3)
    client = LLMClient(limited)
    errors = run_in_threads(lambda _: client.complete([{"role": "user", "content": "hi"}]), 12)
    assert errors == [] and limited.max_in_flight_seen == 3


# -- RateLimit ------------------------------------------------------------------------------------


class FakeTime:
    """A clock that only moves when someone sleeps (or the test moves it)."""

    def __init__(self, advance_on_sleep: bool = True) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.advance_on_sleep = advance_on_sleep

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.advance_on_sleep:
            self.now += seconds
        await asyncio.sleep(0)


async def test_requests_per_minute_spaces_calls_out() -> None:
    t = FakeTime()
    limited = RateLimit(ScriptedBackend(["ok"], cycle=True), requests_per_minute=60,
                        clock=t.clock, sleep=t.sleep)
    for _ in range(5):
        await limited.generate(_request(), CTX)
    assert t.sleeps == pytest.approx([1.0, 1.0, 1.0, 1.0])
    assert limited.waited_s == pytest.approx(4.0)


async def test_quota_refills_with_time() -> None:
    t = FakeTime()
    limited = RateLimit(ScriptedBackend(["ok"], cycle=True), requests_per_minute=120, burst_s=2.0,
                        clock=t.clock, sleep=t.sleep)
    for _ in range(6):  # a burst of 4 (2 s at 2 per second), then one every 0.5 s
        await limited.generate(_request(), CTX)
    assert t.sleeps == pytest.approx([0.5, 0.5])
    t.now += 60.0  # a long pause refills to capacity, never beyond it
    for _ in range(6):
        await limited.generate(_request(), CTX)
    assert t.sleeps == pytest.approx([0.5, 0.5, 0.5, 0.5])


async def test_concurrent_callers_are_queued_not_bunched() -> None:
    t = FakeTime(advance_on_sleep=False)
    limited = RateLimit(ScriptedBackend(["ok"], cycle=True), requests_per_minute=60,
                        clock=t.clock, sleep=t.sleep)
    await asyncio.gather(*(limited.generate(_request(), CTX) for _ in range(5)))
    assert sorted(t.sleeps) == pytest.approx([1.0, 2.0, 3.0, 4.0])


async def test_tokens_per_minute_uses_the_estimate_then_the_real_usage() -> None:
    t = FakeTime()
    inner = ScriptedBackend(["ok"], cycle=True)
    limited = RateLimit(inner, tokens_per_minute=6000, clock=t.clock, sleep=t.sleep)  # 100/s, 100 burst
    request = _request("x" * 400, max_tokens=100)
    assert RateLimit.estimate_tokens(request) == 200
    first = await limited.generate(request, CTX)
    assert t.sleeps == pytest.approx([1.0])  # 200 estimated, 100 available
    # The real cost was 101 tokens (prompt 100 + "ok"), so 99 of the 200 come back.
    assert first.usage.total_tokens == 101
    await limited.generate(request, CTX)
    assert t.sleeps == pytest.approx([1.0, 1.01])


def test_estimate_without_max_tokens_uses_the_default() -> None:
    assert RateLimit.estimate_tokens(_request("y" * 40)) == 10 + DEFAULT_COMPLETION_ESTIMATE


async def test_zero_is_off() -> None:
    t = FakeTime()
    limited = RateLimit(ScriptedBackend(["ok"], cycle=True), clock=t.clock, sleep=t.sleep)
    for _ in range(100):
        await limited.generate(_request(), CTX)
    assert t.sleeps == [] and limited.waited_s == 0.0


async def test_a_cancelled_wait_returns_its_reservation() -> None:
    t = FakeTime(advance_on_sleep=False)
    release = asyncio.Event()

    async def blocking_sleep(seconds: float) -> None:
        t.sleeps.append(seconds)
        await release.wait()

    limited = RateLimit(ScriptedBackend(["ok"], cycle=True), requests_per_minute=60,
                        clock=t.clock, sleep=blocking_sleep)
    await limited.generate(_request(), CTX)  # spends the only request of the burst
    waiting = asyncio.create_task(limited.generate(_request(), CTX))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    t.now += 1.0  # one request's worth of refill: enough only if the cancelled one gave its share back
    release.set()
    await limited.generate(_request(), CTX)
    assert t.sleeps == pytest.approx([1.0])


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="requests_per_minute"):
        RateLimit(ScriptedBackend(["ok"]), requests_per_minute=-1)
    with pytest.raises(ValueError, match="burst_s"):
        RateLimit(ScriptedBackend(["ok"]), requests_per_minute=1, burst_s=0)
