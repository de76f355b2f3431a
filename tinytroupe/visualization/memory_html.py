"""The memory report as one self-contained HTML page: per agent its statistics, SVG charts (size,
usage of the bound, semantic memory and upkeep, consolidations) and alerts; no script, stylesheet, font
or image fetched from anywhere.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tinytroupe.monitoring.memory_monitor import MemoryMonitor
from tinytroupe.visualization.svg_charts import _pct, svg_bar_chart, svg_line_chart

if TYPE_CHECKING:
    from tinytroupe.visualization.memory_visualizer import ConsolidationData, MemoryTimelineData


class MemoryHtmlReport:
    """Mixin of :class:`~tinytroupe.visualization.MemoryVisualizer`: :meth:`generate_html_report`."""

    if TYPE_CHECKING:
        monitor: MemoryMonitor

        def prepare_memory_timeline_data(self, agent_name: str) -> MemoryTimelineData: ...

        def prepare_consolidation_data(self, agent_name: str) -> ConsolidationData: ...

    def _agent_section(self, agent_name: str) -> str:
        esc = html.escape
        timeline = self.prepare_memory_timeline_data(agent_name)
        consolidation = self.prepare_consolidation_data(agent_name)
        stats = self.monitor.get_agent_stats(agent_name)
        xs = [float(n) for n in timeline["snapshot_numbers"]]
        parts = [f"<section><h2>{esc(agent_name)}</h2>", "<table class='stats'>"]
        parts += [f"<tr><th>{esc(k)}</th><td>{esc(str(v))}</td></tr>" for k, v in stats.items()]
        parts.append("</table>")
        if not xs:
            parts.append("<p>No snapshots yet.</p></section>")
            return "".join(parts)
        limit = timeline["max_sizes"][-1]
        sizes = [float(v) for v in timeline["memory_sizes"]]
        parts.append(svg_line_chart(
            f"Episodic memory size (trend: {stats['memory_trend'].replace('_', ' ')})", "snapshot",
            "items in episodic memory", xs,
            [("episodic items", sizes)], y_min=0.0,
            refs=[(f"limit {limit}", float(limit))] if limit and limit <= 1.5 * max(sizes, default=0) else []))
        parts.append(svg_line_chart(
            "Usage of the episodic bound", "snapshot", "usage (size / bound)", xs,
            [("usage", timeline["usage_ratios"])], y_min=0.0, y_max=1.0, y_format=_pct,
            refs=[(f"alert {timeline['alert_threshold']:.0%}", timeline["alert_threshold"]),
                  (f"critical {timeline['critical_threshold']:.0%}", timeline["critical_threshold"])]))
        parts.append(svg_line_chart(
            "Semantic memory and upkeep", "snapshot", "count", xs,
            [("semantic facts", [float(v) for v in timeline["semantic_sizes"]]),
             ("consolidations", [float(v) for v in consolidation["consolidation_counts"]]),
             ("evictions", [float(v) for v in timeline["evictions"]])], y_min=0.0))
        if consolidation["items_consolidated"]:
            parts.append(svg_bar_chart(
                "Consolidations seen on the bus", "consolidation", "items",
                [str(i + 1) for i in range(len(consolidation["items_consolidated"]))],
                [("episodic items in", [float(v) for v in consolidation["items_consolidated"]]),
                 ("facts written", [float(v) for v in consolidation["facts_written"]])]))
        else:
            parts.append("<p>No consolidation seen on the bus (track the agent with monitor.track_agent(agent) "
                         "to see each one).</p>")
        alerts = self.monitor.get_alerts(agent_name=agent_name)
        parts.append(f"<h3>Alerts ({len(alerts)})</h3>")
        if alerts:
            parts.append("<table class='alerts'><tr><th>time (UTC)</th><th>severity</th><th>type</th>"
                         "<th>message</th></tr>")
            parts += [f"<tr class='{esc(a.severity)}'><td>{esc(a.timestamp.strftime('%Y-%m-%d %H:%M:%S'))}</td>"
                      f"<td>{esc(a.severity)}</td><td>{esc(a.alert_type)}</td><td>{esc(a.message)}</td></tr>"
                      for a in alerts]
            parts.append("</table>")
        parts.append("</section>")
        return "".join(parts)

    def generate_html_report(self, agent_name: str | None = None, path: str | Path | None = None) -> str:
        """A self-contained HTML page with SVG charts (axes, ticks, axis titles), statistics and alerts.

        One agent, or with no name every agent with snapshots. Also written to ``path`` when given.

        Raises:
            KeyError: the monitor neither tracks nor has snapshots of ``agent_name``.

        Example:
            >>> from tinytroupe.events import MemoryEvent
            >>> from tinytroupe.monitoring import MemoryMonitor
            >>> from tinytroupe.visualization import MemoryVisualizer
            >>> monitor = MemoryMonitor()
            >>> for n in (3, 9):
            ...     _ = monitor.record_snapshot(MemoryEvent(operation="snapshot", agent="Ana", episodic_size=n,
            ...                                             max_size=10, usage_ratio=n / 10))
            >>> page = MemoryVisualizer(monitor).generate_html_report("Ana")
            >>> page.startswith("<!doctype html>"), page.count("<svg"), "<script" in page
            (True, 3, False)
        """
        agents = [agent_name] if agent_name is not None else self.monitor.agents
        title = f"Memory report: {agent_name}" if agent_name is not None else "Memory report"
        generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        parts = ["<!doctype html>", "<html lang='en'><head><meta charset='utf-8'>",
                 f"<title>{html.escape(title)}</title>",
                 "<style>body{font-family:system-ui,sans-serif;margin:2em;color:#1a202c}"
                 "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #cbd5e0;padding:4px 8px;"
                 "text-align:left}svg.chart{display:block;margin:1em 0;border:1px solid #e2e8f0}"
                 "tr.critical td{background:#fed7d7}tr.warning td{background:#fefcbf}</style></head><body>",
                 f"<h1>{html.escape(title)}</h1>",
                 f"<p>Generated {generated}; alert threshold {self.monitor.alert_threshold:.0%}, critical "
                 f"{self.monitor.critical_threshold:.0%}.</p>"]
        parts += [self._agent_section(a) for a in agents]
        if not agents:
            parts.append("<p>No agent has snapshots yet.</p>")
        parts.append("</body></html>")
        text = "\n".join(parts)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_html(self, path: str | Path | None = None) -> str:
        """Earlier name: :meth:`generate_html_report` for every agent (written to ``path`` when given).

        Example:
            >>> from tinytroupe.monitoring import MemoryMonitor
            >>> from tinytroupe.visualization import MemoryVisualizer
            >>> "<h1>Memory report</h1>" in MemoryVisualizer(MemoryMonitor()).to_html()
            True
        """
        return self.generate_html_report(None, path)


__all__ = ["MemoryHtmlReport"]
