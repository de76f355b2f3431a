"""Stimuli, actions, the cognitive state and the per-turn :class:`ActionBatch` the model returns.

Action types form a registry (:class:`ActionRegistry`): the core types are always there, and
faculties and tools add their own with a description that goes into the prompt. The pydantic model
the LLM must fill is built from an agent's registry, so the schema only offers the types that agent
can really perform.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model

from tinytroupe.agent.action_schema import TYPED_CONTEXT_KEY, TypedArguments, cited_list, content_text, with_variants
from tinytroupe.agent.cognitive_schema import APPRAISAL_FIELDS, _cognitive_state_model
from tinytroupe.agent.targets import (
    MAX_FREE_TARGET_CHARS,
    MAX_TARGET_CHOICES,
    TARGETS_CONTEXT_KEY,
    canonical_target,
    target_choices,
    target_in_context,
)
from tinytroupe.errors import InvalidArgument
from tinytroupe.llm.canonical import freeze_schema


class StimulusType(StrEnum):
    """What an agent can perceive (TinyTroupe's vocabulary)."""

    CONVERSATION = "CONVERSATION"
    SOCIAL = "SOCIAL"
    LOCATION = "LOCATION"
    VISUAL = "VISUAL"
    THOUGHT = "THOUGHT"
    INTERNAL_GOAL_FORMULATION = "INTERNAL_GOAL_FORMULATION"
    DOCUMENT = "DOCUMENT"
    #: what a tool call of the agent's returned, or why it failed (``tinytroupe.tools.TinyToolUse``)
    TOOL_RESULT = "TOOL_RESULT"


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
            raise InvalidArgument(f"action type {action_type!r} must be letters, digits and underscores, e.g. 'RECALL'")
        if name in self._descriptions and self._descriptions[name] != description:
            raise InvalidArgument(f"action type {name} is already registered with another description")
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
    #: chunk ids the model cited in the turn's ``cites`` field (never dumped: prompts and judges see what was said)
    cites: list[str] = Field(default_factory=list, exclude=True)


class CognitiveState(BaseModel):
    """What the agent is after, what surrounds it, what it attends to and how it feels."""

    model_config = ConfigDict(extra="ignore")

    goals: str = ""
    context: list[str] = Field(default_factory=list)
    attention: str = ""
    emotions: str = "Feeling nothing in particular, just calm."
    # How this turn's events moved the agent, -3..3 each (asked only of agents with an emotions component,
    # see APPRAISAL_FIELDS): read by that component, never saved (the PAD state is the component's).
    pleasure_change: int | None = Field(None, exclude=True)
    arousal_change: int | None = Field(None, exclude=True)
    dominance_change: int | None = Field(None, exclude=True)


class ActionBatch(BaseModel):
    """A whole turn: actions ending in DONE, plus the cognitive state after them."""

    model_config = ConfigDict(extra="ignore")

    actions: list[Action]
    cognitive_state: CognitiveState = Field(default_factory=CognitiveState)

    def normalised(self, max_actions: int) -> ActionBatch:
        """Actions cut at the first DONE, at most ``max_actions`` before it, always ending in DONE.

        A batch that already is so (its only DONE last and empty, as nearly every model answer is) is
        returned as it is: building it again cost two validations on every turn.
        """
        actions = self.actions
        last = len(actions) - 1
        if 0 <= last <= max_actions:
            done = actions[last]
            if (done.type == "DONE" and not done.content and not done.target and not done.cites
                    and all(action.type != "DONE" for action in actions[:last])):
                return self
        kept: list[Action] = []
        for action in self.actions:
            if action.type == "DONE":
                break
            if len(kept) >= max_actions:
                break
            kept.append(action)
        kept.append(Action(type="DONE"))
        return ActionBatch(actions=kept, cognitive_state=self.cognitive_state)

    def without_repetitions(self, max_similarity: float) -> tuple[ActionBatch, list[Action]]:
        """The batch less every action that repeats an earlier one of this turn, and the actions left out.

        An action repeats another when their :func:`action_similarity` is above ``max_similarity``:
        TALK or THINK of the same type and target with the same non-empty content, up to case,
        punctuation and whitespace (a ``max_similarity`` of 1 or more drops nothing). Only actions
        before the first DONE are compared; the ones kept stay in order.

        Example:
            >>> batch = ActionBatch(actions=[Action(type="THINK", content="I like tea"),
            ...                              Action(type="THINK", content="I like tea."),
            ...                              Action(type="TALK", content="Tea?", target="Ben")])
            >>> kept, dropped = batch.without_repetitions(0.85)
            >>> [a.type for a in kept.actions], [a.content for a in dropped]
            (['THINK', 'TALK', 'DONE'], ['I like tea.'])
        """
        kept: list[Action] = []
        dropped: list[Action] = []
        for action in self.actions:
            if action.type == "DONE":
                break
            if any(action_similarity(earlier, action) > max_similarity for earlier in kept):
                dropped.append(action)
            else:
                kept.append(action)
        if not dropped:
            return self, []
        return ActionBatch(actions=[*kept, Action(type="DONE")], cognitive_state=self.cognitive_state), dropped


#: the only action types a turn may repeat by mistake: a looping model says or thinks the same thing
#: twice; two WRITE_DOCUMENTs, CONSULTs or any other tool action alike are each meant
REPEATABLE_TYPES = frozenset({"TALK", "THINK"})


def _normalised(text: str) -> str:
    """``text`` casefolded, without punctuation, with runs of whitespace made one space."""
    kept = "".join(" " if unicodedata.category(c).startswith("P") else c for c in text.casefold())
    return " ".join(kept.split())


def action_similarity(a: Action, b: Action) -> float:
    """1.0 when ``b`` repeats ``a`` nearly word for word, else 0.0.

    Only TALK and THINK actions of the same type and target, whose non-empty contents are equal once
    casefolded, stripped of punctuation and with whitespace collapsed, are alike. Word-set or
    character-ratio measures are not used: "we should not buy it, it is too expensive" says the
    opposite of "we should buy it, it is not too expensive" with the same words.

    Example:
        >>> action_similarity(Action(type="TALK", content="Hi Ben!", target="Ben"),
        ...                   Action(type="TALK", content="hi  ben", target="Ben"))
        1.0
        >>> action_similarity(Action(type="TALK", content="Hi"), Action(type="THINK", content="Hi"))
        0.0
    """
    if a.type != b.type or a.type not in REPEATABLE_TYPES or a.target.strip() != b.target.strip():
        return 0.0
    na, nb = _normalised(a.content), _normalised(b.content)
    return 1.0 if na and na == nb else 0.0


# One model per set of action types and people; a world of a few hundred agents keeps them all.
@lru_cache(maxsize=1024)
def action_batch_model(action_types: tuple[str, ...], max_actions: int,
                       max_content_chars: int = 600, targets: tuple[str, ...] | None = None) -> type[BaseModel]:
    """The pydantic model the LLM must fill for agents that can perform ``action_types``.

    The schema restricts ``type`` to the registered names and bounds list and string sizes, so
    servers with structured output (and the embedded model's skeleton fill-in) stay within limits.
    With ``targets`` (see :func:`target_choices`) the ``target`` is an ``enum`` of those names too:
    constrained decoding then cannot address someone who is not there, and an answer from a server
    without it that names a stranger is re-asked.

    Example:
        >>> model = action_batch_model(("TALK", "DONE"), 2, targets=("", "Ana", "Ben"))
        >>> model.model_json_schema()["$defs"]["LLMAction"]["properties"]["target"]["enum"]
        ['', 'Ana', 'Ben']
    """
    target_type: Any = str
    target_constraints: dict[str, Any] = {"max_length": MAX_FREE_TARGET_CHARS}
    if targets is not None:
        if "" not in targets:
            raise InvalidArgument(f"targets must include '' (nobody in particular), got {targets!r}")
        target_type = Annotated[Literal[targets], BeforeValidator(canonical_target(targets))]
        target_constraints = {}
    return _build_turn_model(action_types, max_actions, max_content_chars, target_type, target_constraints)


def _build_turn_model(action_types: tuple[str, ...], max_actions: int, max_content_chars: int,
                      target_type: Any, target_constraints: dict[str, Any], appraisal: bool = False,
                      content_type: Any = str, cites: bool = False) -> type[BaseModel]:
    type_literal: Any = Literal[action_types]
    cited: dict[str, Any] = {"cites": (Annotated[list[str], BeforeValidator(cited_list)], [])} if cites else {}
    llm_action = create_model(
        "LLMAction",
        type=(type_literal, Field(description="one of the action types")),
        content=(content_type, Field("", max_length=max_content_chars, description="what is said, thought or done")),
        target=(target_type, Field("", description="who the action is for; empty if nobody", **target_constraints)),
        **cited,
    )
    llm_state = _cognitive_state_model(appraisal)
    return create_model(
        "ActionTurn",
        # maxItems is advertised to the model but not enforced: a longer turn is cut, not re-asked.
        actions=(list[llm_action], Field(min_length=1, json_schema_extra={"maxItems": max_actions + 1},
                                         description="your actions in order, the last one DONE")),
        cognitive_state=(llm_state, Field(default_factory=llm_state)),
    )


class ActionTurnSpec(NamedTuple):
    """What an agent's turn asks the model for: the class that validates the answer, the JSON schema
    sent (with the people it may address as an ``enum``) and the validation context that makes the
    class check the same thing. See :func:`action_turn_spec`."""

    model: type[BaseModel]
    schema: dict[str, Any]
    context: dict[str, Any] | None


@lru_cache(maxsize=64)
def _context_turn_model(action_types: tuple[str, ...], max_actions: int, max_content_chars: int,
                        appraisal: bool = False, cites: bool = False) -> type[BaseModel]:
    # The content validator turns a typed action's object into JSON text (the schema is unchanged by it);
    # ``cites`` keeps the ids an action cites (the schema is always built from the class without them).
    return _build_turn_model(action_types, max_actions, max_content_chars,
                             Annotated[str, BeforeValidator(target_in_context)], {}, appraisal,
                             Annotated[str, BeforeValidator(content_text)], cites)


@lru_cache(maxsize=4096)
def _turn_schema(action_types: tuple[str, ...], max_actions: int, max_content_chars: int,
                 targets: tuple[str, ...] | None, appraisal: bool = False,
                 typed: TypedArguments = (), citable: tuple[str, ...] = ()) -> dict[str, Any]:
    from tinytroupe.llm.structured import schema_for

    base = schema_for(_context_turn_model(action_types, max_actions, max_content_chars, appraisal))
    target: dict[str, Any] = dict(base["$defs"]["LLMAction"]["properties"]["target"])
    if targets is None:
        target["maxLength"] = MAX_FREE_TARGET_CHARS
    else:
        target["enum"] = list(targets)
    # Copy only the path down to the target, so the shared base schema is never changed.
    action = dict(base["$defs"]["LLMAction"])
    action["properties"] = {**action["properties"], "target": target}
    schema = {**base, "$defs": {**base["$defs"], "LLMAction": action}}
    # Without typed arguments or citable ids the schema is what it was before either existed (cache keys, replays).
    return freeze_schema(with_variants(schema, typed, citable, max_content_chars))


def action_turn_spec(action_types: tuple[str, ...], max_actions: int, max_content_chars: int = 600,
                     targets: tuple[str, ...] | None = None, typed_arguments: TypedArguments = (), *,
                     appraisal: bool = False, citable: tuple[str, ...] = ()) -> ActionTurnSpec:
    """What a turn asks for, like :func:`action_batch_model` but with one class for every agent.

    ``appraisal`` adds :data:`APPRAISAL_FIELDS` to the cognitive state (for an agent with emotions).

    Every agent addresses a different set of people (everyone but itself, say), and a pydantic class
    per set costs about 2 ms to build and describe: 0.2 s at the first step of a 100-agent survey.
    Here the class is shared; the set goes into the schema sent (an ``enum``, as
    :func:`action_batch_model` has it) and into the validation context, which the class checks
    ``target`` against (with the same spelling fixes). Schemas are remembered per set.

    ``typed_arguments`` (:func:`~tinytroupe.agent.action_schema.typed_argument_key`) gives actions
    whose ``content`` the schema asks for as an object of arguments
    (:mod:`tinytroupe.agent.action_schema`); the class turns such an object into its JSON text.
    ``citable`` (chunk ids the agent was shown) lets TALK and THINK cite them in ``cites``.

    Example:
        >>> spec = action_turn_spec(("TALK", "DONE"), 2, targets=("", "Ana", "Ben"))
        >>> spec.schema["$defs"]["LLMAction"]["properties"]["target"]["enum"]
        ['', 'Ana', 'Ben']
        >>> answer = {"actions": [{"type": "TALK", "content": "hi", "target": "ana"}]}
        >>> spec.model.model_validate(answer, context=spec.context).actions[0].target
        'Ana'
        >>> spec.model is action_turn_spec(("TALK", "DONE"), 2, targets=("", "Cai")).model
        True
    """
    if targets is not None and "" not in targets:
        raise InvalidArgument(f"targets must include '' (nobody in particular), got {targets!r}")
    unknown = [a for a, _ in typed_arguments if a not in action_types] if typed_arguments else None
    if unknown:
        raise InvalidArgument(f"typed_arguments name actions the agent cannot perform: {', '.join(unknown)}")
    model = _context_turn_model(action_types, max_actions, max_content_chars, appraisal, bool(citable))
    schema = _turn_schema(action_types, max_actions, max_content_chars, targets, appraisal, typed_arguments, citable)
    context: dict[str, Any] = {}
    if targets is not None:
        context[TARGETS_CONTEXT_KEY] = targets
    if typed_arguments:
        context[TYPED_CONTEXT_KEY] = frozenset(a for a, _ in typed_arguments)
    return ActionTurnSpec(model, schema, context or None)


__all__ = [
    "APPRAISAL_FIELDS",
    "CORE_ACTIONS",
    "MAX_TARGET_CHOICES",
    "Action",
    "ActionBatch",
    "ActionRegistry",
    "ActionTurnSpec",
    "CognitiveState",
    "StimulusType",
    "action_batch_model",
    "action_similarity",
    "action_turn_spec",
    "target_choices",
]
