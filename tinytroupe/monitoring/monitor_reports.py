"""What the memory monitor tells: trends and statistics per agent, and text reports (one agent, or a
table of every agent with the latest alerts).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING

from tinytroupe.errors import NotFound
from tinytroupe.monitoring.records import AgentMemoryStats, MemoryAlert, MemorySnapshot, Severity, _slope, trend_of


class MonitorReports:
    """Mixin of :class:`~tinytroupe.monitoring.MemoryMonitor`: trends, statistics and reports."""

    if TYPE_CHECKING:
        _tracked: set[str]
        _snapshots: dict[str, deque[MemorySnapshot]]
        _alert_totals: dict[str, dict[tuple[str, str], int]]
        _lock: threading.Lock

        @property
        def agents(self) -> list[str]: ...

        def snapshots(self, agent: str) -> list[MemorySnapshot]: ...

        def get_alerts(self, agent_name: str | None = None, severity: Severity | None = None, *,
                       alert_type: str | None = None, agent: str | None = None) -> list[MemoryAlert]: ...

    def get_trends(self, agent: str) -> dict[str, float | int | None]:
        """Latest figures and growth per snapshot (least-squares slope) of an agent's memory.

        Example:
            >>> from tinytroupe.events import MemoryEvent
            >>> from tinytroupe.monitoring import MemoryMonitor
            >>> monitor = MemoryMonitor()
            >>> for n in (1, 3, 5):
            ...     _ = monitor.record_snapshot(MemoryEvent(operation="snapshot", agent="Ana", episodic_size=n,
            ...                                             max_size=100, usage_ratio=n / 100))
            >>> monitor.get_trends("Ana")["episodic_slope"]
            2.0
        """
        snaps = self.snapshots(agent)
        if not snaps:
            return {"snapshots": 0, "episodic_size": None, "semantic_size": None, "usage_ratio": None,
                    "episodic_slope": None, "semantic_slope": None}
        last = snaps[-1]
        return {"snapshots": len(snaps), "episodic_size": last.episodic_size, "semantic_size": last.semantic_size,
                "usage_ratio": last.usage_ratio, "consolidations": last.consolidations, "evictions": last.evictions,
                "episodic_slope": _slope([s.episodic_size for s in snaps]),
                "semantic_slope": _slope([s.semantic_size for s in snaps])}

    def get_agent_stats(self, agent_name: str) -> AgentMemoryStats:
        """Statistics of one agent's memory over its snapshots: sizes, trend, alerts.

        ``memory_trend`` is the direction of the episodic memory's size over the snapshots (see
        :func:`trend_of`); ``total_alerts`` counts every alert raised for the agent.

        Raises:
            KeyError: the monitor neither tracks nor has snapshots of ``agent_name``.

        Example:
            >>> from tinytroupe.events import MemoryEvent
            >>> from tinytroupe.monitoring import MemoryMonitor
            >>> monitor = MemoryMonitor()
            >>> for n in (10, 20, 30):
            ...     _ = monitor.record_snapshot(MemoryEvent(operation="snapshot", agent="Ana", episodic_size=n,
            ...                                             max_size=100, usage_ratio=n / 100))
            >>> stats = monitor.get_agent_stats("Ana")
            >>> stats["memory_trend"], stats["peak_memory_size"], stats["total_alerts"]
            ('increasing', 30, 0)
        """
        snaps = self.snapshots(agent_name)
        with self._lock:
            known = agent_name in self._tracked or agent_name in self._snapshots
            totals = dict(self._alert_totals.get(agent_name, {}))
        if not known:
            raise NotFound(f"the monitor has no agent named {agent_name!r}; it knows "
                           f"{', '.join(repr(a) for a in sorted({*self.agents, *self._tracked})) or 'none'} "
                           "(track it with monitor.track_agent(agent) or take monitor.record_snapshot(agent))")
        by_severity = {s: 0 for s in ("info", "warning", "critical")}
        by_type: dict[str, int] = {}
        for (alert_type, severity), n in totals.items():
            by_severity[severity] = by_severity.get(severity, 0) + n
            by_type[alert_type] = by_type.get(alert_type, 0) + n
        sizes = [float(s.episodic_size) for s in snaps]
        last = snaps[-1] if snaps else None
        return AgentMemoryStats(
            agent_name=agent_name,
            total_snapshots=len(snaps),
            current_memory_size=last.episodic_size if last else None,
            max_memory_size=last.max_size if last else None,
            peak_memory_size=max(s.episodic_size for s in snaps) if snaps else None,
            average_memory_size=sum(sizes) / len(sizes) if sizes else None,
            usage_ratio=last.usage_ratio if last else None,
            semantic_size=last.semantic_size if last else None,
            consolidations=last.consolidations if last else None,
            evictions=last.evictions if last else None,
            memory_trend=trend_of(sizes, scale=last.max_size if last else 0.0),
            growth_per_snapshot=_slope(sizes) if len(sizes) >= 2 else None,
            semantic_trend=trend_of([float(s.semantic_size) for s in snaps]),
            total_alerts=sum(totals.values()),
            alerts_by_severity=by_severity,
            alerts_by_type=by_type,
            first_snapshot=snaps[0].timestamp.isoformat() if snaps else None,
            last_snapshot=last.timestamp.isoformat() if last else None,
        )

    def generate_report(self, agent_name: str | None = None) -> str:
        """A text report on one agent (figures, trend, its alerts), or with no name a table of every agent.

        Example:
            >>> from tinytroupe.events import MemoryEvent
            >>> from tinytroupe.monitoring import MemoryMonitor
            >>> monitor = MemoryMonitor()
            >>> _ = monitor.record_snapshot(MemoryEvent(operation="snapshot", agent="Ana", episodic_size=5,
            ...                                         max_size=10, usage_ratio=0.5))
            >>> print(monitor.generate_report("Ana"))  # doctest: +ELLIPSIS
            Memory report for Ana
              snapshots:          1 (...)
              episodic memory:    5 of 10 items (50% full); peak 5, mean 5.0
              trend:              insufficient_data
              semantic memory:    0 facts (trend insufficient_data)
              consolidations:     0; evictions: 0
              alerts:             0 (critical 0, warning 0, info 0)
        """
        if agent_name is None:
            return self._table_report()
        s = self.get_agent_stats(agent_name)
        lines = [f"Memory report for {agent_name}"]
        if s["total_snapshots"] == 0:
            lines.append("  no snapshots yet (take one with monitor.record_snapshot(agent), or let the agent act)")
        else:
            first, last = s["first_snapshot"], s["last_snapshot"]
            span = first if s["total_snapshots"] == 1 else f"{first} to {last}"
            growth = s["growth_per_snapshot"]
            trend = s["memory_trend"] + (f" ({growth:+.2f} items per snapshot)" if growth is not None else "")
            lines += [
                f"  snapshots:          {s['total_snapshots']} ({span})",
                f"  episodic memory:    {s['current_memory_size']} of {s['max_memory_size']} items "
                f"({s['usage_ratio'] or 0:.0%} full); peak {s['peak_memory_size']}, "
                f"mean {s['average_memory_size']:.1f}",
                f"  trend:              {trend}",
                f"  semantic memory:    {s['semantic_size']} facts (trend {s['semantic_trend']})",
                f"  consolidations:     {s['consolidations']}; evictions: {s['evictions']}",
            ]
        sev = s["alerts_by_severity"]
        lines.append(f"  alerts:             {s['total_alerts']} (critical {sev['critical']}, "
                     f"warning {sev['warning']}, info {sev['info']})")
        lines += [f"    {a}" for a in self.get_alerts(agent_name=agent_name)[-20:]]
        return "\n".join(lines)

    def _table_report(self) -> str:
        lines = ["Memory report", f"{'agent':<20} {'episodic':>9} {'max':>6} {'usage':>6} {'semantic':>9} "
                 f"{'consol.':>8} {'evicted':>8} {'ep/snap':>8} {'trend':>17}"]
        for agent in self.agents:
            t = self.get_trends(agent)
            trend = self.get_agent_stats(agent)["memory_trend"]
            lines.append(f"{agent:<20} {t['episodic_size']:>9} {self.snapshots(agent)[-1].max_size:>6} "
                         f"{t['usage_ratio'] or 0:>6.0%} {t['semantic_size']:>9} {t['consolidations']:>8} "
                         f"{t['evictions']:>8} {t['episodic_slope'] or 0:>8.2f} {trend:>17}")
        alerts = self.get_alerts()
        lines.append(f"Alerts: {len(alerts)}")
        lines += [f"  [{a.severity}] {a.alert_type}: {a.message}" for a in alerts[-20:]]
        return "\n".join(lines)

    def report(self) -> str:
        """Earlier name of :meth:`generate_report` with no agent: one line per agent, then the alerts.

        Example:
            >>> from tinytroupe.monitoring import MemoryMonitor
            >>> MemoryMonitor().report().splitlines()[-1]
            'Alerts: 0'
        """
        return self._table_report()


__all__ = ["MonitorReports"]
