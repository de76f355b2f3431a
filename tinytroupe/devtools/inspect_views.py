"""Rich views of ``tinytroupe inspect`` and ``tinytroupe replay``: a run file's summary, an agent's state
at a checkpoint, and a replay's divergence report (turns and memories as the debugger shows them).

Example:
    >>> from rich.console import Console
    >>> console = Console(width=80, color_system=None)
    >>> with console.capture() as out:
    ...     console.print(state_view({"name": "Ana", "turns": 2, "persona": {"persona": {"age": 41}},
    ...                               "memory": {"items": []}, "cognitive_state": {"goals": "tea"}}))
    >>> "age" in out.get() and "goals" in out.get()
    True
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from tinytroupe.devtools.debugger.inspection import AgentView
from tinytroupe.devtools.debugger.views import agent_view, memories_view, turn_view
from tinytroupe.devtools.replay_runs import ReplayReport
from tinytroupe.terminal import show


def summary_view(summary: dict[str, Any]) -> RenderableType:
    """What a run file holds: the run, its agents (with their recorded turns) and its checkpoints."""
    head = Text.from_markup(
        f"[bold]{show(summary['path'])}[/] · simulation {show(str(summary['simulation_id']))} · run "
        f"{summary['run_id']} ({show(str(summary['status']))}) · {summary['steps']} steps · "
        f"{summary['llm_calls']} LLM calls ({summary['cached_calls']} cached) · {summary['events']} events · "
        f"{summary['errors']} errors")
    agents = Table(title="agents", title_justify="left")
    agents.add_column("agent")
    agents.add_column("recorded turns", justify="right")
    for name in summary["agent_names"]:
        agents.add_row(show(name), str(summary["recorded_turns"].get(name, 0)))
    checkpoints = Table(title="checkpoints (--checkpoint ID)", title_justify="left")
    for column in ("id", "step", "label", "size"):
        checkpoints.add_column(column)
    for cp in summary["checkpoints"]:
        checkpoints.add_row(str(cp["id"]), str(cp["step"]), show(str(cp["label"] or "")),
                            f"{cp['json_bytes']:,} B")
    hint = Text("--agent NAME shows a state; add --memories, or --turn N for a turn's prompt and answer")
    return Group(head, agents, checkpoints if summary["checkpoints"] else Text("no checkpoints"), hint)


def state_view(state: dict[str, Any]) -> RenderableType:
    """An agent's state (a checkpoint's), as the debugger's ``show`` lays it out."""
    items = state.get("memory", {}).get("items", [])
    facts = ((state.get("long_term_memory") or {}).get("semantic") or {}).get("facts", [])
    view = AgentView(name=state.get("name", "?"), turns=state.get("turns", 0),
                     persona=state.get("persona", {}).get("persona", {}),
                     cognitive_state=state.get("cognitive_state", {}),
                     other={k: v for k, v in state.items() if k not in _SHOWN},
                     accessible=sorted(state.get("accessible", {})), episodic_items=len(items),
                     semantic_facts=len(facts), recent=items[-8:])
    return agent_view(view)


_SHOWN = ("name", "version", "persona", "memory", "long_term_memory", "cognitive_state", "action_types",
          "actions_buffer", "accessible", "turns")


def replay_view(report: ReplayReport) -> RenderableType:
    """A replay's report: identical, or what diverged."""
    verdict = ("[bold green]identical[/]: same requests, same trace" if report.identical
               else "[bold yellow]diverged[/]")
    lines: list[RenderableType] = [Text.from_markup(
        f"replay of {show(report.run_file)} (on {show(report.replayed_file)}): {verdict}"),
        Text(f"{report.recorded_calls} recorded calls: {report.matched_calls} asked again identically, "
             f"{report.new_calls} new or changed ({report.backend_calls} reached the model); trace: "
             f"{report.recorded_events} events recorded, {report.replayed_events} replayed, "
             f"{report.differing_events} differ")]
    for d in report.divergences:
        lines.append(Text(f"  diverged: {d}"))
    if report.first_difference is not None:
        lines.append(Text(f"  first trace difference: {report.first_difference.describe()}"))
    return Group(*lines)


def as_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


__all__ = ["as_json", "memories_view", "replay_view", "state_view", "summary_view", "turn_view"]
