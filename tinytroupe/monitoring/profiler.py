"""Timing of memory operations: a decorator for your own functions, or fed by memory events.

As the roadmap uses it: decorate functions with ``@profiler.profile`` (sync or async), call them,
then ``profiler.print_stats()``. ``stats()`` returns the figures, ``report()`` the printed text.

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
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO, TypeVar

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
    """Call count and min/mean/max/total wall time per operation name.

    Example:
        >>> prof = MemoryProfiler()
        >>> prof.record("store", 0.25)
        >>> prof.stats()["store"]["total_s"]
        0.25
    """

    def __init__(self) -> None:
        self._timings: dict[str, _Timing] = {}
        self._lock = threading.Lock()
        self._token: int | None = None
        self._bus: EventBus | None = None

    def record(self, name: str, seconds: float) -> None:
        """Add one timed call of ``name`` (what the decorator and the bus feed do)."""
        with self._lock:
            self._timings.setdefault(name, _Timing()).add(seconds)

    def profile(self, name: str | Callable[..., Any] | None = None) -> Any:
        """Decorator timing a sync or async function: ``@prof.profile`` or ``@prof.profile("name")``.

        The label is the function's qualified name unless given. A call that raises is timed too.

        Example:
            >>> import asyncio
            >>> prof = MemoryProfiler()
            >>> @prof.profile
            ... async def fetch() -> str:
            ...     return "done"
            >>> asyncio.run(fetch()), prof.stats()["fetch"]["calls"]
            ('done', 1)
        """
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
        """Also time memory operations from the bus (consolidate, reflect: their ``duration_s``).

        Example:
            >>> from tinytroupe.events import EventBus, MemoryEvent
            >>> bus = EventBus()
            >>> prof = MemoryProfiler().attach(bus)
            >>> bus.publish(MemoryEvent(operation="consolidate", agent="Ana", duration_s=0.5))
            >>> prof.stats()["memory.consolidate"]["calls"]
            1
        """
        self._bus = bus
        self._token = bus.subscribe(self._on_event, kinds=["memory"])
        return self

    def detach(self) -> None:
        """Stop listening to the bus given to :meth:`attach`."""
        if self._bus is not None and self._token is not None:
            self._bus.unsubscribe(self._token)
            self._bus = self._token = None

    def _on_event(self, event: Event) -> None:
        if isinstance(event, MemoryEvent) and event.operation in ("consolidate", "reflect"):
            self.record(f"memory.{event.operation}", event.duration_s)

    def stats(self) -> dict[str, dict[str, float]]:
        """``{name: {calls, min_s, mean_s, max_s, total_s}}`` (seconds).

        Example:
            >>> prof = MemoryProfiler()
            >>> prof.record("x", 1.0); prof.record("x", 3.0)
            >>> prof.stats()["x"]
            {'calls': 2, 'min_s': 1.0, 'mean_s': 2.0, 'max_s': 3.0, 'total_s': 4.0}
        """
        with self._lock:
            return {n: {"calls": t.calls, "min_s": t.min_s, "mean_s": t.total_s / t.calls, "max_s": t.max_s,
                        "total_s": t.total_s} for n, t in self._timings.items()}

    def report(self) -> str:
        """A table: one line per operation, slowest in total first.

        Example:
            >>> prof = MemoryProfiler()
            >>> prof.record("store", 0.002)
            >>> print(prof.report())
            operation   calls    min ms   mean ms    max ms   total s
            store           1      2.00      2.00      2.00     0.002
        """
        stats = sorted(self.stats().items(), key=lambda kv: (-kv[1]["total_s"], kv[0]))
        # Wide enough for the longest name (qualified names of nested functions are long).
        width = max([len("operation"), *(len(name) for name, _ in stats)])
        lines = [f"{'operation':<{width}} {'calls':>7} {'min ms':>9} {'mean ms':>9} {'max ms':>9} {'total s':>9}"]
        for name, s in stats:
            lines.append(f"{name:<{width}} {s['calls']:>7.0f} {s['min_s'] * 1e3:>9.2f} {s['mean_s'] * 1e3:>9.2f} "
                         f"{s['max_s'] * 1e3:>9.2f} {s['total_s']:>9.3f}")
        if not stats:
            lines.append("(no calls profiled yet)")
        return "\n".join(lines)

    def print_stats(self, file: TextIO | None = None) -> None:
        """Print :meth:`report` (to standard output unless ``file`` is given).

        Example:
            >>> prof = MemoryProfiler()
            >>> prof.print_stats()
            operation   calls    min ms   mean ms    max ms   total s
            (no calls profiled yet)
        """
        print(self.report(), file=file if file is not None else sys.stdout)

    def reset(self) -> None:
        """Forget every timing.

        Example:
            >>> prof = MemoryProfiler(); prof.record("x", 1.0); prof.reset(); prof.stats()
            {}
        """
        with self._lock:
            self._timings.clear()

    def clear(self) -> None:
        """Same as :meth:`reset` (the roadmap's "data clearing")."""
        self.reset()


__all__ = ["MemoryProfiler"]
