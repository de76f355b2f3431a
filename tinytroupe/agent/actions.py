"""Stimuli, actions, the cognitive state and the per-turn :class:`ActionBatch` the model returns.

Action types form a registry (:class:`ActionRegistry`): the core types are always there, and
faculties and tools add their own with a description that goes into the prompt. The pydantic model
the LLM must fill is built from an agent's registry, so the schema only offers the types that agent
can really perform.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model


class StimulusType(StrEnum):
    """What an agent can perceive (TinyTroupe's vocabulary)."""

    CONVERSATION = "CONVERSATION"
    SOCIAL = "SOCIAL"
    LOCATION = "LOCATION"
    VISUAL = "VISUAL"
    THOUGHT = "THOUGHT"
    INTERNAL_GOAL_FORMULATION = "INTERNAL_GOAL_FORMULATION"


CORE_ACTIONS: dict[str, str] = {
    "TALK": "say something to someone; target is the listener's name (empty: everyone around)",
    "THINK": "think something to yourself; nobody else perceives it",
    "REACH_OUT": "try to get in touch with someone named in target, so you can talk to them",
    "DONE": "end your turn; always the last action",
}


class ActionRegistry:
    """The action types an agent can perform, with the one-line description shown in the prompt.

    Example:
        >>> reg = ActionRegistry()
        >>> reg.register("WRITE_DOCUMENT", "write a document; content is its text")
        >>> "WRITE_DOCUMENT" in reg.types
        True
    """

    def __init__(self) -> None:
        self._descriptions: dict[str, str] = dict(CORE_ACTIONS)

    def register(self, action_type: str, description: str) -> None:
        name = action_type.strip().upper()
        if not name.replace("_", "").isalnum():
            raise ValueError(f"action type {action_type!r} must be letters, digits and underscores, e.g. 'RECALL'")
        if name in self._descriptions and self._descriptions[name] != description:
            raise ValueError(f"action type {name} is already registered with another description")
        self._descriptions[name] = description

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(self._descriptions)

    def descriptions(self) -> dict[str, str]:
        return dict(self._descriptions)


class Action(BaseModel):
    """One action as the model emits it."""

    model_config = ConfigDict(extra="ignore")

    type: str
    content: str = ""
    target: str = ""


class CognitiveState(BaseModel):
    """What the agent is after, what surrounds it, what it attends to and how it feels."""

    model_config = ConfigDict(extra="ignore")

    goals: str = ""
    context: list[str] = Field(default_factory=list)
    attention: str = ""
    emotions: str = "Feeling nothing in particular, just calm."


class ActionBatch(BaseModel):
    """A whole turn: actions ending in DONE, plus the cognitive state after them."""

    model_config = ConfigDict(extra="ignore")

    actions: list[Action]
    cognitive_state: CognitiveState = Field(default_factory=CognitiveState)

    def normalised(self, max_actions: int) -> ActionBatch:
        """Actions cut at the first DONE, at most ``max_actions`` before it, always ending in DONE."""
        kept: list[Action] = []
        for action in self.actions:
            if action.type == "DONE":
                break
            if len(kept) >= max_actions:
                break
            kept.append(action)
        kept.append(Action(type="DONE"))
        return ActionBatch(actions=kept, cognitive_state=self.cognitive_state)


@lru_cache(maxsize=256)
def action_batch_model(action_types: tuple[str, ...], max_actions: int,
                       max_content_chars: int = 600) -> type[BaseModel]:
    """The pydantic model the LLM must fill for agents that can perform ``action_types``.

    The schema restricts ``type`` to the registered names and bounds list and string sizes, so
    servers with structured output (and the embedded model's skeleton fill-in) stay within limits.
    """
    type_literal: Any = Literal[action_types]
    llm_action = create_model(
        "LLMAction",
        type=(type_literal, Field(description="one of the action types")),
        content=(str, Field("", max_length=max_content_chars, description="what is said, thought or done")),
        target=(str, Field("", max_length=60, description="who the action is for; empty if nobody")),
    )
    llm_state = create_model(
        "LLMCognitiveState",
        # Defaults keep a turn usable when a model leaves a field out; the schema still lists them all.
        goals=(str, Field("", max_length=200, description="your current goals")),
        context=(list[str], Field(default_factory=list, json_schema_extra={"maxItems": 5},
                                  description="short facts about your situation")),
        attention=(str, Field("", max_length=200, description="what you pay attention to")),
        emotions=(str, Field("", max_length=120, description="how you feel")),
    )
    return create_model(
        "ActionTurn",
        # maxItems is advertised to the model but not enforced: a longer turn is cut, not re-asked.
        actions=(list[llm_action], Field(min_length=1, json_schema_extra={"maxItems": max_actions + 1},
                                         description="your actions in order, the last one DONE")),
        cognitive_state=(llm_state, Field(default_factory=llm_state)),
    )


__all__ = [
    "CORE_ACTIONS",
    "Action",
    "ActionBatch",
    "ActionRegistry",
    "CognitiveState",
    "StimulusType",
    "action_batch_model",
]
