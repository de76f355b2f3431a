"""The marketplace's data: money in integer cents, products, standing orders, trades, the price rule
and the market's whole state as a model (what a checkpoint keeps).

Money is never a float here: amounts are integer cents inside the market, written as decimal text
(``"12.50"``) wherever people read or write them. :func:`to_cents` reads what a user or an agent
gives (an int, a ``Decimal``, a text such as ``"1.20"``; a float only when its shortest text has at
most two decimals, as a YAML ``1.2`` does) and says which field is wrong otherwise.

Example:
    >>> to_cents("1.20", field="price"), format_cents(120), format_cents(-5)
    (120, '1.20', '-0.05')
    >>> to_cents(0.1 + 0.2, field="price")
    Traceback (most recent call last):
    ...
    tinytroupe.errors.InvalidArgument: price: 0.30000000000000004 has more than two decimals; money is counted in cents
    >>> PriceRule().next_price(100, demand=3, supply=1)
    105
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from tinytroupe.errors import InvalidArgument
from tinytroupe.state import StateModel
from tinytroupe.storage.market_ledger import TradeFields

#: the largest amount of money (in cents) the market holds in one place: 10 trillion units
MAX_CENTS = 10**15
#: the most units of a product in one order, wallet or inventory
MAX_QUANTITY = 10**9

#: money as agents write it in their actions: positive, at most two decimals
Money = Annotated[Decimal, Field(gt=0, max_digits=15, decimal_places=2, description="an amount such as 2.50")]
#: a number of units in an agent's action
Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY, description="how many units")]


def to_cents(value: object, *, field: str, allow_zero: bool = False) -> int:
    """``value`` (int, ``Decimal``, decimal text, or a float with at most two decimals) in cents.

    Raises:
        InvalidArgument: not a number, more than two decimals, negative (or zero unless
            ``allow_zero``), or over :data:`MAX_CENTS`; the message names ``field``.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise InvalidArgument(f"{field}: expected an amount of money such as '2.50', got {type(value).__name__}")
    try:
        # a float's shortest text (repr) is what the user typed: 1.2 -> '1.2', never 1.19999...
        amount = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        raise InvalidArgument(f"{field}: {value!r} is not an amount of money; write one such as '2.50'") from None
    if not amount.is_finite():
        raise InvalidArgument(f"{field}: {value!r} is not an amount of money; write one such as '2.50'")
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise InvalidArgument(f"{field}: {value} has more than two decimals; money is counted in cents")
    if cents < 0 or (cents == 0 and not allow_zero):
        raise InvalidArgument(f"{field}: {value} must be {'zero or more' if allow_zero else 'more than zero'}")
    if cents > MAX_CENTS:
        raise InvalidArgument(f"{field}: {value} is more than the market can hold ({format_cents(MAX_CENTS)})")
    return int(cents)


def check_quantity(value: object, *, field: str, allow_zero: bool = False) -> int:
    """``value`` as a number of units (a whole number from 1, or 0 with ``allow_zero``).

    Raises:
        InvalidArgument: not a whole number, negative, zero (unless allowed) or over :data:`MAX_QUANTITY`.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{field}: expected a whole number of units, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero) or value > MAX_QUANTITY:
        low = 0 if allow_zero else 1
        raise InvalidArgument(f"{field}: {value} must be from {low} to {MAX_QUANTITY:,}")
    return value


def format_cents(cents: int) -> str:
    """Cents as decimal text with two decimals (``1234`` -> ``'12.34'``)."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


class PriceRule(BaseModel):
    """How each product's reference price moves after every step (a tâtonnement).

    With ``D`` the units asked for by accepted BUY actions in the step and ``S`` the units put up by
    accepted OFFER and SELL actions, the price is multiplied by ``1 + adjustment_rate * (D - S) / (D + S)``,
    the factor clipped to ``[1 - max_step_change, 1 + max_step_change]``, rounded to the cent (half to
    even) and kept at least ``min_price_cents``. A step with neither demand nor supply leaves it as it is.
    Arithmetic is decimal, so the same steps give the same prices everywhere.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    adjustment_rate: float = Field(0.1, gt=0, le=1, description="how strongly excess demand moves the price")
    max_step_change: float = Field(0.2, gt=0, lt=1, description="the largest relative change in one step")
    min_price_cents: int = Field(1, ge=1, description="the price never falls below this (cents)")

    def next_price(self, price_cents: int, *, demand: int, supply: int) -> int:
        """The price after a step with ``demand`` and ``supply`` units (see the class docstring)."""
        if demand + supply == 0:
            return price_cents
        rate, cap = Decimal(repr(self.adjustment_rate)), Decimal(repr(self.max_step_change))
        factor = 1 + rate * Decimal(demand - supply) / Decimal(demand + supply)
        factor = min(max(factor, 1 - cap), 1 + cap)
        moved = int((Decimal(price_cents) * factor).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
        return max(self.min_price_cents, min(moved, MAX_CENTS))


class Product(BaseModel):
    """One product of the catalogue: its name, reference price (cents), unit and description."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    price_cents: int = Field(ge=1, le=MAX_CENTS)
    unit: str = Field("unit", min_length=1, max_length=40)
    description: str = Field("", max_length=500)


@dataclass(slots=True)
class Order:
    """A standing order: an offer (units for sale, held out of the seller's inventory) or a buy order
    (money held out of the buyer's wallet, ``quantity * price_cents``). ``number`` gives time priority.

    A plain dataclass (validated where it enters a :class:`MarketState`): its quantity changes with
    every fill, and that is the engine's hot path.
    """

    order_id: str
    side: Literal["offer", "bid"]
    owner: str
    product: str
    price_cents: int
    quantity: int
    number: int
    step: int


class Trade(TradeFields):
    """One fill: ``quantity`` units of ``product`` from ``seller`` to ``buyer`` at ``price_cents`` each.

    ``step``, ``seq`` (the market transaction's number in its step) and ``leg`` (the fill's number in
    its transaction) are its key in the ledger; ``action`` is the action that made it (OFFER, BUY or
    SELL), ``order_id`` the standing order it filled. The ledger's row has the same fields
    (:class:`~tinytroupe.storage.market_ledger.TradeFields`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(slots=True)
class Tally:
    """What one product saw in the current step: demand and supply (for the price rule) and trades."""

    demand: int = 0
    supply: int = 0
    volume: int = 0
    turnover_cents: int = 0
    trades: int = 0
    last_price_cents: int | None = None


class Fill(BaseModel):
    """One fill of an agent's market action, as the agent reads it (money as decimal text)."""

    counterparty: str
    quantity: int
    price: str
    amount: str
    order_id: str


class OpenOrder(BaseModel):
    """A standing order an action left on the market: an offer, or a buy order with its money held."""

    order_id: str
    side: Literal["offer", "bid"]
    product: str
    quantity: int
    price: str


class MarketResult(BaseModel):
    """What a market action did: its fills, the order it left standing (if any), and the agent's wallet
    and holding of the product afterwards."""

    action: str
    product: str
    filled: int = Field(description="units bought or sold now")
    amount: str = Field(description="money paid (BUY) or received (OFFER, SELL) now")
    fills: list[Fill] = Field(default_factory=list)
    open_order: OpenOrder | None = None
    wallet: str
    holding: int = Field(description="units of the product you hold now (outside your offers)")
    note: str = ""


class MarketState(StateModel):
    """The whole market as data (a marketplace world keeps it in its state's ``extensions["market"]``)."""

    products: list[Product] = Field(default_factory=list)
    rule: PriceRule = Field(default_factory=PriceRule)
    roles: dict[str, Literal["buyer", "seller", "trader"]] = Field(default_factory=dict)
    wallets: dict[str, int] = Field(default_factory=dict)
    inventory: dict[str, dict[str, int]] = Field(default_factory=dict)
    orders: list[Order] = Field(default_factory=list)
    next_number: int = 1
    step: int = 0
    seq: int = 0
    tallies: dict[str, Tally] = Field(default_factory=dict)
    metrics: list[dict[str, int | str | None]] = Field(default_factory=list)


__all__ = ["MAX_CENTS", "MAX_QUANTITY", "Fill", "MarketResult", "MarketState", "Money", "OpenOrder", "Order",
           "PriceRule", "Product", "Quantity", "Tally", "Trade", "check_quantity", "format_cents", "to_cents"]
