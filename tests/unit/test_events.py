"""Events and the event bus."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from tinytroupe.events import (
    ActionEvent,
    Event,
    EventBus,
    LLMCallEvent,
    StepEvent,
    StimulusEvent,
    WarningEvent,
)


def _llm() -> LLMCallEvent:
    return LLMCallEvent(model="m", purpose="test")


def _action() -> ActionEvent:
    return ActionEvent(action_type="TALK", content="hello", agent="Ana")


def test_sync_subscribers_get_events_in_order() -> None:
    bus = EventBus()
    first: list[Event] = []
    second: list[str] = []
    bus.subscribe(first.append)
    bus.subscribe(lambda e: second.append(e.kind))
    a, b = _llm(), _action()
    bus.publish(a)
    bus.publish(b)
    assert first == [a, b] and second == ["llm_call", "action"]
    assert a.seq < b.seq


def test_kinds_filter() -> None:
    bus = EventBus()
    llm_only: list[Event] = []
    both: list[Event] = []
    bus.subscribe(llm_only.append, kinds=["llm_call"])
    bus.subscribe(both.append, kinds={"llm_call", "action"})
    bus.publish(_llm())
    bus.publish(_action())
    bus.publish(StepEvent(phase="start"))
    assert [e.kind for e in llm_only] == ["llm_call"]
    assert [e.kind for e in both] == ["llm_call", "action"]


def test_empty_kinds_receives_nothing() -> None:
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe(seen.append, kinds=[])
    bus.publish(_llm())
    assert seen == []


def test_unsubscribe() -> None:
    bus = EventBus()
    seen: list[Event] = []
    token = bus.subscribe(seen.append)
    other = bus.subscribe(lambda e: None)
    assert bus.subscriber_count == 2
    bus.unsubscribe(token)
    bus.publish(_llm())
    assert seen == [] and bus.subscriber_count == 1
    with pytest.raises(KeyError, match=f"no subscription with token {token}"):
        bus.unsubscribe(token)
    bus.unsubscribe(other)
    assert bus.subscriber_count == 0


def test_subscriptions_made_or_dropped_after_a_kind_was_published_count() -> None:
    # publish works out each kind's subscribers once: a later (un)subscribe must still be seen
    bus = EventBus()
    first: list[str] = []
    later: list[str] = []
    bus.subscribe(lambda e: first.append(e.kind), kinds=["action"])
    bus.publish(_action())
    bus.publish(_llm())
    token = bus.subscribe(lambda e: later.append(e.kind))
    bus.publish(_action())
    bus.publish(_llm())
    bus.unsubscribe(token)
    bus.publish(_action())
    assert first == ["action", "action", "action"]
    assert later == ["action", "llm_call"]


def test_sync_and_async_subscribers_of_a_kind_keep_subscription_order() -> None:
    bus = EventBus()
    seen: list[str] = []

    async def handler(event: Event) -> None:
        seen.append("async")

    bus.subscribe(lambda e: seen.append("first"))
    bus.subscribe(handler, kinds=["action"])
    bus.subscribe(lambda e: seen.append("last"))
    bus.publish(_action())  # no running loop: the async one runs inline, in its place
    bus.publish(_llm())
    assert seen == ["first", "async", "last", "first", "last"]


def test_sync_subscriber_exception_propagates_to_publisher() -> None:
    bus = EventBus()
    after: list[Event] = []

    def broken(event: Event) -> None:
        raise ValueError("subscriber is broken")

    bus.subscribe(broken)
    bus.subscribe(after.append)
    with pytest.raises(ValueError, match="subscriber is broken"):
        bus.publish(_llm())
    assert after == []  # publication stopped at the failure, visibly


def test_unsubscribing_during_publication_is_safe() -> None:
    bus = EventBus()
    seen: list[str] = []
    tokens: list[int] = []

    def once(event: Event) -> None:
        seen.append("once")
        bus.unsubscribe(tokens[0])

    tokens.append(bus.subscribe(once))
    bus.subscribe(lambda e: seen.append("always"))
    bus.publish(_llm())
    bus.publish(_llm())
    assert seen == ["once", "always", "always"]


def test_async_subscriber_without_a_loop_runs_inline() -> None:
    bus = EventBus()
    seen: list[str] = []

    async def handler(event: Event) -> None:
        await asyncio.sleep(0)
        seen.append(event.kind)

    bus.subscribe(handler)
    bus.publish(_action())
    assert seen == ["action"]


async def test_async_subscriber_inside_a_loop_is_scheduled_and_drained() -> None:
    bus = EventBus()
    seen: list[str] = []

    async def handler(event: Event) -> None:
        await asyncio.sleep(0.01)
        seen.append(event.kind)

    bus.subscribe(handler, kinds=["step"])
    bus.publish(StepEvent(phase="start"))
    bus.publish(_llm())
    assert seen == []  # not run inline: the publisher is not blocked
    await bus.drain()
    assert seen == ["step"]


async def test_async_callable_object_is_detected() -> None:
    seen: list[str] = []

    class Sink:
        async def __call__(self, event: Event) -> None:
            seen.append(event.kind)

    bus = EventBus()
    bus.subscribe(Sink())
    bus.publish(_llm())
    await bus.drain()
    assert seen == ["llm_call"]


async def test_async_subscriber_failure_is_kept_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()

    async def broken(event: Event) -> None:
        raise RuntimeError("async subscriber broke")

    bus.subscribe(broken)
    with caplog.at_level(logging.ERROR, logger="tinytroupe.events"):
        bus.publish(_llm())
        await bus.drain()
    assert len(bus.errors) == 1 and str(bus.errors[0]) == "async subscriber broke"
    assert "async event subscriber failed" in caplog.text


def test_publish_from_many_threads() -> None:
    bus = EventBus()
    seen: list[Event] = []
    lock = threading.Lock()

    def sink(event: Event) -> None:
        with lock:
            seen.append(event)

    bus.subscribe(sink)

    def work() -> None:
        for _ in range(200):
            bus.publish(_llm())

    threads = [threading.Thread(target=work) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 1000 and len({e.seq for e in seen}) == 1000


@pytest.mark.parametrize(
    "event",
    [
        LLMCallEvent(model="m", purpose="p", latency_s=0.3, cache_hit=True, agent="Ana", step=2),
        StimulusEvent(stimulus_type="CONVERSATION", content="hi", source="Bo", agent="Ana"),
        ActionEvent(action_type="TALK", content="hello", target="Bo"),
        StepEvent(phase="end", agents=3, wall_s=1.5),
        WarningEvent(code="memory_near_limit", message="90% full", data={"used": 9}),
    ],
)
def test_events_round_trip_through_json(event: Event) -> None:
    again = type(event).model_validate_json(event.model_dump_json())
    assert again == event


def test_events_refuse_unknown_fields() -> None:
    with pytest.raises(ValueError, match="extra"):
        LLMCallEvent(model="m", purpose="p", colour="blue")  # type: ignore[call-arg]
