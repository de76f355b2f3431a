"""Adaptive concurrency: the limit on calls in flight halves on overload and grows back on success."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import pytest

from tinytroupe.config import Settings
from tinytroupe.devtools.mock_openai_server import MockFailure, MockOpenAIServer
from tinytroupe.errors import LLMTransportError
from tinytroupe.events import ConcurrencyEvent, Event
from tinytroupe.llm import CallContext, LLMClient, LLMRequest, Message, ScriptedBackend
from tinytroupe.llm.factory import build_client
from tinytroupe.llm.limits import ConcurrencyLimit, LimitChange
from tinytroupe.llm.retry import RetryWrapper

CTX = CallContext()
# A lost wake-up hangs a waiting call for ever: fail fast instead.
pytestmark = pytest.mark.timeout(60)


def _request(i: int) -> LLMRequest:
    return LLMRequest(messages=(Message(role="user", content=f"q{i}"),))


class Burst:
    """A model that answers 429 (with ``retry_after``) to every call while ``overloaded`` is set."""

    def __init__(self, retry_after: float | None = None) -> None:
        self.overloaded = False
        self.retry_after = retry_after
        self.starts: list[float] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def __call__(self, request: LLMRequest) -> str:
        self.starts.append(time.monotonic())
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.005)
            if self.overloaded:
                raise LLMTransportError("slow down", status_code=429, retryable=True,
                                        retry_after=self.retry_after, kind="rate_limit")
            return "ok"
        finally:
            self.in_flight -= 1


async def test_a_429_burst_halves_the_limit_once_per_round() -> None:
    model = Burst()
    limited = ConcurrencyLimit(ScriptedBackend(model), 16, adaptive=True)
    model.overloaded = True
    # 16 calls in flight all get 429 together: that is one piece of news, so one halving.
    results = await asyncio.gather(*(limited.generate(_request(i), CTX) for i in range(16)), return_exceptions=True)
    assert all(isinstance(r, LLMTransportError) for r in results)
    assert limited.limit == 8 and limited.metrics()["decreases"] == 1
    # The next round is sent under the new limit and fails again: halved again.
    model.max_in_flight = 0
    await asyncio.gather(*(limited.generate(_request(i), CTX) for i in range(8)), return_exceptions=True)
    assert limited.limit == 4 and model.max_in_flight == 8
    # More calls than the limit go in rounds, each round's failure halving the limit once more.
    model.max_in_flight = 0
    await asyncio.gather(*(limited.generate(_request(i), CTX) for i in range(6)), return_exceptions=True)
    assert model.max_in_flight == 4 and limited.limit == 1


async def test_the_limit_never_falls_below_the_minimum_and_grows_back_to_the_maximum() -> None:
    model = Burst()
    limited = ConcurrencyLimit(ScriptedBackend(model), 8, adaptive=True, min_concurrent=2)
    model.overloaded = True
    for _ in range(6):
        await asyncio.gather(*(limited.generate(_request(i), CTX) for i in range(8)), return_exceptions=True)
    assert limited.limit == 2 and limited.metrics()["min_limit_seen"] == 2
    model.overloaded = False
    # Additive increase: one more slot per `limit` successes, so 2 -> 8 takes 2+3+...+7 = 27 calls.
    for i in range(26):
        await limited.generate(_request(i), CTX)
    assert limited.limit == 7
    await limited.generate(_request(99), CTX)
    assert limited.limit == 8
    for i in range(20):
        await limited.generate(_request(i), CTX)
    assert limited.limit == 8  # never beyond the maximum
    assert limited.metrics()["increases"] == 6


async def test_an_overload_at_the_floor_is_no_change_of_the_limit() -> None:
    # At the minimum a 429 cannot lower the limit: no LimitChange "1 -> 1", no decrease counted.
    model = Burst()
    limited = ConcurrencyLimit(ScriptedBackend(model), 4, adaptive=True)
    changes: list[LimitChange] = []
    limited.add_listener(lambda change, _: changes.append(change))
    model.overloaded = True
    for _ in range(6):
        await asyncio.gather(*(limited.generate(_request(i), CTX) for i in range(4)), return_exceptions=True)
    assert limited.limit == 1
    assert [(c.previous, c.limit) for c in changes] == [(4, 2), (2, 1)]
    assert limited.metrics()["decreases"] == 2 and limited.metrics()["min_limit_seen"] == 1
    # a pause the server asks for at the floor is told (the trace shows why calls wait), not counted
    model.retry_after = 0.01
    await asyncio.gather(*(limited.generate(_request(i), CTX) for i in range(4)), return_exceptions=True)
    assert [(c.previous, c.limit, c.cooldown_s) for c in changes][-1] == (1, 1, 0.01)
    assert limited.metrics()["decreases"] == 2
    model.retry_after = None
    # growth still restarts from the floor once the server takes calls again
    model.overloaded = False
    await limited.generate(_request(0), CTX)
    assert limited.limit == 2 and [(c.previous, c.limit) for c in changes][-1] == (1, 2)


async def test_retry_after_pauses_every_new_call() -> None:
    model = Burst(retry_after=0.2)
    limited = ConcurrencyLimit(ScriptedBackend(model), 4, adaptive=True)
    model.overloaded = True
    with pytest.raises(LLMTransportError):
        await limited.generate(_request(0), CTX)
    refused_at = time.monotonic()
    model.overloaded = False
    model.starts.clear()
    await asyncio.gather(*(limited.generate(_request(i), CTX) for i in range(6)))
    # Nobody went to the server before its Retry-After was over.
    assert min(model.starts) - refused_at >= 0.18
    assert limited.metrics()["cooldown_s"] == pytest.approx(0.2, abs=0.02)


async def test_a_retry_after_longer_than_the_longest_wait_pauses_only_that_long() -> None:
    # A server asking for an hour must not stall the whole run for an hour: the pause is capped at
    # max_pause, the retry wrapper's longest wait (the call that got it waits no longer either).
    model = Burst(retry_after=3600.0)
    limited = ConcurrencyLimit(ScriptedBackend(model), 4, adaptive=True, max_pause=0.2)
    changes: list[LimitChange] = []
    limited.add_listener(lambda change, _: changes.append(change))
    model.overloaded = True
    with pytest.raises(LLMTransportError):
        await limited.generate(_request(0), CTX)
    assert 0.15 < limited.cooldown_left() <= 0.2
    assert [c.cooldown_s for c in changes] == [0.2]
    model.overloaded = False
    await asyncio.wait_for(limited.generate(_request(1), CTX), timeout=5)
    assert limited.metrics()["cooldown_s"] == pytest.approx(0.2, abs=0.02)
    with pytest.raises(ValueError, match="max_pause"):
        ConcurrencyLimit(ScriptedBackend(model), 4, adaptive=True, max_pause=-1)


def test_the_clients_pause_is_capped_at_the_retry_wrappers_longest_wait() -> None:
    client = build_client(Settings.model_validate({"openai": {"api_type": "openai", "model": "m", "api_key": "k",
                                                              "base_url": "http://127.0.0.1:9/v1"}}))
    limited, retry = client.backend.find(ConcurrencyLimit), client.backend.find(RetryWrapper)
    assert limited is not None and retry is not None and limited.max_pause == retry.max_delay == 30.0


async def test_other_failures_do_not_move_the_limit() -> None:
    limited = ConcurrencyLimit(ScriptedBackend([LLMTransportError("bad request", status_code=400), "ok"]), 8,
                               adaptive=True)
    with pytest.raises(LLMTransportError):
        await limited.generate(_request(0), CTX)
    assert limited.limit == 8 and limited.metrics()["decreases"] == 0


async def test_not_adaptive_is_a_fixed_limit() -> None:
    model = Burst()
    limited = ConcurrencyLimit(ScriptedBackend(model), 8)
    model.overloaded = True
    await asyncio.gather(*(limited.generate(_request(i), CTX) for i in range(8)), return_exceptions=True)
    assert limited.limit == 8 and not limited.metrics()["adaptive"]


async def test_a_waiter_cancelled_in_the_queue_gives_its_turn_away() -> None:
    limited = ConcurrencyLimit(ScriptedBackend(["ok"], cycle=True, latency_s=0.05), 1, adaptive=True)
    first = asyncio.ensure_future(limited.generate(_request(0), CTX))
    await asyncio.sleep(0.01)
    waiting = asyncio.ensure_future(limited.generate(_request(1), CTX))
    third = asyncio.ensure_future(limited.generate(_request(2), CTX))
    await asyncio.sleep(0.01)
    waiting.cancel()
    assert (await first).text == "ok" and (await third).text == "ok"
    assert limited.in_flight == 0


async def test_changes_are_events_on_the_clients_bus_and_retries_still_get_the_answer() -> None:
    calls = 0

    async def script(request: LLMRequest) -> str:
        nonlocal calls
        calls += 1
        refused = calls <= 4  # the first four calls are refused
        await asyncio.sleep(0.005)
        if refused:
            raise LLMTransportError("slow down", status_code=429, retryable=True, retry_after=0.01,
                                    kind="rate_limit")
        return "ok"

    chain = RetryWrapper(ConcurrencyLimit(ScriptedBackend(script), 8, adaptive=True), max_attempts=5, base_delay=0.001)
    client = LLMClient(chain)
    seen: list[Event] = []
    client.bus.subscribe(seen.append, kinds=["concurrency"])
    results = await asyncio.gather(*(client.acomplete([{"role": "user", "content": f"q{i}"}], agent=f"A{i}")
                                     for i in range(8)))
    assert [r.value for r in results] == ["ok"] * 8
    downs = [e for e in seen if isinstance(e, ConcurrencyEvent) and e.reason == "rate_limit"]
    assert downs and downs[0].previous == 8 and downs[0].limit == 4 and downs[0].cooldown_s == 0.01


def test_a_world_against_a_rate_limiting_server_gets_every_answer_and_reports_the_limit() -> None:
    from tinytroupe import TinyPerson, TinyWorld

    with MockOpenAIServer(latency_s=0.01) as server:
        server.add_failures(*[MockFailure.of("rate_limit") for _ in range(6)])
        settings = Settings.model_validate({"openai": {
            "api_type": "openai", "model": "m", "base_url": server.base_url, "api_key": "k",
            "max_concurrent_model_calls": 8, "max_attempts": 6}})
        client = build_client(settings)
        seen: list[Event] = []
        client.bus.subscribe(seen.append, kinds=["concurrency"])
        world = TinyWorld("Panel", [TinyPerson(f"P{i}") for i in range(8)], initial_datetime=datetime(2025, 1, 1),
                          client=client, broadcast_if_no_target=False, communication_display=False)
        world.broadcast("Would you buy it?", "Host")
        world.run(1)
    assert not world.errors
    metrics = world.get_parallel_metrics()["concurrency"]
    assert metrics["adaptive"] and metrics["max"] == 8 and metrics["decreases"] >= 1
    assert any(isinstance(e, ConcurrencyEvent) and e.reason == "rate_limit" for e in seen)
