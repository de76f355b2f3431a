"""The maps a :class:`~tinytroupe.environment.spatial.SpatialWorld` can have: a grid of cells with walls
(:class:`GridMap`) or a graph of named places joined by walkable distances (:class:`PlaceGraph`).

Both answer the same questions: where a user's or an agent's words point (:meth:`resolve`), how to get
there (:meth:`plan`), how far apart two positions are, and how to say where a position is. Bad places
raise :class:`~tinytroupe.errors.InvalidArgument` (an unreachable goal its subclass :class:`Unreachable`)
with a message that reads as the reason: the world shows it to an agent whose move was refused, and
raises it to a user whose own call was wrong.

Example:
    >>> grid = GridMap.from_ascii(["#####", "#..C#", "#.#.#", "#####"], legend={"C": "checkout"})
    >>> grid.resolve("checkout"), grid.resolve("1,2"), grid.describe((3, 1))
    ((3, 1), (1, 2), 'the checkout (3, 1)')
    >>> grid.plan((1, 2), (3, 2))
    [(1, 2), (1, 1), (2, 1), (3, 1), (3, 2)]
    >>> grid.resolve("2,2")
    Traceback (most recent call last):
    ...
    tinytroupe.errors.InvalidArgument: (2, 2) is a wall or obstacle
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import Any, cast

import networkx as nx
import numpy as np

from tinytroupe.environment.spatial.pathfinding import Cell, astar, neighbour_table, regions
from tinytroupe.errors import InvalidArgument, InvalidArgumentType

#: a position: a cell on a grid, a place's name on a graph
Position = Cell | str

_COORDS = re.compile(r"^\s*\(?\s*(-?\d+)\s*[,; ]\s*(-?\d+)\s*\)?\s*$")
_COMPASS = ("east", "south-east", "south", "south-west", "west", "north-west", "north", "north-east")
#: the largest grid side accepted (a million cells: perception and rendering stay interactive)
MAX_SIDE = 1_000


class Unreachable(InvalidArgument):
    """The goal is on the map and free, but no walkable path leads there from the start."""


class GridMap:
    """A ``width`` × ``height`` grid; ``walls`` are cells nobody can enter, ``places`` name cells.

    ``x`` counts columns from the left, ``y`` rows from the top (north is up). Movement is 4-connected
    (one cell a move); distances for perception are straight lines, in ``unit`` s of ``cell_size``.
    ``walls`` is a boolean array (``walls[y, x]``), fixed once the map is in use: its regions and
    neighbour table are computed on the first path and kept.

    Raises:
        InvalidArgument: a side is not between 1 and :data:`MAX_SIDE`, or a wall or place is off the map
            (a place on a wall too).
    """

    kind = "grid"

    def __init__(self, width: int, height: int, walls: Iterable[Sequence[int]] = (),
                 places: Mapping[str, Sequence[int]] | None = None, *, cell_size: float = 1.0,
                 unit: str = "m") -> None:
        for label, side in (("width", width), ("height", height)):
            if not isinstance(side, int) or isinstance(side, bool) or not 1 <= side <= MAX_SIDE:
                raise InvalidArgument(f"the grid's {label} must be a whole number from 1 to {MAX_SIDE}, got {side!r}")
        if not cell_size > 0:
            raise InvalidArgument(f"cell_size must be positive, got {cell_size!r}")
        self.width, self.height, self.cell_size, self.unit = width, height, float(cell_size), unit
        self.walls = np.zeros((height, width), dtype=bool)
        for i, wall in enumerate(walls):
            x, y = self._cell(wall, f"walls[{i}]")
            self.walls[y, x] = True
        self.places: dict[str, Cell] = {}
        for name, at in (places or {}).items():
            self.add_place(name, at)

    @classmethod
    def from_ascii(cls, rows: Sequence[str] | str, legend: Mapping[str, str] | None = None, *,
                   cell_size: float = 1.0, unit: str = "m") -> GridMap:
        """A grid drawn in text: ``#`` a wall, ``.`` or a space a floor cell, a ``legend`` character a
        named place (on the floor). Rows are padded with floor to the longest.

        Raises:
            InvalidArgument: no rows, or a character that is neither ``#``, ``.``, a space nor in ``legend``
                (the message names its row and column).
        """
        lines = rows.strip("\n").splitlines() if isinstance(rows, str) else list(rows)
        if not lines:
            raise InvalidArgument("an ASCII map needs at least one row")
        legend = dict(legend or {})
        width = max(len(line) for line in lines)
        walls: list[Cell] = []
        places: dict[str, Cell] = {}
        for y, line in enumerate(lines):
            for x, char in enumerate(line):
                if char == "#":
                    walls.append((x, y))
                elif char in legend:
                    if legend[char] in places:
                        raise InvalidArgument(f"map row {y}, column {x}: {char!r} names {legend[char]!r}, already "
                                              f"at {places[legend[char]]}; give each place one cell")
                    places[legend[char]] = (x, y)
                elif char not in ". ":
                    raise InvalidArgument(f"map row {y}, column {x}: unknown character {char!r}; use '#' for a wall, "
                                          "'.' for floor, or name it in the legend")
        return cls(width, len(lines), walls, places, cell_size=cell_size, unit=unit)

    def __repr__(self) -> str:
        return f"GridMap({self.width}x{self.height}, walls={int(self.walls.sum())}, places={len(self.places)})"

    # ------------------------------------------------------------------ cells

    def _cell(self, value: Any, label: str) -> Cell:
        if (not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2
                or not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in value)):
            raise InvalidArgument(f"{label} must be an [x, y] pair of whole numbers, got {value!r}")
        x, y = int(value[0]), int(value[1])
        if not (0 <= x < self.width and 0 <= y < self.height):
            raise InvalidArgument(f"{label} ({x}, {y}) is off the map, which spans (0, 0) to "
                                  f"({self.width - 1}, {self.height - 1})")
        return x, y

    def add_place(self, name: str, at: Sequence[int]) -> GridMap:
        """Name the floor cell ``at`` (a shelf, a door, a meeting point).

        Raises:
            InvalidArgument: the name is empty or taken, or the cell is off the map or a wall.
        """
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgument(f"a place needs a non-empty name, got {name!r}")
        if name in self.places:
            raise InvalidArgument(f"the place {name!r} is already at {self.places[name]}")
        cell = self._cell(at, f"place {name!r}")
        if self.walls[cell[1], cell[0]]:
            raise InvalidArgument(f"place {name!r} at {cell} is on a wall; put it on a floor cell")
        self.places[name] = cell
        self.__dict__.pop("_place_at", None)
        return self

    @cached_property
    def _place_at(self) -> dict[Cell, str]:
        return {cell: name for name, cell in self.places.items()}

    @cached_property
    def _regions(self) -> np.ndarray:
        return regions(self.walls)

    @cached_property
    def _neighbours(self) -> list[tuple[int, ...]]:
        return neighbour_table(self.walls)

    def is_free(self, cell: Position) -> bool:
        """Whether ``cell`` is on the map and not a wall."""
        x, y = cast(Cell, cell)
        return 0 <= x < self.width and 0 <= y < self.height and not self.walls[y, x]

    def free_cells(self) -> list[Cell]:
        """Every floor cell, row by row."""
        return [(int(x), int(y)) for y, x in np.argwhere(~self.walls)]

    def resolve(self, where: Any) -> Cell:
        """The free cell ``where`` points at: an ``(x, y)`` pair, a text like ``"3,4"`` or ``"(3, 4)"``, or a
        place's name (any case).

        Raises:
            InvalidArgument: an unknown place, a cell off the map, or a wall.
        """
        if isinstance(where, str):
            match = _COORDS.match(where)
            if match is None:
                return self._place(where)
            where = (int(match.group(1)), int(match.group(2)))
        cell = self._cell(where, "the position")
        if self.walls[cell[1], cell[0]]:
            raise InvalidArgument(f"{cell} is a wall or obstacle")
        return cell

    def _place(self, name: str) -> Cell:
        wanted = name.strip().casefold()
        for place, cell in self.places.items():
            if place.casefold() == wanted:
                return cell
        known = ", ".join(sorted(self.places)[:20]) or "none; give coordinates such as 3,4"
        raise InvalidArgument(f"no place called {name.strip()!r} on this map (places: {known})")

    # ------------------------------------------------------------------ paths and distances

    def plan(self, start: Position, goal: Position) -> list[Cell]:
        """A shortest walk from ``start`` to ``goal``, both included.

        Raises:
            InvalidArgument: either end is off the map or a wall.
            Unreachable: walls cut ``goal`` off from ``start``.
        """
        start, goal = self.resolve(start), self.resolve(goal)
        labels = self._regions
        if labels[start[1], start[0]] != labels[goal[1], goal[0]]:
            raise Unreachable(f"{self.describe(goal)} cannot be reached from {self.describe(start)}: walls cut it off")
        path = astar(self.walls, start, goal, self._neighbours)
        assert path is not None  # same region, so a path exists
        return path

    def distance(self, a: Position, b: Position) -> float:
        """The straight-line distance from ``a`` to ``b`` in :attr:`unit` s."""
        a, b = cast(Cell, a), cast(Cell, b)
        return math.hypot(a[0] - b[0], a[1] - b[1]) * self.cell_size

    def direction(self, a: Position, b: Position) -> str:
        """The compass direction from ``a`` to ``b`` (north is up), or ``"here"``."""
        a, b = cast(Cell, a), cast(Cell, b)
        dx, dy = b[0] - a[0], b[1] - a[1]
        if dx == 0 and dy == 0:
            return "here"
        return _COMPASS[round(math.atan2(dy, dx) / (math.pi / 4)) % 8]

    def describe(self, cell: Position) -> str:
        """``(x, y)``, after the place's name when a place is there."""
        cell = cast(Cell, cell)
        name = self._place_at.get(cell)
        return f"the {name} ({cell[0]}, {cell[1]})" if name else f"({cell[0]}, {cell[1]})"

    def encode(self, cell: Position) -> list[int]:
        """``cell`` as JSON data."""
        x, y = cast(Cell, cell)
        return [int(x), int(y)]

    def decode(self, data: Any) -> Cell:
        """:meth:`encode` output (or any form :meth:`resolve` accepts) back as a free cell."""
        return self.resolve(tuple(data) if isinstance(data, list) else data)


class PlaceGraph:
    """A graph of named places (rooms, shops, bus stops) and the walkable distances between them.

    Args:
        links: ``{place: {neighbour: distance, ...}, ...}`` (each link walkable both ways), or a
            :class:`networkx.Graph` whose edges may carry a ``weight``; places without links are allowed.
        coords: optional ``{place: (x, y)}`` for drawing the graph.
        unit: the unit of the distances.

    A move goes one place (edge) at a time; perception reaches the places within a radius of path length.

    Raises:
        InvalidArgument: a distance is not positive, or a place name is empty.
    """

    kind = "graph"

    def __init__(self, links: Mapping[str, Mapping[str, float]] | nx.Graph, *,
                 coords: Mapping[str, Sequence[float]] | None = None, unit: str = "m") -> None:
        self.graph: nx.Graph = nx.Graph()
        if isinstance(links, nx.Graph):
            for a, b, data in links.edges(data=True):
                self._link(str(a), str(b), data.get("weight", 1.0))
            self.graph.add_nodes_from(str(n) for n in links.nodes)
        elif isinstance(links, Mapping):
            for a, neighbours in links.items():
                self._check_name(a)
                self.graph.add_node(a)
                if not isinstance(neighbours, Mapping):
                    raise InvalidArgumentType(f"place {a!r}: links must be a mapping of neighbour -> distance")
                for b, dist in neighbours.items():
                    self._link(a, b, dist)
        else:
            raise InvalidArgumentType(f"links must be a mapping or a networkx.Graph, got {type(links).__name__}")
        self.coords = {str(k): (float(v[0]), float(v[1])) for k, v in (coords or {}).items()}
        self.unit = unit
        self._within: dict[tuple[str, float], dict[str, float]] = {}

    def _check_name(self, name: Any) -> None:
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgument(f"a place needs a non-empty name, got {name!r}")

    def _link(self, a: str, b: str, dist: Any) -> None:
        self._check_name(a)
        self._check_name(b)
        if isinstance(dist, bool) or not isinstance(dist, int | float) or not dist > 0:
            raise InvalidArgument(f"the distance from {a!r} to {b!r} must be a positive number, got {dist!r}")
        self.graph.add_edge(a, b, weight=float(dist))

    def __repr__(self) -> str:
        return f"PlaceGraph(places={self.graph.number_of_nodes()}, links={self.graph.number_of_edges()})"

    @property
    def places(self) -> dict[str, str]:
        """Each place, named by itself (the same shape as a grid's ``places``)."""
        return {str(n): str(n) for n in self.graph.nodes}

    def free_cells(self) -> list[str]:
        return sorted(self.places)

    def resolve(self, where: Any) -> str:
        """The place ``where`` names (any case).

        Raises:
            InvalidArgument: no such place.
        """
        if isinstance(where, str):
            wanted = where.strip().casefold()
            for node in self.graph.nodes:
                if str(node).casefold() == wanted:
                    return str(node)
        known = ", ".join(sorted(self.places)[:20]) or "none"
        raise InvalidArgument(f"no place called {where!r} on this map (places: {known})")

    def plan(self, start: Position, goal: Position) -> list[str]:
        """The places of a shortest walk from ``start`` to ``goal``, both included.

        Raises:
            InvalidArgument: an unknown place.
            Unreachable: no links lead from ``start`` to ``goal``.
        """
        start, goal = self.resolve(start), self.resolve(goal)
        try:
            return [str(n) for n in nx.shortest_path(self.graph, start, goal, weight="weight")]
        except nx.NetworkXNoPath:
            raise Unreachable(f"the {goal} cannot be reached from the {start}: no way leads there") from None

    def is_free(self, place: Position) -> bool:
        """Whether ``place`` is a place of this graph."""
        return isinstance(place, str) and self.graph.has_node(place)

    def within(self, place: str, radius: float) -> dict[str, float]:
        """The places at most ``radius`` away from ``place`` (by the shortest walk), with their distances."""
        key = (place, radius)
        found = self._within.get(key)
        if found is None:
            found = self._within[key] = {str(k): float(v) for k, v in nx.single_source_dijkstra_path_length(
                self.graph, place, cutoff=radius, weight="weight").items()}
        return found

    def distance(self, a: Position, b: Position) -> float:
        """The length of the shortest walk from ``a`` to ``b`` (infinite when none)."""
        try:
            return float(nx.shortest_path_length(self.graph, a, b, weight="weight"))
        except nx.NetworkXNoPath:
            return float("inf")

    def direction(self, a: Position, b: Position) -> str:
        return "here" if a == b else f"towards the {b}"

    def describe(self, place: Position) -> str:
        return f"the {place}"

    def encode(self, place: Position) -> str:
        return str(place)

    def decode(self, data: Any) -> str:
        return self.resolve(data)


#: a map of either kind
SpaceMap = GridMap | PlaceGraph

__all__ = ["MAX_SIDE", "GridMap", "PlaceGraph", "Position", "SpaceMap", "Unreachable"]
