"""What every part of a :class:`~tinytroupe.agent.person.TinyPerson` shares: its state and wiring.

:class:`PersonCore` builds the agent's state (persona, memory, cognitive state, buffers, settings),
connects it to its world (:class:`AgentEnvironment`), its LLM client and its event bus, and holds its
mental faculties. The rest of ``TinyPerson`` sits on top of it, one concern per module:
``person_persona`` (persona editing), ``person_access`` (whom it can reach), ``person_prompt`` (what
a turn shows the model), ``person_memory`` (TinyTroupe's memory API and history display),
``person_state`` (specifications and state), and ``person`` itself (perceiving and acting).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, Self, runtime_checkable

from tinytroupe import scope
from tinytroupe.agent.action_schema import TypedArguments, typed_argument_key
from tinytroupe.agent.actions import Action, ActionRegistry, CognitiveState
from tinytroupe.agent.cognition import PromptBudget
from tinytroupe.agent.emotions.component import EmotionComponent
from tinytroupe.agent.faculties import MentalFaculty
from tinytroupe.agent.memory import AgentMemory, EpisodicMemory, SemanticMemory
from tinytroupe.agent.persona import Persona
from tinytroupe.agent.turn import TurnComponent
from tinytroupe.agent.turn_components import default_components
from tinytroupe.compat import ignored_argument
from tinytroupe.context import RunContext, current_context
from tinytroupe.errors import InvalidArgument, InvalidArgumentType, NotFound
from tinytroupe.events import Event, EventBus
from tinytroupe.lazy import PerLoop
from tinytroupe.llm.client import LLMClient

#: the longest action content a turn allows unless a faculty needs more (``MentalFaculty.content_chars``)
DEFAULT_CONTENT_CHARS = 600

if TYPE_CHECKING:  # annotations only: person.py builds on this module
    from tinytroupe.agent.person import TinyPerson
    from tinytroupe.storage.memory_segments import MemorySegmentStore


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

    @property
    def context(self) -> RunContext: ...

    def agent_names(self) -> list[str]:
        """The names of the agents present (whom a TALK or REACH_OUT can reach)."""
        ...

    def reachable_names(self, agent: str) -> list[str]:
        """The names of the agents present whom ``agent``'s TALK can reach (all of them, in a plain world)."""
        ...

    def get_agent_by_name(self, name: str) -> TinyPerson | None:
        """The agent of that name in this world (tools deliver mail and invitations through it)."""
        ...


def _check_arguments(name: object, action_generator: object, episodic_memory: object, semantic_memory: object,
                     recent_window_step: object) -> None:
    """The checks of :class:`PersonCore`'s arguments (and the warning about ``action_generator``)."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgument("a TinyPerson needs a non-empty name, e.g. TinyPerson('Lisa')")
    if action_generator is not None:
        ignored_argument("TinyPerson", "action_generator",
                         "a turn is one structured LLM call through the agent's client; pass client= to "
                         "change the model or its settings")
    if episodic_memory is not None and not isinstance(episodic_memory, EpisodicMemory):
        raise InvalidArgumentType("episodic_memory must be a tinytroupe.agent.memory.EpisodicMemory, got "
                                  f"{type(episodic_memory).__name__}")
    if semantic_memory is not None and not isinstance(semantic_memory, SemanticMemory):
        raise InvalidArgumentType("semantic_memory must be a tinytroupe.agent.memory.SemanticMemory, got "
                                  f"{type(semantic_memory).__name__}")
    if recent_window_step is not None and (type(recent_window_step) is not int or recent_window_step < 1):
        raise InvalidArgument(f"recent_window_step must be an integer >= 1, got {recent_window_step!r}")


def _initial_components(emotions: bool) -> list[TurnComponent]:
    """The built-in components, with an emotions component first under ``[Emotions] ENABLED`` (first, so
    that recall, in the same phase, weighs the mood it leaves)."""
    return [EmotionComponent(), *default_components()] if emotions else default_components()


class PersonCore:
    """The state and wiring of :class:`~tinytroupe.agent.person.TinyPerson` (see there for the arguments)."""

    #: TinyTroupe's threshold: a TALK or THINK repeating an earlier one of the same turn nearly word for word
    #: (same type and target; see :func:`~tinytroupe.agent.actions.action_similarity`) is left out
    #: while ``enable_basic_action_repetition_prevention`` is on
    MAX_ACTION_SIMILARITY = 0.85

    def __init__(self, name: str, action_generator: Any = None, episodic_memory: EpisodicMemory | None = None,
                 semantic_memory: SemanticMemory | None = None,
                 mental_faculties: Iterable[MentalFaculty] | None = None,
                 enable_basic_action_repetition_prevention: bool = True, *,
                 persona: Persona | Mapping[str, Any] | None = None, client: LLMClient | None = None,
                 max_actions_per_turn: int | None = None, recent_window: int | None = None,
                 recent_window_step: int | None = None, prompt_token_budget: int | None = None,
                 context: RunContext | None = None) -> None:
        _check_arguments(name, action_generator, episodic_memory, semantic_memory, recent_window_step)
        self.name = name.strip()
        #: leave out, within a turn, actions that repeat an earlier one (see MAX_ACTION_SIMILARITY)
        self.enable_basic_action_repetition_prevention = bool(enable_basic_action_repetition_prevention)
        if persona is None:
            self.persona = Persona(name=self.name)
        elif isinstance(persona, Persona):
            self.persona = persona if persona.name == self.name else persona.merge({"name": self.name})
        else:
            self.persona = Persona.from_spec({"type": "TinyPerson", "persona": {**persona, "name": self.name}})
        if context is not None and not isinstance(context, RunContext):
            raise InvalidArgumentType(f"context must be a tinytroupe.context.RunContext, got {type(context).__name__}")
        self._context = context
        self._client = client
        self.environment: AgentEnvironment | None = None
        # Evicted items go to its context's run file, if any (cold tier; asked at once: context first); events: _publish
        self.memories = AgentMemory(self.name, episodic=episodic_memory, publish=self._publish, now=self._now,
                                    cold_store=self._memory_store)
        if semantic_memory is not None:
            self.memories.use_semantic(semantic_memory)
        self.cognitive_state = CognitiveState()
        self.location: str | None = None
        self.actions_registry = ActionRegistry()
        settings = (context if context is not None else current_context()).settings
        self.max_actions_per_turn = max_actions_per_turn or settings.simulation.max_actions_per_turn
        self.recent_window = recent_window or settings.cognition.recent_window
        # unset: half the window, so TinyPerson(recent_window=2) shows 2 events (step 1), not up to 11
        self.recent_window_step = (recent_window_step or settings.cognition.recent_window_step
                                   or max(1, self.recent_window // 2))
        self.prompt_token_budget = prompt_token_budget or settings.cognition.prompt_token_budget
        self.max_content_display_length = settings.cognition.max_content_display_length
        self._accessible: dict[str, tuple[TinyPerson | None, str]] = {}
        self._actions_buffer: list[Action] = []
        self._seen_upto = 0
        self._recent_from = 0  # where the last turn's recent window began (person_prompt.slide_window)
        self._lock = threading.RLock()
        self._turn_locks: PerLoop[asyncio.Lock] = PerLoop(asyncio.Lock)
        self._deferred: list[Event] | None = None
        self.turns = 0
        self._mental_faculties: list[MentalFaculty] = []
        #: the parts taking part in each turn's phases (see tinytroupe.agent.turn); always replaced by a new
        #: list, never changed in place, so a turn iterates it without a copy
        self._components: list[TurnComponent] = _initial_components(settings.emotions.enabled)
        self.add_mental_faculties(mental_faculties or [])
        # An active simulation (control.begin) learns about the agent, to checkpoint it; outside one,
        # the scope makes it findable by name (get_agent_by_name).
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
    def context(self) -> RunContext:
        """The run context the agent acts in: its own (``context=``), else its world's, else the current one.

        A client of its own (``client=``) replaces the context's client; the bus stays the run's.
        """
        if self._context is not None:
            return self._context.with_client(self._client)
        if self.environment is not None:  # its world's bus, whatever client it has: the world's trace sees its turns
            context = self.environment.context  # no client of its own (usual): that context, as with_client(None)
            return context if self._client is None else context.with_client(self._client, keep_bus=True)
        return current_context().with_client(self._client)

    @property
    def client(self) -> LLMClient:
        """The LLM client used for this agent's turns (see :attr:`context`)."""
        if self._client is not None:
            return self._client
        if self._context is not None:
            return self._context.client
        if self.environment is not None:
            return self.environment.client
        return current_context().client

    @client.setter
    def client(self, value: LLMClient | None) -> None:
        self._client = value

    @property
    def caller_client(self) -> LLMClient:
        """:attr:`client`, publishing its calls' events on this agent's bus too (see ``LLMClient.for_caller``)."""
        context = self.context
        return context.client.for_caller(context.bus)

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
        """Where this agent's events go: its run context's bus."""
        return self.context.bus

    def _now(self) -> datetime | None:
        return self.environment.current_datetime if self.environment is not None else None

    def _memory_store(self) -> MemorySegmentStore | None:
        return self.context.memory_store

    def _step(self) -> int | None:
        return self.environment.current_step if self.environment is not None else None

    #: where events go instead of the bus while a world orders them itself (see :meth:`defer_events`)
    _event_sink: Callable[[Event], None] | None = None

    def _publish(self, event: Event) -> None:
        sink = self._event_sink
        if sink is not None:
            sink(event)
        elif self._deferred is not None:
            self._deferred.append(event)
        else:
            self.bus.publish(event)

    def defer_events(self, sink: Callable[[Event], None] | None = None) -> None:
        """Hold events back until :meth:`flush_events` (worlds use this for a deterministic order).

        With ``sink``, each event is handed to it instead, as it happens, until :meth:`flush_events`:
        a world that runs agents ahead of its step (see :mod:`tinytroupe.environment.dependency`)
        collects several agents' events in one list, in the order they happened, and publishes them later.
        """
        with self._lock:
            if sink is not None:
                self._event_sink = sink
            elif self._deferred is None:
                self._deferred = []

    def flush_events(self) -> None:
        """Publish held-back events, in the order they happened (events handed to a sink are its own)."""
        with self._lock:
            events, self._deferred = self._deferred or [], None
            self._event_sink = None
        if events:
            publish = self.bus.publish  # one context lookup for the lot
            for event in events:
                publish(event)

    def _world_name(self) -> str | None:
        return self.environment.name if self.environment is not None else None

    def _turn_lock(self) -> asyncio.Lock:
        return self._turn_locks.get()

    # ------------------------------------------------------------------ turn components

    @property
    def components(self) -> list[TurnComponent]:
        """The components taking part in this agent's turns, in the order their hooks run
        (``emotions`` under ``[Emotions] ENABLED``, ``memory``, ``action_quality``, ``repetition_filter``,
        ``mental_faculties``, then those added)."""
        return list(self._components)

    def add_component(self, component: TurnComponent) -> Self:
        """Add a component to the agent's turns (its hooks run after those already there).

        Raises:
            InvalidArgumentType: ``component`` is not a :class:`~tinytroupe.agent.turn.TurnComponent`.
            InvalidArgument: the agent already has a component of that name.
        """
        if not isinstance(component, TurnComponent):
            raise InvalidArgumentType(f"a component must be a tinytroupe.agent.turn.TurnComponent, got "
                                      f"{type(component).__name__}")
        with self._lock:
            if any(c.name == component.name for c in self._components):
                raise InvalidArgument(f"{self.name} already has a component named {component.name!r}")
            self._components = [*self._components, component]
        return self

    def get_component(self, name: str) -> TurnComponent | None:
        """The component called ``name``, or None."""
        return next((c for c in self._components if c.name == name), None)

    def remove_component(self, name: str) -> TurnComponent:
        """Take the component called ``name`` out of the agent's turns and return it.

        Raises:
            NotFound: the agent has no component of that name.
        """
        with self._lock:
            found = self.get_component(name)
            if found is None:
                raise NotFound(f"{self.name} has no component named {name!r}; it has "
                               f"{', '.join(c.name for c in self._components) or 'none'}")
            self._components = [c for c in self._components if c is not found]
        return found

    def _set_components(self, components: list[TurnComponent]) -> None:
        """Replace the components, in this order (what :func:`tinytroupe.agent.portable.restore_components`
        rebuilt); names must be unique."""
        names = [c.name for c in components]
        if len(set(names)) != len(names):
            raise InvalidArgument(f"{self.name}: turn component names must be unique, got {names}")
        with self._lock:
            self._components = list(components)

    # ------------------------------------------------------------------ mental faculties

    @property
    def mental_faculties(self) -> list[MentalFaculty]:
        """The agent's faculties, in the order they were added."""
        return list(self._mental_faculties)

    def add_mental_faculty(self, faculty: MentalFaculty) -> Self:
        """Add a faculty: its action types join the prompt, and it handles those actions after each turn.

        A faculty that is also a :class:`~tinytroupe.agent.turn.TurnComponent` (``TinyToolUse``) joins
        the agent's components too, and takes part in the turn's phases through its own hooks.

        Raises:
            InvalidArgumentType: ``faculty`` is not a :class:`MentalFaculty`.
            InvalidArgument: a faculty with this name is there already, a required faculty is missing, or
                an action type clashes with one registered with another description.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> recall = MentalFaculty("recall", actions={"RECALL": "remember something; content is what"})
            >>> lisa = TinyPerson("Lisa").add_mental_faculty(recall)
            >>> [f.name for f in lisa.mental_faculties], "RECALL" in lisa.actions_registry.types
            (['recall'], True)
        """
        if not isinstance(faculty, MentalFaculty):
            raise InvalidArgumentType(f"a mental faculty must be a MentalFaculty, got {type(faculty).__name__}")
        with self._lock:
            names = [f.name for f in self._mental_faculties]
            if faculty.name in names:
                raise InvalidArgument(f"{self.name} already has the mental faculty {faculty.name!r}")
            missing = [r for r in faculty.requires_faculties if r not in names]
            if missing:
                raise InvalidArgument(f"the mental faculty {faculty.name!r} needs {', '.join(missing)} first; add "
                                      "those faculties before it")
            if isinstance(faculty, TurnComponent) and any(c.name == faculty.name for c in self._components):
                raise InvalidArgument(f"{self.name} already has a component named {faculty.name!r}")
            for action_type, description in faculty.actions_definitions().items():
                self.actions_registry.register(action_type, description)
            self._mental_faculties.append(faculty)
            if isinstance(faculty, TurnComponent):
                # a faculty that is also a turn component (TinyToolUse) takes part in the phases itself
                self._components = [*self._components, faculty]
        return self

    def _content_chars(self) -> int:
        """The longest action content a turn allows: 600 characters, or more if a faculty needs it."""
        faculties = self._mental_faculties  # most agents have none: no generator to run on each turn then
        return (max([DEFAULT_CONTENT_CHARS, *(f.content_chars or 0 for f in faculties)]) if faculties
                else DEFAULT_CONTENT_CHARS)

    def _typed_arguments(self) -> TypedArguments:
        """The faculties' typed action arguments, as a turn spec takes them (empty without any)."""
        schemas: dict[str, dict[str, Any]] = {}
        for faculty in self._mental_faculties:
            schemas.update(faculty.action_argument_schemas())
        return typed_argument_key(schemas, self.actions_registry.types) if schemas else ()

    def _citable_ids(self) -> tuple[str, ...]:
        """The passage ids the agent's faculties let it cite this turn, sorted (one schema per set)."""
        if not self._mental_faculties:
            return ()
        ids = {i for faculty in self._mental_faculties for i in faculty.citable_ids(self)}  # type: ignore[arg-type]
        return tuple(sorted(ids))

    def add_mental_faculties(self, faculties: Iterable[MentalFaculty]) -> Self:
        """:meth:`add_mental_faculty` for each faculty, in order."""
        for faculty in faculties:
            self.add_mental_faculty(faculty)
        return self


__all__ = ["AgentEnvironment", "PersonCore"]
