"""Memory charts from a :class:`~tinytroupe.monitoring.MemoryMonitor`: chart data, HTML report, JSON, ASCII.

The HTML report (:mod:`.memory_html`) is one self-contained page: its charts are inline SVG
(:mod:`.svg_charts`: axes, ticks, axis titles, legends), with no script, stylesheet, font or image
fetched from anywhere.

Names: the roadmap's are the primary ones (``prepare_memory_timeline_data``,
``prepare_consolidation_data``, ``generate_html_report``, ``export_data_json``,
``print_ascii_chart``); the earlier ones still work (``to_html``, ``to_json``, ``to_dict``,
``ascii_chart``, ``series``). Metric names: ``memory_size`` (the roadmap's name for the episodic
memory's size, also ``episodic_size``), ``semantic_size``, ``usage_ratio``, ``max_size``,
``consolidations``, ``evictions``.

Example:
    >>> from tinytroupe.events import EventBus, MemoryEvent
    >>> from tinytroupe.monitoring import MemoryMonitor
    >>> bus = EventBus(); monitor = MemoryMonitor(bus)
    >>> for n in (1, 2, 3):
    ...     bus.publish(MemoryEvent(operation="snapshot", agent="Ana", episodic_size=n, max_size=10))
    >>> MemoryVisualizer(monitor).print_ascii_chart("Ana", height=3).splitlines()[0]
    'Ana memory_size (1 .. 3)'
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict

from tinytroupe.errors import InvalidArgument, NotFound
from tinytroupe.monitoring.memory_monitor import MemoryMonitor, MemorySnapshot
from tinytroupe.visualization.memory_html import MemoryHtmlReport
from tinytroupe.visualization.svg_charts import nice_ticks, svg_bar_chart, svg_line_chart

#: metric name -> MemorySnapshot attribute (``memory_size`` is the roadmap's name for the episodic size)
_METRICS = {"memory_size": "episodic_size", "episodic_size": "episodic_size", "semantic_size": "semantic_size",
            "usage_ratio": "usage_ratio", "max_size": "max_size", "consolidations": "consolidations",
            "evictions": "evictions"}



class MemoryTimelineData(TypedDict):
    """What :meth:`MemoryVisualizer.prepare_memory_timeline_data` returns: one entry per snapshot in each list."""

    agent_name: str
    snapshot_numbers: list[int]
    timestamps: list[str]
    sim_times: list[str | None]
    steps: list[int | None]
    operations: list[str]
    memory_sizes: list[int]
    max_sizes: list[int]
    usage_ratios: list[float]
    semantic_sizes: list[int]
    consolidations: list[int]
    evictions: list[int]
    alert_threshold: float
    critical_threshold: float


class ConsolidationData(TypedDict):
    """What :meth:`MemoryVisualizer.prepare_consolidation_data` returns.

    ``timestamps`` .. ``automatic`` have one entry per consolidation the monitor saw on the bus;
    ``consolidation_counts`` is the agent's running count at each snapshot (also known without the
    bus); ``metrics`` is the agent's latest ``get_consolidation_metrics()`` (None if never read).
    """

    agent_name: str
    total_consolidations: int
    timestamps: list[str]
    sim_times: list[str | None]
    items_consolidated: list[int]
    facts_written: list[int]
    compression: list[float | None]
    durations_s: list[float]
    automatic: list[bool | None]
    snapshot_numbers: list[int]
    consolidation_counts: list[int]
    metrics: dict[str, Any] | None


def _iso(wall_time: float) -> str:
    return datetime.fromtimestamp(wall_time, UTC).isoformat()


# ------------------------------------------------------------------------------------------- visualizer

class MemoryVisualizer(MemoryHtmlReport):
    """Turns what a :class:`~tinytroupe.monitoring.MemoryMonitor` collected into chart data, pages and charts.

    Example:
        >>> from tinytroupe.events import MemoryEvent
        >>> monitor = MemoryMonitor()
        >>> _ = monitor.record_snapshot(MemoryEvent(operation="snapshot", agent="Ana", episodic_size=4, max_size=10,
        ...                                         usage_ratio=0.4))
        >>> MemoryVisualizer(monitor).prepare_memory_timeline_data("Ana")["memory_sizes"]
        [4]
    """

    def __init__(self, monitor: MemoryMonitor) -> None:
        self.monitor = monitor

    # ---------------------------------------------------------------- data

    def _snapshots(self, agent_name: str) -> list[MemorySnapshot]:
        snaps = self.monitor.snapshots(agent_name)
        if not snaps and agent_name not in self.monitor.tracked_agents:
            known = ", ".join(repr(a) for a in self.monitor.agents) or "none"
            raise NotFound(f"the monitor has no snapshots of {agent_name!r} (agents with snapshots: {known})")
        return snaps

    def series(self, agent: str, metric: str) -> list[float]:
        """One metric's values over an agent's snapshots (metric names: see the module docstring).

        Example:
            >>> from tinytroupe.events import MemoryEvent
            >>> monitor = MemoryMonitor()
            >>> _ = monitor.record_snapshot(MemoryEvent(operation="snapshot", agent="Ana", episodic_size=4))
            >>> MemoryVisualizer(monitor).series("Ana", "memory_size")
            [4.0]
        """
        if metric not in _METRICS:
            raise InvalidArgument(f"unknown metric {metric!r}; use one of {', '.join(_METRICS)}")
        return [float(getattr(s, _METRICS[metric])) for s in self.monitor.snapshots(agent)]

    def prepare_memory_timeline_data(self, agent_name: str) -> MemoryTimelineData:
        """An agent's snapshots as parallel lists, ready for any charting tool (JSON-ready).

        Raises:
            KeyError: the monitor neither tracks nor has snapshots of ``agent_name``.

        Example:
            >>> from tinytroupe.events import MemoryEvent
            >>> monitor = MemoryMonitor()
            >>> for n in (4, 6):
            ...     _ = monitor.record_snapshot(MemoryEvent(operation="snapshot", agent="Ana", episodic_size=n,
            ...                                             max_size=10, usage_ratio=n / 10))
            >>> data = MemoryVisualizer(monitor).prepare_memory_timeline_data("Ana")
            >>> data["snapshot_numbers"], data["memory_sizes"], data["usage_ratios"]
            ([1, 2], [4, 6], [0.4, 0.6])
        """
        snaps = self._snapshots(agent_name)
        return MemoryTimelineData(
            agent_name=agent_name,
            snapshot_numbers=list(range(1, len(snaps) + 1)),
            timestamps=[_iso(s.wall_time) for s in snaps],
            sim_times=[s.sim_time for s in snaps],
            steps=[s.step for s in snaps],
            operations=[s.operation for s in snaps],
            memory_sizes=[s.episodic_size for s in snaps],
            max_sizes=[s.max_size for s in snaps],
            usage_ratios=[s.usage_ratio for s in snaps],
            semantic_sizes=[s.semantic_size for s in snaps],
            consolidations=[s.consolidations for s in snaps],
            evictions=[s.evictions for s in snaps],
            alert_threshold=self.monitor.alert_threshold,
            critical_threshold=self.monitor.critical_threshold,
        )

    def prepare_consolidation_data(self, agent_name: str) -> ConsolidationData:
        """An agent's consolidations: each one seen on the bus (size, facts, time) and the running count.

        Raises:
            KeyError: the monitor neither tracks nor has snapshots of ``agent_name``.

        Example:
            >>> from tinytroupe.events import MemoryEvent
            >>> monitor = MemoryMonitor()
            >>> _ = monitor.record_snapshot(MemoryEvent(operation="consolidate", agent="Ana", items_in=20, items_out=5,
            ...                                         consolidations=1, duration_s=0.5))
            >>> data = MemoryVisualizer(monitor).prepare_consolidation_data("Ana")
            >>> data["total_consolidations"], data["items_consolidated"], data["compression"]
            (1, [20], [0.25])
        """
        snaps = self._snapshots(agent_name)
        done = [s for s in snaps if s.operation == "consolidate"]
        metrics = next((s.consolidation_metrics for s in reversed(snaps) if s.consolidation_metrics is not None),
                       None)
        return ConsolidationData(
            agent_name=agent_name,
            total_consolidations=snaps[-1].consolidations if snaps else 0,
            timestamps=[_iso(s.wall_time) for s in done],
            sim_times=[s.sim_time for s in done],
            items_consolidated=[s.items_in for s in done],
            facts_written=[s.items_out for s in done],
            compression=[s.items_out / s.items_in if s.items_in else None for s in done],
            durations_s=[s.duration_s for s in done],
            automatic=[s.automatic for s in done],
            snapshot_numbers=list(range(1, len(snaps) + 1)),
            consolidation_counts=[s.consolidations for s in snaps],
            metrics=metrics,
        )

    def _agent_data(self, agent_name: str) -> dict[str, Any]:
        return {
            "agent_name": agent_name,
            "stats": dict(self.monitor.get_agent_stats(agent_name)),
            "trends": self.monitor.get_trends(agent_name),
            "timeline": dict(self.prepare_memory_timeline_data(agent_name)),
            "consolidation": dict(self.prepare_consolidation_data(agent_name)),
            "alerts": [a.model_dump(mode="json") for a in self.monitor.get_alerts(agent_name=agent_name)],
            "snapshots": [s.model_dump(mode="json") for s in self.monitor.snapshots(agent_name)],
        }

    def to_dict(self, agent_name: str | None = None) -> dict[str, Any]:
        """JSON-ready data of one agent, or with no name ``{"agents": {name: data}, "alerts": [...]}``.

        Example:
            >>> sorted(MemoryVisualizer(MemoryMonitor()).to_dict())
            ['agents', 'alerts']
        """
        if agent_name is not None:
            return self._agent_data(agent_name)
        return {"agents": {a: self._agent_data(a) for a in self.monitor.agents},
                "alerts": [a.model_dump(mode="json") for a in self.monitor.get_alerts()]}

    def export_data_json(self, agent_name: str | None = None, path: str | Path | None = None, *,
                         indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text (for Jupyter, Plotly, pandas ...), also written to ``path`` when given.

        For one agent the keys are ``agent_name``, ``stats`` (:meth:`MemoryMonitor.get_agent_stats`),
        ``trends``, ``timeline`` (:meth:`prepare_memory_timeline_data`), ``consolidation``
        (:meth:`prepare_consolidation_data`), ``alerts`` and ``snapshots``; ``json.loads`` gives them back
        unchanged.

        Example:
            >>> from tinytroupe.events import MemoryEvent
            >>> monitor = MemoryMonitor()
            >>> _ = monitor.record_snapshot(MemoryEvent(operation="snapshot", agent="Ana", episodic_size=4))
            >>> viz = MemoryVisualizer(monitor)
            >>> json.loads(viz.export_data_json("Ana"))["timeline"] == viz.prepare_memory_timeline_data("Ana")
            True
        """
        # allow_nan=False: a NaN would make the file unreadable by strict JSON parsers; fail here instead.
        text = json.dumps(self.to_dict(agent_name), indent=indent, ensure_ascii=False, allow_nan=False)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_json(self, path: str | Path | None = None) -> str:
        """Earlier name: :meth:`export_data_json` for every agent (written to ``path`` when given).

        Example:
            >>> MemoryVisualizer(MemoryMonitor()).to_json()
            '{\\n  "agents": {},\\n  "alerts": []\\n}'
        """
        return self.export_data_json(None, path)

    # ---------------------------------------------------------------- ASCII

    def ascii_chart(self, agent: str, metric: str = "episodic_size", *, width: int = 60, height: int = 8) -> str:
        """A console chart of one metric over the last ``width`` snapshots, with its value range on the y axis.

        Example:
            >>> from tinytroupe.events import MemoryEvent
            >>> monitor = MemoryMonitor()
            >>> for n in (1, 2, 3):
            ...     _ = monitor.record_snapshot(MemoryEvent(operation="snapshot", agent="Ana", episodic_size=n))
            >>> print(MemoryVisualizer(monitor).ascii_chart("Ana", height=3))
            Ana episodic_size (1 .. 3)
            3 |  #
              | ##
            1 |###
              +---
               snapshots 1..3
        """
        if width < 1 or height < 2:
            raise InvalidArgument(f"an ASCII chart needs width >= 1 and height >= 2, got {width} and {height}")
        all_values = self.series(agent, metric)
        values = all_values[-width:]
        lo, hi = (min(values), max(values)) if values else (0.0, 0.0)
        lines = [f"{agent} {metric} ({lo:g} .. {hi:g})"]
        if not values:
            lines.append("(no snapshots yet)")
            return "\n".join(lines)
        span = hi - lo or 1.0
        levels = [round((v - lo) / span * (height - 1)) for v in values]
        top_label, bottom_label = f"{hi:g}", f"{lo:g}"
        pad = max(len(top_label), len(bottom_label))
        for row in range(height - 1, -1, -1):
            label = top_label if row == height - 1 else bottom_label if row == 0 else ""
            lines.append(f"{label:>{pad}} |" + "".join("#" if lvl >= row else " " for lvl in levels))
        lines.append(" " * pad + " +" + "-" * len(values))
        first = len(all_values) - len(values) + 1
        lines.append(" " * pad + f"  snapshots {first}..{len(all_values)}")
        return "\n".join(lines)

    def print_ascii_chart(self, agent_name: str, metric: str = "memory_size", *, width: int = 60,
                          height: int = 10) -> str:
        """The roadmap's console chart: returns the chart text (``print(viz.print_ascii_chart(name))`` shows it).

        It returns rather than prints, as the roadmap's examples use it (they print or keep its result).

        Example:
            >>> from tinytroupe.events import MemoryEvent
            >>> monitor = MemoryMonitor()
            >>> for n in (2, 4):
            ...     _ = monitor.record_snapshot(MemoryEvent(operation="snapshot", agent="Ana", episodic_size=n))
            >>> print(MemoryVisualizer(monitor).print_ascii_chart("Ana", height=2))
            Ana memory_size (2 .. 4)
            4 | #
            2 |##
              +--
               snapshots 1..2
        """
        return self.ascii_chart(agent_name, metric, width=width, height=height)


__all__ = ["ConsolidationData", "MemoryTimelineData", "MemoryVisualizer", "nice_ticks", "svg_bar_chart",
           "svg_line_chart"]
