"""``SpatialWorld``: a :class:`~tinytroupe.environment.TinyWorld` on a map, where agents have positions,
walk to places, see and hear only what is near, and remember where they saw whom.

A step runs in this order: interventions; perception (everyone looks around: spatial memories and
VISUAL stimuli, :mod:`.perception`); the agents' turns; routing (TALK is heard within
``hearing_radius``, ``MOVE_TO`` plans a walk); movement (everyone walking advances ``speed`` cells or
places along their path; arriving is a LOCATION stimulus). An agent's action the map cannot carry out
(a wall, a place that does not exist, a goal cut off) is refused with its reason, told to the agent as
a SOCIAL stimulus and published as an ``action_rejected`` warning; the step goes on. A user's own call
with such a place raises :class:`~tinytroupe.errors.InvalidArgument`.

Example:
    >>> from datetime import datetime
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.environment import GridMap, SpatialWorld
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> walk = {"actions": [{"type": "MOVE_TO", "content": "door"}, {"type": "DONE"}]}
    >>> grid = GridMap.from_ascii(["#######", "#....D#", "#######"], legend={"D": "door"})
    >>> ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend([walk], cycle=True)))
    >>> world = SpatialWorld("Hall", [ana], grid, positions={"Ana": (1, 1)}, speed=2,
    ...                      initial_datetime=datetime(2025, 1, 6, 9), communication_display=False)
    >>> world.run(1)
    >>> world.position_of("Ana")
    (3, 1)
    >>> world.run(1)
    >>> world.position_of("Ana"), ana.location
    ((5, 1), 'the door (5, 1)')
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from tinytroupe.agent.person import TinyPerson
from tinytroupe.environment.engine import TurnOutcome
from tinytroupe.environment.spatial.maps import GridMap, Position, SpaceMap
from tinytroupe.environment.spatial.memory import SpatialActions, SpatialMemory
from tinytroupe.environment.spatial.perception import SIGHT_STIMULI, SpatialPerception
from tinytroupe.environment.spatial.render import SpatialRendering
from tinytroupe.environment.spatial.routing import Handler, SpatialRouting
from tinytroupe.environment.spatial.state import SpatialStateMethods
from tinytroupe.environment.world import TinyWorld
from tinytroupe.errors import InvalidArgument, InvalidArgumentType


class SpatialWorld(SpatialRouting, SpatialPerception, SpatialRendering, SpatialStateMethods, TinyWorld):
    """A world on a map (:class:`~.maps.GridMap` or :class:`~.maps.PlaceGraph`).

    Args:
        name, agents: as :class:`TinyWorld`.
        space: the map (default: an open 20 × 20 grid).
        positions: where agents start, by name (default: the place called ``entrance`` if the map has
            one, else the first free cell or place).
        hearing_radius: how far a TALK carries (in the map's unit).
        sight_radius: how far agents see.
        speed: cells (grid) or places (graph) an agent walks per step; ``speeds`` overrides it per agent.
        line_of_sight: on a grid, walls hide what is behind them.
        sight_stimuli: ``"arrivals"`` tells agents who and what came into sight, ``"all"`` also what left
            it, ``"none"`` nothing (the prompt's "Where you are" section still shows it).
        memory_size, memory_budget_tokens: the spatial memory's sightings kept and prompt budget.
        **kwargs: the rest of :class:`TinyWorld`'s keyword arguments.

    Raises:
        InvalidArgument: a radius or speed is not positive, ``sight_stimuli`` is unknown, or a start
            position is off the map, a wall or an unknown place.
    """

    def __init__(self, name: str = "A SpatialWorld", agents: Iterable[TinyPerson] = (), space: SpaceMap | None = None,
                 *, positions: Mapping[str, Any] | None = None, hearing_radius: float = 5.0,
                 sight_radius: float = 8.0, speed: int = 1, speeds: Mapping[str, int] | None = None,
                 line_of_sight: bool = True, sight_stimuli: str = "arrivals", memory_size: int = 50,
                 memory_budget_tokens: int = 200, **kwargs: Any) -> None:
        if space is not None and not isinstance(space, SpaceMap):
            raise InvalidArgumentType(f"space must be a GridMap or a PlaceGraph, got {type(space).__name__}")
        for label, value in (("hearing_radius", hearing_radius), ("sight_radius", sight_radius)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise InvalidArgument(f"{label} must be a non-negative number, got {value!r}")
        if sight_stimuli not in SIGHT_STIMULI:
            raise InvalidArgument(f"sight_stimuli must be one of {', '.join(SIGHT_STIMULI)}, got {sight_stimuli!r}")
        self.space: SpaceMap = space if space is not None else GridMap(20, 20)
        self.hearing_radius, self.sight_radius = float(hearing_radius), float(sight_radius)
        self.speed = _speed(speed, "speed")
        self.speeds: dict[str, int] = {n: _speed(v, f"speeds[{n!r}]") for n, v in (speeds or {}).items()}
        self.line_of_sight, self.sight_stimuli = line_of_sight, sight_stimuli
        self.memory_size, self.memory_budget_tokens = memory_size, memory_budget_tokens
        self.things: dict[str, Position] = {}
        self._positions: dict[str, Position] = {}
        self._routes: dict[str, list[Position]] = {}
        self._sight: dict[str, Collection[str]] = {}
        self._memories: dict[str, SpatialMemory] = {}
        self._start_positions = dict(positions or {})
        super().__init__(name, agents, **kwargs)

    # ------------------------------------------------------------------ agents and positions

    def add_agent(self, agent: TinyPerson, at: Any = None) -> SpatialWorld:
        """Add ``agent`` at ``at`` (default: its entry in ``positions``, else the default start); it gets
        the world's action types (``MOVE_TO`` ...) and a spatial memory.

        Raises:
            InvalidArgument: as :meth:`TinyWorld.add_agent`, or the position is not a free cell or place.
        """
        if isinstance(agent, TinyPerson) and self.name_to_agent.get(agent.name) is agent:
            return self
        where = at if at is not None else self._start_positions.get(getattr(agent, "name", ""))
        position = self.space.resolve(where) if where is not None else self._default_start()
        super().add_agent(agent)
        self._equip(agent)
        self._positions[agent.name] = position
        agent.location = self.space.describe(position)
        self._positions_changed()
        return self

    def _equip(self, agent: TinyPerson) -> None:
        actions = self.action_types()
        faculty = next((f for f in agent.mental_faculties if f.name == "spatial_actions"), None)
        if faculty is None:
            agent.add_mental_faculty(SpatialActions(actions))
        else:
            for action_type, description in actions.items():
                if action_type not in agent.actions_registry.types:
                    agent.actions_registry.register(action_type, description)
                    faculty.actions[action_type] = description
        memory = agent.get_component(SpatialMemory.name)
        if memory is None:
            memory = SpatialMemory(self.memory_size, self.memory_budget_tokens)
            agent.add_component(memory)
        if not isinstance(memory, SpatialMemory):
            raise InvalidArgument(f"{agent.name} has a component called {SpatialMemory.name!r} that is not a "
                                  "SpatialMemory; remove it before joining a spatial world")
        self._memories[agent.name] = memory

    def action_types(self) -> dict[str, str]:
        """The action types this world adds to its agents, with their prompt descriptions."""
        return SpatialActions().actions_definitions()

    def _default_start(self) -> Position:
        entrance = next((n for n in self.space.places if n.casefold() == "entrance"), None)
        if entrance is not None:
            return self.space.resolve(entrance)
        free = self.space.free_cells()
        if not free:
            raise InvalidArgument("the map has no free cell to put an agent on")
        return free[0]

    def remove_agent(self, agent: TinyPerson) -> SpatialWorld:
        super().remove_agent(agent)
        for table in (self._positions, self._routes, self._sight, self._memories):
            table.pop(agent.name, None)
        self._positions_changed()
        return self

    def reachable_names(self, agent: str) -> list[str]:
        """The people ``agent`` may name in an action: those it saw at the last perception or remembers
        seeing (in the world's agent order)."""
        person = self.name_to_agent.get(agent)
        if person is None:
            return []
        known = set(self._sight.get(agent, ())) | set(self._memory_of(person).last_seen)
        return [name for name in self.name_to_agent if name in known and name != agent]

    def _memory_of(self, agent: TinyPerson) -> SpatialMemory:
        return self._memories[agent.name]

    def _agent(self, agent: TinyPerson | str) -> TinyPerson:
        name = agent if isinstance(agent, str) else agent.name
        found = self.name_to_agent.get(name)
        if found is None:
            raise InvalidArgument(f"nobody called {name!r} is in world {self.name!r}")
        return found

    @property
    def positions(self) -> dict[str, Position]:
        """Each agent's position, by name."""
        return dict(self._positions)

    def position_of(self, agent: TinyPerson | str) -> Position:
        """Where ``agent`` is.

        Raises:
            InvalidArgument: nobody of that name is in this world.
        """
        return self._positions[self._agent(agent).name]

    def place(self, agent: TinyPerson | str, where: Any) -> SpatialWorld:
        """Put ``agent`` at ``where`` at once (a place's name, coordinates); any walk it was on ends.

        Raises:
            InvalidArgument: nobody of that name is here, or ``where`` is not a free cell or a place.
        """
        person = self._agent(agent)
        position = self.space.resolve(where)
        self._positions[person.name] = position
        self._routes.pop(person.name, None)
        person.location = self.space.describe(position)
        self._positions_changed()
        return self

    def move_to(self, agent: TinyPerson | str, where: Any) -> list[Position]:
        """Send ``agent`` walking to ``where`` (as its ``MOVE_TO`` would); returns the path ahead.

        Raises:
            InvalidArgument: nobody of that name is here, or ``where`` is not a free cell or place.
            Unreachable: no path leads there.
        """
        person = self._agent(agent)
        return self._plan_walk(person, self._goal(person, str(where) if not isinstance(where, tuple) else where))

    def route_of(self, agent: TinyPerson | str) -> list[Position]:
        """The cells or places ``agent`` still has to walk (empty when standing)."""
        return list(self._routes.get(self._agent(agent).name, []))

    def add_thing(self, name: str, where: Any) -> SpatialWorld:
        """Put a thing agents can see and walk to (a fountain, a shelf) at ``where``; on a grid it may
        stand on a wall cell (it is then reached from the nearest free neighbour).

        Raises:
            InvalidArgument: the name is empty or taken by an agent or thing, or ``where`` is off the map.
        """
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgument(f"a thing needs a non-empty name, got {name!r}")
        if name in self.things or name in self.name_to_agent:
            raise InvalidArgument(f"the name {name!r} is already used in world {self.name!r}")
        if isinstance(self.space, GridMap):
            self.things[name] = self.space._cell(tuple(where) if isinstance(where, list) else
                                                 (self.space.resolve(where) if isinstance(where, str) else where),
                                                 f"thing {name!r}")
        else:
            self.things[name] = self.space.resolve(where)
        return self

    def _clock_text(self) -> str:
        return self.current_datetime.strftime("%H:%M")

    # ------------------------------------------------------------------ stepping

    def _before_step(self) -> None:
        self.perceive()
        super()._before_step()

    def _end_step(self, step: int, parallel: bool, outcomes: list[TurnOutcome], wall: float,
                  calls_before: int) -> None:
        self._advance()
        super()._end_step(step, parallel, outcomes, wall, calls_before)

    def _advance(self) -> None:
        """Everyone walking moves its speed along its path; arrivals become LOCATION stimuli."""
        for name, route in list(self._routes.items()):
            n = self.speeds.get(name, self.speed)
            self._positions[name] = route[min(n, len(route)) - 1]
            del route[:n]
            if not route:
                del self._routes[name]
                self.name_to_agent[name].move_to(self.space.describe(self._positions[name]))
        self._positions_changed()



def _speed(value: Any, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgument(f"{label} must be a whole number of at least 1 (cells or places per step), got {value!r}")
    return value


__all__ = ["Handler", "SpatialWorld"]
