"""Saving and loading a :class:`~tinytroupe.agent.person.TinyPerson`: specifications and whole state.

A specification is TinyTroupe's ``.agent.json`` (the persona, optionally with faculties, memory and
mental state); a state (:meth:`state_model`, an :class:`~tinytroupe.agent.state_models.AgentState`, or
:meth:`to_state`, the same as a dict) is everything, for checkpoints and sharded runs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, cast

from tinytroupe.agent import registry
from tinytroupe.agent.actions import CognitiveState
from tinytroupe.agent.faculties import MentalFaculty
from tinytroupe.agent.memory import EpisodicMemory
from tinytroupe.agent.person_core import PersonCore
from tinytroupe.agent.persona import Persona, load_persona_file
from tinytroupe.agent.portable import component_specs
from tinytroupe.agent.state_models import AgentState
from tinytroupe.errors import InvalidArgument, ScenarioError
from tinytroupe.llm.client import LLMClient

logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # annotations only: person.py builds on this module
    from tinytroupe.agent.person import TinyPerson

#: top-level keys of a saved agent that hold its state rather than its persona
_AGENT_STATE_KEYS = ("episodic_memory", "semantic_memory", "mental_state", "mental_faculties")


class StateMethods(PersonCore):
    """The specification and state part of :class:`~tinytroupe.agent.person.TinyPerson`."""

    def to_spec(self) -> dict[str, Any]:
        return self.persona.to_spec()

    def save_specification(self, path: str | Path, include_mental_faculties: bool = True,
                           include_memory: bool = False, include_mental_state: bool = False) -> None:
        """Write the persona as a TinyTroupe ``.agent.json``, optionally with the agent's faculties
        (``mental_faculties``), memory (``episodic_memory`` and ``semantic_memory``) and mental state.

        The memory and faculty entries are in tinytroupe's format, not TinyTroupe's: TinyTroupe cannot
        read them back (the persona part it can).

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> import json, os, tempfile
            >>> path = os.path.join(tempfile.mkdtemp(), "lisa.agent.json")
            >>> TinyPerson("Lisa", persona={"age": 28}).save_specification(path)
            >>> json.load(open(path))["persona"]
            {'name': 'Lisa', 'age': 28}
        """
        spec = self.to_spec()
        # A persona read from a saved agent keeps that file's memory and mental state as spec extras;
        # they are stale now, so only the agent's current ones (when asked for) are written.
        for key in _AGENT_STATE_KEYS:
            spec.pop(key, None)
        if include_mental_faculties and self._mental_faculties:
            spec["mental_faculties"] = [f.to_spec() for f in self._mental_faculties]
        if include_memory:
            spec["episodic_memory"] = self.memory.to_state()
            spec["semantic_memory"] = self.memories.to_state(include_vectors=True, include_episodic=False)
        if include_mental_state:
            spec["mental_state"] = {"cognitive_state": self.cognitive_state.model_dump(),
                                    "location": self.location}
        Path(path).write_text(json.dumps(spec, indent=2, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load_specification(cls, path_or_dict: str | Path | Mapping[str, Any], suppress_mental_faculties: bool = False,
                           suppress_memory: bool = False, suppress_mental_state: bool = False,
                           auto_rename_agent: bool = False, new_agent_name: str | None = None,
                           **kwargs: Any) -> Self:
        """Create an agent from a ``.agent.json`` file or dict (TinyTroupe's signature).

        ``suppress_*`` leave out the saved faculties, memory or mental state. ``new_agent_name`` renames
        the agent. With ``auto_rename_agent``, a name already taken in the current scope (see
        :meth:`get_agent_by_name`) gets the first free suffix ``_1``, ``_2``, ... (TinyTroupe 0.6.0
        documents this but never applies it). Other keyword arguments go to the constructor
        (``client=...``).

        Raises:
            ScenarioError: the file is unreadable, a Fragment, or names a faculty class not defined here.

        Example:
            >>> from tinytroupe import scope
            >>> from tinytroupe.agent import TinyPerson
            >>> spec = {"type": "TinyPerson", "persona": {"name": "Lisa", "age": 28}}
            >>> with scope.session():
            ...     first = TinyPerson.load_specification(spec)
            ...     second = TinyPerson.load_specification(spec, auto_rename_agent=True)
            >>> first.name, second.name
            ('Lisa', 'Lisa_1')
        """
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
        if auto_rename_agent:
            base, n = name, 0
            # What TinyPerson.get_agent_by_name finds (agents hidden by clear_agents free their names).
            while registry.find(name) is not None:
                n += 1
                name = f"{base}_{n}"
        faculties = [] if suppress_mental_faculties else [
            MentalFaculty.from_spec(f) for f in raw.get("mental_faculties") or []]
        agent = cls(name, persona=persona, mental_faculties=faculties, **kwargs)
        if not suppress_memory and "episodic_memory" in raw:
            agent.memory = EpisodicMemory.from_state(raw["episodic_memory"])
            agent._seen_upto = agent.memory.last_id
            if isinstance(raw.get("semantic_memory"), Mapping):
                agent.memories.load_state(dict(raw["semantic_memory"]))
        if not suppress_mental_state and "mental_state" in raw:
            ms = raw["mental_state"]
            agent.cognitive_state = CognitiveState.model_validate(ms.get("cognitive_state", {}))
            agent.location = ms.get("location")
        return agent

    @classmethod
    def load_specifications_from_folder(cls, folder_path: str | Path, file_suffix: str = ".agent.json",
                                        suppress_mental_faculties: bool = False, suppress_memory: bool = False,
                                        suppress_mental_state: bool = False, auto_rename_agent: bool = False,
                                        new_agent_name: str | None = None) -> list[Self]:
        """:meth:`load_specification` for every file in ``folder_path`` whose name ends with ``file_suffix``,
        in file-name order (TinyTroupe's order is the file system's).

        Raises:
            ScenarioError: ``folder_path`` is not a folder, or a file in it is not a valid specification.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> import os, tempfile
            >>> folder = tempfile.mkdtemp()
            >>> TinyPerson("Lisa").save_specification(os.path.join(folder, "lisa.agent.json"))
            >>> [a.name for a in TinyPerson.load_specifications_from_folder(folder)]
            ['Lisa']
        """
        folder = Path(folder_path)
        if not folder.is_dir():
            raise ScenarioError(f"{folder}: not a folder of agent specifications", path=str(folder))
        return [cls.load_specification(path, suppress_mental_faculties, suppress_memory, suppress_mental_state,
                                       auto_rename_agent, new_agent_name)
                for path in sorted(folder.iterdir()) if path.is_file() and path.name.endswith(file_suffix)]

    def state_model(self) -> AgentState:
        """The agent's whole state as an :class:`~tinytroupe.agent.state_models.AgentState` (persona,
        memory, cognitive state, buffers, faculties, its turn components' states and specs);
        :meth:`apply_state` restores it exactly (components' states into the agent's own components:
        only a worker process rebuilds components from their specs, :mod:`tinytroupe.agent.portable`)."""
        with self._lock:
            return AgentState.model_construct(
                name=self.name, persona=self.persona.to_spec(), memory=self.memory.state_model(),
                long_term_memory=self.memories.state_model(include_episodic=False),
                cognitive_state=_copy_cognitive(self.cognitive_state), location=self.location,
                accessible={n: d for n, (_, d) in self._accessible.items()}, seen_upto=self._seen_upto,
                recent_from=self._recent_from,
                turns=self.turns, actions_buffer=list(self._actions_buffer),
                action_types=self.actions_registry.descriptions(),
                mental_faculties=[f.to_spec() for f in self._mental_faculties],
                enable_basic_action_repetition_prevention=self.enable_basic_action_repetition_prevention,
                components={c.name: s for c in self._components if (s := c.get_state())},
                component_specs=component_specs(self._components))

    def apply_state(self, state: AgentState, resolve: Callable[[str], TinyPerson | None] | None = None) -> Self:
        """Put this agent in ``state`` (in place; the name must match). Returns the agent.

        ``resolve`` turns the names of accessible agents back into agents (a world passes its
        ``get_agent_by_name``); names it cannot resolve stay accessible by name, for the prompt.
        Saved faculties restore their state into the agent's faculty of the same name, or are rebuilt
        (:meth:`MentalFaculty.from_spec`) when the agent lacks them. Saved turn-component states go
        into the agent's components of the same name (a warning names any the agent lacks).

        Raises:
            InvalidArgument: the state is another agent's (its name differs).
            ScenarioError: a saved faculty's class is not defined here.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> ana = TinyPerson("Ana").listen("hi")
            >>> [i.content for i in TinyPerson("Ana").apply_state(ana.state_model()).memory.items()]
            ['hi']
        """
        if state.name != self.name:
            raise InvalidArgument(f"state of agent {state.name!r} cannot be loaded into agent {self.name!r}")
        own = {f.name: f for f in self._mental_faculties}
        new_faculties = [MentalFaculty.from_spec(spec) for spec in state.mental_faculties
                         if spec.get("name") not in own]
        persona = Persona.from_spec(state.persona)
        memory = type(self.memory).from_model(state.memory)
        with self._lock:
            self.persona = persona
            self.memory = memory
            if state.long_term_memory is not None:
                self.memories.apply_state(state.long_term_memory)
            self.cognitive_state = _copy_cognitive(state.cognitive_state)
            self.location = state.location
            self._accessible = {name: (resolve(name) if resolve is not None else None, description)
                                for name, description in state.accessible.items()}
            self.enable_basic_action_repetition_prevention = state.enable_basic_action_repetition_prevention
            self._seen_upto = state.seen_upto
            self._recent_from = state.recent_from
            self.turns = state.turns
            self._actions_buffer = list(state.actions_buffer)
            for action_type, description in state.action_types.items():
                if action_type not in self.actions_registry.types:
                    self.actions_registry.register(action_type, description)
            for spec in state.mental_faculties:
                if spec.get("name") in own:
                    own[spec["name"]].set_state(spec.get("state") or {})
            self.add_mental_faculties(new_faculties)
            self._apply_component_states(state.components)
        return self

    def _apply_component_states(self, states: dict[str, dict[str, Any]]) -> None:
        # Components are code: a saved state goes into the agent's component of that name; one the
        # agent lacks (not added yet by the script) cannot be rebuilt, so it is reported, not dropped silently.
        for name, component_state in states.items():
            component = self.get_component(name)
            if component is not None:
                component.set_state(dict(component_state))
            else:
                logger.warning("%s: the saved state of turn component %r was not restored: the agent has no "
                               "component of that name (add it before loading the state)", self.name, name)

    def to_state(self) -> dict[str, Any]:
        """The agent's whole state as JSON-ready data (:meth:`state_model` as a dict)."""
        return self.state_model().to_dict()

    def load_state(self, state: Mapping[str, Any],
                   resolve: Callable[[str], TinyPerson | None] | None = None) -> Self:
        """Put this agent in the state :meth:`to_state` produced, or an older tinytroupe's (in place; the
        name must match); see :meth:`apply_state` for ``resolve`` and faculties.

        Raises:
            InvalidArgument: the state is another agent's (its name differs), or malformed (the message
                names the field).
        """
        return self.apply_state(AgentState.parse(state), resolve)

    def encode_complete_state(self) -> dict[str, Any]:
        """TinyTroupe's name for :meth:`to_state`.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> TinyPerson("Lisa").encode_complete_state()["name"]
            'Lisa'
        """
        return self.to_state()

    def decode_complete_state(self, state: Mapping[str, Any]) -> Self:
        """TinyTroupe's name for :meth:`load_state`: accessible agents are found in the agent's world,
        else by name in the current scope (:meth:`get_agent_by_name`). Returns the agent.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> lisa = TinyPerson("Lisa").listen("hi")
            >>> copy = TinyPerson("Lisa").decode_complete_state(lisa.encode_complete_state())
            >>> [i.content for i in copy.memory.items()]
            ['hi']
        """
        env = self.environment
        local = getattr(env, "get_agent_by_name", None)

        def resolve(name: str) -> TinyPerson | None:
            found = local(name) if local is not None else None
            if not isinstance(found, PersonCore):
                found = registry.find(name)  # as TinyPerson.get_agent_by_name does
            return cast("TinyPerson | None", found)  # every PersonCore is a TinyPerson

        return self.load_state(state, resolve)

    @classmethod
    def from_state(cls, state: Mapping[str, Any] | AgentState, *, client: LLMClient | None = None,
                   resolve: Callable[[str], TinyPerson | None] | None = None) -> Self:
        """A new agent in the state :meth:`to_state` (or :meth:`state_model`) produced.

        Raises:
            InvalidArgument: the state is malformed (the message names the field).
        """
        model = AgentState.parse(state)
        agent = cls(model.name, persona=Persona.from_spec(model.persona), client=client)
        return agent.apply_state(model, resolve)


def _copy_cognitive(state: CognitiveState) -> CognitiveState:
    # Its one mutable field is a list of strings: copying it is enough (a deep copy costs ten times more).
    return state.model_copy(update={"context": list(state.context)})


__all__ = ["StateMethods"]
