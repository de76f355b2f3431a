"""``ResultsReducer``: turn what agents did into rows with rules of your own, without an LLM.

A rule is registered for a *trigger*, an action type (``TALK``, ``THINK``, ...) or a stimulus type
(``CONVERSATION``, ``VISUAL``, ...). :meth:`ResultsReducer.reduce_agent` walks the agent's episodic
memory in order and calls the rule of each event's type with keyword arguments ``focus_agent``,
``source_agent``, ``target_agent``, ``kind`` (``"stimulus"`` or ``"action"``), ``event`` (the type),
``content`` and ``timestamp`` (the simulated time in ISO format, or None), as TinyTroupe does; what
the rule returns (anything but None) becomes one entry of the reduction.

``source_agent`` and ``target_agent`` are agents found by name in the focus agent's world (else in
the current scope), or None for a name that is no agent (``"Moderator"``) or none at all. The
memory is bounded: events already consolidated out of episodic memory are not walked.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> ana = TinyPerson("Ana").listen("Do you like tea?", source="Host")
    >>> reducer = ResultsReducer()
    >>> reducer.add_reduction_rule("CONVERSATION", lambda focus_agent, source_agent, target_agent, kind, event,
    ...                            content, timestamp: (focus_agent.name, kind, content))
    >>> reducer.reduce_agent_to_dataframe(ana, column_names=["agent", "kind", "heard"])
      agent      kind             heard
    0   Ana  stimulus  Do you like tea?
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from tinytroupe.agent.memory.episodic import MemoryItem
from tinytroupe.agent.person import TinyPerson
from tinytroupe.errors import InvalidArgument, InvalidArgumentType

ReductionRule = Callable[..., Any]


class ResultsReducer:
    """Rule-based reduction of agents' histories into rows (TinyTroupe's ``ResultsReducer``).

    Attributes:
        rules: trigger (an action or stimulus type) -> rule.
        results: agent name -> its latest reduction.
    """

    def __init__(self) -> None:
        self.results: dict[str, list[Any]] = {}
        self.rules: dict[str, ReductionRule] = {}

    def add_reduction_rule(self, trigger: str, func: ReductionRule) -> None:
        """Call ``func`` for every event of type ``trigger`` (see the module's description of its arguments).

        Raises:
            InvalidArgument: ``trigger`` is empty or already has a rule.
            InvalidArgumentType: ``trigger`` is not a string or ``func`` is not callable.
        """
        if not isinstance(trigger, str):
            raise InvalidArgumentType(f"a trigger is an action or stimulus type such as 'TALK', got "
                                      f"{type(trigger).__name__}")
        if not trigger.strip():
            raise InvalidArgument("a trigger is an action or stimulus type such as 'TALK', got an empty string")
        if not callable(func):
            raise InvalidArgumentType(f"the rule for {trigger!r} must be callable, got {type(func).__name__}")
        if trigger in self.rules:
            raise InvalidArgument(f"there is already a rule for {trigger!r}; one trigger has one rule")
        self.rules[trigger] = func

    def reduce_agent(self, agent: TinyPerson) -> list[Any]:
        """What the rules return for ``agent``'s remembered events, in order (None returns are skipped).

        Raises:
            InvalidArgumentType: ``agent`` is not a :class:`TinyPerson`.
            Exception: whatever a rule raises, unchanged (a rule is your code).
        """
        if not isinstance(agent, TinyPerson):
            raise InvalidArgumentType(f"reduce_agent needs a TinyPerson, got {type(agent).__name__}")
        reduction: list[Any] = []
        for item in agent.memory.items():
            rule = self.rules.get(item.type)
            if rule is None:
                continue
            extracted = rule(**self._arguments(agent, item))
            if extracted is not None:
                reduction.append(extracted)
        self.results[agent.name] = reduction
        return reduction

    def reduce_agent_to_dataframe(self, agent: TinyPerson, column_names: list[str] | None = None) -> pd.DataFrame:
        """:meth:`reduce_agent` as a DataFrame, one row per entry (``column_names`` name the columns
        when the rules return tuples or lists; dicts name their own)."""
        return pd.DataFrame(self.reduce_agent(agent), columns=column_names)

    @staticmethod
    def _arguments(agent: TinyPerson, item: MemoryItem) -> dict[str, Any]:
        stimulus = item.kind == "stimulus"
        other = _find(agent, item.source if stimulus else item.target)
        return {"focus_agent": agent, "source_agent": other if stimulus else agent,
                "target_agent": agent if stimulus else other, "kind": item.kind, "event": item.type,
                "content": item.content, "timestamp": item.sim_time.isoformat() if item.sim_time else None}


def _find(agent: TinyPerson, name: str | None) -> TinyPerson | None:
    """The agent called ``name`` in ``agent``'s world, else in the current scope; None if there is none."""
    if not name:
        return None
    if name == agent.name:
        return agent
    lookup = getattr(agent.environment, "get_agent_by_name", None)  # worlds have it; the agent layer's protocol not
    found = lookup(name) if callable(lookup) else None
    return found if found is not None else TinyPerson.get_agent_by_name(name)


__all__ = ["ReductionRule", "ResultsReducer"]
