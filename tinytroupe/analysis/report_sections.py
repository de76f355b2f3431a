"""The sections of the static run report that are not patterns or insights: the run at a glance, the
conversation step by step, and memory and cost (the dashboard's charts, drawn once as inline SVG).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from tinytroupe import html_views
from tinytroupe.analysis.condense import render_event
from tinytroupe.analysis.run_events import RunEvents
from tinytroupe.visualization.svg_charts import svg_bar_chart, svg_line_chart

if TYPE_CHECKING:
    from tinytroupe.llm.prices import PriceTable

#: lines of the conversation shown in the report (a note says how many more there were)
MAX_CONVERSATION_LINES = 400
#: memory series drawn (the agents with the largest memories)
MAX_MEMORY_SERIES = 4


def glance(run: RunEvents, prices: PriceTable | None = None) -> dict[str, Any]:
    """The run's headline figures: events, agents, steps, LLM calls, tokens, dollars (where priced), errors."""
    calls = run.of_kind("llm_call")
    cost = _cost(calls, prices) if prices is not None else None
    return {"events": len(run), "agents": len(run.agents()), "steps": len(run.steps()),
            "utterances": len(run.utterances()), "llm_calls": len(calls),
            "cached_calls": sum(1 for c in calls if c.get("cache_hit")),
            "prompt_tokens": sum(int(c.get("prompt_tokens") or 0) for c in calls),
            "completion_tokens": sum(int(c.get("completion_tokens") or 0) for c in calls),
            "cost_usd": None if cost is None else round(sum(cost.values()), 6),
            "errors": len(run.of_kind("agent_error")) + sum(1 for c in calls if c.get("error"))}


def _cost(calls: list[dict[str, Any]], prices: PriceTable) -> dict[int, float]:
    """Dollars per event id of the calls whose model the table prices (a cache hit costs nothing)."""
    out: dict[int, float] = {}
    for call in calls:
        if call.get("cache_hit"):
            out[call["id"]] = 0.0
            continue
        value = prices.cost(call.get("model"), int(call.get("prompt_tokens") or 0),
                            int(call.get("completion_tokens") or 0), batched=bool(call.get("batched")))
        if value is not None:
            out[call["id"]] = value
    return out


def conversation_html(run: RunEvents) -> str:
    """The conversation step by step (what was said, done, thought and felt), with each event's id."""
    lines: list[str] = []
    shown = hidden = 0
    by_step: dict[Any, Counter[str]] = defaultdict(Counter)
    for event in run:
        by_step[event.get("step")][str(event.get("kind"))] += 1
        rendered = render_event(event)
        if rendered is None:
            continue
        if shown >= MAX_CONVERSATION_LINES:
            hidden += 1
            continue
        shown += 1
        lines.append(f'<li class="ev ev-{rendered[0]}">{html_views.text(rendered[1], 400)}</li>')
    more = f"<p>… and {hidden} more lines (the whole trace is in the run file)</p>" if hidden else ""
    steps = sorted(s for s in by_step if s is not None)
    kinds = ["action", "stimulus", "llm_call", "memory", "emotion"]
    chart = svg_bar_chart("Events per step", "step", "events", [str(s) for s in steps],
                          [(k, [by_step[s][k] for s in steps]) for k in kinds[:4]]) if steps else ""
    table = html_views.table(["step", *kinds], ([s, *(by_step[s][k] for k in kinds)] for s in steps), max_rows=200)
    return (f"{chart}<details><summary>events per step, by kind</summary>{table}</details>"
            f'<ol class="conversation">{"".join(lines)}</ol>{more}')


def memory_cost_html(run: RunEvents, prices: PriceTable | None = None) -> str:
    """Episodic memory per agent, tokens (cumulative), LLM calls per step and dollars, as the dashboard
    draws them (by step here: one point per step)."""
    parts: list[str] = []
    steps = run.steps()
    snapshots = [e for e in run.of_kind("memory") if e.get("operation") == "snapshot" and e.get("agent")]
    if snapshots and steps:
        size: dict[str, dict[int, int]] = defaultdict(dict)
        for e in snapshots:
            size[str(e["agent"])][int(e.get("step") or 0)] = int(e.get("episodic_size") or 0)
        biggest = sorted(size, key=lambda a: (-max(size[a].values()), a))[:MAX_MEMORY_SERIES]
        parts.append(svg_line_chart("Episodic memory (items, end of step)", "step", "items", steps,
                                    [(a, _carried(size[a], steps)) for a in biggest], y_min=0.0))
    calls = run.of_kind("llm_call")
    if calls and steps:
        per_step: Counter[int] = Counter()
        prompt: Counter[int] = Counter()
        completion: Counter[int] = Counter()
        last = steps[0]
        for c in calls:
            last = int(c["step"]) if c.get("step") is not None else last
            per_step[last] += 1
            prompt[last] += int(c.get("prompt_tokens") or 0)
            completion[last] += int(c.get("completion_tokens") or 0)
        parts.append(svg_line_chart("Tokens (cumulative)", "step", "tokens", steps,
                                    [("prompt", _cumulative(prompt, steps)),
                                     ("completion", _cumulative(completion, steps))], y_min=0.0))
        parts.append(svg_bar_chart("LLM calls per step", "step", "calls", [str(s) for s in steps],
                                   [("calls", [per_step[s] for s in steps])]))
        if prices is not None:
            costs = _cost(calls, prices)
            if costs:
                dollars: dict[int, float] = defaultdict(float)
                for c in calls:
                    if c["id"] in costs:
                        dollars[int(c["step"]) if c.get("step") is not None else steps[0]] += costs[c["id"]]
                parts.append(svg_line_chart("Cost (cumulative, USD)", "step", "dollars", steps,
                                            [("cost", _cumulative(dollars, steps))], y_min=0.0))
    boxes = "".join(f'<div class="chart-box">{p}</div>' for p in parts)
    return boxes or "<p>no memory snapshots or LLM calls in the trace</p>"


def _carried(values: dict[int, int], steps: list[int]) -> list[float]:
    out: list[float] = []
    last = 0.0
    for s in steps:
        last = float(values.get(s, last))
        out.append(last)
    return out


def _cumulative(values: Counter[int] | dict[int, float], steps: list[int]) -> list[float]:
    out: list[float] = []
    total = 0.0
    for s in steps:
        total += values.get(s, 0)
        out.append(total)
    return out


__all__ = ["MAX_CONVERSATION_LINES", "conversation_html", "glance", "memory_cost_html"]
