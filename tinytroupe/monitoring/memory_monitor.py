"""Monitoring agents' memory from the event bus: snapshots, trends, alerts with callbacks, a report.

The monitor subscribes to :class:`~tinytroupe.events.MemoryEvent` s (agents publish one after each
turn and one per eviction, consolidation, reflection and forgetting); it never reaches into agents.

Alerts (each published once per episode of the condition, to every callback):

* ``threshold``: usage of episodic memory at or over ``usage_threshold`` (``warning``) or
  ``critical_threshold`` (``critical``);
* ``abnormal_growth``: semantic memory grew by more than ``growth_threshold`` (a fraction) over the
  last ``growth_window`` snapshots;
* ``ineffective_consolidation``: a consolidation wrote more than ``min_compression`` facts per
  episodic item (it did not compress), or consumed items and wrote none.

Example:
    >>> from tinytroupe.events import EventBus, MemoryEvent
    >>> bus = EventBus()
    >>> monitor = MemoryMonitor(bus)
    >>> seen = []
    >>> monitor.on_alert(seen.append)
    >>> bus.publish(MemoryEvent(operation="snapshot", agent="Ana", episodic_size=95, max_size=100, usage_ratio=0.95))
    >>> seen[0].kind, seen[0].severity
    ('threshold', 'critical')
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from tinytroupe.events import Event, EventBus, MemoryEvent

Severity = Literal["info", "warning", "critical"]


class _HasBus(Protocol):
    name: str

    @property
    def bus(self) -> EventBus: ...


class MemoryAlert(BaseModel):
    """One alert: what, about whom, how severe, with the figures behind it."""

    kind: Literal["threshold", "abnormal_growth", "ineffective_consolidation"]
    severity: Severity
    agent: str | None
    message: str
    value: float
    wall_time: float = Field(default_factory=time.time)
    step: int | None = None


class MemorySnapshot(BaseModel):
    """An agent's memory figures at one moment (from a memory event)."""

    agent: str
    wall_time: float
    step: int | None
    operation: str
    episodic_size: int
    semantic_size: int
    max_size: int
    usage_ratio: float
    consolidations: int
    evictions: int


class MemoryMonitor:
    """Collects memory snapshots per agent and raises alerts.

    Args:
        bus: a bus to attach to at once (more with :meth:`attach` or :meth:`track_agent`).
        usage_threshold, critical_threshold: episodic usage ratios for warning and critical alerts.
        growth_threshold, growth_window: abnormal growth of semantic memory (fraction over snapshots).
        min_compression: facts per consolidated item above which consolidation is ineffective.
        max_snapshots: snapshots kept per agent (oldest dropped: the monitor is bounded too).
    """

    def __init__(self, bus: EventBus | None = None, *, usage_threshold: float = 0.8, critical_threshold: float = 0.95,
                 growth_threshold: float = 0.5, growth_window: int = 10, min_compression: float = 0.8,
                 max_snapshots: int = 1000) -> None:
        self.usage_threshold = usage_threshold
        self.critical_threshold = critical_threshold
        self.growth_threshold = growth_threshold
        self.growth_window = growth_window
        self.min_compression = min_compression
        self.max_snapshots = max_snapshots
        self._snapshots: dict[str, deque[MemorySnapshot]] = {}
        self.alerts: list[MemoryAlert] = []
        self._callbacks: list[Callable[[MemoryAlert], Any]] = []
        self._tracked: set[str] = set()
        self._active: set[tuple[str, str]] = set()  # (agent, alert kind) currently raised
        self._subs: list[tuple[EventBus, int]] = []
        self._lock = threading.Lock()
        if bus is not None:
            self.attach(bus)

    # ---------------------------------------------------------------- wiring

    def attach(self, bus: EventBus) -> MemoryMonitor:
        """Listen to memory events on ``bus`` (once per bus)."""
        if all(b is not bus for b, _ in self._subs):
            self._subs.append((bus, bus.subscribe(self._on_event, kinds=["memory"])))
        return self

    def detach(self) -> None:
        for bus, token in self._subs:
            bus.unsubscribe(token)
        self._subs.clear()

    def track_agent(self, agent: _HasBus | str) -> MemoryMonitor:
        """Follow this agent (by name; an agent object also attaches its bus). No agents tracked: all are."""
        if isinstance(agent, str):
            self._tracked.add(agent)
        else:
            self._tracked.add(agent.name)
            self.attach(agent.bus)
        return self

    def on_alert(self, callback: Callable[[MemoryAlert], Any]) -> None:
        """Call ``callback(alert)`` for every new alert."""
        self._callbacks.append(callback)

    # ---------------------------------------------------------------- input

    def _on_event(self, event: Event) -> None:
        if isinstance(event, MemoryEvent) and event.agent is not None:
            if self._tracked and event.agent not in self._tracked:
                return
            self.record_snapshot(event)

    def record_snapshot(self, event: MemoryEvent) -> MemorySnapshot:
        """Store a snapshot from ``event`` and check the alert conditions."""
        agent = event.agent or "?"
        snap = MemorySnapshot(agent=agent, wall_time=event.wall_time, step=event.step, operation=event.operation,
                              episodic_size=event.episodic_size, semantic_size=event.semantic_size,
                              max_size=event.max_size, usage_ratio=event.usage_ratio,
                              consolidations=event.consolidations, evictions=event.evictions)
        with self._lock:
            history = self._snapshots.setdefault(agent, deque(maxlen=self.max_snapshots))
            history.append(snap)
            recent = list(history)[-self.growth_window - 1:]
        self._check_threshold(snap)
        self._check_growth(agent, recent, event.step)
        if event.operation == "consolidate":
            self._check_consolidation(event)
        return snap

    # ---------------------------------------------------------------- alerts

    def _raise(self, alert: MemoryAlert) -> None:
        with self._lock:
            self.alerts.append(alert)
        for callback in list(self._callbacks):
            callback(alert)

    def _once(self, agent: str, kind: str, condition: bool) -> bool:
        """True the first time ``condition`` holds since it last did not (no alert storms)."""
        key = (agent, kind)
        with self._lock:
            if condition and key not in self._active:
                self._active.add(key)
                return True
            if not condition:
                self._active.discard(key)
            return False

    def _check_threshold(self, snap: MemorySnapshot) -> None:
        critical = snap.usage_ratio >= self.critical_threshold
        if self._once(snap.agent, "threshold:critical", critical):
            self._raise(MemoryAlert(kind="threshold", severity="critical", agent=snap.agent, value=snap.usage_ratio,
                                    step=snap.step, message=f"{snap.agent}: episodic memory {snap.usage_ratio:.0%} "
                                    f"full ({snap.episodic_size}/{snap.max_size})"))
        warn = self.usage_threshold <= snap.usage_ratio < self.critical_threshold
        if self._once(snap.agent, "threshold:warning", warn or critical) and not critical:
            self._raise(MemoryAlert(kind="threshold", severity="warning", agent=snap.agent, value=snap.usage_ratio,
                                    step=snap.step, message=f"{snap.agent}: episodic memory {snap.usage_ratio:.0%} "
                                    f"full ({snap.episodic_size}/{snap.max_size})"))

    def _check_growth(self, agent: str, recent: list[MemorySnapshot], step: int | None) -> None:
        if len(recent) <= self.growth_window:
            self._once(agent, "growth", False)
            return
        first, last = recent[0].semantic_size, recent[-1].semantic_size
        growth = (last - first) / max(first, 1)
        if self._once(agent, "growth", growth > self.growth_threshold and last - first >= 10):
            self._raise(MemoryAlert(kind="abnormal_growth", severity="warning", agent=agent, value=growth, step=step,
                                    message=f"{agent}: semantic memory grew {growth:.0%} ({first} to {last}) over "
                                            f"{self.growth_window} snapshots"))

    def _check_consolidation(self, event: MemoryEvent) -> None:
        ratio = event.items_out / event.items_in if event.items_in else 0.0
        bad = event.items_in > 0 and (ratio > self.min_compression or event.items_out == 0)
        if bad:
            what = "wrote no facts" if event.items_out == 0 else f"wrote {ratio:.2f} facts per item"
            self._raise(MemoryAlert(kind="ineffective_consolidation", severity="warning", agent=event.agent,
                                    value=ratio, step=event.step,
                                    message=f"{event.agent}: consolidation of {event.items_in} items {what}"))

    # ---------------------------------------------------------------- output

    @property
    def agents(self) -> list[str]:
        return sorted(self._snapshots)

    def snapshots(self, agent: str) -> list[MemorySnapshot]:
        with self._lock:
            return list(self._snapshots.get(agent, ()))

    def get_alerts(self, agent: str | None = None, severity: Severity | None = None) -> list[MemoryAlert]:
        return [a for a in self.alerts if (agent is None or a.agent == agent)
                and (severity is None or a.severity == severity)]

    def get_trends(self, agent: str) -> dict[str, float | int | None]:
        """Latest figures and growth per snapshot (least-squares slope) of an agent's memory."""
        snaps = self.snapshots(agent)
        if not snaps:
            return {"snapshots": 0, "episodic_size": None, "semantic_size": None, "usage_ratio": None,
                    "episodic_slope": None, "semantic_slope": None}

        def slope(values: list[float]) -> float:
            n = len(values)
            if n < 2:
                return 0.0
            mx, my = (n - 1) / 2, sum(values) / n
            den = sum((i - mx) ** 2 for i in range(n))
            return sum((i - mx) * (v - my) for i, v in enumerate(values)) / den

        last = snaps[-1]
        return {"snapshots": len(snaps), "episodic_size": last.episodic_size, "semantic_size": last.semantic_size,
                "usage_ratio": last.usage_ratio, "consolidations": last.consolidations, "evictions": last.evictions,
                "episodic_slope": slope([s.episodic_size for s in snaps]),
                "semantic_slope": slope([s.semantic_size for s in snaps])}

    def report(self) -> str:
        """A text report: one line per agent, then the alerts."""
        lines = ["Memory report", f"{'agent':<20} {'episodic':>9} {'max':>6} {'usage':>6} {'semantic':>9} "
                 f"{'consol.':>8} {'evicted':>8} {'ep/snap':>8}"]
        for agent in self.agents:
            t = self.get_trends(agent)
            lines.append(f"{agent:<20} {t['episodic_size']:>9} {self.snapshots(agent)[-1].max_size:>6} "
                         f"{t['usage_ratio'] or 0:>6.0%} {t['semantic_size']:>9} {t['consolidations']:>8} "
                         f"{t['evictions']:>8} {t['episodic_slope'] or 0:>8.2f}")
        lines.append(f"Alerts: {len(self.alerts)}")
        lines += [f"  [{a.severity}] {a.kind}: {a.message}" for a in self.alerts[-20:]]
        return "\n".join(lines)


__all__ = ["MemoryAlert", "MemoryMonitor", "MemorySnapshot", "Severity"]
