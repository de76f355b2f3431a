"""``TinySocialNetwork``: a world whose agents can only interact along named relations.

Before each step every agent's accessible agents are reset to its neighbours in the relation graph,
and REACH_OUT succeeds only towards someone the agent is related to. Speech keeps to the relations
too: a TALK reaches only the speaker's relations. One addressed to someone else is not delivered
(the speaker is told, with a ``talk_not_delivered`` warning on the bus), and one with no (or an
unknown) target goes to all of the speaker's relations, not to the whole network, when
``broadcast_if_no_target`` is set. (TinyTroupe's network delivers a named TALK to anyone.)
The world itself (``broadcast``, a moderator) still speaks to everyone.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> net = TinySocialNetwork("Office")
    >>> ana, ben = TinyPerson("Ana"), TinyPerson("Ben")
    >>> _ = net.add_relation(ana, ben, "colleagues")
    >>> net.is_in_relation_with(ana, ben, "colleagues")
    True
    >>> [a.name for a in net.related_agents(ana)]
    ['Ben']
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from tinytroupe.agent.actions import Action
from tinytroupe.agent.person import TinyPerson
from tinytroupe.environment.state_models import SocialNetworkState, WorldState
from tinytroupe.environment.world import TinyWorld
from tinytroupe.errors import InvalidArgument


class TinySocialNetwork(TinyWorld):
    """A :class:`TinyWorld` with a graph of named relations between agents."""

    def __init__(self, name: str = "A TinySocialNetwork", broadcast_if_no_target: bool = True,
                 **kwargs: Any) -> None:
        self.graph: nx.MultiGraph = nx.MultiGraph()
        super().__init__(name, broadcast_if_no_target=broadcast_if_no_target, **kwargs)

    def add_relation(self, agent_1: TinyPerson, agent_2: TinyPerson, name: str = "default") -> TinySocialNetwork:
        """Relate two agents (adding them to the network when they are not in it yet)."""
        if agent_1 is agent_2:
            raise InvalidArgument(f"an agent cannot be in a relation with itself ({agent_1.name!r})")
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

    def related_agents(self, agent: TinyPerson, relation_name: str | None = None) -> list[TinyPerson]:
        """The agents ``agent`` is related to (by ``relation_name``, or by any relation), in the
        network's agent order."""
        if not self.graph.has_node(agent.name):
            return []
        return [other for other in self.agents if other is not agent
                and self.is_in_relation_with(agent, other, relation_name)]

    def reachable_names(self, agent: str) -> list[str]:
        """The names of ``agent``'s relations: a TALK reaches no one else here."""
        if not self.graph.has_node(agent):
            return []
        return [name for name in self.agent_names() if name != agent and self.graph.has_edge(agent, name)]

    def remove_agent(self, agent: TinyPerson) -> TinySocialNetwork:
        super().remove_agent(agent)
        if self.graph.has_node(agent.name):
            self.graph.remove_node(agent.name)
        return self

    state_class = SocialNetworkState

    def state_model(self, include_agents: bool = True) -> SocialNetworkState:
        """The network's state: the world's (see :meth:`TinyWorld.state_model`) plus its relations."""
        return SocialNetworkState.model_construct(
            **self._state_fields(include_agents),
            relations=sorted((a, b, key) for a, b, key in self.graph.edges(keys=True)))

    def apply_state(self, state: WorldState) -> TinySocialNetwork:
        """Put the network in ``state`` (a plain world's state leaves it without relations).

        Raises:
            InvalidArgument: see :meth:`TinyWorld.apply_state`.
        """
        super().apply_state(state)
        self.graph = nx.MultiGraph()
        self.graph.add_nodes_from(a.name for a in self.agents)
        for a, b, key in state.relations if isinstance(state, SocialNetworkState) else []:
            self.graph.add_edge(a, b, key=key)
        return self

    def _before_agent_step(self, agent: TinyPerson) -> None:
        # Only this agent's accessibility, from the graph: so it can run at each agent's own step.
        agent.make_all_agents_inaccessible()
        if not self.graph.has_node(agent.name):
            return
        for neighbour in self.graph.neighbors(agent.name):
            other = self.get_agent_by_name(neighbour)
            if other is not None:
                kinds = sorted(self.graph.get_edge_data(agent.name, neighbour).keys())
                agent.make_agent_accessible(other, f"related as: {', '.join(kinds)}")

    def routing_reach(self, agent: TinyPerson) -> list[str] | None:
        """``agent``'s relations: its TALK and REACH_OUT reach nobody else here."""
        return self.reachable_names(agent.name)

    def _can_reach(self, source: TinyPerson, target: TinyPerson) -> bool:
        return self.is_in_relation_with(source, target)

    def _handle_talk(self, source: TinyPerson, action: Action) -> None:
        name = action.target.strip()
        target = self.get_agent_by_name(name) if name else None
        if target is not None and target is not source:
            if self.is_in_relation_with(source, target):
                target.listen(action.content, source)
            else:
                self._talk_not_delivered(source, action, f"{target.name} is not among the people related to "
                                                         f"{source.name} in {self.name}")
            return
        if not self.broadcast_if_no_target:
            super()._handle_talk(source, action)  # the world's own account of an undeliverable TALK
            return
        listeners = self.related_agents(source)
        if not listeners:
            self._talk_not_delivered(source, action, f"{source.name} has no relations in {self.name}")
            return
        for listener in listeners:
            listener.listen(action.content, source)


__all__ = ["TinySocialNetwork"]
