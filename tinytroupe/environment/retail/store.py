"""``TinyRetailStore``: a :class:`~tinytroupe.environment.spatial.SpatialWorld` laid out as a shop, whose
customers walk the aisles (``MOVE_TO``), look at shelves (``LOOK_AT_SHELF``), put products in their
basket (``PICK_ITEM``) and pay at the checkout (``CHECKOUT``).

Each action is checked against the store: an unknown shelf or product, a shelf the customer is not
standing at, an empty stock, a checkout away from the till or with an empty basket are refused with the
reason (the customer is told, an ``action_rejected`` warning is published, the refusal is counted);
nothing stops the step. A picked item leaves the shelf's stock at once and is paid at checkout. What
the store measures is in :mod:`.metrics` (``store.metrics()``, ``heatmap()``, ``dwell_times()``).

Example:
    >>> from datetime import datetime
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.environment import TinyRetailStore
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> layout = {"plan": ["#######", "#E...K#", "#.AA..#", "#######"],
    ...           "places": {"E": "entrance", "K": "checkout"},
    ...           "shelves": {"A": {"name": "dairy", "products": {"milk": {"price": 1.2, "stock": 3}}}}}
    >>> turns = [{"actions": [{"type": "MOVE_TO", "content": "dairy"}, {"type": "DONE"}]},
    ...          {"actions": [{"type": "PICK_ITEM", "content": "milk"}, {"type": "MOVE_TO", "content": "checkout"},
    ...                       {"type": "DONE"}]},
    ...          {"actions": [{"type": "CHECKOUT"}, {"type": "DONE"}]}]
    >>> ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend(turns)))
    >>> store = TinyRetailStore("Corner shop", [ana], layout, speed=4,
    ...                         initial_datetime=datetime(2025, 1, 6, 9), communication_display=False)
    >>> store.run(3)
    >>> store.purchases_frame()[["customer", "product", "price"]].to_dict("records")
    [{'customer': 'Ana', 'product': 'milk', 'price': 1.2}]
    >>> store.shelves["dairy"].products["milk"].stock
    2
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from tinytroupe.agent.actions import Action
from tinytroupe.agent.person import TinyPerson
from tinytroupe.environment.retail.layout import Shelf, StoreLayout
from tinytroupe.environment.retail.metrics import RetailMetrics
from tinytroupe.environment.spatial.maps import GridMap
from tinytroupe.environment.spatial.memory import MOVE_TO
from tinytroupe.environment.spatial.world import Handler, SpatialWorld
from tinytroupe.errors import InvalidArgument
from tinytroupe.state import describe_error

RETAIL_ACTIONS = {
    "MOVE_TO": MOVE_TO,
    "LOOK_AT_SHELF": ("look at what a shelf you are standing at offers, with prices and stock; content is the "
                      "shelf's name"),
    "PICK_ITEM": "put a product from the shelf you are standing at in your basket; content is the product's name",
    "CHECKOUT": "pay for everything in your basket; you must be at the checkout",
}


class TinyRetailStore(RetailMetrics, SpatialWorld):
    """A store on a grid drawn by its ``layout`` (a :class:`~.layout.StoreLayout` or its dict form).

    Customers start at the entrance unless ``positions`` says otherwise; shelves are things everyone
    can see and walk to by name. Other keyword arguments are :class:`SpatialWorld`'s (the defaults here:
    sight 6 m, hearing 4 m).

    Raises:
        InvalidArgument: the layout does not fit (the message names the field), or as :class:`SpatialWorld`.
    """

    def __init__(self, name: str = "A TinyRetailStore", agents: Iterable[TinyPerson] = (),
                 layout: StoreLayout | Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        if layout is None:
            raise InvalidArgument("a TinyRetailStore needs a layout: a plan, its places and its shelves")
        try:
            self.layout = layout if isinstance(layout, StoreLayout) else StoreLayout.model_validate(layout)
        except ValidationError as exc:
            raise InvalidArgument(f"bad store layout: {describe_error(exc)}") from exc
        grid, self.shelves, self.zones = self.layout.build()
        self.baskets: dict[str, list[str]] = {}
        kwargs.setdefault("sight_radius", 6.0)
        kwargs.setdefault("hearing_radius", 4.0)
        self.grid: GridMap = grid  # the same map as ``space``, typed as the grid a store always has
        self._init_metrics()
        super().__init__(name, agents, grid, **kwargs)
        for shelf in self.shelves.values():
            self.add_thing(shelf.name, shelf.cells[0])

    def action_types(self) -> dict[str, str]:
        return dict(RETAIL_ACTIONS)

    def action_handlers(self) -> dict[str, Handler]:
        return {**super().action_handlers(), "LOOK_AT_SHELF": self._look, "PICK_ITEM": self._pick,
                "CHECKOUT": self._checkout}

    def _before_step(self) -> None:
        super()._before_step()
        self._count_positions()

    def reject(self, agent: TinyPerson, action: Action, why: str) -> None:
        self.rejections[agent.name] += 1
        super().reject(agent, action, why)

    # ------------------------------------------------------------------ the store's actions

    def _cell(self, agent: TinyPerson) -> tuple[int, int]:
        cell = self._positions[agent.name]
        assert isinstance(cell, tuple)  # a store is a grid
        return cell

    def _shelf(self, agent: TinyPerson, wanted: str) -> Shelf:
        wanted = wanted.strip()
        if not wanted:
            raise InvalidArgument(f"say which shelf in content (shelves: {', '.join(self.shelves)})")
        shelf = next((s for s in self.shelves.values() if s.name.casefold() == wanted.casefold()), None)
        if shelf is None:
            raise InvalidArgument(f"there is no shelf called {wanted!r} here (shelves: {', '.join(self.shelves)})")
        self._at(agent, shelf)
        return shelf

    def _at(self, agent: TinyPerson, shelf: Shelf) -> None:
        here = self._cell(agent)
        if not shelf.beside(here):
            space = self.grid
            there = min(shelf.cells, key=lambda c: space.distance(here, c))
            raise InvalidArgument(f"you are not at the {shelf.name} shelf; it is {space.distance(here, there):.0f} m "
                                  f"{space.direction(here, there)}: MOVE_TO it first")

    def _look(self, agent: TinyPerson, action: Action) -> None:
        shelf = self._shelf(agent, action.content or action.target)
        self.looks[agent.name] += 1
        currency = self.layout.currency
        items = [f"{p} {spec.price:.2f} {currency}" + ("" if spec.stock is None else f" ({spec.stock} left)")
                 for p, spec in shelf.products.items()]
        agent.see(f"The {shelf.name} shelf offers: " + ("; ".join(items) if items else "nothing at the moment") + ".")

    def _pick(self, agent: TinyPerson, action: Action) -> None:
        wanted = action.content.strip()
        if not wanted:
            raise InvalidArgument("say which product in content")
        shelf = next((s for s in self.shelves.values() if s.product(wanted) is not None), None)
        if shelf is None:
            here = [s for s in self.shelves.values() if s.beside(self._cell(agent))]
            offer = "; ".join(f"{s.name}: {', '.join(s.products) or 'nothing'}" for s in here)
            raise InvalidArgument(f"this store sells no {wanted!r}" + (f" (here: {offer})" if offer else ""))
        self._at(agent, shelf)
        product = shelf.product(wanted)
        assert product is not None
        spec = shelf.products[product]
        if spec.stock == 0:
            raise InvalidArgument(f"the {shelf.name} shelf has no {product} left")
        if spec.stock is not None:
            shelf.products[product] = spec.model_copy(update={"stock": spec.stock - 1})
        self.baskets.setdefault(agent.name, []).append(product)
        self.picks[agent.name] += 1
        agent.socialize(f"You put {product} ({spec.price:.2f} {self.layout.currency}) in your basket.")

    def _checkout(self, agent: TinyPerson, action: Action) -> None:
        till = next(cell for name, cell in self.grid.places.items() if name.casefold() == "checkout")
        here = self._cell(agent)
        if abs(here[0] - till[0]) > 1 or abs(here[1] - till[1]) > 1:
            space = self.grid
            raise InvalidArgument(f"you are not at the checkout; it is {space.distance(here, till):.0f} m "
                                  f"{space.direction(here, till)}: MOVE_TO checkout first")
        basket = self.baskets.get(agent.name, [])
        if not basket:
            raise InvalidArgument("your basket is empty: PICK_ITEM something first")
        total = 0.0
        for product in basket:
            shelf = next(s for s in self.shelves.values() if product in s.products)
            price = shelf.products[product].price
            total += price
            self.purchases.append({"customer": agent.name, "product": product, "shelf": shelf.name, "price": price,
                                   "step": self.current_step, "time": self.current_datetime.isoformat()})
        self.baskets[agent.name] = []
        agent.socialize(f"You paid {total:.2f} {self.layout.currency} for {len(basket)} item"
                        f"{'s' if len(basket) != 1 else ''}: {', '.join(basket)}.")


__all__ = ["RETAIL_ACTIONS", "TinyRetailStore"]
