"""Perception in a spatial world: once per step (after interventions, before the agents act) every
agent sees the people and things within its ``sight_radius`` (with walls in the way on a grid when
``line_of_sight`` is on); its spatial memory records them, and a VISUAL stimulus tells it who and what
came into sight (and, with ``sight_stimuli="all"``, what went out of it). A TALK is heard within
``hearing_radius`` of the speaker, walls or not (see ``SpatialWorld._handle_talk``).

One spatial index per step serves both (:mod:`.index`); it is rebuilt when someone is placed by hand.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from tinytroupe.agent.person import TinyPerson
from tinytroupe.environment.spatial.index import SpatialIndex
from tinytroupe.environment.spatial.maps import Position, SpaceMap
from tinytroupe.environment.spatial.memory import SpatialMemory

#: what agents are told when their view changes: who came into sight; also who left it; nothing
SIGHT_STIMULI = ("arrivals", "all", "none")


class SpatialPerception:
    """Mixin of :class:`~tinytroupe.environment.spatial.SpatialWorld`: sight, hearing and the index."""

    if TYPE_CHECKING:
        agents: list[TinyPerson]
        space: SpaceMap
        sight_radius: float
        hearing_radius: float
        line_of_sight: bool
        sight_stimuli: str
        things: dict[str, Position]
        _positions: dict[str, Position]

        @property
        def current_step(self) -> int: ...

        def _memory_of(self, agent: TinyPerson) -> SpatialMemory: ...

        def _clock_text(self) -> str: ...

    _index: SpatialIndex | None = None
    #: the names each agent saw at the last perception
    _sight: dict[str, Collection[str]]

    def spatial_index(self) -> SpatialIndex:
        """The index over the agents' positions now (in :attr:`agents` order)."""
        if self._index is None:
            self._index = SpatialIndex.build(self.space, [self._positions[a.name] for a in self.agents],
                                             self.line_of_sight)
        return self._index

    def _positions_changed(self) -> None:
        self._index = None

    def in_sight(self, agent: TinyPerson | str) -> list[str]:
        """The people and things ``agent`` saw at the last perception, by name."""
        name = agent if isinstance(agent, str) else agent.name
        return sorted(self._sight.get(name, ()))

    def hearers(self, speaker: TinyPerson) -> list[TinyPerson]:
        """The agents within :attr:`hearing_radius` of ``speaker`` (not the speaker), in agent order."""
        index = self.spatial_index()
        agents = self.agents
        return [agents[i] for i in index.near(self._positions[speaker.name], self.hearing_radius)
                if agents[i] is not speaker]

    def perceive(self) -> None:
        """Every agent looks around: spatial memories are updated and changes told as VISUAL stimuli."""
        self._positions_changed()
        index = self.spatial_index()
        agents, step, when = self.agents, self.current_step, self._clock_text()
        wheres = [self.space.describe(self._positions[a.name]) for a in agents]
        seen: list[dict[str, list[Any]]] = [{} for _ in agents]
        # one sighting record per person and thing this step, shared by everyone who sees it
        records = [[where, step, when, self.space.encode(self._positions[a.name])]
                   for where, a in zip(wheres, agents, strict=True)]
        for i, j in index.pairs(self.sight_radius).tolist():
            seen[i][agents[j].name] = records[j]
            seen[j][agents[i].name] = records[i]
        names = list(self.things)
        spots = [self.things[n] for n in names]
        for t, watchers in enumerate(index.near_points(spots, self.sight_radius)):
            record = [self.space.describe(spots[t]), step, when, self.space.encode(spots[t])]
            for i in watchers:
                seen[i][names[t]] = record
        tell = self.sight_stimuli != "none"
        sight = self._sight
        for i, agent in enumerate(agents):
            now = seen[i]
            self._memory_of(agent).observe(wheres[i], now, step)
            before = sight.get(agent.name, ())
            sight[agent.name] = now  # its keys are the names in sight
            if tell and now.keys() != before:
                self._tell_view(agent, sorted(now.keys() - before), sorted(set(before) - now.keys()))

    def _tell_view(self, agent: TinyPerson, came: list[str], left: list[str]) -> None:
        here = self._positions[agent.name]
        parts = []
        if came:
            parts.append("Now in sight: " + ", ".join(f"{n} ({self._bearing(here, n)})" for n in came) + ".")
        if left and self.sight_stimuli == "all":
            parts.append("Out of sight now: " + ", ".join(left) + ".")
        if parts:
            agent.see(" ".join(parts))

    def _bearing(self, here: Position, name: str) -> str:
        there = self._positions.get(name, self.things.get(name))
        assert there is not None  # only names in sight are asked for
        direction = self.space.direction(here, there)
        if direction == "here":
            return "right here"
        distance = self.space.distance(here, there)
        return f"{distance:.0f} {getattr(self.space, 'unit', 'm')} {direction}"


__all__ = ["SIGHT_STIMULI", "SpatialPerception"]
