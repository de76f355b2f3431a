"""The market engine behind ``TinyMarketplace``: a catalogue, wallets, inventories, an order book per
product, and the actions OFFER, BUY, SELL and CANCEL, each an atomic transaction that conserves money
and stock.

Money is integer cents (see :mod:`.market_models`). A standing **offer** holds its units out of the
seller's inventory; a standing **buy order** holds ``quantity * price`` out of the buyer's wallet. So
at every moment, for each product, the units in inventories plus the units on offer are constant,
and the money in wallets plus the money held in buy orders is constant: trades only move them.

Matching is price-time priority, at the standing order's price: BUY takes the cheapest offers
(up to ``max_price``), SELL sells into the highest buy orders (down to ``min_price``), OFFER first
sells into buy orders at or above its price and leaves the rest on offer. An agent never trades
with its own orders. Each action is checked in full (role, product, quantities, prices, money,
stock) before anything changes; a failed check raises :class:`~tinytroupe.errors.InvalidArgument`
whose message is the reason (the marketplace turns it into the agent's observation). Then the
transaction's fills are recorded (the ledger, through ``recorder``; if that raises, nothing
changed), and only then applied.

After each step :meth:`Market.close_step` moves every reference price by the
:class:`~.market_models.PriceRule` and adds one metrics row per product (:meth:`Market.metrics`).

Example:
    >>> market = Market([Product(name="apple", price_cents=120)])
    >>> market.deposit("Ana", "10.00"); market.add_stock("Ben", "apple", 5)
    >>> market.offer("Ben", "apple", 3, "1.50").open_order.order_id
    'o1'
    >>> r = market.buy("Ana", "apple", 2)
    >>> r.filled, r.amount, r.wallet, market.wallet_cents("Ben")
    (2, '3.00', '7.00', 300)
    >>> market.buy("Ana", "pear", 1)
    Traceback (most recent call last):
    ...
    tinytroupe.errors.InvalidArgument: no product 'pear' here; the products are: apple
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

from tinytroupe.environment.market_actions import ROLE_ACTIONS, MarketActions
from tinytroupe.environment.market_metrics import METRIC_COLUMNS, step_rows
from tinytroupe.environment.market_models import (
    MarketState,
    Order,
    PriceRule,
    Product,
    Tally,
    Trade,
    check_quantity,
    to_cents,
)
from tinytroupe.errors import InvalidArgument

if TYPE_CHECKING:
    import pandas as pd

#: ``recorder(step, seq, trades)``: called with every accepted transaction's fills before they apply
Recorder = Callable[[int, int, list[Trade]], None]
Role = Literal["buyer", "seller", "trader"]


class Market(MarketActions):
    """A catalogue with wallets, inventories and order books (see the module docstring).

    Args:
        products: the catalogue (:class:`Product` objects or mappings with ``name`` and ``price``).
        rule: how reference prices move after each step (default :class:`PriceRule`'s defaults).
        recorder: called with each accepted transaction's fills before they apply (the ledger).

    Raises:
        InvalidArgument: a product is malformed or listed twice.
    """

    def __init__(self, products: Iterable[Product | Mapping[str, Any]] = (), *, rule: PriceRule | None = None,
                 recorder: Recorder | None = None) -> None:
        self.rule = rule if rule is not None else PriceRule()
        self.recorder = recorder
        #: called with each applied transaction's fills (the marketplace tells the counterparties)
        self.on_trades: Callable[[list[Trade]], None] | None = None
        self._lock = threading.RLock()
        self._products: dict[str, Product] = {}
        self._roles: dict[str, Role] = {}
        self._wallets: dict[str, int] = {}
        self._inventory: dict[str, dict[str, int]] = {}
        self._offers: dict[str, list[Order]] = {}
        self._bids: dict[str, list[Order]] = {}
        self._orders: dict[str, Order] = {}
        self._next = 1
        self._step = 0
        self._seq = 0
        self._tallies: dict[str, Tally] = {}
        self._metrics: list[dict[str, Any]] = []
        #: each product's whole stock, kept between setups (trades never change it); None: count again
        self._units: dict[str, int] | None = None
        for product in products:
            self.add_product(product)

    # ------------------------------------------------------------------ setup (the user's input)

    def add_product(self, product: Product | Mapping[str, Any]) -> Product:
        """Add a product: a :class:`Product`, or ``{"name", "price", "unit"?, "description"?}``.

        Raises:
            InvalidArgument: a bad field (named), or a product of that name exists.
        """
        if not isinstance(product, Product):
            data = dict(product)
            if "price" in data:
                data["price_cents"] = to_cents(data.pop("price"), field=f"product {data.get('name')!r}: price")
            try:
                product = Product.model_validate(data)
            except ValueError as exc:
                raise InvalidArgument(f"bad product {data.get('name')!r}: {exc}") from None
        with self._lock:
            if product.name in self._products:
                raise InvalidArgument(f"the product {product.name!r} is in the catalogue twice")
            self._products[product.name] = product
            self._offers[product.name], self._bids[product.name] = [], []
            self._units = None
        return product

    def set_role(self, agent: str, role: Role) -> None:
        """What ``agent`` may do: ``buyer`` (BUY), ``seller`` (OFFER, SELL) or ``trader`` (all; the default).

        Raises:
            InvalidArgument: an unknown role.
        """
        if role not in ROLE_ACTIONS:
            raise InvalidArgument(f"role of {agent!r}: {role!r} is not one of buyer, seller, trader")
        self._roles[agent] = role

    def deposit(self, agent: str, amount: object) -> None:
        """Put ``amount`` (``"12.50"``, a Decimal or int units) into ``agent``'s wallet (setup, not a trade).

        Raises:
            InvalidArgument: a negative or malformed amount.
        """
        cents = to_cents(amount, field=f"wallet of {agent!r}", allow_zero=True)
        with self._lock:
            self._wallets[agent] = self._wallets.get(agent, 0) + cents

    def add_stock(self, agent: str, product: str, quantity: int) -> None:
        """Give ``agent`` ``quantity`` units of ``product`` (setup, not a trade).

        Raises:
            InvalidArgument: an unknown product, or a quantity that is not a whole number from 0.
        """
        self._product(product)
        n = check_quantity(quantity, field=f"inventory of {agent!r}: {product}", allow_zero=True)
        with self._lock:
            held = self._inventory.setdefault(agent, {})
            held[product] = held.get(product, 0) + n
            self._units = None

    # ------------------------------------------------------------------ queries

    @property
    def products(self) -> dict[str, Product]:
        return dict(self._products)

    @property
    def step(self) -> int:
        return self._step

    def price_cents(self, product: str) -> int:
        """The reference price of ``product`` (cents)."""
        return self._product(product).price_cents

    def role(self, agent: str) -> Role:
        return self._roles.get(agent, "trader")

    def wallet_cents(self, agent: str) -> int:
        """The money in ``agent``'s wallet (cents), not counting what its buy orders hold."""
        return self._wallets.get(agent, 0)

    def holding(self, agent: str, product: str) -> int:
        """Units of ``product`` in ``agent``'s inventory, not counting what its offers hold."""
        return self._inventory.get(agent, {}).get(product, 0)

    def inventory(self, agent: str) -> dict[str, int]:
        return {p: n for p, n in self._inventory.get(agent, {}).items() if n}

    def agents(self) -> list[str]:
        """Everyone with a wallet, an inventory, a role or an order, sorted."""
        return sorted({*self._wallets, *self._inventory, *self._roles, *(o.owner for o in self._orders.values())})

    def orders(self, agent: str | None = None, product: str | None = None) -> list[Order]:
        """Standing orders (of ``agent``, of ``product``), oldest first."""
        return [replace(o) for o in sorted(self._orders.values(), key=lambda o: o.number)
                if (agent is None or o.owner == agent) and (product is None or o.product == product)]

    def book(self, product: str) -> tuple[list[Order], list[Order]]:
        """``product``'s offers (cheapest first) and buy orders (highest first)."""
        self._product(product)
        return [replace(o) for o in self._offers[product]], [replace(o) for o in self._bids[product]]

    def total_money_cents(self) -> int:
        """Money in wallets plus money held by buy orders: what trades conserve."""
        return sum(self._wallets.values()) + sum(o.quantity * o.price_cents for o in self._orders.values()
                                                 if o.side == "bid")

    def total_units(self, product: str) -> int:
        """Units of ``product`` in inventories plus units on offer: what trades conserve."""
        return (sum(held.get(product, 0) for held in self._inventory.values())
                + sum(o.quantity for o in self._offers.get(product, [])))

    # ------------------------------------------------------------------ steps and metrics

    def begin_step(self, step: int) -> None:
        """Number the transactions of ``step`` from zero (their ledger keys)."""
        with self._lock:
            if step != self._step:
                self._step, self._seq = step, 0

    def close_step(self) -> list[dict[str, Any]]:
        """Move every reference price by the rule, add and return this step's metrics rows."""
        with self._lock:
            units = {p: self.total_units(p) for p in self._products} if self._units is None else self._units
            self._units = units
            rows = step_rows(self._step, self._products, self._tallies, self._offers, self._bids, units, self.rule)
            for row in rows:
                self._products[row["product"]].price_cents = row["next_price_cents"]
            self._tallies = {}
            self._metrics.extend(rows)
            return rows

    def metrics(self) -> pd.DataFrame:
        """One row per closed step and product (:data:`METRIC_COLUMNS`; money in cents)."""
        import pandas as pd

        frame = pd.DataFrame(list(self._metrics), columns=list(METRIC_COLUMNS))
        # integers stay integers where a price is missing (pandas would make the column float)
        return frame.astype({c: "Int64" for c in METRIC_COLUMNS if c != "product"})

    # ------------------------------------------------------------------ state

    def state_model(self) -> MarketState:
        """The market as data; :meth:`apply_state` restores it exactly."""
        with self._lock:
            return MarketState(
                products=[p.model_copy() for p in self._products.values()], rule=self.rule, roles=dict(self._roles),
                wallets=dict(self._wallets), inventory={a: dict(h) for a, h in self._inventory.items()},
                orders=self.orders(), next_number=self._next, step=self._step, seq=self._seq,
                tallies={p: replace(t) for p, t in self._tallies.items()},
                metrics=[dict(r) for r in self._metrics])

    def apply_state(self, state: MarketState) -> None:
        """Put the market in ``state`` (in place)."""
        with self._lock:
            self.rule = state.rule
            self._products = {p.name: p.model_copy() for p in state.products}
            self._roles = dict(state.roles)
            self._wallets = dict(state.wallets)
            self._inventory = {a: dict(h) for a, h in state.inventory.items()}
            self._offers = {p: [] for p in self._products}
            self._bids = {p: [] for p in self._products}
            self._orders = {}
            for order in sorted(state.orders, key=lambda o: o.number):
                self._add(replace(order))
            self._next, self._step, self._seq = state.next_number, state.step, state.seq
            self._tallies = {p: replace(t) for p, t in state.tallies.items()}
            self._metrics = [dict(r) for r in state.metrics]
            self._units = None

    # ------------------------------------------------------------------ internals

    def _product(self, name: str) -> Product:
        found = self._products.get(name.strip() if isinstance(name, str) else name)
        if found is None:
            known = ", ".join(sorted(self._products)) or "none yet"
            raise InvalidArgument(f"no product {name!r} here; the products are: {known}")
        return found


__all__ = ["METRIC_COLUMNS", "ROLE_ACTIONS", "Market", "Recorder", "Role"]
