"""The dashboard's event feed: a bounded, ordered history of a run's events that the page's
server-sent-event streams read from, and the run's control status beside it.

An :class:`EventHub` is an event-bus subscriber (``hub.attach(bus)``); a run file's follower feeds
it trace rows as dicts instead. Publishing only appends under a lock and wakes the streams that are
waiting (on the server's event loop, from any thread): events are turned into JSON when a stream
reads them, so a watched run pays almost nothing per event. Each kept event gets its place in the
feed (``_i``, 0 first: a run file's trace position when the whole trace is followed) and the wall
time the hub received it (``_t``, epoch milliseconds: what the page's lag figure is measured from).

Example:
    >>> from tinytroupe.events import EventBus, WarningEvent
    >>> bus = EventBus()
    >>> hub = EventHub().attach(bus)
    >>> bus.publish(WarningEvent(code="x", message="near a limit"))
    >>> [(e["_i"], e["kind"], e["code"]) for e in hub.since(0)]
    [(0, 'warning', 'x')]
    >>> hub.detach()
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tinytroupe.errors import InvalidArgument
from tinytroupe.events import Event, EventBus

if TYPE_CHECKING:
    from tinytroupe.llm.prices import PriceTable

#: events a hub keeps by default (the oldest leave first; a stream that fell behind is told how many)
MAX_EVENTS = 200_000


@dataclass
class _Item:
    index: int
    published: float
    event: Event | dict[str, Any]
    data: dict[str, Any] | None = None


class EventHub:
    """A run's events in publication order, bounded, readable from any thread and awaitable on an event loop.

    Args:
        max_events: how many events are kept (the oldest leave first).
        prices: a price table; each ``llm_call`` then carries its cost in dollars (``_cost``; 0 for an
            answer from the cache, absent for a model the table does not know).
    """

    def __init__(self, *, max_events: int = MAX_EVENTS, prices: PriceTable | None = None) -> None:
        if max_events < 1:
            raise InvalidArgument(f"max_events must be at least 1, got {max_events}")
        self._items: deque[_Item] = deque(maxlen=max_events)
        self._lock = threading.Lock()
        self._total = 0
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._status: dict[str, Any] = {"state": "idle"}
        self._status_version = 0
        self._prices = prices
        self._bus: tuple[EventBus, int] | None = None
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self.closed = False

    # ------------------------------------------------------------------ feeding

    def attach(self, bus: EventBus) -> EventHub:
        """Subscribe to ``bus`` (one bus at a time); returns the hub."""
        self.detach()
        self._bus = (bus, bus.subscribe(self.publish))
        return self

    def detach(self) -> None:
        """Stop following the bus (the events so far are kept)."""
        if self._bus is not None:
            bus, token = self._bus
            self._bus = None
            bus.unsubscribe(token)

    def publish(self, event: Event | dict[str, Any]) -> None:
        """Append ``event`` (an event, or a trace row's dict) and wake the waiting streams."""
        with self._lock:
            self._items.append(_Item(self._total, time.time(), event))
            self._total += 1
            waiters, self._waiters = self._waiters, []
        _wake(waiters)

    def set_status(self, **status: Any) -> None:
        """Replace the run's control status (``state`` and details) and wake the streams to send it."""
        with self._lock:
            self._status = dict(status)
            self._status_version += 1
            waiters, self._waiters = self._waiters, []
        _wake(waiters)
        for listener in list(self._listeners):
            listener(self.status)

    def close_streams(self) -> None:
        """End the event streams (the server is closing): waiting ones wake and return."""
        with self._lock:
            self.closed = True
            waiters, self._waiters = self._waiters, []
        _wake(waiters)

    def on_status(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Call ``listener`` with each new status (on the thread that sets it)."""
        self._listeners.append(listener)

    # ------------------------------------------------------------------ reading

    @property
    def total(self) -> int:
        """How many events were ever published (the next event's ``_i``)."""
        return self._total

    @property
    def first(self) -> int:
        """The ``_i`` of the oldest event kept."""
        with self._lock:
            return self._items[0].index if self._items else self._total

    @property
    def status(self) -> dict[str, Any]:
        return {**self._status, "version": self._status_version}

    @property
    def status_version(self) -> int:
        return self._status_version

    def since(self, index: int, limit: int | None = None) -> list[dict[str, Any]]:
        """The kept events from ``_i`` = ``index`` on (at most ``limit``), as JSON-ready dicts."""
        with self._lock:
            if not self._items:
                return []
            start = max(0, index - self._items[0].index)
            stop = len(self._items) if limit is None else min(len(self._items), start + limit)
            chosen = [self._items[k] for k in range(start, stop)]
        return [self._data(item) for item in chosen]

    def events(self) -> list[dict[str, Any]]:
        """Every kept event, as :meth:`since` gives them."""
        return self.since(0)

    def _data(self, item: _Item) -> dict[str, Any]:
        if item.data is None:  # a race makes it twice at worst, with equal results
            raw = item.event
            data = raw.model_dump(mode="json") if isinstance(raw, Event) else dict(raw)
            data.pop("pos", None)
            data["_i"], data["_t"] = item.index, round(item.published * 1000.0, 3)
            if self._prices is not None and data.get("kind") == "llm_call":
                cost = 0.0 if data.get("cache_hit") else self._prices.cost(
                    data.get("model"), int(data.get("prompt_tokens") or 0), int(data.get("completion_tokens") or 0),
                    batched=bool(data.get("batched")))
                if cost is not None:
                    data["_cost"] = cost
            item.data = data
        return item.data

    async def wait(self, index: int, status_version: int, timeout: float) -> bool:
        """On an event loop: wait until an event with ``_i`` >= ``index`` or a status newer than
        ``status_version`` is there, at most ``timeout`` seconds; whether one is."""
        loop = asyncio.get_running_loop()
        ready = asyncio.Event()
        with self._lock:
            if self._total > index or self._status_version != status_version or self.closed:
                return True
            self._waiters.append((loop, ready))
        try:
            await asyncio.wait_for(ready.wait(), timeout)
        except TimeoutError:
            with self._lock:
                self._waiters = [w for w in self._waiters if w[1] is not ready]
        return self._total > index or self._status_version != status_version


def _wake(waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]) -> None:
    for loop, ready in waiters:
        if not loop.is_closed():
            loop.call_soon_threadsafe(ready.set)


__all__ = ["MAX_EVENTS", "EventHub"]
