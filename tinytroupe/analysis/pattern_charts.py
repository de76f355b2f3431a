"""The charts of a :class:`~tinytroupe.analysis.patterns.PatternReport`, as inline SVG (the memory report's
chart functions: :mod:`tinytroupe.visualization.svg_charts`): the network, centralities, sentiment by
step, topic sizes, the spread of opinions by step and repetition per agent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tinytroupe.analysis.network_svg import network_svg
from tinytroupe.visualization.svg_charts import svg_bar_chart, svg_line_chart

if TYPE_CHECKING:
    import pandas as pd

    from tinytroupe.analysis.patterns import PatternReport

#: series a line chart shows (the agents that said most; a chart of forty lines says nothing)
MAX_SERIES = 4


def _filled(frame: pd.DataFrame, steps: list[int], column: str) -> list[float]:
    """``column`` by step, carried forward over steps without a value (and back before the first)."""
    by_step = {int(s): float(v) for s, v in zip(frame["step"], frame[column], strict=True) if v is not None and v == v}
    out: list[float] = []
    last = next(iter(by_step.values()), 0.0)
    for step in steps:
        last = by_step.get(step, last)
        out.append(last)
    return out


def sentiment_chart(report: PatternReport) -> str | None:
    said = report.sentiment[report.sentiment["utterances"] > 0]
    if said.empty:
        return None
    steps = sorted({int(s) for s in said["step"]})
    top = said.groupby("agent")["utterances"].sum().sort_values(ascending=False, kind="stable").index[:MAX_SERIES]
    series = [(str(agent), _filled(said[said["agent"] == agent], steps, "sentiment")) for agent in top]
    return svg_line_chart("Sentiment by step (lexicon score of what each said)", "step", "sentiment", steps, series,
                          y_min=-1.0, y_max=1.0, refs=[("neutral", 0.0)])


def emotion_chart(report: PatternReport) -> str | None:
    felt = report.sentiment[report.sentiment["pleasure"].notna()]
    if felt.empty:
        return None
    steps = sorted({int(s) for s in felt["step"]})
    top = sorted(set(felt["agent"]))[:MAX_SERIES]
    series = [(str(agent), _filled(felt[felt["agent"] == agent], steps, "pleasure")) for agent in top]
    return svg_line_chart("Pleasure (PAD) by step", "step", "pleasure", steps, series, y_min=-1.0, y_max=1.0)


def pattern_charts(report: PatternReport) -> dict[str, str]:
    charts: dict[str, Any] = {}
    if report.graph.number_of_nodes():
        charts["network"] = network_svg(report.graph, list(report.centrality.index))
    if report.graph.number_of_edges():
        top = report.centrality.head(12)
        charts["centrality"] = svg_bar_chart("Centrality", "agent", "centrality", [str(a) for a in top.index],
                                             [("degree", list(top["degree"])),
                                              ("betweenness", list(top["betweenness"])),
                                              ("eigenvector", list(top["eigenvector"]))])
    charts["sentiment"] = sentiment_chart(report)
    charts["emotion"] = emotion_chart(report)
    if not report.topics.empty:
        topics = report.topics.head(12)
        charts["topics"] = svg_bar_chart("Topics (utterances per cluster)", "topic", "utterances",
                                         [f"{t}: {str(k)[:18]}" for t, k in zip(topics["topic"], topics["keywords"],
                                                                                strict=True)],
                                         [("utterances", list(topics["size"]))])
    spread = report.convergence.dropna(subset=["spread"]) if not report.convergence.empty else report.convergence
    if len(spread) > 1:
        charts["convergence"] = svg_line_chart(f"Spread of opinions by step ({report.trend})", "step",
                                               "mean cosine distance", list(spread["step"]),
                                               [("spread", [float(v) for v in spread["spread"]])], y_min=0.0)
    if not report.repetition_by_agent.empty and int(report.repetition_by_agent["self_repeats"].sum()
                                                    + report.repetition_by_agent["echoes"].sum()):
        rep = report.repetition_by_agent.head(12)
        charts["repetition"] = svg_bar_chart("Repetition per agent", "agent", "utterances", list(rep["agent"]),
                                             [("self repeats", list(rep["self_repeats"])),
                                              ("echoes", list(rep["echoes"]))])
    return {name: svg for name, svg in charts.items() if svg}


__all__ = ["MAX_SERIES", "emotion_chart", "pattern_charts", "sentiment_chart"]
