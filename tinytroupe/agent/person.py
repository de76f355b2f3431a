"""``TinyPerson``: one simulated person who perceives, thinks and acts.

A turn is one LLM call: the agent shows the model its persona, recent memory, situation and new
stimuli, and gets back an :class:`~tinytroupe.agent.actions.ActionBatch` (actions ending in DONE
plus the cognitive state). Each action is remembered, published as an event and left in a buffer
for the world to route.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> reply = {"actions": [{"type": "TALK", "content": "Hi!", "target": "Ana"}, {"type": "DONE"}],
    ...          "cognitive_state": {"goals": "be nice", "context": [], "attention": "Ana", "emotions": "glad"}}
    >>> lisa = TinyPerson("Lisa", client=LLMClient(ScriptedBackend([reply])))
    >>> [a.type for a in lisa.listen_and_act("Hello Lisa", source="Ana", return_actions=True)]
    ['TALK', 'DONE']
"""

from __future__ import annotations

import asyncio
import json
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from rich.console import Console

from tinytroupe import scope
from tinytroupe.agent.actions import (
    Action,
    ActionBatch,
    ActionRegistry,
    CognitiveState,
    StimulusType,
    action_batch_model,
)
from tinytroupe.agent.cognition import PromptBudget, TurnView, build_action_messages
from tinytroupe.agent.memory import EpisodicMemory, MemoryItem
from tinytroupe.agent.memory_system import AgentMemory, RetrievedMemory
from tinytroupe.agent.persona import Fragment, Persona, load_persona_file
from tinytroupe.aio import run_sync
from tinytroupe.config import current_settings
from tinytroupe.errors import ScenarioError
from tinytroupe.events import ActionEvent, Event, EventBus, StimulusEvent
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.default import get_default_client
from tinytroupe.llm.types import Message


@runtime_checkable
class AgentEnvironment(Protocol):
    """What an agent needs from the world it lives in (implemented by TinyWorld)."""

    name: str

    @property
    def current_datetime(self) -> datetime | None: ...

    @property
    def current_step(self) -> int | None: ...

    @property
    def client(self) -> LLMClient: ...


#: top-level keys of a saved agent that hold its state rather than its persona
_AGENT_STATE_KEYS = ("episodic_memory", "mental_state")


def _name_of(source: TinyPerson | str | None) -> str | None:
    if source is None or isinstance(source, str):
        return source
    return source.name


class TinyPerson:
    """A simulated person.

    Args:
        name: unique within a world.
        persona: a :class:`Persona`, or a dict of persona fields (``name`` is filled in).
        client: the LLM client for this agent's turns (default: the world's, else the process default).
        max_actions_per_turn: actions before the closing DONE that one turn may hold.
        recent_window: how many past events each prompt shows.
        prompt_token_budget: estimated tokens for the variable prompt sections together.

    Arguments left as None take their value from :func:`tinytroupe.config.current_settings`
    (``[Simulation] MAX_ACTIONS_PER_TURN``, ``[Cognition] RECENT_WINDOW``, ``PROMPT_TOKEN_BUDGET``,
    ``MAX_CONTENT_DISPLAY_LENGTH``).
    """

    def __init__(self, name: str, *, persona: Persona | Mapping[str, Any] | None = None,
                 client: LLMClient | None = None, episodic_memory: EpisodicMemory | None = None,
                 max_actions_per_turn: int | None = None, recent_window: int | None = None,
                 prompt_token_budget: int | None = None) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError("a TinyPerson needs a non-empty name, e.g. TinyPerson('Lisa')")
        self.name = name.strip()
        if persona is None:
            self.persona = Persona(name=self.name)
        elif isinstance(persona, Persona):
            self.persona = persona if persona.name == self.name else persona.merge({"name": self.name})
        else:
            self.persona = Persona.from_spec({"type": "TinyPerson", "persona": {**persona, "name": self.name}})
        # Episodic + semantic memory; its events go out through this agent's publisher (deferred or not).
        self.memories = AgentMemory(self.name, episodic=episodic_memory, publish=self._publish, now=self._now)
        self.cognitive_state = CognitiveState()
        self.location: str | None = None
        self.actions_registry = ActionRegistry()
        self.environment: AgentEnvironment | None = None
        settings = current_settings()
        self.max_actions_per_turn = max_actions_per_turn or settings.simulation.max_actions_per_turn
        self.recent_window = recent_window or settings.cognition.recent_window
        self.prompt_token_budget = prompt_token_budget or settings.cognition.prompt_token_budget
        self.max_content_display_length = settings.cognition.max_content_display_length
        self._client = client
        self._accessible: dict[str, tuple[TinyPerson | None, str]] = {}
        self._actions_buffer: list[Action] = []
        self._seen_upto = 0
        self._lock = threading.RLock()
        self._turn_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._deferred: list[Event] | None = None
        self.turns = 0
        # An active simulation (control.begin) learns about the agent, to checkpoint it.
        scope.register(self)

    def __repr__(self) -> str:
        return f"TinyPerson(name={self.name!r})"

    @property
    def memory(self) -> EpisodicMemory:
        """The episodic memory (bounded; see :attr:`memories` for the whole memory system)."""
        return self.memories.episodic

    @memory.setter
    def memory(self, value: EpisodicMemory) -> None:
        self.memories.episodic = value

    # ------------------------------------------------------------------ wiring

    @property
    def client(self) -> LLMClient:
        """The LLM client used for this agent's turns."""
        if self._client is not None:
            return self._client
        if self.environment is not None:
            return self.environment.client
        return get_default_client()

    @client.setter
    def client(self, value: LLMClient | None) -> None:
        self._client = value

    @property
    def prompt_budget(self) -> PromptBudget:
        """Token shares of the prompt sections: this agent's budget, within what its backend handles well."""
        total = self.prompt_token_budget
        hint = self.client.prompt_token_hint
        if hint is not None:
            total = min(total, hint)
        return PromptBudget.from_total(total, self.max_content_display_length)

    @property
    def bus(self) -> EventBus:
        return self.client.bus

    def _now(self) -> datetime | None:
        return self.environment.current_datetime if self.environment is not None else None

    def _step(self) -> int | None:
        return self.environment.current_step if self.environment is not None else None

    def _publish(self, event: Event) -> None:
        if self._deferred is not None:
            self._deferred.append(event)
        else:
            self.bus.publish(event)

    def defer_events(self) -> None:
        """Hold events back until :meth:`flush_events` (worlds use this for a deterministic order)."""
        with self._lock:
            if self._deferred is None:
                self._deferred = []

    def flush_events(self) -> None:
        """Publish held-back events, in the order they happened."""
        with self._lock:
            events, self._deferred = self._deferred or [], None
        for event in events:
            self.bus.publish(event)

    # ------------------------------------------------------------------ persona

    def define(self, key: str, value: Any) -> TinyPerson:
        """Set a persona field by dot path (``define("occupation.title", "Architect")``)."""
        if key == "name" and value != self.name:
            raise ValueError("an agent's name cannot be redefined; create a new TinyPerson instead")
        with self._lock:
            self.persona = self.persona.set(key, value)
        return self

    def get(self, key: str, default: Any = None) -> Any:
        """A persona field by dot path (``get("personality.big_five.openness")``)."""
        return self.persona.get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self.get(key)

    def __setitem__(self, key: str, value: Any) -> None:
        self.define(key, value)

    def include_persona_definitions(self, definitions: Mapping[str, Any]) -> TinyPerson:
        """Deep-merge ``definitions`` into the persona."""
        with self._lock:
            self.persona = self.persona.merge(dict(definitions))
        return self

    def import_fragment(self, path: str | Path) -> TinyPerson:
        """Merge a ``{"type": "Fragment", "persona": {...}}`` file into the persona."""
        loaded = load_persona_file(path)
        if not isinstance(loaded, Fragment):
            raise ScenarioError(f"{path}: expected a Fragment file, found a TinyPerson spec", path=str(path))
        return self.include_persona_definitions(loaded.persona_dict)

    def __add__(self, other: Fragment | Mapping[str, Any] | str | Path) -> TinyPerson:
        if isinstance(other, Fragment):
            return self.include_persona_definitions(other.persona_dict)
        if isinstance(other, Mapping):
            return self.include_persona_definitions(other)
        if isinstance(other, str | Path):
            return self.import_fragment(other)
        return NotImplemented

    def related_to(self, other: TinyPerson, description: str,
                   symmetric_description: str | None = None) -> TinyPerson:
        """Record a relationship (and the reverse one when ``symmetric_description`` is given)."""
        rels = list(self.persona.get("relationships") or [])
        rels.append({"name": other.name, "description": description})
        self.define("relationships", rels)
        if symmetric_description is not None:
            other.related_to(self, symmetric_description)
        return self

    def minibio(self) -> str:
        """A one-sentence description of the persona (no LLM call)."""
        return self.persona.minibio()

    # ------------------------------------------------------------------ perception

    def _perceive(self, stimulus_type: StimulusType, content: str, source: TinyPerson | str | None) -> TinyPerson:
        if not isinstance(content, str):
            raise TypeError(f"{stimulus_type.value.lower()} content for {self.name} must be text, "
                            f"got {type(content).__name__}")
        src = _name_of(source)
        now, step = self._now(), self._step()
        with self._lock:
            self.memory.add(kind="stimulus", type=stimulus_type.value, content=content, source=src,
                            sim_time=now, step=step)
            self._publish(StimulusEvent(stimulus_type=stimulus_type.value, content=content, source=src,
                                        agent=self.name, world=self._world_name(), step=step,
                                        sim_time=now.isoformat() if now else None))
        return self

    def _world_name(self) -> str | None:
        return self.environment.name if self.environment is not None else None

    def listen(self, speech: str, source: TinyPerson | str | None = None) -> TinyPerson:
        """Hear ``speech`` (from ``source``)."""
        return self._perceive(StimulusType.CONVERSATION, speech, source)

    def see(self, visual_description: str, source: TinyPerson | str | None = None) -> TinyPerson:
        """See something, described in text."""
        return self._perceive(StimulusType.VISUAL, visual_description, source)

    def think(self, thought: str) -> TinyPerson:
        """Have a thought put in mind (not an action: nobody else perceives it)."""
        return self._perceive(StimulusType.THOUGHT, thought, None)

    def internalize_goal(self, goal: str) -> TinyPerson:
        """Adopt a goal."""
        return self._perceive(StimulusType.INTERNAL_GOAL_FORMULATION, goal, None)

    def socialize(self, social_description: str, source: TinyPerson | str | None = None) -> TinyPerson:
        """Perceive a social cue (someone arrived, a relation changed ...)."""
        return self._perceive(StimulusType.SOCIAL, social_description, source)

    def move_to(self, location: str, context: Iterable[str] | None = None) -> TinyPerson:
        """Go to ``location`` (optionally changing the context too)."""
        with self._lock:
            self.location = location
            if context is not None:
                self.cognitive_state = self.cognitive_state.model_copy(update={"context": list(context)})
        return self._perceive(StimulusType.LOCATION, location, None)

    def change_context(self, context: Iterable[str]) -> TinyPerson:
        """Replace the situational context (a few short facts)."""
        with self._lock:
            self.cognitive_state = self.cognitive_state.model_copy(update={"context": list(context)})
        return self

    # ------------------------------------------------------------------ accessibility

    @property
    def accessible_agents(self) -> list[TinyPerson]:
        """Agents this one can currently interact with."""
        return [agent for agent, _ in self._accessible.values() if agent is not None]

    def make_agent_accessible(self, agent: TinyPerson,
                              relation_description: str = "An agent I can currently interact with.") -> None:
        if agent is self:
            return
        with self._lock:
            self._accessible[agent.name] = (agent, relation_description)

    def make_agents_accessible(self, agents: Iterable[TinyPerson],
                               relation_description: str = "An agent I can currently interact with.") -> None:
        for agent in agents:
            self.make_agent_accessible(agent, relation_description)

    def make_agent_inaccessible(self, agent: TinyPerson) -> None:
        with self._lock:
            self._accessible.pop(agent.name, None)

    def make_all_agents_inaccessible(self) -> None:
        with self._lock:
            self._accessible.clear()

    # ------------------------------------------------------------------ acting

    def _turn_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._lock:
            lock = self._turn_locks.get(loop)
            if lock is None:
                lock = self._turn_locks[loop] = asyncio.Lock()
            return lock

    def build_prompt(self) -> list[Message]:
        """The messages the next turn would send (also marks nothing as seen, and rehearses nothing)."""
        return self._build_prompt()[0]

    def _build_prompt(self) -> tuple[list[Message], int]:
        view, last_id = self._turn_view()
        budget = self.prompt_budget
        view.long_term_memory = self.memories.recall_text(self._memory_query(view.new), self._shown_ids(view),
                                                          budget.long_term_memory, rehearse=False)
        return build_action_messages(view, budget), last_id

    async def _abuild_prompt(self) -> tuple[list[Message], int]:
        view, last_id = self._turn_view()
        budget = self.prompt_budget
        view.long_term_memory = await self.memories.arecall_text(self._memory_query(view.new),
                                                                 self._shown_ids(view), budget.long_term_memory)
        return build_action_messages(view, budget), last_id

    @staticmethod
    def _shown_ids(view: TurnView) -> set[int]:
        return {i.id for i in view.recent} | {i.id for i in view.new}

    def _memory_query(self, new: Iterable[MemoryItem] = ()) -> str:
        """What the agent has in mind now: goals, attention, context, emotions and what just happened."""
        state = self.cognitive_state
        parts = [state.goals, state.attention, *state.context, state.emotions or ""]
        parts += [i.content for i in new][-5:]
        if not any(p.strip() for p in parts):
            parts += [i.content for i in self.memory.recent(3)]
        return "\n".join(p for p in parts if p and p.strip())

    def _turn_view(self) -> tuple[TurnView, int]:
        with self._lock:
            seen = self._seen_upto
            last_id = self.memory.last_id
            recent_pool = self.memory.recent(self.recent_window + 50)
            new = [i for i in recent_pool if i.id > seen and i.kind == "stimulus"]
            if new and new[0].id == recent_pool[0].id and seen < new[0].id - 1:
                # more new stimuli than the pool holds: fetch them all
                new = [i for i in self.memory.after(seen) if i.kind == "stimulus"]
            new_ids = {i.id for i in new}
            # DONE lines carry no information for the model; leaving them out saves prompt tokens.
            recent = [i for i in recent_pool if i.id not in new_ids and i.type != "DONE"][-self.recent_window:]
            view = TurnView(
                name=self.name,
                persona_text=self.persona.render(),
                action_types=self.actions_registry.descriptions(),
                state=self.cognitive_state,
                recent=recent,
                new=new,
                now=self._now(),
                location=self.location,
                accessible=[f"{n} ({d})" if d else n for n, (_, d) in self._accessible.items()],
                max_actions=self.max_actions_per_turn,
            )
        return view, last_id

    async def aact(self, until_done: bool = True, n: int | None = None,
                   return_actions: bool = False) -> list[Action] | None:
        """Take one turn: one LLM call, then commit its actions. Async twin of :meth:`act`.

        ``n`` caps the number of actions (before DONE) taken this turn; with ``until_done=False``
        and no ``n`` only the first action is taken.
        """
        if n is not None and not 1 <= n <= 15:
            raise ValueError(f"n must be between 1 and 15 actions, got {n}")
        limit = n if n is not None else (self.max_actions_per_turn if until_done else 1)
        async with self._turn_lock():
            messages, seen_upto = await self._abuild_prompt()
            model = action_batch_model(self.actions_registry.types, self.max_actions_per_turn)
            env = self.environment
            result = await self.client.acomplete(
                messages, response_model=model, purpose="action", agent=self.name,
                world=env.name if env is not None else None, step=self._step(),
            )
            batch = ActionBatch.model_validate(result.value.model_dump()).normalised(limit)
            committed = self._commit(batch, seen_upto)
            # Rate, consolidate and reflect inside the turn: their LLM failures are the turn's failures.
            await self.memories.aafter_turn(self.client, world=env.name if env is not None else None,
                                            step=self._step())
        return committed if return_actions else None

    def _commit(self, batch: ActionBatch, seen_upto: int) -> list[Action]:
        now, step, world = self._now(), self._step(), self._world_name()
        with self._lock:
            self._seen_upto = max(self._seen_upto, seen_upto)
            # aact hands over a batch it just built and keeps no reference to: take its state as is.
            self.cognitive_state = batch.cognitive_state
            for action in batch.actions:
                target = action.target.strip() or None
                self.memory.add(kind="action", type=action.type, content=action.content, target=target,
                                sim_time=now, step=step)
                self._actions_buffer.append(action)
                self._publish(ActionEvent(action_type=action.type, content=action.content, target=target,
                                          agent=self.name, world=world, step=step,
                                          sim_time=now.isoformat() if now else None))
            self.turns += 1
            return list(batch.actions)

    def act(self, until_done: bool = True, n: int | None = None,
            return_actions: bool = False) -> list[Action] | None:
        """Take one turn (see :meth:`aact`)."""
        return run_sync(self.aact(until_done=until_done, n=n, return_actions=return_actions))

    def listen_and_act(self, speech: str, return_actions: bool = False,
                       source: TinyPerson | str | None = None) -> list[Action] | None:
        """:meth:`listen` then :meth:`act`."""
        self.listen(speech, source)
        return self.act(return_actions=return_actions)

    def see_and_act(self, visual_description: str, return_actions: bool = False) -> list[Action] | None:
        """:meth:`see` then :meth:`act`."""
        self.see(visual_description)
        return self.act(return_actions=return_actions)

    def think_and_act(self, thought: str, return_actions: bool = False) -> list[Action] | None:
        """:meth:`think` then :meth:`act`."""
        self.think(thought)
        return self.act(return_actions=return_actions)

    def pop_latest_actions(self) -> list[Action]:
        """The actions taken since the last pop (the world routes them)."""
        with self._lock:
            actions, self._actions_buffer = self._actions_buffer, []
        return actions

    def pop_actions_and_get_contents_for(self, action_type: str, only_last_action: bool = True) -> str:
        """Contents of popped actions of ``action_type`` (the last one, or all joined by newlines)."""
        contents = [a.content for a in self.pop_latest_actions() if a.type == action_type]
        if only_last_action:
            return contents[-1] if contents else ""
        return "\n".join(contents)

    def last_remembered_action(self, ignore_done: bool = True) -> MemoryItem | None:
        for item in reversed(self.memory.items()):
            if item.kind == "action" and not (ignore_done and item.type == "DONE"):
                return item
        return None

    # ------------------------------------------------------------------ memory

    def get_memory_stats(self) -> dict[str, Any]:
        """Memory sizes, usage ratio, age of the oldest item, consolidations, evictions, approaching-limit flag.

        Example:
            >>> TinyPerson("Lisa").get_memory_stats()["episodic_size"]
            0
        """
        return self.memories.get_stats()

    def retrieve_relevant_memories(self, query: str, top_k: int | None = None) -> list[RetrievedMemory]:
        """The memories (episodic and semantic) best scored for ``query``: recency, importance, relevance."""
        return self.memories.retrieve(query, top_k)

    async def aretrieve_relevant_memories(self, query: str, top_k: int | None = None) -> list[RetrievedMemory]:
        """Async twin of :meth:`retrieve_relevant_memories`."""
        return await self.memories.aretrieve(query, top_k)

    def retrieve_relevant_memories_for_current_context(self, top_k: int | None = None) -> list[RetrievedMemory]:
        """Memories relevant to the agent's goals, attention, context, emotions and latest events."""
        return self.memories.retrieve(self._memory_query(self.memory.recent(5)), top_k)

    async def aconsolidate_memory(self) -> int:
        """Consolidate the unconsolidated episode now (manual); returns the number of facts written."""
        async with self._turn_lock():
            env = self.environment
            return len(await self.memories.aconsolidate(self.client, automatic=False,
                                                        world=env.name if env is not None else None,
                                                        step=self._step()))

    def consolidate_memory(self) -> int:
        """Sync twin of :meth:`aconsolidate_memory`."""
        return run_sync(self.aconsolidate_memory())

    def should_consolidate(self) -> bool:
        """Whether automatic consolidation is due (thresholds of ``[Memory]``)."""
        return self.memories.should_consolidate()

    def get_consolidation_metrics(self) -> dict[str, Any]:
        """Consolidations (automatic and manual), items consolidated, mean size, facts, last duration."""
        return self.memories.metrics.report()

    # ------------------------------------------------------------------ display

    def pretty_current_interactions(self, max_content_length: int | None = None, first_n: int | None = None,
                                    last_n: int | None = None) -> str:
        """The agent's history as text, one event per line."""
        items = self.memory.items()
        if first_n is not None:
            items = items[:first_n]
        if last_n is not None:
            items = items[-last_n:]
        lines = [f">>>>>>>> Interactions of {self.name}"]
        lines += [item.describe(self.name, max_content_length) for item in items if item.type != "DONE"]
        return "\n".join(lines)

    def pp_current_interactions(self, max_content_length: int | None = None, first_n: int | None = None,
                                last_n: int | None = None, console: Console | None = None) -> None:
        """Print :meth:`pretty_current_interactions` with rich."""
        (console or Console()).print(self.pretty_current_interactions(max_content_length, first_n, last_n),
                                     markup=False, highlight=False)

    # ------------------------------------------------------------------ specification and state

    def to_spec(self) -> dict[str, Any]:
        return self.persona.to_spec()

    def save_specification(self, path: str | Path, include_memory: bool = False,
                           include_mental_state: bool = False) -> None:
        """Write the persona as a TinyTroupe ``.agent.json`` (optionally with memory and mental state)."""
        spec = self.to_spec()
        # A persona read from a saved agent keeps that file's memory and mental state as spec extras;
        # they are stale now, so only the agent's current ones (when asked for) are written.
        for key in _AGENT_STATE_KEYS:
            spec.pop(key, None)
        if include_memory:
            spec["episodic_memory"] = self.memory.to_state()
        if include_mental_state:
            spec["mental_state"] = {"cognitive_state": self.cognitive_state.model_dump(),
                                    "location": self.location}
        Path(path).write_text(json.dumps(spec, indent=2, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load_specification(cls, path_or_dict: str | Path | Mapping[str, Any], *, new_agent_name: str | None = None,
                           suppress_memory: bool = False, suppress_mental_state: bool = False,
                           **kwargs: Any) -> TinyPerson:
        """Create an agent from a ``.agent.json`` file or dict (``new_agent_name`` renames it)."""
        source: str | None = None
        if isinstance(path_or_dict, Mapping):
            raw: Mapping[str, Any] = path_or_dict
        else:
            loaded = load_persona_file(path_or_dict)
            if not isinstance(loaded, Persona):
                raise ScenarioError(f"{path_or_dict}: this is a Fragment; load it with agent.import_fragment()",
                                    path=str(path_or_dict))
            raw = json.loads(Path(path_or_dict).read_text(encoding="utf-8"))
            source = str(path_or_dict)
        # Memory and mental state belong to the agent, not the persona (else they would be saved again, stale).
        persona = Persona.from_spec({k: v for k, v in raw.items() if k not in _AGENT_STATE_KEYS}, source=source)
        name = new_agent_name or persona.name
        agent = cls(name, persona=persona, **kwargs)
        if not suppress_memory and "episodic_memory" in raw:
            agent.memory = EpisodicMemory.from_state(raw["episodic_memory"])
            agent._seen_upto = agent.memory.last_id
        if not suppress_mental_state and "mental_state" in raw:
            ms = raw["mental_state"]
            agent.cognitive_state = CognitiveState.model_validate(ms.get("cognitive_state", {}))
            agent.location = ms.get("location")
        return agent

    def to_state(self) -> dict[str, Any]:
        """The agent's whole state as JSON-ready data (persona, memory, cognitive state, buffers)."""
        with self._lock:
            return {
                "name": self.name,
                "persona": self.persona.to_spec(),
                "memory": self.memory.to_state(),
                "long_term_memory": self.memories.to_state(include_episodic=False),
                "cognitive_state": self.cognitive_state.model_dump(mode="json"),
                "location": self.location,
                "accessible": {n: d for n, (_, d) in self._accessible.items()},
                "seen_upto": self._seen_upto,
                "turns": self.turns,
                "actions_buffer": [a.model_dump() for a in self._actions_buffer],
                "action_types": self.actions_registry.descriptions(),
            }

    def load_state(self, state: Mapping[str, Any],
                   resolve: Callable[[str], TinyPerson | None] | None = None) -> TinyPerson:
        """Put this agent in the state :meth:`to_state` produced (in place; the name must match).

        ``resolve`` turns the names of accessible agents back into agents (a world passes its
        ``get_agent_by_name``); names it cannot resolve stay accessible by name, for the prompt.
        """
        if state.get("name") != self.name:
            raise ValueError(f"state of agent {state.get('name')!r} cannot be loaded into agent {self.name!r}")
        persona = Persona.from_spec(state["persona"])
        memory = type(self.memory).from_state(state["memory"])
        cognitive = CognitiveState.model_validate(state["cognitive_state"])
        buffer = [Action.model_validate(a) for a in state.get("actions_buffer", [])]
        with self._lock:
            self.persona = persona
            self.memory = memory
            if "long_term_memory" in state:
                self.memories.load_state(state["long_term_memory"])
            self.cognitive_state = cognitive
            self.location = state.get("location")
            self._accessible = {}
            for name, description in state.get("accessible", {}).items():
                other = resolve(name) if resolve is not None else None
                self._accessible[name] = (other, description)
            self._seen_upto = int(state.get("seen_upto", 0))
            self.turns = int(state.get("turns", 0))
            self._actions_buffer = buffer
            for action_type, description in state.get("action_types", {}).items():
                if action_type not in self.actions_registry.types:
                    self.actions_registry.register(action_type, description)
        return self

    @classmethod
    def from_state(cls, state: Mapping[str, Any], *, client: LLMClient | None = None,
                   resolve: Callable[[str], TinyPerson | None] | None = None) -> TinyPerson:
        """A new agent in the state :meth:`to_state` produced."""
        agent = cls(state["name"], persona=Persona.from_spec(state["persona"]), client=client)
        return agent.load_state(state, resolve)


__all__ = ["AgentEnvironment", "TinyPerson"]
