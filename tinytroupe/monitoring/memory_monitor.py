"""Monitoring agents' memory: snapshots, trends, alerts with callbacks, reports.

The monitor is a subscriber of the event bus (agents publish a
:class:`~tinytroupe.events.MemoryEvent` after each turn and one per eviction, consolidation,
reflection and forgetting); agent code never calls it. You can also take a snapshot yourself, as
the roadmap's examples do: ``monitor.record_snapshot(agent)`` reads ``agent.get_memory_stats()``.

Alerts (each raised once per episode of the condition, then passed to every callback):

* ``threshold``: episodic memory at or over ``alert_threshold`` of its bound (``warning``) or at or
  over ``critical_threshold`` (``critical``);
* ``abnormal_growth``: semantic memory grew by more than ``growth_threshold`` (a fraction) over the
  last ``growth_window`` snapshots;
* ``ineffective_consolidation``: a consolidation wrote more than ``min_compression`` facts per
  episodic item (it did not compress), or consumed items and wrote none.

Names: the roadmap's are the primary ones (``alert_threshold``, ``register_alert_callback``,
``generate_report``, ``get_alerts(agent_name=...)``, ``MemoryAlert.agent_name``/``alert_type``/
``timestamp``); the earlier ones still work (``usage_threshold``, ``on_alert``, ``report``,
``get_alerts(agent=...)``, ``MemoryAlert.agent``/``kind``/``wall_time``). See ``docs/memory.md``.

Example:
    >>> from tinytroupe.events import EventBus, MemoryEvent
    >>> bus = EventBus()
    >>> monitor = MemoryMonitor(bus, alert_threshold=0.8)
    >>> seen = []
    >>> monitor.register_alert_callback(seen.append)
    >>> bus.publish(MemoryEvent(operation="snapshot", agent="Ana", episodic_size=95, max_size=100, usage_ratio=0.95))
    >>> seen[0].alert_type, seen[0].severity
    ('threshold', 'critical')
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from tinytroupe.errors import InvalidArgument
from tinytroupe.events import Event, EventBus, MemoryEvent
from tinytroupe.monitoring.alert_rules import AlertRules
from tinytroupe.monitoring.monitor_reports import MonitorReports
from tinytroupe.monitoring.records import (
    AgentMemoryStats,
    MemoryAlert,
    MemorySnapshot,
    Severity,
    Trend,
    _HasBus,
    _HasStats,
    trend_of,
)


class MemoryMonitor(AlertRules, MonitorReports):
    """Collects memory snapshots per agent, computes trends and raises alerts.

    The alert rules are in :mod:`.alert_rules`, trends, statistics and reports in
    :mod:`.monitor_reports`, the records it keeps in :mod:`.records`.

    Args:
        bus: a bus to attach to at once (more with :meth:`attach` or :meth:`track_agent`). A number
            here is taken as ``alert_threshold``.
        alert_threshold: episodic usage ratio (size / bound) of a ``warning`` alert (default 0.8).
        critical_threshold: usage ratio of a ``critical`` alert (default 0.95, or ``alert_threshold``
            when that is higher).
        growth_threshold, growth_window: abnormal growth of semantic memory (fraction over snapshots).
        min_compression: facts per consolidated item above which consolidation is ineffective.
        max_snapshots: snapshots kept per agent (the oldest are dropped: the monitor is bounded too).
        max_alerts: alerts kept (the oldest are dropped; per-agent totals keep counting).
        usage_threshold: earlier name of ``alert_threshold``.

    Raises:
        ValueError: thresholds out of order (``0 < alert_threshold <= critical_threshold``), or
            ``alert_threshold`` and ``usage_threshold`` both given with different values.

    Example:
        >>> from tinytroupe.agent import TinyPerson
        >>> from tinytroupe.llm import LLMClient, ScriptedBackend
        >>> ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend(["unused"])))
        >>> monitor = MemoryMonitor(alert_threshold=0.8)
        >>> _ = monitor.track_agent(ana)
        >>> _ = ana.store_in_memory({"content": "Hello", "type": "stimulus"})
        >>> monitor.record_snapshot(ana).episodic_size
        1
        >>> monitor.get_agent_stats("Ana")["memory_trend"]
        'insufficient_data'
    """

    def __init__(self, bus: EventBus | float | None = None, *, alert_threshold: float | None = None,
                 critical_threshold: float | None = None, growth_threshold: float = 0.5, growth_window: int = 10,
                 min_compression: float = 0.8, max_snapshots: int = 1000, max_alerts: int = 1000,
                 usage_threshold: float | None = None) -> None:
        if isinstance(bus, int | float) and not isinstance(bus, bool):
            # MemoryMonitor(0.8): the roadmap's monitor takes its threshold first.
            if alert_threshold is not None:
                raise InvalidArgument("alert_threshold given twice (positionally and by keyword)")
            alert_threshold, bus = float(bus), None
        if alert_threshold is not None and usage_threshold is not None and alert_threshold != usage_threshold:
            raise InvalidArgument(f"alert_threshold={alert_threshold} and usage_threshold={usage_threshold} are the "
                                  "same setting (usage_threshold is its earlier name); give one")
        alert = alert_threshold if alert_threshold is not None else usage_threshold
        self.alert_threshold = float(alert) if alert is not None else 0.8
        self.critical_threshold = (float(critical_threshold) if critical_threshold is not None
                                   else max(0.95, self.alert_threshold))
        if not 0 < self.alert_threshold <= self.critical_threshold:
            raise InvalidArgument(f"need 0 < alert_threshold <= critical_threshold, got alert_threshold="
                                  f"{self.alert_threshold} and critical_threshold={self.critical_threshold}")
        if growth_window < 1 or max_snapshots < 2 or max_alerts < 1:
            raise InvalidArgument("growth_window must be >= 1, max_snapshots >= 2 and max_alerts >= 1")
        self.growth_threshold = growth_threshold
        self.growth_window = growth_window
        self.min_compression = min_compression
        self.max_snapshots = max_snapshots
        self.max_alerts = max_alerts
        self._snapshots: dict[str, deque[MemorySnapshot]] = {}
        self.alerts: list[MemoryAlert] = []
        self._alert_totals: dict[str, dict[tuple[str, str], int]] = {}  # agent -> (type, severity) -> count
        self._callbacks: list[Callable[[MemoryAlert], Any]] = []
        self._tracked: set[str] = set()
        self._active: set[tuple[str, str]] = set()  # (agent, alert key) currently raised
        self._subs: list[tuple[EventBus, int]] = []
        self._lock = threading.Lock()
        if isinstance(bus, EventBus):
            self.attach(bus)

    @property
    def usage_threshold(self) -> float:
        """Earlier name of :attr:`alert_threshold`."""
        return self.alert_threshold

    # ---------------------------------------------------------------- wiring

    def attach(self, bus: EventBus) -> MemoryMonitor:
        """Listen to memory events on ``bus`` (once per bus).

        Example:
            >>> bus = EventBus()
            >>> _ = MemoryMonitor().attach(bus).attach(bus)
            >>> bus.subscriber_count
            1
        """
        with self._lock:
            if all(b is not bus for b, _ in self._subs):
                self._subs.append((bus, bus.subscribe(self._on_event, kinds=["memory"])))
        return self

    def detach(self) -> None:
        """Stop listening to every bus.

        Example:
            >>> bus = EventBus()
            >>> monitor = MemoryMonitor(bus)
            >>> monitor.detach(); bus.subscriber_count
            0
        """
        with self._lock:
            subs, self._subs = self._subs, []
        for bus, token in subs:
            bus.unsubscribe(token)

    def track_agent(self, agent: _HasBus | str) -> MemoryMonitor:
        """Follow this agent: an agent object also subscribes the monitor to its bus; a name only filters.

        While no agent is tracked, events of every agent are recorded; once some are, only theirs.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> from tinytroupe.llm import LLMClient, ScriptedBackend
            >>> ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend(["unused"])))
            >>> before = ana.bus.subscriber_count  # the client's usage ledger
            >>> monitor = MemoryMonitor().track_agent(ana)
            >>> monitor.tracked_agents, ana.bus.subscriber_count - before
            (['Ana'], 1)
        """
        if isinstance(agent, str):
            with self._lock:
                self._tracked.add(agent)
        else:
            with self._lock:
                self._tracked.add(agent.name)
            self.attach(agent.bus)
        return self

    @property
    def tracked_agents(self) -> list[str]:
        """Names passed to :meth:`track_agent`, sorted."""
        return sorted(self._tracked)

    def register_alert_callback(self, callback: Callable[[MemoryAlert], Any]) -> None:
        """Call ``callback(alert)`` for every new alert (on the thread that raised it).

        A callback's exception propagates to whoever caused the snapshot (nothing is swallowed).

        Example:
            >>> monitor, seen = MemoryMonitor(), []
            >>> monitor.register_alert_callback(seen.append)
            >>> _ = monitor.record_snapshot(MemoryEvent(operation="snapshot", agent="Ana", episodic_size=8,
            ...                                         max_size=10, usage_ratio=0.8))
            >>> [a.severity for a in seen]
            ['warning']
        """
        with self._lock:
            self._callbacks.append(callback)

    def on_alert(self, callback: Callable[[MemoryAlert], Any]) -> None:
        """Earlier name of :meth:`register_alert_callback`.

        Example:
            >>> MemoryMonitor().on_alert(print)
        """
        self.register_alert_callback(callback)

    # ---------------------------------------------------------------- input

    def _on_event(self, event: Event) -> None:
        if isinstance(event, MemoryEvent) and event.agent is not None:
            if self._tracked and event.agent not in self._tracked:
                return
            self.record_snapshot(event)

    def record_snapshot(self, agent: _HasStats | MemoryEvent) -> MemorySnapshot:
        """Take a snapshot of ``agent`` (its ``get_memory_stats()``) now, or store one from a memory event;
        then check the alert conditions. Returns the snapshot.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> lisa = TinyPerson("Lisa")
            >>> monitor = MemoryMonitor()
            >>> _ = lisa.store_in_memory({"content": "It is raining", "type": "stimulus"})
            >>> snap = monitor.record_snapshot(lisa)
            >>> snap.source, snap.episodic_size, snap.stats["cleanup_strategy"]
            ('agent', 1, 'fifo')
        """
        snap = MemorySnapshot.from_event(agent) if isinstance(agent, MemoryEvent) else MemorySnapshot.from_agent(agent)
        with self._lock:
            history = self._snapshots.setdefault(snap.agent, deque(maxlen=self.max_snapshots))
            history.append(snap)
            recent = list(history)[-self.growth_window - 1:]
        self._check_threshold(snap)
        self._check_growth(snap, recent)
        if snap.operation == "consolidate":
            self._check_consolidation(snap)
        return snap

    # ---------------------------------------------------------------- output

    @property
    def agents(self) -> list[str]:
        """Names of the agents with snapshots, sorted."""
        with self._lock:
            return sorted(self._snapshots)

    def snapshots(self, agent: str) -> list[MemorySnapshot]:
        """The kept snapshots of ``agent``, oldest first (empty for an unknown agent).

        Example:
            >>> MemoryMonitor().snapshots("Nobody")
            []
        """
        with self._lock:
            return list(self._snapshots.get(agent, ()))

    def get_alerts(self, agent_name: str | None = None, severity: Severity | None = None, *,
                   alert_type: str | None = None, agent: str | None = None) -> list[MemoryAlert]:
        """Kept alerts, oldest first, filtered by agent, severity and type (``agent`` is the earlier keyword).

        Example:
            >>> monitor = MemoryMonitor()
            >>> _ = monitor.record_snapshot(MemoryEvent(operation="snapshot", agent="Ana", episodic_size=99,
            ...                                         max_size=100, usage_ratio=0.99))
            >>> len(monitor.get_alerts(agent_name="Ana", severity="critical")), monitor.get_alerts(severity="warning")
            (1, [])
        """
        name = agent_name if agent_name is not None else agent
        with self._lock:
            alerts = list(self.alerts)
        return [a for a in alerts if (name is None or a.agent_name == name)
                and (severity is None or a.severity == severity)
                and (alert_type is None or a.alert_type == alert_type)]


__all__ = ["AgentMemoryStats", "MemoryAlert", "MemoryMonitor", "MemorySnapshot", "Severity", "Trend", "trend_of"]
