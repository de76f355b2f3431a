"""Memory charts from a :class:`~tinytroupe.monitoring.MemoryMonitor`: HTML report, JSON, ASCII.

The HTML report is one self-contained file (inline SVG, no scripts, no downloads).

Example:
    >>> from tinytroupe.events import EventBus, MemoryEvent
    >>> from tinytroupe.monitoring import MemoryMonitor
    >>> bus = EventBus(); monitor = MemoryMonitor(bus)
    >>> for n in (1, 2, 3):
    ...     bus.publish(MemoryEvent(operation="snapshot", agent="Ana", episodic_size=n, max_size=10))
    >>> MemoryVisualizer(monitor).ascii_chart("Ana", height=3).splitlines()[0]
    'Ana episodic_size (1 .. 3)'
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any, Protocol

_METRICS = ("episodic_size", "semantic_size", "usage_ratio")


class _Monitor(Protocol):
    @property
    def agents(self) -> list[str]: ...

    def snapshots(self, agent: str) -> list[Any]: ...

    def get_trends(self, agent: str) -> dict[str, Any]: ...

    @property
    def alerts(self) -> list[Any]: ...


class MemoryVisualizer:
    """Renders what a monitor collected."""

    def __init__(self, monitor: _Monitor) -> None:
        self.monitor = monitor

    def series(self, agent: str, metric: str) -> list[float]:
        if metric not in _METRICS:
            raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(_METRICS)}")
        return [float(getattr(s, metric)) for s in self.monitor.snapshots(agent)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "agents": {a: {"snapshots": [s.model_dump() for s in self.monitor.snapshots(a)],
                           "trends": self.monitor.get_trends(a)} for a in self.monitor.agents},
            "alerts": [a.model_dump() for a in self.monitor.alerts],
        }

    def to_json(self, path: str | Path | None = None) -> str:
        """The snapshots, trends and alerts as JSON (also written to ``path`` when given)."""
        text = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def ascii_chart(self, agent: str, metric: str = "episodic_size", *, width: int = 60, height: int = 8) -> str:
        """A console chart of one metric (the last ``width`` snapshots)."""
        values = self.series(agent, metric)[-width:]
        lo, hi = (min(values), max(values)) if values else (0.0, 0.0)
        lines = [f"{agent} {metric} ({lo:g} .. {hi:g})"]
        span = hi - lo or 1.0
        levels = [round((v - lo) / span * (height - 1)) for v in values]
        for row in range(height - 1, -1, -1):
            lines.append("|" + "".join("#" if lvl >= row else " " for lvl in levels))
        lines.append("+" + "-" * len(values))
        return "\n".join(lines)

    @staticmethod
    def _svg(values: list[float], title: str, w: int = 420, h: int = 140) -> str:
        if not values:
            return f"<p>{html.escape(title)}: no data</p>"
        lo, hi = min(values), max(values)
        span = hi - lo or 1.0
        step = (w - 20) / max(len(values) - 1, 1)
        points = " ".join(f"{10 + i * step:.1f},{h - 20 - (v - lo) / span * (h - 40):.1f}"
                          for i, v in enumerate(values))
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img">'
                f'<title>{html.escape(title)}</title><rect width="{w}" height="{h}" fill="#fafafa" stroke="#ccc"/>'
                f'<text x="10" y="14" font-size="12">{html.escape(title)} ({lo:g} .. {hi:g})</text>'
                f'<polyline fill="none" stroke="#2b6cb0" stroke-width="2" points="{points}"/></svg>')

    def to_html(self, path: str | Path | None = None) -> str:
        """A self-contained HTML report with one chart per agent and metric, trends and alerts."""
        parts = ["<!doctype html><html><head><meta charset='utf-8'><title>Memory report</title>",
                 "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
                 "td,th{border:1px solid #ccc;padding:4px 8px}</style></head><body><h1>Memory report</h1>"]
        for agent in self.monitor.agents:
            parts.append(f"<h2>{html.escape(agent)}</h2>")
            parts += [self._svg(self.series(agent, m), m) for m in _METRICS]
            trends = self.monitor.get_trends(agent)
            parts.append("<table>" + "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                                             for k, v in trends.items()) + "</table>")
        parts.append(f"<h2>Alerts ({len(self.monitor.alerts)})</h2><ul>")
        parts += [f"<li>[{html.escape(a.severity)}] {html.escape(a.kind)}: {html.escape(a.message)}</li>"
                  for a in self.monitor.alerts]
        parts.append("</ul></body></html>")
        text = "\n".join(parts)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text


__all__ = ["MemoryVisualizer"]
