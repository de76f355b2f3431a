"""The turn protocol: the named phases of one agent turn, and the components that take part in them.

A turn runs five phases in order; the agent does the core work of each, then calls the hook of that
phase on each of its components, in the order they were added:

====================  ===========================================  =====================================
phase                 the agent                                    components (built in)
====================  ===========================================  =====================================
``perceive``          gathers the stimuli new since its last turn  emotions (opt-in) decay and appraise
                      into ``turn.view``
``retrieve``          -                                            memory recalls what is relevant
                                                                   (``turn.view.long_term_memory``);
                                                                   others add ``turn.view.sections``
``decide``            asks the model, with the prompt built after  repetition filter drops repeated
                      ``retrieve``, for an ``ActionBatch``         actions from ``turn.batch``
                      (``turn.batch``)
``act``               commits the actions (memory, events,         mental faculties carry out theirs
                      ``turn.actions``)
``maintain``          -                                            memory upkeep (rate, consolidate,
                                                                   forget, reflect)
====================  ===========================================  =====================================

A failure in the first four phases fails the turn before anything is committed (``perceive``,
``retrieve``, ``decide``) or after (``act``); one in ``maintain`` is published as a warning, since the
turn's actions already happened. Tools, emotions, grounding and perception plug in as components
instead of growing :class:`~tinytroupe.agent.person.TinyPerson` (emotions: :mod:`tinytroupe.agent.emotions`).

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> class Mood(TurnComponent):
    ...     name = "mood"
    ...     def __init__(self) -> None:
    ...         self.heard = 0
    ...     async def perceive(self, turn: Turn) -> None:  # not run for a preview (build_prompt)
    ...         self.heard += len(turn.view.new)
    ...     async def retrieve(self, turn: Turn) -> None:
    ...         turn.view.sections["Your mood"] = "cheerful" if self.heard else "quiet"
    >>> reply = {"actions": [{"type": "DONE"}]}
    >>> lisa = TinyPerson("Lisa", client=LLMClient(ScriptedBackend([reply]))).add_component(Mood())
    >>> lisa.listen_and_act("Good news!")
    >>> lisa.get_component("mood").heard
    1
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

from tinytroupe.agent.actions import Action, ActionBatch, ActionTurnSpec
from tinytroupe.agent.cognition import PromptBudget, TurnView
from tinytroupe.context import RunContext
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.types import Message

if TYPE_CHECKING:  # annotations only: the agent builds on this module
    from tinytroupe.agent.person import TinyPerson


class TurnPhase(StrEnum):
    """The phases of a turn, in the order they run."""

    PERCEIVE = "perceive"
    RETRIEVE = "retrieve"
    DECIDE = "decide"
    ACT = "act"
    MAINTAIN = "maintain"


@dataclass
class Turn:
    """One turn in progress: what its phases and components share.

    ``preview`` is True when the turn only builds the prompt (``TinyPerson.build_prompt``): only the
    ``retrieve`` hooks run, and nothing is asked, committed or rehearsed (a ``retrieve`` hook that keeps
    state should leave it as it is in a preview).
    """

    agent: TinyPerson
    client: LLMClient
    world: str | None = None
    step: int | None = None
    preview: bool = False
    #: what the prompt shows (set in ``perceive``); components add ``view.sections`` in ``retrieve``
    view: TurnView | None = None
    #: the newest memory id the view includes (marked as seen when the turn commits)
    seen_upto: int = 0
    #: the id of the oldest event the view's recent window shows (the agent keeps it when the turn commits)
    recent_from: int = 0
    messages: list[Message] = field(default_factory=list)
    #: what ``decide`` asks the model for (set before it asks; a component that asks again uses it too)
    spec: ActionTurnSpec | None = None
    #: ask for the cognitive state's appraisal fields too (an emotions component sets it in ``retrieve``)
    appraisal: bool = False
    #: request parameters of the turn's call that components set before ``decide`` (e.g. ``temperature``)
    params: dict[str, Any] = field(default_factory=dict)
    #: the model's answer (set in ``decide``; components may replace it before it is committed)
    batch: ActionBatch | None = None
    #: the actions committed (set in ``act``)
    actions: list[Action] = field(default_factory=list)
    #: scratch space for components that talk to each other within a turn
    notes: dict[str, Any] = field(default_factory=dict)
    #: the agent's run context for this turn (set when the turn starts; None: ask the agent)
    context: RunContext | None = None
    #: the agent's prompt budget for this turn (set when the turn starts; None: ask the agent)
    budget: PromptBudget | None = None


class TurnComponent:
    """A part of an agent with its own state and hooks for the phases of a turn.

    Override the hooks for the phases the component takes part in (each is a coroutine that gets the
    :class:`Turn`), and :meth:`get_state`/:meth:`set_state` when it keeps state saved with the agent.
    ``name`` must be unique among an agent's components.

    A component whose turns may run in a worker process (the sharded and Ray executors) says so with
    ``portable = True`` in its class body, and gives the arguments that rebuild it there
    (:meth:`spec_args`, read back by :meth:`from_spec_args`); its state then travels with the agent's
    (:mod:`tinytroupe.agent.portable`). A subclass is not portable unless it says so too: it may keep
    objects that are not data, or read its world during the turn.
    """

    name: str = "component"
    #: whether a worker process can rebuild this component from its class, :meth:`spec_args` and state
    portable: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Not inherited: a subclass of a portable component (MarketAccess of TinyToolUse) may read its world.
        if "portable" not in cls.__dict__:
            cls.portable = False

    async def perceive(self, turn: Turn) -> None:
        """``turn.view.new`` holds the stimuli new since the agent's last turn."""

    async def retrieve(self, turn: Turn) -> None:
        """Add what the model should know: ``turn.view.sections[title] = text`` (or the view's fields)."""

    async def decide(self, turn: Turn) -> None:
        """``turn.batch`` is the model's answer; replace it to change what is committed."""

    async def act(self, turn: Turn) -> None:
        """``turn.actions`` were committed (remembered, published, left for the world to route)."""

    async def maintain(self, turn: Turn) -> None:
        """Upkeep after the turn; a failure here is a warning, not a failed turn."""

    def get_state(self) -> dict[str, Any]:
        """JSON-ready state saved with the agent (none by default)."""
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`get_state` output (nothing to restore by default)."""

    def spec_args(self) -> dict[str, Any]:
        """JSON-ready keyword arguments that rebuild this component with its class (its state apart)."""
        return {}

    @classmethod
    def from_spec_args(cls, args: Mapping[str, Any]) -> TurnComponent:
        """The component :meth:`spec_args` describes (before its state is restored)."""
        return cls(**args)

    def portability_problem(self) -> str | None:
        """Why this component cannot run in a worker process, or None when it can (see :attr:`portable`)."""
        if type(self).portable:
            return None
        return f"{type(self).__qualname__} does not declare itself portable (portable = True, with spec_args)"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def takes_part(component: TurnComponent, phase: TurnPhase) -> bool:
    """Whether ``component`` has a hook of its own for ``phase`` (not the base class's, which does
    nothing): a turn skips the others, instead of making and awaiting a coroutine per component and
    phase that does nothing.

    Example:
        >>> class Mood(TurnComponent):
        ...     async def decide(self, turn: Turn) -> None: ...
        >>> takes_part(Mood(), TurnPhase.DECIDE), takes_part(Mood(), TurnPhase.ACT)
        (True, False)
    """
    name = _HOOK_NAMES[phase]
    # the class's own hooks first (a set lookup), then a hook set on the instance itself
    own, has_dict = _hook_table(type(component))
    return name in own or (has_dict and name in component.__dict__)


#: each phase's hook name (a StrEnum's ``value`` is a descriptor, slow enough to notice on every turn)
_HOOK_NAMES = {phase: str(phase.value) for phase in TurnPhase}


def _hooks_of(cls: type) -> tuple[frozenset[str], bool]:
    # The hooks ``cls`` overrides, and whether its instances have a ``__dict__`` (where a hook may be set
    # on one instance), asked once per class (below): a turn asks for each phase and component, and
    # reading ``__dict__`` directly spares a getattr call with a default each time.
    own = frozenset(name for name in _HOOK_NAMES.values() if getattr(cls, name) is not getattr(TurnComponent, name))
    return own, getattr(cls, "__dictoffset__", 0) != 0


_hook_table: Callable[[type], tuple[frozenset[str], bool]] = lru_cache(maxsize=1024)(_hooks_of)


async def run_hooks(components: list[TurnComponent], phase: TurnPhase, turn: Turn) -> None:
    """Call ``phase``'s hook on each component that has one (:func:`takes_part`), in order."""
    name = _HOOK_NAMES[phase]
    for component in components:
        # takes_part, inline: five phases times every component, on every turn
        own, has_dict = _hook_table(type(component))
        if name in own or (has_dict and name in component.__dict__):
            await getattr(component, name)(turn)


__all__ = ["Turn", "TurnComponent", "TurnPhase", "run_hooks", "takes_part"]
