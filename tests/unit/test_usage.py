"""Token accounting and LLM-call events."""

from __future__ import annotations

import io
import threading

import pytest
from pydantic import BaseModel
from rich.console import Console

from tinytroupe.errors import LLMTransportError
from tinytroupe.events import EventBus, LLMCallEvent
from tinytroupe.llm import (
    CallContext,
    LLMClient,
    LLMRequest,
    Message,
    ScriptedBackend,
    UsageLedger,
    UsageWrapper,
)
from tinytroupe.llm.cache import CacheWrapper, ResponseCache
from tinytroupe.llm.types import Usage


def _record(ledger: UsageLedger, **kw: object) -> None:
    args: dict[str, object] = {"model": "m", "agent": None, "world": None, "purpose": "chat",
                               "prompt_tokens": 10, "completion_tokens": 5, "latency_s": 0.5,
                               "cached": False, "error": False}
    args.update(kw)
    ledger.record(**args)  # type: ignore[arg-type]


def test_usage_arithmetic() -> None:
    total = Usage(prompt_tokens=1, completion_tokens=2) + Usage(prompt_tokens=3)
    assert total == Usage(prompt_tokens=4, completion_tokens=2) and total.total_tokens == 6


def test_ledger_breaks_down_by_model_agent_world_purpose() -> None:
    ledger = UsageLedger()
    _record(ledger, model="big", agent="Ana", world="Cafe", purpose="action")
    _record(ledger, model="big", agent="Bo", world="Cafe", purpose="action")
    _record(ledger, model="small", agent="Ana", world=None, purpose="extraction", prompt_tokens=1,
            completion_tokens=1)
    stats = ledger.stats()
    assert stats["total"]["calls"] == 3 and stats["total"]["total_tokens"] == 32
    assert stats["by_model"]["big"]["total_tokens"] == 30 and stats["by_model"]["small"]["calls"] == 1
    assert stats["by_agent"]["Ana"]["calls"] == 2 and stats["by_agent"]["Bo"]["prompt_tokens"] == 10
    assert list(stats["by_world"]) == ["Cafe"] and stats["by_world"]["Cafe"]["calls"] == 2
    assert set(stats["by_purpose"]) == {"action", "extraction"}
    assert stats["total"]["latency_s"] == pytest.approx(1.5)


def test_cached_and_failed_calls_count_but_cost_nothing() -> None:
    ledger = UsageLedger()
    _record(ledger)
    _record(ledger, cached=True)
    _record(ledger, error=True, prompt_tokens=0, completion_tokens=0)
    total = ledger.stats()["total"]
    assert (total["calls"], total["cached_calls"], total["errors"]) == (3, 1, 1)
    assert total["prompt_tokens"] == 10 and total["completion_tokens"] == 5


def test_ledger_is_thread_safe_and_resets() -> None:
    ledger = UsageLedger()

    def work(n: int) -> None:
        for _ in range(500):
            _record(ledger, agent=f"a{n % 3}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = ledger.stats()
    assert stats["total"]["calls"] == 3000 and stats["total"]["total_tokens"] == 45_000
    assert sum(c["calls"] for c in stats["by_agent"].values()) == 3000
    ledger.reset()
    assert ledger.stats()["total"]["calls"] == 0 and ledger.stats()["by_agent"] == {}


def test_pretty_print_shows_tables_and_totals() -> None:
    ledger = UsageLedger()
    _record(ledger, model="big", agent="Ana", purpose="action")
    out = io.StringIO()
    ledger.pretty_print(Console(file=out, width=120))
    text = out.getvalue()
    assert "LLM usage by model" in text and "big" in text and "Ana" in text
    assert "Total: 1 calls (0 cached, 0 failed), 10 prompt + 5 completion tokens" in text


async def test_wrapper_publishes_one_event_per_call_with_context() -> None:
    bus = EventBus()
    events: list[LLMCallEvent] = []
    bus.subscribe(events.append, kinds=["llm_call"])  # type: ignore[arg-type]
    ledger = UsageLedger()
    ledger.attach(bus)
    wrapper = UsageWrapper(ScriptedBackend(["hello there"], model="tiny"), bus=bus)
    ctx = CallContext(purpose="action", agent="Ana", world="Cafe", step=3, simulation_id="sim-1")
    request = LLMRequest(messages=(Message(role="user", content="x" * 40),))
    await wrapper.generate(request, ctx)
    (event,) = events
    assert (event.model, event.purpose, event.agent, event.world, event.step, event.simulation_id) == (
        "tiny", "action", "Ana", "Cafe", 3, "sim-1")
    assert event.backend == "scripted" and event.prompt_tokens == 10 and event.completion_tokens == 3
    assert event.cache_hit is False and event.error is None and event.latency_s >= 0
    assert ledger.stats()["by_world"]["Cafe"]["calls"] == 1


async def test_failures_are_recorded_published_and_raised() -> None:
    bus = EventBus()
    events: list[LLMCallEvent] = []
    bus.subscribe(events.append)  # type: ignore[arg-type]
    ledger = UsageLedger()
    ledger.attach(bus)
    wrapper = UsageWrapper(ScriptedBackend([LLMTransportError("boom")], model="tiny"), bus=bus)
    with pytest.raises(LLMTransportError, match="boom"):
        request = LLMRequest(messages=(Message(role="user", content="q"),))
        await wrapper.generate(request, CallContext(agent="Bo"))
    (event,) = events
    assert event.error == "LLMTransportError: boom" and event.model == "tiny" and event.agent == "Bo"
    assert ledger.stats()["total"]["errors"] == 1 and ledger.stats()["by_agent"]["Bo"]["errors"] == 1


def test_client_events_flag_cache_hits_and_ledger_splits_by_purpose() -> None:
    backend = ScriptedBackend({"price": "too expensive", "*": "fine"}, model="tiny")
    client = LLMClient(CacheWrapper(backend, ResponseCache(":memory:")))
    events: list[LLMCallEvent] = []
    client.bus.subscribe(events.append, kinds=["llm_call"])  # type: ignore[arg-type]
    ask = [{"role": "user", "content": "what about the price?"}]
    client.complete(ask, agent="Ana", world="Shop", purpose="action")
    client.complete(ask, agent="Bo", world="Shop", purpose="action")
    client.complete([{"role": "user", "content": "and the colour?"}], agent="Ana", purpose="extraction")
    assert [e.cache_hit for e in events] == [False, True, False]
    assert [e.agent for e in events] == ["Ana", "Bo", "Ana"]
    assert backend.calls == 2
    stats = client.get_cost_stats()
    assert stats["by_agent"]["Bo"]["cached_calls"] == 1 and stats["by_agent"]["Bo"]["total_tokens"] == 0
    assert stats["by_purpose"]["action"]["calls"] == 2 and stats["by_purpose"]["extraction"]["calls"] == 1
    assert list(stats["by_world"]) == ["Shop"] and stats["by_world"]["Shop"]["calls"] == 2
    assert stats["by_model"]["tiny"]["calls"] == 3
    assert stats["total"]["total_tokens"] == sum(e.prompt_tokens + e.completion_tokens
                                                  for e in events if not e.cache_hit)
    client.close()


class Answer(BaseModel):
    n: int


def test_reasks_are_separate_events() -> None:
    client = LLMClient(ScriptedBackend(["nope", '{"n": 1}']))
    events: list[LLMCallEvent] = []
    client.bus.subscribe(events.append, kinds=["llm_call"])  # type: ignore[arg-type]
    result = client.complete([{"role": "user", "content": "n?"}], response_model=Answer, purpose="count")
    assert result.value.n == 1 and len(events) == 2
    assert client.get_cost_stats()["by_purpose"]["count"]["calls"] == 2
    assert result.usage.total_tokens == client.get_cost_stats()["total"]["total_tokens"]


def test_a_call_recorded_across_a_reset_counts_in_one_ledger_only() -> None:
    # A worker thread records while another resets: the call lands wholly on one side of the reset
    # (its total and its per-model row together), never in the new total with its rows in the old.
    ledger = UsageLedger()
    real = ledger._lock

    class ResetFirst:  # the lock, reached by the recording thread just after a reset got it first
        def __enter__(self) -> None:
            ledger._lock = real
            ledger.reset()
            real.acquire()

        def __exit__(self, *exc: object) -> None:
            real.release()

    ledger._lock = ResetFirst()  # type: ignore[assignment]
    ledger.record(model="m", agent="Ana", world=None, purpose="action", prompt_tokens=3, completion_tokens=1,
                  latency_s=0.1, cached=False, error=False)
    stats = ledger.stats()
    assert stats["total"]["calls"] == 1
    assert stats["by_model"]["m"]["calls"] == 1 and stats["by_agent"]["Ana"]["calls"] == 1
