"""What the market reports: one metrics row per product at the end of each step (volume, prices,
demand and supply, what is on offer, wanted and held), and an action's result as the agent reads it.

Money in the metrics is integer cents (columns ending in ``_cents``), so sums over a DataFrame are
exact; the agent-facing result writes it as decimal text.

Example:
    >>> rows = step_rows(1, {"tea": Product(name="tea", price_cents=200)}, {"tea": Tally(demand=3, supply=1)},
    ...                  {"tea": []}, {"tea": []}, {"tea": 4}, PriceRule())
    >>> rows[0]["price_cents"], rows[0]["next_price_cents"], rows[0]["held"]
    (200, 210, 4)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tinytroupe.environment.market_models import (
    Fill,
    MarketResult,
    OpenOrder,
    Order,
    PriceRule,
    Product,
    Tally,
    Trade,
    format_cents,
)

#: the columns of ``Market.metrics()``, one row per step and product:
#: ``price_cents`` the reference price in force during the step, ``next_price_cents`` the one the price
#: rule set for the next; ``volume`` units traded, ``trades`` fills, ``turnover_cents`` money paid,
#: ``last_trade_cents`` the last fill's price; ``demand`` and ``supply`` what the price rule read;
#: ``on_offer`` units in standing offers, ``wanted`` units in standing buy orders, ``held`` units in
#: inventories (so ``on_offer + held`` is the product's whole stock); the best standing prices
METRIC_COLUMNS = ("step", "product", "price_cents", "next_price_cents", "volume", "trades", "turnover_cents",
                  "last_trade_cents", "demand", "supply", "on_offer", "wanted", "held", "best_offer_cents",
                  "best_bid_cents")


def step_rows(step: int, products: Mapping[str, Product], tallies: Mapping[str, Tally],
              offers: Mapping[str, list[Order]], bids: Mapping[str, list[Order]], units: Mapping[str, int],
              rule: PriceRule) -> list[dict[str, Any]]:
    """The metrics rows of ``step``, one per product in catalogue order (the books as they stand);
    ``units`` is each product's whole stock (inventories plus offers: trades never change it)."""
    rows = []
    for name, product in products.items():
        tally = tallies.get(name) or Tally()
        book_offers, book_bids = offers.get(name, []), bids.get(name, [])
        on_offer = sum(o.quantity for o in book_offers)
        rows.append({
            "step": step, "product": name, "price_cents": product.price_cents,
            "next_price_cents": rule.next_price(product.price_cents, demand=tally.demand, supply=tally.supply),
            "volume": tally.volume, "trades": tally.trades, "turnover_cents": tally.turnover_cents,
            "last_trade_cents": tally.last_price_cents, "demand": tally.demand, "supply": tally.supply,
            "on_offer": on_offer, "wanted": sum(o.quantity for o in book_bids),
            "held": units.get(name, 0) - on_offer,
            "best_offer_cents": book_offers[0].price_cents if book_offers else None,
            "best_bid_cents": book_bids[0].price_cents if book_bids else None,
        })
    return rows


def market_result(action: str, product: str, trades: list[Trade], opened: Order | None, *, wallet_cents: int,
                  holding: int, note: str = "") -> MarketResult:
    """What the agent who took ``action`` reads: its fills (the other side named), the order it left
    standing, its wallet and its holding of ``product`` afterwards."""
    buyer = action == "BUY"
    return MarketResult(
        action=action, product=product, filled=sum(t.quantity for t in trades),
        amount=format_cents(sum(t.amount_cents for t in trades)),
        fills=[Fill(counterparty=t.seller if buyer else t.buyer, quantity=t.quantity,
                                    price=format_cents(t.price_cents), amount=format_cents(t.amount_cents),
                                    order_id=t.order_id) for t in trades],
        open_order=None if opened is None else OpenOrder(
            order_id=opened.order_id, side=opened.side, product=product, quantity=opened.quantity,
            price=format_cents(opened.price_cents)),
        wallet=format_cents(wallet_cents), holding=holding, note=note)


__all__ = ["METRIC_COLUMNS", "market_result", "step_rows"]
