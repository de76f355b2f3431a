"""How a running simulation learns about the worlds and agents created while it runs (the scope hooks
``register``, ``find`` and ``all`` of :mod:`tinytroupe.scope`), so it can checkpoint them and find them
by name.
"""

from __future__ import annotations

import logging
import weakref
from typing import TYPE_CHECKING, TypeVar

from tinytroupe.agent.person import TinyPerson
from tinytroupe.environment.world import TinyWorld
from tinytroupe.llm.client import LLMClient

logger = logging.getLogger("tinytroupe.control")

T = TypeVar("T")


class SimulationScope:
    """Mixin of :class:`~tinytroupe.control.Simulation`: the worlds and agents it checkpoints."""

    if TYPE_CHECKING:
        id: str
        _worlds: weakref.WeakValueDictionary[str, TinyWorld]
        _agents: weakref.WeakValueDictionary[str, TinyPerson]
        _client: LLMClient | None

    def register(self, obj: object) -> None:
        """Scope hook: worlds and agents created while the simulation is active are checkpointed with it
        (agents in a world with their world)."""
        if isinstance(obj, TinyPerson):
            self._agents[obj.name] = obj
            return
        if isinstance(obj, TinyWorld):
            self._worlds[obj.name] = obj
            if obj._client is not None and obj._client is not self._client:
                logger.warning("world %r has its own LLM client: its calls are traced but bypass simulation %r's "
                               "cache (a re-run pays for them again); create it without client= to use the "
                               "simulation's", obj.name, self.id)

    def find(self, kind: type[T], name: str) -> T | None:
        """Scope hook for lookups by name (``TinyPerson.get_agent_by_name``, ``TinyWorld.get_environment_by_name``):
        the worlds and agents registered or tracked while active, and the agents of those worlds."""
        for obj in (self._worlds.get(name), self._agents.get(name)):
            if isinstance(obj, kind):
                return obj
        for world in self.worlds:  # agents made before begin() but living in a world made after
            agent = world.get_agent_by_name(name)
            if isinstance(agent, kind):
                return agent
        return None

    def all(self, kind: type[T]) -> list[T]:
        """Scope hook: the live ``kind`` objects :meth:`find` can see (worlds, then agents)."""
        seen: dict[int, object] = {}
        for world in self.worlds:
            seen[id(world)] = world
            for agent in world.agents:
                seen.setdefault(id(agent), agent)
        for agent in self._agents.values():
            seen.setdefault(id(agent), agent)
        return [obj for obj in seen.values() if isinstance(obj, kind)]

    def track(self, *agents: TinyPerson) -> None:
        """Checkpoint these agents too: agents created while the simulation is active are tracked
        already; this adds ones created before it began."""
        for agent in agents:
            self._agents[agent.name] = agent

    @property
    def worlds(self) -> list[TinyWorld]:
        return list(self._worlds.values())


__all__ = ["SimulationScope"]
