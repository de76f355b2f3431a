"""The dashboard's event hub: order, bounds, waking streams across threads, costs."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tinytroupe.dashboard.hub import EventHub
from tinytroupe.errors import InvalidArgument
from tinytroupe.events import EventBus, LLMCallEvent, WarningEvent
from tinytroupe.llm.prices import ModelPrice, PriceTable


def test_events_keep_publication_order_and_place() -> None:
    bus = EventBus()
    hub = EventHub().attach(bus)
    for n in range(5):
        bus.publish(WarningEvent(code=f"c{n}", message="m"))
    hub.publish({"kind": "warning", "code": "from-a-row", "pos": 99})
    events = hub.since(2)
    assert [e["_i"] for e in events] == [2, 3, 4, 5]
    assert [e["code"] for e in events] == ["c2", "c3", "c4", "from-a-row"]
    assert "pos" not in events[-1]  # the feed's own place replaces a trace row's
    assert all(isinstance(e["_t"], float) for e in events)
    hub.detach()
    bus.publish(WarningEvent(code="after", message="m"))
    assert hub.total == 6


def test_bounded_history_drops_the_oldest_and_says_where_it_starts() -> None:
    hub = EventHub(max_events=3)
    for n in range(10):
        hub.publish({"kind": "warning", "code": str(n)})
    assert hub.first == 7 and hub.total == 10
    assert [e["code"] for e in hub.since(0)] == ["7", "8", "9"]
    assert [e["code"] for e in hub.since(8, limit=1)] == ["8"]
    with pytest.raises(InvalidArgument, match="max_events"):
        EventHub(max_events=0)


def test_a_waiting_stream_wakes_on_an_event_from_another_thread() -> None:
    hub = EventHub()

    async def wait() -> bool:
        publisher = threading.Timer(0.05, hub.publish, args=({"kind": "warning"},))
        publisher.start()
        woke = await hub.wait(0, hub.status_version, timeout=5)
        publisher.join()
        return woke

    assert asyncio.run(wait()) is True
    assert asyncio.run(hub.wait(1, hub.status_version, timeout=0.05)) is False  # nothing new: times out


def test_status_changes_wake_streams_and_reach_listeners() -> None:
    hub = EventHub()
    seen: list[dict] = []
    hub.on_status(seen.append)
    version = hub.status_version
    hub.set_status(state="paused", step=3)
    assert hub.status["state"] == "paused" and hub.status["version"] == version + 1
    assert seen[-1]["step"] == 3
    assert asyncio.run(hub.wait(hub.total, version, timeout=0.05)) is True


def test_llm_calls_carry_their_cost_when_the_price_is_known() -> None:
    prices = PriceTable(as_of="2025-01-01", models={"m": ModelPrice(input=1.0, output=2.0)})
    hub = EventHub(prices=prices)
    hub.publish(LLMCallEvent(model="m", prompt_tokens=1_000_000, completion_tokens=500_000))
    hub.publish(LLMCallEvent(model="m", prompt_tokens=10, cache_hit=True))
    hub.publish(LLMCallEvent(model="unknown", prompt_tokens=10))
    costs = [e.get("_cost") for e in hub.events()]
    assert costs == [pytest.approx(2.0), 0.0, None]
