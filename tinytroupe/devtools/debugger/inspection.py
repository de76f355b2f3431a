"""What a paused run shows and lets you change: agents' state (persona, cognitive state, emotions and any
other part of the state model, memories), the exact prompt and answer of their turns, recent events,
and edits of the state, each published as a :class:`~tinytroupe.events.StateEditEvent` (so the trace
records it).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from tinytroupe.agent.person import TinyPerson
from tinytroupe.devtools.debugger.calls import TurnLog, TurnRecord
from tinytroupe.devtools.debugger.state_edit import MISSING, edit_state, expand_persona, get_path, parse_path
from tinytroupe.errors import NotFound
from tinytroupe.events import Event, StateEditEvent

if TYPE_CHECKING:
    from tinytroupe.environment.world import TinyWorld

#: the parts of an agent's state :class:`AgentView` summarises instead of showing whole
BULKY = ("name", "version", "persona", "memory", "long_term_memory", "cognitive_state", "action_types",
         "actions_buffer", "accessible", "turns")
RECENT_ITEMS = 8


class AgentView(BaseModel):
    """An agent at a glance: persona, cognitive state, the rest of its state model (emotions and turn
    components included, when it has them), memory sizes and its most recent memories."""

    name: str
    world: str | None = None
    turns: int = 0
    persona: dict[str, Any] = Field(default_factory=dict)
    cognitive_state: dict[str, Any] = Field(default_factory=dict)
    other: dict[str, Any] = Field(default_factory=dict)
    accessible: list[str] = Field(default_factory=list)
    episodic_items: int = 0
    semantic_facts: int = 0
    recent: list[dict[str, Any]] = Field(default_factory=list)

    @classmethod
    def of(cls, agent: TinyPerson, world: str | None = None) -> AgentView:
        state = agent.to_state()
        items = state["memory"].get("items", [])
        facts = ((state.get("long_term_memory") or {}).get("semantic") or {}).get("facts", [])
        return cls(name=agent.name, world=world, turns=state.get("turns", 0),
                   persona=state["persona"].get("persona", {}), cognitive_state=state.get("cognitive_state", {}),
                   other={k: v for k, v in state.items() if k not in BULKY},
                   accessible=sorted(state.get("accessible", {})), episodic_items=len(items),
                   semantic_facts=len(facts), recent=items[-RECENT_ITEMS:])


class DebuggerInspection:
    """Mixin of :class:`~tinytroupe.devtools.debugger.Debugger`: looking at agents and changing them."""

    if TYPE_CHECKING:
        _worlds: list[TinyWorld]
        _events: deque[Event]
        log: TurnLog

    def agents(self) -> list[str]:
        """The names of the agents of the worlds the debugger is attached to."""
        return [a.name for w in self._worlds for a in w.agents]

    def agent(self, name: str) -> TinyPerson:
        """The agent called ``name``.

        Raises:
            NotFound: no attached world has it (the message lists who is there).
        """
        found = self._find(name)
        if found is None:
            known = ", ".join(self.agents()[:30]) or "none (attach a world first)"
            raise NotFound(f"no agent {name!r} in the debugged worlds; agents: {known}")
        return found[0]

    def _find(self, name: str) -> tuple[TinyPerson, TinyWorld] | None:
        for world in self._worlds:
            agent = world.get_agent_by_name(name)
            if agent is not None:
                return agent, world
        return None

    def _turn_of(self, name: str) -> int | None:
        found = self._find(name)
        return found[0].turns + 1 if found is not None else None

    def show(self, agent: str) -> AgentView:
        """``agent`` at a glance (see :class:`AgentView`)."""
        person = self.agent(agent)
        found = self._find(agent)
        return AgentView.of(person, found[1].name if found else None)

    def state(self, agent: str, path: str | None = None) -> Any:
        """``agent``'s whole state as data, or the part at ``path`` (``persona.age``, ``memory.items[-1]``).

        Raises:
            NotFound: the agent, or the part at ``path``, is not there.
        """
        data = self.agent(agent).to_state()
        return data if path is None else get_path(data, expand_persona(parse_path(path)), path)

    def memories(self, agent: str, last: int | None = 20) -> list[dict[str, Any]]:
        """``agent``'s episodic memories, the ``last`` ones (None: all), as in its state
        (edit one with ``edit(agent, "memory.items[i].content", ...)``)."""
        items: list[dict[str, Any]] = self.agent(agent).to_state()["memory"].get("items", [])
        return items if last is None else items[-last:]

    def facts(self, agent: str) -> list[dict[str, Any]]:
        """``agent``'s semantic memory: the facts it has consolidated."""
        ltm = self.agent(agent).to_state().get("long_term_memory") or {}
        return list((ltm.get("semantic") or {}).get("facts", []))

    def prompt(self, agent: str, turn: int | None = None) -> TurnRecord:
        """The exact messages ``agent``'s turn ``turn`` sent and the answer it got (None: its last turn;
        a negative number counts back from it). Turns are numbered as the agent counts them (1 first).

        Raises:
            NotFound: that turn was not recorded (it ran before the debugger was attached).
        """
        self.agent(agent)
        return self.log.turn(agent, turn)

    def next_prompt(self, agent: str) -> list[dict[str, Any]]:
        """The messages ``agent``'s next turn would send now (edits included); nothing is marked as seen."""
        return [m.model_dump() for m in self.agent(agent).build_prompt()]

    def edit(self, agent: str, path: str, value: Any) -> StateEditEvent:
        """Set the part of ``agent``'s state at ``path`` (see :mod:`.state_edit`); the change is published
        as a :class:`~tinytroupe.events.StateEditEvent` (and so traced), which is returned.

        Raises:
            InvalidArgument: a malformed path, or a value the state model refuses (the agent is unchanged).
            NotFound: the agent, or a part along the path, is not there.
        """
        return self._edit(agent, path, value, delete=False)

    def delete(self, agent: str, path: str) -> StateEditEvent:
        """Remove the part of ``agent``'s state at ``path`` (a memory ``memory.items[3]``, a persona field);
        published and returned as :meth:`edit` does."""
        return self._edit(agent, path, MISSING, delete=True)

    def _edit(self, name: str, path: str, value: Any, *, delete: bool) -> StateEditEvent:
        person = self.agent(name)
        found = self._find(name)
        world = found[1] if found is not None else None
        before, after = edit_state(person, path, value, delete=delete,
                                   resolve=world.get_agent_by_name if world is not None else None)
        event = StateEditEvent(agent=name, world=world.name if world else None,
                               step=world.current_step if world else None, path=path,
                               operation="delete" if delete else "set", before=before, after=after)
        (world.bus if world is not None else person.bus).publish(event)
        return event

    def events(self, last: int = 20, *, kind: str | None = None, agent: str | None = None) -> list[Event]:
        """The ``last`` events seen on the debugged worlds' buses (bounded), optionally of one kind or agent."""
        chosen = [e for e in self._events if (kind is None or e.kind == kind) and (agent is None or e.agent == agent)]
        return chosen[-last:] if last > 0 else chosen


__all__ = ["AgentView", "DebuggerInspection"]
