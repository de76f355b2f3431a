"""An agent's whole state as one model, :class:`AgentState`: persona, memory, cognitive state,
location, accessible agents (by name), buffers, action types, mental faculties, and the state and
specification of its turn components.

``TinyPerson.state_model()`` produces it and ``TinyPerson.apply_state()`` takes it back; checkpoints,
``save``/``load``, ``to_state()``/``encode_complete_state()`` (its ``to_dict()``) and the Ray executor
(:mod:`tinytroupe.agent.state_delta`) all go through it. A dict written before the model existed
parses as version 1 (same shape).

Example:
    >>> state = AgentState.parse({"name": "Ana", "persona": {"type": "TinyPerson", "persona": {"name": "Ana"}},
    ...                           "memory": {"items": []}, "cognitive_state": {"goals": "bake"}})
    >>> state.cognitive_state.goals, state.turns
    ('bake', 0)
    >>> sorted(set(state.to_dict()) - {"persona", "memory", "cognitive_state", "name", "version"})
    ['accessible', 'action_types', 'actions_buffer', 'location', 'seen_upto', 'turns']
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from tinytroupe.agent.actions import Action, CognitiveState
from tinytroupe.agent.memory.episodic import EpisodicState
from tinytroupe.agent.memory.state import MemoryState
from tinytroupe.state import StateModel


class ComponentSpec(StateModel):
    """How a worker process rebuilds one of an agent's turn components: its class (``module`` and
    ``qualname``) and constructor arguments (``args``; :meth:`TurnComponent.spec_args`), or, for a
    component that is a mental faculty too (``faculty``), from the agent's saved faculty of that name.
    Its state is the agent's ``components[name]``. ``portable`` is False for a component that cannot be
    rebuilt (then ``args`` is None): a worker refuses such a state."""

    name: str
    module: str
    qualname: str
    portable: bool = True
    faculty: bool = False
    args: dict[str, Any] | None = None


class AgentState(StateModel):
    """A :class:`~tinytroupe.agent.person.TinyPerson` as data.

    ``memory`` is the episodic store, ``long_term_memory`` the rest of the memory (semantic facts,
    index, counters; None in states that predate it). ``persona`` is the persona's specification
    (``Persona.to_spec()``). Accessible agents are kept by name with their descriptions. Faculties and a
    disabled repetition check appear in the dict only when present, as before the models (and
    ``recent_from`` once a turn of the agent has shown recent events).
    """

    omit_when: ClassVar[dict[str, Any]] = {"long_term_memory": None, "mental_faculties": [],
                                           "enable_basic_action_repetition_prevention": True, "components": {},
                                           "component_specs": None, "recent_from": 0}

    name: str
    persona: dict[str, Any]
    memory: EpisodicState
    long_term_memory: MemoryState | None = None
    cognitive_state: CognitiveState = Field(default_factory=CognitiveState)
    location: str | None = None
    accessible: dict[str, str] = Field(default_factory=dict)
    seen_upto: int = 0
    #: the memory id the recent window of the agent's last prompt started at: the next prompt's window
    #: slides on from there (``[Cognition] RECENT_WINDOW_STEP``), so a resumed run builds the same prompts
    recent_from: int = 0
    turns: int = 0
    actions_buffer: list[Action] = Field(default_factory=list)
    action_types: dict[str, str] = Field(default_factory=dict)
    mental_faculties: list[dict[str, Any]] = Field(default_factory=list)
    enable_basic_action_repetition_prevention: bool = True
    #: the state of each turn component that keeps one (``TurnComponent.get_state``), by component name
    components: dict[str, dict[str, Any]] = Field(default_factory=dict)
    #: the agent's turn components in order, as a worker rebuilds them; None: the built-in ones
    #: (:func:`tinytroupe.agent.turn_components.default_components`)
    component_specs: list[ComponentSpec] | None = None


__all__ = ["AgentState", "ComponentSpec"]
