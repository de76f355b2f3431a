"""Who is in a world: agents join (names unique within the world, one world per agent) and leave (their
accessibility to the others ends), and are found by name.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Self

from tinytroupe.agent.person import TinyPerson
from tinytroupe.context import RunContext
from tinytroupe.errors import InvalidArgument, InvalidArgumentType
from tinytroupe.llm.client import LLMClient


class WorldMembership:
    """Mixin of :class:`~tinytroupe.environment.TinyWorld`: its agents, in the order they joined."""

    if TYPE_CHECKING:
        # What an agent needs of its world (AgentEnvironment), which the world class provides.
        name: str
        agents: list[TinyPerson]
        name_to_agent: dict[str, TinyPerson]

        @property
        def current_datetime(self) -> datetime: ...

        @property
        def current_step(self) -> int: ...

        @property
        def client(self) -> LLMClient: ...

        @property
        def context(self) -> RunContext: ...

    def add_agent(self, agent: TinyPerson) -> Self:
        """Add ``agent``; its name must be new in this world.

        Raises:
            InvalidArgumentType: ``agent`` is not a :class:`TinyPerson`.
            InvalidArgument: another agent of this world has its name, or it lives in another world.
        """
        if not isinstance(agent, TinyPerson):
            raise InvalidArgumentType(f"only TinyPerson agents can join a world, got {type(agent).__name__}")
        existing = self.name_to_agent.get(agent.name)
        if existing is agent:
            return self
        if existing is not None:
            raise InvalidArgument(f"world {self.name!r} already has an agent named {agent.name!r}; "
                                  "agent names must be unique in a world")
        if agent.environment is not None and agent.environment is not self:
            raise InvalidArgument(f"agent {agent.name!r} already lives in world {agent.environment.name!r}; "
                                  "remove it there first")
        agent.environment = self
        self.agents.append(agent)
        self.name_to_agent[agent.name] = agent
        return self

    def add_agents(self, agents: Iterable[TinyPerson]) -> Self:
        for agent in agents:
            self.add_agent(agent)
        return self

    def remove_agent(self, agent: TinyPerson) -> Self:
        """Take ``agent`` out of the world; accessibility between it and the others ends.

        Raises:
            InvalidArgument: ``agent`` is not in this world.
        """
        if self.name_to_agent.get(agent.name) is not agent:
            raise InvalidArgument(f"agent {agent.name!r} is not in world {self.name!r}")
        self.agents.remove(agent)
        del self.name_to_agent[agent.name]
        agent.environment = None
        # Accessibility is a relation within one world: it ends on both sides when the agent leaves.
        agent.make_all_agents_inaccessible()
        for other in self.agents:
            other.make_agent_inaccessible(agent)
        return self

    def remove_all_agents(self) -> Self:
        for agent in list(self.agents):
            self.remove_agent(agent)
        return self

    def get_agent_by_name(self, name: str) -> TinyPerson | None:
        return self.name_to_agent.get(name)

    def agent_names(self) -> list[str]:
        """The names of the agents in this world, in the order they were added."""
        return list(self.name_to_agent)

    def reachable_names(self, agent: str) -> list[str]:
        """The names of the agents whom ``agent``'s TALK reaches: everyone here, in a plain world."""
        return self.agent_names()

    def make_everyone_accessible(self) -> None:
        """Every agent can interact with every other (quadratic in the number of agents)."""
        for a in self.agents:
            for b in self.agents:
                if a is not b:
                    a.make_agent_accessible(b)


__all__ = ["WorldMembership"]
