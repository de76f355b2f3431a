"""Whom a :class:`~tinytroupe.agent.person.TinyPerson` can reach, and whom its actions may target."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from tinytroupe.agent.actions import MAX_TARGET_CHOICES, target_choices
from tinytroupe.agent.person_core import PersonCore

if TYPE_CHECKING:  # annotations only: person.py builds on this module
    from tinytroupe.agent.person import TinyPerson


class AccessMethods(PersonCore):
    """The accessibility part of :class:`~tinytroupe.agent.person.TinyPerson`."""

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

    def target_choices(self) -> tuple[str, ...] | None:
        """Whom this agent's next actions may name as ``target``: ``""`` (nobody in particular), the
        other agents in its world its TALK reaches (its relations, in a social network), those it
        can reach, and whoever caused a stimulus it remembers recently (a moderator, say).

        The turn's response schema lists them as an ``enum``, so constrained decoding (the embedded
        model, strict structured outputs) cannot invent a listener. It depends on the agent's state
        and its world's members only (a sharded run sends those along), so a turn gets the same
        schema, and cache key, on any executor. None when there are too many names
        (:data:`~tinytroupe.agent.actions.MAX_TARGET_CHOICES`): free text then.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> ana, ben = TinyPerson("Ana"), TinyPerson("Ben")
            >>> ana.make_agent_accessible(ben)
            >>> ana.listen("Hi", source="Moderator").target_choices()
            ('', 'Ben', 'Moderator')
        """
        env = self.environment
        present = env.reachable_names(self.name) if env is not None else []
        if len(present) > MAX_TARGET_CHOICES + 1:
            return None  # a crowd: free text, without sorting thousands of names every turn
        with self._lock:
            names = [*present, *self._accessible]
            # As far back as the prompt's recent events may reach (its window grows by up to step - 1
            # events), so whoever they show speaking can be answered.
            pool = self.recent_window + self.recent_window_step - 1 + 50
            names += [i.source for i in self.memory.recent(pool) if i.kind == "stimulus" and i.source]
        return target_choices(names, exclude=self.name)


__all__ = ["AccessMethods"]
