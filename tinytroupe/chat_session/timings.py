"""How long each operation of a chat takes: events on the bus, log lines past two thresholds, and
count, mean and maximum per operation for ``get_performance_stats()``.

Example:
    >>> from tinytroupe.events import EventBus
    >>> bus, seen = EventBus(), []
    >>> _ = bus.subscribe(seen.append, kinds=["operation_timing"])
    >>> timings = OperationTimings(bus, moderate_s=1.0, slow_s=5.0, agent="Lisa")
    >>> timings.record("model_call", 2.0)
    'info'
    >>> seen[0].operation, seen[0].level, timings.stats()["model_call"]["count"]
    ('model_call', 'info', 1)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from tinytroupe.errors import InvalidArgument
from tinytroupe.events import EventBus, OperationTimingEvent

logger = logging.getLogger(__name__)

Level = Literal["debug", "info", "warning"]


@dataclass
class _Tally:
    count: int = 0
    total_s: float = 0.0
    max_s: float = 0.0


class OperationTimings:
    """Times operations, publishes an :class:`~tinytroupe.events.OperationTimingEvent` for each and logs
    the moderate ones at INFO and the slow ones at WARNING.

    Args:
        bus: where the events go.
        moderate_s: from this many seconds an operation is logged at INFO.
        slow_s: from this many seconds, at WARNING (not below ``moderate_s``).
        agent: the persona the events are about.
    """

    def __init__(self, bus: EventBus, *, moderate_s: float, slow_s: float, agent: str | None = None) -> None:
        if not 0 < moderate_s <= slow_s:
            raise InvalidArgument(f"the thresholds must satisfy 0 < moderate_s <= slow_s; got moderate_s={moderate_s}, "
                                  f"slow_s={slow_s} ([Chat] MODERATE_OPERATION_S and SLOW_OPERATION_S)")
        self.bus = bus
        self.moderate_s = moderate_s
        self.slow_s = slow_s
        self.agent = agent
        self._tallies: dict[str, _Tally] = {}

    def level_for(self, seconds: float) -> Level:
        return "warning" if seconds >= self.slow_s else "info" if seconds >= self.moderate_s else "debug"

    def record(self, operation: str, seconds: float) -> Level:
        """Count one operation of ``seconds``; publish and log it. Returns the level it was logged at."""
        tally = self._tallies.setdefault(operation, _Tally())
        tally.count += 1
        tally.total_s += seconds
        tally.max_s = max(tally.max_s, seconds)
        level = self.level_for(seconds)
        logger.log(logging.getLevelName(level.upper()), "chat%s: %s took %.3f s%s",
                   f" with {self.agent}" if self.agent else "", operation, seconds,
                   " (slow)" if level == "warning" else "")
        self.bus.publish(OperationTimingEvent(agent=self.agent, operation=operation, duration_s=seconds, level=level))
        return level

    @contextmanager
    def measure(self, operation: str) -> Iterator[None]:
        """Time the block as ``operation`` (recorded also when the block raises)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.record(operation, time.perf_counter() - started)

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per operation: ``count``, ``mean_s``, ``max_s`` and ``total_s``."""
        return {name: {"count": t.count, "mean_s": t.total_s / t.count, "max_s": t.max_s, "total_s": t.total_s}
                for name, t in self._tallies.items()}


__all__ = ["OperationTimings"]
