"""A marketplace in a scenario file: ``world: {kind: marketplace, market: {...}}`` with the catalogue,
wallets, inventories, roles and the price rule, checked when the file is loaded and built into a
:class:`~tinytroupe.environment.TinyMarketplace` when the study runs.

Money is written as in the file's own numbers (``price: 1.20`` or ``price: "1.20"``) and read exactly
in cents: an amount with more than two decimals, a negative one, or a product in an inventory that
is not in the catalogue is an error naming its place in the file.

Example:
    >>> spec = MarketSpec.model_validate({"products": [{"name": "tea", "price": 2.5}],
    ...                                   "wallets": {"Ana": 10}, "inventory": {"Ben": {"tea": 4}}})
    >>> spec.products[0].price, spec.price_rule.adjustment_rate
    (2.5, 0.1)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from tinytroupe.environment.market_models import MAX_QUANTITY, PriceRule, to_cents
from tinytroupe.environment.marketplace import TinyMarketplace
from tinytroupe.errors import InvalidArgument, ScenarioError
from tinytroupe.scenario.tools import StrictModel

Loc = tuple[int | str, ...]


def _money(value: str | int | float) -> str | int | float:
    try:
        to_cents(value, field="amount", allow_zero=True)
    except InvalidArgument as exc:
        raise ValueError(str(exc).removeprefix("amount: ")) from None
    return value


#: an amount of money as a scenario file writes it (a number or a text such as "1.20"), checked in cents
FileMoney = Annotated[str | int | float, AfterValidator(_money)]


class ProductEntry(StrictModel):
    """One product of the catalogue."""

    name: str = Field(min_length=1, max_length=80)
    price: FileMoney = Field(description="the reference price, e.g. 1.20")
    unit: str = Field("unit", min_length=1, max_length=40)
    description: str = Field("", max_length=500)


class MarketSpec(StrictModel):
    """The market of a ``kind: marketplace`` world."""

    products: list[ProductEntry] = Field(min_length=1)
    wallets: dict[str, FileMoney] = Field(default_factory=dict, description="agent name -> money at the start")
    inventory: dict[str, dict[str, Annotated[int, Field(ge=0, le=MAX_QUANTITY)]]] = Field(
        default_factory=dict, description="agent name -> {product: units} at the start")
    roles: dict[str, Literal["buyer", "seller", "trader"]] = Field(default_factory=dict)
    price_rule: PriceRule = Field(default_factory=PriceRule)

    @model_validator(mode="after")
    def _known_products(self) -> MarketSpec:
        names = [p.name for p in self.products]
        problems: list[str] = [f"products: {n!r} is listed twice" for n in sorted({n for n in names
                                                                                  if names.count(n) > 1})]
        problems += [f"inventory.{agent}.{product}: no product {product!r} in the catalogue ({', '.join(names)})"
                     for agent, held in self.inventory.items() for product in held if product not in names]
        if problems:
            raise ValueError("; ".join(problems))
        for product in self.products:
            if to_cents(product.price, field="price", allow_zero=True) == 0:
                raise ValueError(f"products: {product.name!r} needs a price above zero")
        return self


def market_kind_problem(kind: str, market: MarketSpec | None) -> tuple[Loc, str] | None:
    """Why a world's ``market:`` does not fit its ``kind`` (None when it does)."""
    if market is not None and kind != "marketplace":
        return ("market",), "a market applies to marketplaces only; add 'kind: marketplace' or remove it"
    if kind == "marketplace" and market is None:
        return ("kind",), "a marketplace needs 'market:' with at least its products"
    return None


def market_name_problems(market: MarketSpec | None, known: set[str]) -> list[tuple[Loc, str]]:
    """Names in the market's wallets, inventory and roles that are not among ``known`` agents."""
    if market is None:
        return []
    shown = ", ".join(sorted(known)[:20]) + (", ..." if len(known) > 20 else "")
    return [(("world", "market", part, name), f"no agent is named {name!r}; agents: {shown}")
            for part in ("wallets", "inventory", "roles") for name in getattr(market, part) if name not in known]


def build_marketplace(name: str, market: MarketSpec, agents: list[Any], **kwargs: Any) -> TinyMarketplace:
    """The marketplace a scenario describes, holding ``agents``.

    Raises:
        ScenarioError: the market names someone who is not among ``agents`` (``field`` says where).
    """
    products: list[Mapping[str, Any]] = [p.model_dump() for p in market.products]
    try:
        return TinyMarketplace(name, agents, products, wallets=market.wallets, inventory=market.inventory,
                               roles=market.roles, price_rule=market.price_rule, **kwargs)
    except InvalidArgument as exc:
        raise ScenarioError(f"world.market: {exc}", field="world.market") from exc


__all__ = ["MarketSpec", "ProductEntry", "build_marketplace", "market_kind_problem", "market_name_problems"]
