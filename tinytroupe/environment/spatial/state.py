"""A spatial world's state: the world's (:class:`~tinytroupe.environment.state_models.WorldState`) plus
its positions, walks in progress, things and who saw whom at the last perception, kept in the state's
``extensions["spatial"]`` (the agents' spatial memories travel in their own states, as turn components).

Example:
    >>> SpatialState.model_validate({"positions": {"Ana": [1, 2]}}).routes
    {}
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tinytroupe.environment.spatial.maps import Position, SpaceMap
from tinytroupe.environment.state_models import WorldState
from tinytroupe.errors import InvalidArgument
from tinytroupe.state import describe_error


class SpatialState(BaseModel):
    """The spatial part of a world's state: positions and route cells as the map encodes them."""

    model_config = ConfigDict(extra="forbid")

    positions: dict[str, Any] = Field(default_factory=dict)
    routes: dict[str, list[Any]] = Field(default_factory=dict)
    things: dict[str, Any] = Field(default_factory=dict)
    sight: dict[str, list[str]] = Field(default_factory=dict)


class SpatialStateMethods:
    """Mixin of :class:`~tinytroupe.environment.spatial.SpatialWorld`: its state with positions."""

    if TYPE_CHECKING:
        name: str
        space: SpaceMap
        things: dict[str, Position]
        _positions: dict[str, Position]
        _routes: dict[str, list[Position]]
        _sight: dict[str, Collection[str]]

        def _positions_changed(self) -> None: ...

    def state_model(self, include_agents: bool = True) -> WorldState:
        """The world's state (see :meth:`TinyWorld.state_model`) with its spatial part."""
        state: WorldState = super().state_model(include_agents)  # type: ignore[misc]
        enc = self.space.encode
        spatial = SpatialState(
            positions={n: enc(p) for n, p in self._positions.items()},
            routes={n: [enc(p) for p in r] for n, r in self._routes.items()},
            things={n: enc(p) for n, p in self.things.items()},
            sight={n: sorted(s) for n, s in self._sight.items()})
        state.extensions = {**state.extensions, "spatial": spatial.model_dump(mode="json")}
        return state

    def apply_state(self, state: WorldState) -> Self:
        """Put the world in ``state``; a state without a spatial part (a plain world's) leaves positions as
        they are.

        Raises:
            InvalidArgument: as :meth:`TinyWorld.apply_state`, or a saved position is not on this map.
        """
        super().apply_state(state)  # type: ignore[misc]
        data = state.extensions.get("spatial")
        if data is None:
            return self
        try:
            spatial = SpatialState.model_validate(data)
        except ValidationError as exc:
            raise InvalidArgument(f"bad spatial state of world {self.name!r}: {describe_error(exc)}") from exc
        decode = self.space.decode
        self._positions.update({n: decode(p) for n, p in spatial.positions.items()})
        self._routes = {n: [decode(p) for p in r] for n, r in spatial.routes.items()}
        for name, at in spatial.things.items():
            self.things[name] = tuple(at) if isinstance(at, list) else at
        self._sight = {n: frozenset(s) for n, s in spatial.sight.items()}
        self._positions_changed()
        return self


__all__ = ["SpatialState", "SpatialStateMethods"]
