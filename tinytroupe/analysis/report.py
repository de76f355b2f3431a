"""The static run report: one self-contained HTML file (inline CSS and SVG; no script, no link, nothing
fetched) with the dashboard's views of a finished run, for sharing: the run at a glance, the conversation
step by step, who talks to whom, memory and cost, the patterns and, when given, the insights.

``tinytroupe report RUNFILE -o report.html`` writes it from the shell (:mod:`tinytroupe.analysis.commands`).

Example:
    >>> from tinytroupe.embeddings import HashingEmbedder
    >>> events = [{"kind": "action", "action_type": "TALK", "agent": "Ana", "target": "Ben", "content": "Hi <Ben>",
    ...            "step": 1}]
    >>> page = build_report(events, embedder=HashingEmbedder(64), title="Demo")
    >>> page.startswith("<!DOCTYPE html>"), "Hi &lt;Ben&gt;" in page, "http" in page
    (True, True, False)
"""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tinytroupe import html_views
from tinytroupe.analysis.patterns import PatternReport, detect_patterns
from tinytroupe.analysis.report_sections import conversation_html, glance, memory_cost_html
from tinytroupe.analysis.run_events import RunEvents
from tinytroupe.embeddings.port import Embedder
from tinytroupe.errors import ConfigError

if TYPE_CHECKING:
    from tinytroupe.analysis.insights import InsightReport
    from tinytroupe.llm.prices import PriceTable

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1a202c;background:#f7fafc}
header{background:#2d3748;color:#fff;padding:16px 24px}header h1{margin:0;font-size:1.4em}
header p{margin:4px 0 0;color:#cbd5e0}nav{padding:8px 24px;background:#edf2f7;position:sticky;top:0}
nav a{margin-right:14px;color:#2b6cb0;text-decoration:none}main{padding:0 24px 40px;max-width:1400px}
section{background:#fff;border:1px solid #e2e8f0;border-radius:8px;margin:16px 0;padding:12px 18px}
h2{font-size:1.15em;margin:4px 0 10px}.figures{display:flex;flex-wrap:wrap;gap:10px}
.figure{border:1px solid #e2e8f0;border-radius:6px;padding:6px 12px;min-width:110px}
.figure b{display:block;font-size:1.3em}.chart-box{display:inline-block;margin:4px;vertical-align:top}
ol.conversation{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;max-height:520px;overflow:auto;
padding-left:0;list-style:none}ol.conversation li{padding:1px 4px;border-bottom:1px solid #f0f0f0}
.ev-speech{color:#1a202c}.ev-thought{color:#718096;font-style:italic}.ev-action{color:#2c5282}
.ev-feeling{color:#9c4221}footer{color:#718096;font-size:12px;padding:0 24px 24px}
"""
_SECTIONS = (("glance", "At a glance"), ("conversation", "Conversation"), ("network", "Who talks to whom"),
             ("memory", "Memory & cost"), ("patterns", "Patterns"), ("insights", "Insights"))


def _figures(figures: dict[str, Any]) -> str:
    names = {"events": "events", "agents": "agents", "steps": "steps", "utterances": "utterances",
             "llm_calls": "LLM calls", "cached_calls": "cached", "prompt_tokens": "prompt tokens",
             "completion_tokens": "completion tokens", "cost_usd": "dollars", "errors": "errors"}
    return '<div class="figures">' + "".join(
        f'<div class="figure"><b>{html_views.text(figures[k])}</b>{v}</div>'
        for k, v in names.items() if figures.get(k) is not None) + "</div>"


def _network(patterns: PatternReport) -> str:
    charts = patterns.charts()
    parts = [charts[k] for k in ("network", "centrality") if k in charts]
    table = patterns.centrality.reset_index()
    columns = ["agent", "said", "heard", "partners", "degree", "betweenness", "eigenvector"]
    rows = table[columns].itertuples(index=False, name=None) if len(table) else []
    return "".join(f'<div class="chart-box">{p}</div>' for p in parts) + html_views.table(columns, rows)


def build_report(source: Any, *, title: str | None = None, patterns: PatternReport | None = None,
                 insights: InsightReport | None = None, embedder: Embedder | None = None,
                 prices: PriceTable | None = None, run_id: int | None = None) -> str:
    """The report of the run at ``source`` (a run file, ``trace.jsonl``, ``EventRecorder`` or list of
    events) as one HTML page.

    Args:
        title: the page's title (default: where the run came from).
        patterns: the run's patterns, if already computed (else they are, with ``embedder``).
        insights: an :class:`~tinytroupe.analysis.insights.InsightReport` of the run (else the section
            says how to add one).
        prices: a price table, for the dollars.
        run_id: which run of a run file (default: the latest).
    """
    run = RunEvents.load(source, run_id=run_id)
    if patterns is None:
        patterns = detect_patterns(run, embedder=embedder)
    name = title or f"Run report: {run.origin}"
    charts = patterns.charts()
    pattern_charts = "".join(f'<div class="chart-box">{charts[k]}</div>'
                             for k in ("sentiment", "emotion", "topics", "convergence", "repetition") if k in charts)
    insight_html = insights.to_html() if insights is not None else (
        "<p>No insights in this report: build it with insights=InsightGenerator(client).generate(run) "
        "(or <code>tinytroupe report RUNFILE --insights</code>, which asks the configured model).</p>")
    bodies = {"glance": _figures(glance(run, prices)), "conversation": conversation_html(run),
              "network": _network(patterns), "memory": memory_cost_html(run, prices),
              "patterns": pattern_charts + patterns.to_html(), "insights": insight_html}
    sections = "".join(f'<section id="{key}"><h2>{html.escape(label)}</h2>{bodies[key]}</section>'
                       for key, label in _SECTIONS)
    nav = "".join(f'<a href="#{key}">{html.escape(label)}</a>' for key, label in _SECTIONS)
    made = time.strftime("%Y-%m-%d %H:%M", time.localtime())
    return ("<!DOCTYPE html>\n"
            f'<html lang="en"><head><meta charset="utf-8"><title>{html.escape(name)}</title>'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<style>{_CSS}</style></head><body>"
            f"<header><h1>{html.escape(name)}</h1><p>{len(run)} events · {len(run.agents())} agents · made "
            f"{made} by tinytroupe</p></header><nav>{nav}</nav><main>{sections}</main>"
            "<footer>A static report: everything is in this file (no script, nothing loaded from elsewhere). "
            "Event ids are positions in the run's trace.</footer></body></html>\n")


def write_report(source: Any, path: str | Path, **options: Any) -> Path:
    """Write :func:`build_report` of ``source`` to ``path`` (UTF-8); returns the path.

    Raises:
        ConfigError: ``path`` cannot be written (its folder is missing or read-only).
    """
    target = Path(path)
    page = build_report(source, **options)
    try:
        target.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write the report to {str(target)!r}: {exc.strerror or exc}") from exc
    return target


__all__ = ["build_report", "write_report"]
