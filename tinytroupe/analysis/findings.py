"""A :class:`~tinytroupe.analysis.patterns.PatternReport` in words: short findings that cite the events they
rest on (computed, so their evidence holds by construction), and the report as Markdown and HTML.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tinytroupe import html_views

if TYPE_CHECKING:
    import pandas as pd

    from tinytroupe.analysis.patterns import PatternReport

#: event ids a finding cites at most
MAX_EVIDENCE = 12


def _finding(title: str, text: str, ids: list[Any]) -> dict[str, Any]:
    return {"title": title, "text": text, "kind": "pattern", "evidence": [int(i) for i in ids][:MAX_EVIDENCE]}


def _network_findings(report: PatternReport) -> list[dict[str, Any]]:
    graph, out = report.graph, list[dict[str, Any]]()
    if graph.number_of_edges() == 0:
        return out
    top = report.centrality.iloc[0]
    name = str(report.centrality.index[0])
    # a tie for the middle is no finding
    tied = len(report.centrality) > 1 and report.centrality["eigenvector"].iloc[1] >= top["eigenvector"] - 1e-6
    ids = [i for a, b, e in graph.edges(data="ids") if name in (a, b) for i in e]
    if not tied:
        out.append(_finding("Most central", f"{name} is the most central in the conversation (eigenvector "
                            f"{top['eigenvector']:.2f}, betweenness {top['betweenness']:.2f}): said "
                            f"{int(top['said'])}, heard {int(top['heard'])}, with {int(top['partners'])} partner(s).",
                            sorted(ids)))
    a, b, data = max(graph.edges(data=True), key=lambda edge: (edge[2]["weight"], edge[0], edge[1]))
    out.append(_finding("Strongest tie", f"{b} heard {a} most often of any pair ({data['weight']} time(s)).",
                        data["ids"]))
    return out


def _sentiment_findings(report: PatternReport) -> list[dict[str, Any]]:
    said = report.utterances
    if said.empty or said["agent"].nunique() < 2:
        return []
    means = said.groupby("agent")["sentiment"].mean().sort_values(kind="stable")
    low, high = str(means.index[0]), str(means.index[-1])
    if means.iloc[-1] - means.iloc[0] < 0.2:
        return []
    ids = list(said[said["agent"].isin([low, high])]["id"])
    return [_finding("Sentiment", f"{high} spoke most positively (mean {means.iloc[-1]:+.2f}), {low} most "
                     f"negatively ({means.iloc[0]:+.2f}).", ids)]


def _topic_findings(report: PatternReport) -> list[dict[str, Any]]:
    topics = report.topics
    if topics.empty or len(topics) < 2:
        return []
    out = []
    for _, row in topics.sort_values("size", ascending=False, kind="stable").head(3).iterrows():
        out.append(_finding(f"Topic {row['topic']}", f"{row['size']} utterance(s) about {row['keywords'] or '?'}, "
                            f"by {row['agents']}.", list(row["ids"])))
    return out


def _trend_findings(report: PatternReport) -> list[dict[str, Any]]:
    conv = report.convergence.dropna(subset=["spread"]) if not report.convergence.empty else report.convergence
    if report.trend in ("unknown", "stable") or len(conv) < 2:
        return []
    first, last = conv.iloc[0], conv.iloc[-1]
    return [_finding("Convergence" if report.trend == "converging" else "Divergence",
                     f"Opinions are {report.trend}: the spread of what agents say went from {first['spread']:.2f} "
                     f"(step {first['step']}) to {last['spread']:.2f} (step {last['step']}).",
                     list(first["ids"])[:6] + list(last["ids"])[:6])]


def _repetition_findings(report: PatternReport) -> list[dict[str, Any]]:
    out = []
    for _, row in report.repetition_by_agent.iterrows():
        if row["self_repeats"] and row["repetition_rate"] >= 0.25:
            pairs = report.repetition[(report.repetition["agent"] == row["agent"]) & report.repetition["same_agent"]]
            ids = sorted({int(i) for p in pairs[["repeats", "id"]].values.tolist() for i in p})
            out.append(_finding("Repetition", f"{row['agent']} repeats itself: {row['self_repeats']} of "
                                f"{row['utterances']} utterances say again what it said before.", ids))
    return out


def pattern_findings(report: PatternReport) -> list[dict[str, Any]]:
    """The findings (``title``, ``text``, ``kind``, ``evidence``) of ``report``."""
    return [*_network_findings(report), *_sentiment_findings(report), *_topic_findings(report),
            *_trend_findings(report), *_repetition_findings(report)]


def _frame_html(frame: pd.DataFrame, columns: list[str]) -> str:
    shown = [c for c in columns if c in frame.columns]
    return html_views.table(shown, frame[shown].itertuples(index=False, name=None))


def patterns_html(report: PatternReport) -> str:
    """The findings, the charts and the main tables as one HTML fragment (inline styles and SVG)."""
    found = report.findings()
    items = "".join(f"<li><b>{html_views.text(f['title'])}</b>: {html_views.text(f['text'])} "
                    f"<span style=\"color:#718096\">(events {html_views.text(', '.join(map(str, f['evidence'])))})"
                    "</span></li>" for f in found)
    charts = "".join(f'<div style="display:inline-block;margin:4px">{svg}</div>' for svg in report.charts().values())
    summary = report.summary()
    centrality = report.centrality.reset_index()
    return html_views.card(
        "Patterns", f"{summary['events']} events, {summary['agents']} agents, {summary['utterances']} utterances, "
        f"{summary['topics']} topic(s), opinions {summary['trend']}",
        ("Findings", f"<ul>{items}</ul>" if items else "<p>nothing stands out</p>"),
        ("Charts", charts),
        ("Centrality", _frame_html(centrality, ["agent", "said", "heard", "partners", "degree", "betweenness",
                                                "eigenvector"]) if len(centrality) else ""),
        ("Topics", _frame_html(report.topics, ["topic", "keywords", "size", "agents", "first_step", "last_step"])
         if len(report.topics) else ""),
        ("Notes", html_views.fields(("note", n) for n in report.notes)))


def patterns_markdown(report: PatternReport) -> str:
    """The findings and the main tables as Markdown."""
    summary = report.summary()
    lines = ["# Patterns", "", f"{summary['events']} events, {summary['agents']} agents, {summary['utterances']} "
             f"utterances, {summary['topics']} topic(s); opinions {summary['trend']}.", "", "## Findings", ""]
    found = report.findings()
    lines += [f"- **{f['title']}**: {f['text']} (events {', '.join(map(str, f['evidence']))})" for f in found] or \
        ["Nothing stands out."]
    if len(report.centrality):
        lines += ["", "## Centrality", "", *markdown_table(report.centrality.reset_index(),
                                                           ["agent", "said", "heard", "degree", "betweenness",
                                                            "eigenvector"])]
    if len(report.topics):
        lines += ["", "## Topics", "", *markdown_table(report.topics, ["topic", "keywords", "size", "agents"])]
    lines += [f"- note: {n}" for n in report.notes]
    return "\n".join(lines) + "\n"


def markdown_table(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """Lines of a Markdown table of ``columns`` of ``frame`` (``|`` in values escaped).

    Example:
        >>> import pandas as pd
        >>> print("\\n".join(markdown_table(pd.DataFrame({"a": [1], "b": ["x|y"]}), ["a", "b"])))
        | a | b |
        |---|---|
        | 1 | x\\|y |
    """
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    shown = [c for c in columns if c in frame.columns]
    return ["| " + " | ".join(shown) + " |", "|" + "---|" * len(shown),
            *("| " + " | ".join(cell(v) for v in row) + " |" for row in frame[shown].itertuples(index=False))]


__all__ = ["MAX_EVIDENCE", "markdown_table", "pattern_findings", "patterns_html", "patterns_markdown"]
