"""``TinySocialNetwork``: a world whose agents can only interact along named relations.

Before each step every agent's accessible agents are reset to its neighbours in the relation graph,
and REACH_OUT succeeds only towards someone the agent is related to.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> net = TinySocialNetwork("Office")
    >>> ana, ben = TinyPerson("Ana"), TinyPerson("Ben")
    >>> _ = net.add_relation(ana, ben, "colleagues")
    >>> net.is_in_relation_with(ana, ben, "colleagues")
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import networkx as nx

from tinytroupe.agent.person import TinyPerson
from tinytroupe.environment.world import TinyWorld


class TinySocialNetwork(TinyWorld):
    """A :class:`TinyWorld` with a graph of named relations between agents."""

    def __init__(self, name: str = "A TinySocialNetwork", broadcast_if_no_target: bool = True,
                 **kwargs: Any) -> None:
        self.graph: nx.MultiGraph = nx.MultiGraph()
        super().__init__(name, broadcast_if_no_target=broadcast_if_no_target, **kwargs)

    def add_relation(self, agent_1: TinyPerson, agent_2: TinyPerson, name: str = "default") -> TinySocialNetwork:
        """Relate two agents (adding them to the network when they are not in it yet)."""
        if agent_1 is agent_2:
            raise ValueError(f"an agent cannot be in a relation with itself ({agent_1.name!r})")
        for agent in (agent_1, agent_2):
            if self.get_agent_by_name(agent.name) is not agent:
                self.add_agent(agent)
        if not self.graph.has_edge(agent_1.name, agent_2.name, key=name):
            self.graph.add_edge(agent_1.name, agent_2.name, key=name)
        return self

    @property
    def relations(self) -> dict[str, list[tuple[str, str]]]:
        """Relation name → pairs of agent names."""
        out: dict[str, list[tuple[str, str]]] = {}
        for a, b, key in self.graph.edges(keys=True):
            out.setdefault(key, []).append((a, b))
        return out

    def is_in_relation_with(self, agent_1: TinyPerson, agent_2: TinyPerson,
                            relation_name: str | None = None) -> bool:
        if not self.graph.has_edge(agent_1.name, agent_2.name):
            return False
        if relation_name is None:
            return True
        return self.graph.has_edge(agent_1.name, agent_2.name, key=relation_name)

    def remove_agent(self, agent: TinyPerson) -> TinySocialNetwork:
        super().remove_agent(agent)
        if self.graph.has_node(agent.name):
            self.graph.remove_node(agent.name)
        return self

    def to_state(self, include_agents: bool = True) -> dict[str, Any]:
        state = super().to_state(include_agents)
        state["relations"] = sorted([a, b, key] for a, b, key in self.graph.edges(keys=True))
        return state

    def load_state(self, state: Mapping[str, Any]) -> TinySocialNetwork:
        super().load_state(state)
        self.graph = nx.MultiGraph()
        self.graph.add_nodes_from(a.name for a in self.agents)
        for a, b, key in state.get("relations", []):
            self.graph.add_edge(a, b, key=key)
        return self

    def _before_step(self) -> None:
        for agent in self.agents:
            agent.make_all_agents_inaccessible()
            if not self.graph.has_node(agent.name):
                continue
            for neighbour in self.graph.neighbors(agent.name):
                other = self.get_agent_by_name(neighbour)
                if other is not None:
                    kinds = sorted(self.graph.get_edge_data(agent.name, neighbour).keys())
                    agent.make_agent_accessible(other, f"related as: {', '.join(kinds)}")

    def _can_reach(self, source: TinyPerson, target: TinyPerson) -> bool:
        return self.is_in_relation_with(source, target)


__all__ = ["TinySocialNetwork"]
