"""What a store measures: a heat map (customer-steps per cell), dwell time per zone, what was looked at,
picked and bought, and refused actions; as numpy arrays, pandas DataFrames and an SVG heat map, and as
the ``retail`` part of the store's state.

Every step, when everyone has looked around and before anyone acts, each customer's cell gets one
count in the heat map and its zone one step of that customer's dwell time.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tinytroupe.environment.spatial.maps import GridMap
from tinytroupe.environment.spatial.render import heatmap_svg
from tinytroupe.environment.state_models import WorldState
from tinytroupe.errors import InvalidArgument
from tinytroupe.state import describe_error

if TYPE_CHECKING:
    from tinytroupe.agent.person import TinyPerson
    from tinytroupe.environment.retail.layout import Shelf

#: the columns of :meth:`RetailMetrics.metrics`, before one ``dwell_<zone>`` column per zone
METRIC_COLUMNS = ["customer", "steps", "shelves_looked_at", "items_picked", "items_bought", "spent", "in_basket",
                  "rejected_actions"]


class RetailState(BaseModel):
    """The ``retail`` part of a store's state."""

    model_config = ConfigDict(extra="forbid")

    stock: dict[str, dict[str, int | None]] = Field(default_factory=dict)
    baskets: dict[str, list[str]] = Field(default_factory=dict)
    purchases: list[dict[str, Any]] = Field(default_factory=list)
    heat: list[list[int]] = Field(default_factory=list)
    dwell: dict[str, dict[str, int]] = Field(default_factory=dict)
    looks: dict[str, int] = Field(default_factory=dict)
    picks: dict[str, int] = Field(default_factory=dict)
    rejections: dict[str, int] = Field(default_factory=dict)


class RetailMetrics:
    """Mixin of :class:`~tinytroupe.environment.retail.TinyRetailStore`: its records and metrics."""

    if TYPE_CHECKING:
        name: str
        agents: list[TinyPerson]
        grid: GridMap
        shelves: dict[str, Shelf]
        zones: list[list[str]]
        baskets: dict[str, list[str]]
        _positions: dict[str, Any]

        @property
        def current_step(self) -> int: ...

        @property
        def current_datetime(self) -> datetime: ...

    def _init_metrics(self) -> None:
        self.heat = np.zeros((self.grid.height, self.grid.width), dtype=np.int64)
        self.dwell: dict[str, Counter[str]] = {}
        self.purchases: list[dict[str, Any]] = []
        self.looks: Counter[str] = Counter()
        self.picks: Counter[str] = Counter()
        self.rejections: Counter[str] = Counter()

    def _count_positions(self) -> None:
        for agent in self.agents:
            x, y = self._positions[agent.name]
            self.heat[y, x] += 1
            self.dwell.setdefault(agent.name, Counter())[self.zones[y][x]] += 1

    def heatmap(self) -> np.ndarray:
        """Customer-steps per cell, as a ``(height, width)`` array (``heatmap()[y, x]``)."""
        return self.heat.copy()

    def metrics_tables(self) -> dict[str, pd.DataFrame]:
        """The tables ``tinytroupe run`` writes beside the results (``world_<name>.csv``)."""
        return {"customers": self.metrics(), "purchases": self.purchases_frame(), "dwell": self.dwell_times(),
                "heatmap": self.heatmap_frame()}

    def heatmap_frame(self) -> pd.DataFrame:
        """:meth:`heatmap` as a DataFrame: one row per ``y``, one column per ``x``."""
        return pd.DataFrame(self.heat, index=pd.RangeIndex(self.grid.height, name="y"),
                            columns=pd.RangeIndex(self.grid.width, name="x"))

    def heatmap_svg(self, cell_px: int = 16) -> str:
        """The heat map as an SVG document (walls and shelves dark)."""
        return heatmap_svg(self.heat, self.grid.walls, cell_px)

    def dwell_times(self) -> pd.DataFrame:
        """Steps each customer spent in each zone: columns ``customer``, ``zone``, ``steps``."""
        rows = [{"customer": c, "zone": z, "steps": n}
                for c, zones in self.dwell.items() for z, n in sorted(zones.items())]
        return pd.DataFrame(rows, columns=["customer", "zone", "steps"])

    def purchases_frame(self) -> pd.DataFrame:
        """Every item bought: ``customer``, ``product``, ``shelf``, ``price``, ``step``, ``time``."""
        return pd.DataFrame(self.purchases, columns=["customer", "product", "shelf", "price", "step", "time"])

    def metrics(self) -> pd.DataFrame:
        """One row per customer: steps in the store, shelves looked at, items picked, bought and still in
        the basket, money spent, refused actions, and one ``dwell_<zone>`` column (steps) per zone."""
        zones = sorted({z for row in self.zones for z in row if z})
        spent: Counter[str] = Counter()
        bought: Counter[str] = Counter()
        for row in self.purchases:
            spent[row["customer"]] += row["price"]
            bought[row["customer"]] += 1
        rows = []
        for agent in self.agents:
            name = agent.name
            dwell = self.dwell.get(name, Counter())
            rows.append({"customer": name, "steps": sum(dwell.values()), "shelves_looked_at": self.looks[name],
                         "items_picked": self.picks[name], "items_bought": bought[name],
                         "spent": round(spent[name], 2), "in_basket": len(self.baskets.get(name, [])),
                         "rejected_actions": self.rejections[name],
                         **{f"dwell_{z}": dwell.get(z, 0) for z in zones}})
        return pd.DataFrame(rows, columns=[*METRIC_COLUMNS, *(f"dwell_{z}" for z in zones)])

    # ------------------------------------------------------------------ state

    def state_model(self, include_agents: bool = True) -> WorldState:
        """The store's state: the spatial world's plus stock, baskets, purchases and its records."""
        state: WorldState = super().state_model(include_agents)  # type: ignore[misc]
        retail = RetailState(
            stock={s.name: {p: spec.stock for p, spec in s.products.items()} for s in self.shelves.values()},
            baskets={n: list(b) for n, b in self.baskets.items()}, purchases=list(self.purchases),
            heat=self.heat.tolist(), dwell={n: dict(c) for n, c in self.dwell.items()}, looks=dict(self.looks),
            picks=dict(self.picks), rejections=dict(self.rejections))
        state.extensions = {**state.extensions, "retail": retail.model_dump(mode="json")}
        return state

    def apply_state(self, state: WorldState) -> Self:
        """Put the store in ``state`` (a state without the retail part leaves stock and records as they are).

        Raises:
            InvalidArgument: as :meth:`SpatialWorld.apply_state`, or the retail part does not fit this store.
        """
        super().apply_state(state)  # type: ignore[misc]
        data = state.extensions.get("retail")
        if data is None:
            return self
        try:
            retail = RetailState.model_validate(data)
        except ValidationError as exc:
            raise InvalidArgument(f"bad retail state of store {self.name!r}: {describe_error(exc)}") from exc
        heat = np.asarray(retail.heat, dtype=np.int64)
        if heat.shape != self.heat.shape:
            raise InvalidArgument(f"the saved heat map of store {self.name!r} is {heat.shape}, the store's plan "
                                  f"{self.heat.shape}: the state is another layout's")
        for shelf_name, stock in retail.stock.items():
            shelf = self.shelves.get(shelf_name)
            if shelf is None:
                raise InvalidArgument(f"the saved state has a shelf {shelf_name!r} this store lacks")
            for product, count in stock.items():
                if product in shelf.products:
                    shelf.products[product] = shelf.products[product].model_copy(update={"stock": count})
        self.baskets = {n: list(b) for n, b in retail.baskets.items()}
        self.purchases = list(retail.purchases)
        self.heat = heat
        self.dwell = {n: Counter(c) for n, c in retail.dwell.items()}
        self.looks, self.picks = Counter(retail.looks), Counter(retail.picks)
        self.rejections = Counter(retail.rejections)
        return self


__all__ = ["METRIC_COLUMNS", "RetailMetrics", "RetailState"]
