"""The kinds of world a scenario file can ask for (``world.kind``): for each, the model its
``world.options`` must fit and how the world is built. A new kind of world is one more entry in
:data:`WORLD_KINDS` (its options model and its builder), and nothing else in the scenario code changes.

Example:
    >>> sorted(WORLD_KINDS)
    ['classroom', 'marketplace', 'retail_store', 'social_network', 'spatial', 'workplace', 'world']
    >>> WORLD_KINDS["spatial"].options.__name__
    'SpatialOptions'
    >>> options_problems("spatial", {"map": ["#.#"], "speed": 0})
    [(('speed',), 'Input should be greater than or equal to 1')]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tinytroupe.agent.person import TinyPerson
from tinytroupe.environment.retail import StoreLayout, TinyRetailStore
from tinytroupe.environment.social_network import TinySocialNetwork
from tinytroupe.environment.spatial import GridMap, PlaceGraph, SpatialWorld
from tinytroupe.environment.world import TinyWorld
from tinytroupe.errors import InvalidArgument, ScenarioError
from tinytroupe.scenario.market_spec import build_marketplace
from tinytroupe.scenario.workplace_classroom import build_specialised_world

Loc = tuple[int | str, ...]


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class NoOptions(_Options):
    """A kind of world that takes no ``options``."""


class _Movement(_Options):
    positions: dict[str, str | list[int]] = Field(default_factory=dict, description="agent -> place or [x, y]")
    hearing_radius: float = Field(5.0, ge=0)
    sight_radius: float = Field(8.0, ge=0)
    speed: int = Field(1, ge=1, description="cells (or places) walked per step")
    line_of_sight: bool = True
    sight_stimuli: Literal["arrivals", "all", "none"] = "arrivals"

    def world_kwargs(self) -> dict[str, Any]:
        return {"positions": {k: tuple(v) if isinstance(v, list) else v for k, v in self.positions.items()},
                "hearing_radius": self.hearing_radius, "sight_radius": self.sight_radius, "speed": self.speed,
                "line_of_sight": self.line_of_sight, "sight_stimuli": self.sight_stimuli}


class SpatialOptions(_Movement):
    """A spatial world: a grid drawn in ``map`` (``#`` walls, ``.`` floor, ``legend`` characters named
    places) or a graph of places in ``links`` (``{place: {neighbour: distance}}``), and ``things``."""

    map: list[str] | None = None
    legend: dict[str, str] = Field(default_factory=dict)
    cell_size: float = Field(1.0, gt=0)
    links: dict[str, dict[str, float]] | None = None
    things: dict[str, str | list[int]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_map(self) -> SpatialOptions:
        if (self.map is None) == (self.links is None):
            raise ValueError("give either 'map' (rows of a grid) or 'links' (a graph of places), not both or neither")
        return self


class RetailOptions(_Movement):
    """A retail store: its ``layout`` (see :class:`~tinytroupe.environment.retail.StoreLayout`)."""

    layout: StoreLayout
    sight_radius: float = Field(6.0, ge=0)
    hearing_radius: float = Field(4.0, ge=0)


#: what every builder gets beside the options: the scenario's world fields and agents, and the keyword
#: arguments every world takes (client, seed, parallelize, executor, initial_datetime)
Builder = Callable[[Any, BaseModel, list[TinyPerson], dict[str, Any]], TinyWorld]


@dataclass(frozen=True)
class WorldKind:
    """One kind of world: the model of its ``options`` and its builder ``build(spec, options, agents, kwargs)``."""

    options: type[BaseModel]
    build: Builder


def _plain(spec: Any, options: BaseModel, agents: list[TinyPerson], kwargs: dict[str, Any]) -> TinyWorld:
    world = TinyWorld(spec.name, agents, broadcast_if_no_target=spec.broadcast_if_no_target, **kwargs)
    if spec.everyone_accessible and len(agents) <= 200:
        world.make_everyone_accessible()
    return world


def _network(spec: Any, options: BaseModel, agents: list[TinyPerson], kwargs: dict[str, Any]) -> TinyWorld:
    world = TinySocialNetwork(spec.name, broadcast_if_no_target=spec.broadcast_if_no_target, **kwargs)
    world.add_agents(agents)
    for a, b, relation in spec.relations:
        left, right = world.get_agent_by_name(a), world.get_agent_by_name(b)
        if left is None or right is None:
            raise ScenarioError(f"world.relations names {a if left is None else b!r}, who is not among the agents",
                                field="world.relations")
        world.add_relation(left, right, relation)
    return world


def _spatial(spec: Any, options: BaseModel, agents: list[TinyPerson], kwargs: dict[str, Any]) -> TinyWorld:
    assert isinstance(options, SpatialOptions)
    space: GridMap | PlaceGraph
    if options.map is not None:
        space = GridMap.from_ascii(options.map, options.legend, cell_size=options.cell_size)
    else:
        space = PlaceGraph(options.links or {})
    world = SpatialWorld(spec.name, agents, space, broadcast_if_no_target=spec.broadcast_if_no_target,
                         **options.world_kwargs(), **kwargs)
    for name, where in options.things.items():
        world.add_thing(name, where)
    return world


def _retail(spec: Any, options: BaseModel, agents: list[TinyPerson], kwargs: dict[str, Any]) -> TinyWorld:
    assert isinstance(options, RetailOptions)
    return TinyRetailStore(spec.name, agents, options.layout, broadcast_if_no_target=spec.broadcast_if_no_target,
                           **options.world_kwargs(), **kwargs)


def _marketplace(spec: Any, options: BaseModel, agents: list[TinyPerson], kwargs: dict[str, Any]) -> TinyWorld:
    assert spec.market is not None  # checked when the scenario is loaded
    world = build_marketplace(spec.name, spec.market, agents, broadcast_if_no_target=spec.broadcast_if_no_target,
                              **kwargs)
    if spec.everyone_accessible and len(agents) <= 200:
        world.make_everyone_accessible()
    return world


def _workplace_or_classroom(spec: Any, options: BaseModel, agents: list[TinyPerson],
                            kwargs: dict[str, Any]) -> TinyWorld:
    # their sections (world.workplace, world.classroom) give the start time themselves
    return build_specialised_world(spec, agents, {k: v for k, v in kwargs.items() if k != "initial_datetime"})


#: every kind of world a scenario can name, by ``world.kind``; marketplaces, workplaces and classrooms
#: take their own sections of ``world`` (``market``, ``workplace``, ``classroom``) rather than ``options``
WORLD_KINDS: dict[str, WorldKind] = {
    "world": WorldKind(NoOptions, _plain),
    "social_network": WorldKind(NoOptions, _network),
    "spatial": WorldKind(SpatialOptions, _spatial),
    "retail_store": WorldKind(RetailOptions, _retail),
    "marketplace": WorldKind(NoOptions, _marketplace),
    "workplace": WorldKind(NoOptions, _workplace_or_classroom),
    "classroom": WorldKind(NoOptions, _workplace_or_classroom),
}


def options_problems(kind: str, options: dict[str, Any]) -> list[tuple[Loc, str]]:
    """What is wrong with ``options`` for a world of ``kind`` (locations below ``world.options``)."""
    try:
        WORLD_KINDS[kind].options.model_validate(options)
    except ValidationError as exc:
        return [(tuple(err["loc"]), str(err["msg"]).removeprefix("Value error, ")) for err in exc.errors()]
    return []


def world_problems(kind: str, options: dict[str, Any], relations: bool = False) -> list[tuple[Loc, str]]:
    """What is wrong with a scenario's ``world.kind``, ``world.options`` and (when given) ``world.relations``
    (locations below ``world``)."""
    if kind not in WORLD_KINDS:
        shown = kind if len(kind) <= 40 else kind[:39] + "…"
        return [(("kind",), f"unknown kind of world {shown!r}; use one of: {', '.join(WORLD_KINDS)}")]
    if relations and kind != "social_network":
        return [(("relations",), "relations apply to social networks only; add 'kind: social_network' or remove them")]
    return [(("options", *loc), message) for loc, message in options_problems(kind, options)]


def build_kind(spec: Any, agents: list[TinyPerson], kwargs: dict[str, Any]) -> TinyWorld:
    """The world ``spec`` (a scenario's ``world``) describes, holding ``agents``.

    Raises:
        ScenarioError: the world cannot be built from these options (an agent placed on a wall, ...).
    """
    kind = WORLD_KINDS[spec.kind]
    options = kind.options.model_validate(spec.options)
    try:
        return kind.build(spec, options, agents, kwargs)
    except InvalidArgument as exc:
        raise ScenarioError(f"world.options: {exc}", field="world.options") from exc


__all__ = ["WORLD_KINDS", "NoOptions", "RetailOptions", "SpatialOptions", "WorldKind", "build_kind",
           "options_problems", "world_problems"]
