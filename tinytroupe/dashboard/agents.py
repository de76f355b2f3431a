"""The dashboard's agent inspector: one agent's persona, cognitive and emotional state, memory, tools and
last prompt, from a live run (the agents of the debugged worlds) or from a run file's latest checkpoint.

Both sources answer with an :class:`AgentPanel` built on the debugger's
:class:`~tinytroupe.devtools.debugger.AgentView`. A live agent is read on tinytroupe's event loop, so a
running turn never changes it half way through the read.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> ana = TinyPerson("Ana")
    >>> panel = panel_of_state(ana.to_state(), source="live")
    >>> panel.view.name, panel.view.episodic_items, panel.emotions
    ('Ana', 0, None)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, Field

from tinytroupe.aio import run_sync
from tinytroupe.devtools.debugger.inspection import BULKY, RECENT_ITEMS, AgentView
from tinytroupe.devtools.inspector import RunFileInspector
from tinytroupe.errors import NotFound

if TYPE_CHECKING:
    from tinytroupe.agent.person import TinyPerson
    from tinytroupe.devtools.debugger import Debugger

#: the recent memories a panel shows
PANEL_ITEMS = 30


class AgentPanel(BaseModel):
    """What the inspector shows of one agent."""

    view: AgentView
    emotions: dict[str, Any] | None = None
    tools: list[dict[str, str]] = Field(default_factory=list)
    faculties: list[str] = Field(default_factory=list)
    last_prompt: list[dict[str, Any]] | None = None
    last_answer: str | None = None
    source: str = "live"


class AgentSource(Protocol):
    """Where the inspector reads agents from."""

    def names(self) -> list[str]: ...

    def panel(self, name: str) -> AgentPanel: ...


def panel_of_state(state: dict[str, Any], *, world: str | None = None, source: str = "live") -> AgentPanel:
    """A panel from an agent's state as data (``to_state()``, or a checkpoint's copy of it)."""
    items = (state.get("memory") or {}).get("items", [])
    facts = ((state.get("long_term_memory") or {}).get("semantic") or {}).get("facts", [])
    view = AgentView(name=state.get("name", "?"), world=world, turns=state.get("turns", 0),
                     persona=(state.get("persona") or {}).get("persona", {}),
                     cognitive_state=state.get("cognitive_state") or {},
                     other={k: v for k, v in state.items() if k not in BULKY},
                     accessible=sorted(state.get("accessible") or {}), episodic_items=len(items),
                     semantic_facts=len(facts), recent=items[-max(RECENT_ITEMS, PANEL_ITEMS):])
    emotions = next((v for k, v in state.items() if "emotion" in k and isinstance(v, dict)), None)
    return AgentPanel(view=view, emotions=emotions, source=source)


def _tools_of(agent: TinyPerson) -> tuple[list[dict[str, str]], list[str]]:
    tools: list[dict[str, str]] = []
    faculties = [type(f).__name__ + (f" ({f.name})" if getattr(f, "name", None) else "")
                 for f in agent.mental_faculties]
    for component in agent.components:
        for tool in getattr(component, "tools", None) or []:
            tools.append({"name": str(getattr(tool, "name", tool)),
                          "description": str(getattr(tool, "description", ""))[:300]})
    return tools, faculties


class LiveAgents:
    """The agents of the worlds a debugger is attached to, read as they are now."""

    def __init__(self, debugger: Debugger) -> None:
        self.debugger = debugger

    def names(self) -> list[str]:
        return self.debugger.agents()

    def panel(self, name: str) -> AgentPanel:
        """Raises NotFound: no such agent."""
        return run_sync(self._panel(name))

    async def _panel(self, name: str) -> AgentPanel:
        dbg = self.debugger
        agent = dbg.agent(name)
        world = dbg.show(name).world
        panel = panel_of_state(agent.to_state(), world=world, source="live")
        panel.tools, panel.faculties = _tools_of(agent)
        try:
            record = dbg.prompt(name)
            panel.last_prompt, panel.last_answer = record.prompt, record.answer
        except NotFound:
            pass  # no turn of its was recorded yet: the panel says so
        return panel


class CheckpointAgents:
    """The agents of a run file as its latest checkpoint holds them (read anew for each request)."""

    def __init__(self, path: str | Path, run_id: int | None = None) -> None:
        self.path, self.run_id = Path(path), run_id

    def names(self) -> list[str]:
        with RunFileInspector(self.path, run_id=self.run_id) as run:
            return run.agents()

    def panel(self, name: str) -> AgentPanel:
        """Raises NotFound: no checkpoint holds the agent (``auto_checkpoint=True`` writes one per step)."""
        with RunFileInspector(self.path, run_id=self.run_id) as run:
            state = run.agent_state(name)
            kept = run.checkpoints()
            panel = panel_of_state(state, source=f"checkpoint #{kept[-1]['id']} (step {kept[-1]['step']})"
                                   if kept else "checkpoint")
            try:
                record = run.turn(name)
                panel.last_prompt, panel.last_answer = record.prompt, record.answer
            except NotFound:
                pass
            return panel


class NoAgents:
    """An event log has no agent states: the inspector says so."""

    def names(self) -> list[str]:
        return []

    def panel(self, name: str) -> AgentPanel:
        raise NotFound(f"no state of {name!r}: an event log (trace.jsonl) records events only; open a run file "
                       "written with control.begin(..., auto_checkpoint=True) to inspect agents")


__all__ = ["AgentPanel", "AgentSource", "CheckpointAgents", "LiveAgents", "NoAgents", "panel_of_state"]
