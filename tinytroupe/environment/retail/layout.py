"""A store's layout as data: a floor plan drawn in text, the shelves on it with their products, and the
zones the store is measured by. Validated by pydantic, so a YAML file or a dict that does not fit
fails with the field named.

In the plan ``#`` is a wall, ``.`` floor, a ``places`` character a named floor cell (the entrance and
the checkout are required), and a ``shelves`` character the cells of that shelf (shelves block walking
and sight, like walls). A shelf's zone is its own name unless it says otherwise; a floor cell next
to a shelf (diagonals too) belongs to that shelf's zone, the checkout's and entrance's cells to
``checkout`` and ``entrance``, any other floor cell to ``aisles``.

Example:
    >>> layout = StoreLayout.model_validate({
    ...     "plan": ["#######", "#E...K#", "#.AA..#", "#######"],
    ...     "places": {"E": "entrance", "K": "checkout"},
    ...     "shelves": {"A": {"name": "dairy", "products": {"milk": {"price": 1.2, "stock": 3}}}}})
    >>> grid, shelves, zones = layout.build()
    >>> shelves["dairy"].cells, zones[1][2], zones[1][5]
    ([(2, 2), (3, 2)], 'dairy', 'checkout')
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tinytroupe.environment.spatial.maps import GridMap
from tinytroupe.environment.spatial.pathfinding import Cell
from tinytroupe.errors import InvalidArgument


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class ProductSpec(_Strict):
    """A product on a shelf: its price and how many are in stock (None: never runs out)."""

    price: float = Field(ge=0, allow_inf_nan=False)
    stock: int | None = Field(None, ge=0)


class ShelfSpec(_Strict):
    name: str = Field(min_length=1)
    zone: str | None = Field(None, min_length=1, description="default: the shelf's name")
    products: dict[str, ProductSpec] = Field(default_factory=dict)


class StoreLayout(_Strict):
    """A store: ``plan`` (rows of text), ``places`` (character -> place name; ``entrance`` and
    ``checkout`` required), ``shelves`` (character -> shelf), ``cell_size`` (metres per cell)."""

    plan: list[str] = Field(min_length=1)
    places: dict[str, str] = Field(default_factory=dict)
    shelves: dict[str, ShelfSpec] = Field(default_factory=dict)
    cell_size: float = Field(1.0, gt=0, allow_inf_nan=False)
    currency: str = "€"

    @field_validator("plan", mode="before")
    @classmethod
    def _rows(cls, value: object) -> object:
        return value.strip("\n").splitlines() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> StoreLayout:
        for key in (*self.places, *self.shelves):
            if len(key) != 1 or key in "#. ":
                raise ValueError(f"{key!r}: map characters are single characters other than '#', '.' and space")
        both = set(self.places) & set(self.shelves)
        if both:
            raise ValueError(f"{', '.join(sorted(both))}: a character is either a place or a shelf, not both")
        missing = {"entrance", "checkout"} - {name.casefold() for name in self.places.values()}
        if missing:
            raise ValueError(f"places need {' and '.join(sorted(missing))} (e.g. places: {{E: entrance, K: checkout}})")
        seen: dict[str, str] = {}
        for key, shelf in self.shelves.items():
            if shelf.name in seen:
                raise ValueError(f"shelves {seen[shelf.name]!r} and {key!r} are both called {shelf.name!r}")
            seen[shelf.name] = key
        products: dict[str, str] = {}
        for shelf in self.shelves.values():
            for product in shelf.products:
                if product.casefold() in products:
                    raise ValueError(f"product {product!r} is on shelves {products[product.casefold()]!r} and "
                                     f"{shelf.name!r}; give each product one shelf")
                products[product.casefold()] = shelf.name
        drawn = {char for row in self.plan for char in row}
        absent = [f"{key} ({shelf.name})" for key, shelf in self.shelves.items() if key not in drawn]
        if absent:
            raise ValueError(f"shelves not drawn on the plan: {', '.join(absent)}")
        return self

    def build(self) -> tuple[GridMap, dict[str, Shelf], list[list[str]]]:
        """The grid (shelves as walls), the shelves by name with their cells, and each cell's zone
        (``zones[y][x]``; walls ``""``).

        Raises:
            InvalidArgument: the plan has an unknown character, or a shelf has no floor cell beside it.
        """
        shelf_chars = {key: shelf.name for key, shelf in self.shelves.items()}
        rows = ["".join("#" if c in shelf_chars else c for c in row) for row in self.plan]
        grid = GridMap.from_ascii(rows, legend=self.places, cell_size=self.cell_size)
        shelves = {spec.name: Shelf(spec.name, spec.zone or spec.name, dict(spec.products))
                   for spec in self.shelves.values()}
        for y, row in enumerate(self.plan):
            for x, char in enumerate(row):
                if char in shelf_chars:
                    shelves[shelf_chars[char]].cells.append((x, y))
        zones = [["" if grid.walls[y, x] else "aisles" for x in range(grid.width)] for y in range(grid.height)]
        for shelf in shelves.values():
            around = [(x + dx, y + dy) for x, y in shelf.cells for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
            free = [c for c in around if grid.is_free(c)]
            if not free:
                raise InvalidArgument(f"shelf {shelf.name!r} has no floor cell beside it; customers could not reach it")
            for x, y in free:
                if zones[y][x] == "aisles":
                    zones[y][x] = shelf.zone
        for name, (x, y) in grid.places.items():
            if name.casefold() in ("checkout", "entrance"):
                zones[y][x] = name.casefold()
        return grid, shelves, zones


@dataclass
class Shelf:
    """A shelf in a running store: its cells and its products (stock changes as customers pick)."""

    name: str
    zone: str
    products: dict[str, ProductSpec]
    cells: list[Cell] = field(default_factory=list)

    def product(self, name: str) -> str | None:
        """The product called ``name`` on this shelf (any case), or None."""
        wanted = name.strip().casefold()
        return next((p for p in self.products if p.casefold() == wanted), None)

    def beside(self, cell: Cell) -> bool:
        """Whether someone at ``cell`` can reach this shelf (next to one of its cells, diagonals too)."""
        return any(abs(cell[0] - x) <= 1 and abs(cell[1] - y) <= 1 for x, y in self.cells)


__all__ = ["ProductSpec", "Shelf", "ShelfSpec", "StoreLayout"]
