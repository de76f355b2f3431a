"""Timing of memory operations: a decorator for your own functions, or fed by memory events.

Example:
    >>> prof = MemoryProfiler()
    >>> @prof.profile("square")
    ... def square(x: int) -> int:
    ...     return x * x
    >>> square(3), prof.stats()["square"]["calls"]
    (9, 1)
"""

from __future__ import annotations

import functools
import inspect
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tinytroupe.events import Event, EventBus, MemoryEvent

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class _Timing:
    calls: int = 0
    total_s: float = 0.0
    min_s: float = float("inf")
    max_s: float = 0.0

    def add(self, seconds: float) -> None:
        self.calls += 1
        self.total_s += seconds
        self.min_s = min(self.min_s, seconds)
        self.max_s = max(self.max_s, seconds)


class MemoryProfiler:
    """Call count and min/mean/max/total time per operation name."""

    def __init__(self) -> None:
        self._timings: dict[str, _Timing] = {}
        self._lock = threading.Lock()
        self._token: int | None = None
        self._bus: EventBus | None = None

    def record(self, name: str, seconds: float) -> None:
        with self._lock:
            self._timings.setdefault(name, _Timing()).add(seconds)

    def profile(self, name: str | Callable[..., Any] | None = None) -> Any:
        """Decorator timing a sync or async function: ``@prof.profile`` or ``@prof.profile("name")``."""
        if callable(name):
            return self.profile(None)(name)

        def wrap(func: F) -> F:
            label = name or func.__qualname__
            if inspect.iscoroutinefunction(func):
                @functools.wraps(func)
                async def awrapper(*args: Any, **kwargs: Any) -> Any:
                    start = time.perf_counter()
                    try:
                        return await func(*args, **kwargs)
                    finally:
                        self.record(label, time.perf_counter() - start)
                return awrapper  # type: ignore[return-value]

            @functools.wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return func(*args, **kwargs)
                finally:
                    self.record(label, time.perf_counter() - start)
            return wrapper  # type: ignore[return-value]
        return wrap

    def attach(self, bus: EventBus) -> MemoryProfiler:
        """Also time memory operations from the bus (consolidate, reflect: their ``duration_s``)."""
        self._bus = bus
        self._token = bus.subscribe(self._on_event, kinds=["memory"])
        return self

    def detach(self) -> None:
        if self._bus is not None and self._token is not None:
            self._bus.unsubscribe(self._token)
            self._bus = self._token = None

    def _on_event(self, event: Event) -> None:
        if isinstance(event, MemoryEvent) and event.operation in ("consolidate", "reflect"):
            self.record(f"memory.{event.operation}", event.duration_s)

    def stats(self) -> dict[str, dict[str, float]]:
        """``{name: {calls, min_s, mean_s, max_s, total_s}}``."""
        with self._lock:
            return {n: {"calls": t.calls, "min_s": t.min_s, "mean_s": t.total_s / t.calls, "max_s": t.max_s,
                        "total_s": t.total_s} for n, t in self._timings.items()}

    def report(self) -> str:
        lines = [f"{'operation':<32} {'calls':>7} {'min ms':>9} {'mean ms':>9} {'max ms':>9} {'total s':>9}"]
        for name, s in sorted(self.stats().items()):
            lines.append(f"{name:<32} {s['calls']:>7.0f} {s['min_s'] * 1e3:>9.2f} {s['mean_s'] * 1e3:>9.2f} "
                         f"{s['max_s'] * 1e3:>9.2f} {s['total_s']:>9.3f}")
        return "\n".join(lines)

    def reset(self) -> None:
        with self._lock:
            self._timings.clear()


__all__ = ["MemoryProfiler"]
