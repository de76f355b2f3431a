"""Routing in a spatial world: the action types the world carries out itself (``MOVE_TO``, and what a
store adds) with a reasoned refusal for what the map does not allow, and TALK heard within
``hearing_radius`` (a named listener out of earshot does not hear it, and the speaker is told).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any, cast

from tinytroupe.agent.actions import Action
from tinytroupe.agent.person import TinyPerson
from tinytroupe.environment.routing import ActionRouting
from tinytroupe.environment.spatial.maps import GridMap, Position, SpaceMap
from tinytroupe.environment.spatial.memory import SpatialMemory
from tinytroupe.environment.spatial.pathfinding import Cell
from tinytroupe.errors import InvalidArgument
from tinytroupe.events import WarningEvent

# The world's logger: these lines are the world's account of what happened in it.
logger = logging.getLogger("tinytroupe.environment.world")

#: an action handler of a spatial world: carries out the action or raises InvalidArgument with the reason
Handler = Callable[[TinyPerson, Action], None]


class SpatialRouting(ActionRouting):
    """Mixin of :class:`~tinytroupe.environment.spatial.SpatialWorld`: its routing of actions."""

    if TYPE_CHECKING:
        space: SpaceMap
        speed: int
        speeds: dict[str, int]
        hearing_radius: float
        things: dict[str, Position]
        _positions: dict[str, Position]
        _routes: dict[str, list[Position]]
        _sight: dict[str, Collection[str]]

        def _memory_of(self, agent: TinyPerson) -> SpatialMemory: ...

        def hearers(self, speaker: TinyPerson) -> list[TinyPerson]: ...

    def action_handlers(self) -> dict[str, Handler]:
        """The action types this world routes itself, with their handlers (a subclass adds its own)."""
        return {"MOVE_TO": self._handle_move}

    def _handle_actions(self, agent: TinyPerson, actions: list[Action]) -> None:
        handlers = self.action_handlers()
        for action in actions:
            handler = handlers.get(action.type)
            if handler is None:
                super()._handle_actions(agent, [action])
                continue
            try:
                handler(agent, action)
            except InvalidArgument as exc:  # the agent's own request: refused with the reason, never a failed step
                self.reject(agent, action, str(exc))

    def reject(self, agent: TinyPerson, action: Action, why: str) -> None:
        """Tell ``agent`` its ``action`` was refused and why (a SOCIAL stimulus and an ``action_rejected``
        warning on the bus)."""
        what = f"{action.type} {action.target or action.content}".strip()
        agent.socialize(f"You could not {what}: {why}.")
        message = f"{agent.name}'s {what} was refused: {why}"
        logger.info("world %r: %s", self.name, message)
        self._emit(WarningEvent(code="action_rejected", message=message, world=self.name, agent=agent.name,
                                step=self.current_step, data={"action": action.model_dump(), "reason": why}))

    def _handle_move(self, agent: TinyPerson, action: Action) -> None:
        where = action.target.strip() or action.content.strip()
        if not where:
            raise InvalidArgument("say where to go in target: a place, a person, a thing or coordinates like 3,4")
        path = self._plan_walk(agent, self._goal(agent, where))
        if not path:
            agent.socialize(f"You are already at {self.space.describe(self._positions[agent.name])}.")
            return
        pace = self.speeds.get(agent.name, self.speed)
        turns = -(-len(path) // pace)
        agent.socialize(f"You set off towards {self.space.describe(path[-1])}: {len(path)} "
                        f"{'cells' if isinstance(self.space, GridMap) else 'places'} away, "
                        f"about {turns} turn{'s' if turns != 1 else ''} of walking.")

    def _goal(self, agent: TinyPerson, where: Any) -> Position:
        """Where ``where`` (an agent's words) points: a person in sight or remembered, a thing, a place,
        or coordinates."""
        if isinstance(where, str):
            name = where if where in self.name_to_agent or where in self.things else self._named(where)
            if name is not None and name != agent.name:
                if name in self._sight.get(agent.name, ()):
                    target = self._positions.get(name, self.things.get(name))
                    assert target is not None
                    return self._stand_near(agent, target)
                remembered = self._memory_of(agent).last_position(name)
                if remembered is not None:
                    return self._stand_near(agent, self.space.decode(remembered))
                if name in self.things:
                    return self._stand_near(agent, self.things[name])
                raise InvalidArgument(f"you do not know where {name} is: you have not seen them")
        return self.space.resolve(where)

    def _named(self, text: str) -> str | None:
        """The agent or thing called ``text`` in any case (a scan: exact names are looked up first)."""
        wanted = text.strip().casefold()
        return next((n for n in (*self.name_to_agent, *self.things) if n.casefold() == wanted), None)

    def _stand_near(self, agent: TinyPerson, target: Position) -> Position:
        """``target`` if one can stand there, else its free neighbour closest to the agent's walk."""
        space = self.space
        if not isinstance(space, GridMap) or space.is_free(target):
            return target
        x, y = cast(Cell, target)
        here = self._positions[agent.name]
        options: list[Cell] = [c for c in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)) if space.is_free(c)]
        if not options:
            raise InvalidArgument(f"nobody can stand next to {space.describe((x, y))}: walls all round")
        return min(options, key=lambda c: (space.distance(here, c), c))

    def _plan_walk(self, agent: TinyPerson, goal: Position) -> list[Position]:
        path: list[Position] = list(self.space.plan(self._positions[agent.name], goal))
        ahead = path[1:]
        if ahead:
            self._routes[agent.name] = list(ahead)
        else:
            self._routes.pop(agent.name, None)
        return list(ahead)

    def _handle_talk(self, source: TinyPerson, action: Action) -> None:
        name = action.target.strip()
        target = self.name_to_agent.get(name) if name else None
        if target is not None and target is not source:
            distance = self.space.distance(self._positions[source.name], self._positions[target.name])
            if distance <= self.hearing_radius:
                target.listen(action.content, source)
            else:
                unit = getattr(self.space, "unit", "m")
                self._talk_not_delivered(source, action, f"{target.name} is {distance:.1f} {unit} away, out of "
                                                         f"earshot (voices carry {self.hearing_radius:g} {unit})")
            return
        if not self.broadcast_if_no_target:
            super()._handle_talk(source, action)
            return
        listeners = self.hearers(source)
        if not listeners:
            self._talk_not_delivered(source, action, f"nobody is within earshot ({self.hearing_radius:g} "
                                                     f"{getattr(self.space, 'unit', 'm')})")
        for listener in listeners:
            listener.listen(action.content, source)


__all__ = ["Handler", "SpatialRouting"]
