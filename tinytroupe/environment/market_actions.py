"""The market's actions (OFFER, BUY, SELL, CANCEL), each one atomic transaction: checked in full,
recorded, then applied. A mixin of :class:`~tinytroupe.environment.market.Market`, which documents
the rules (matching, what standing orders hold, conservation).
"""

from __future__ import annotations

import threading
from bisect import insort
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from tinytroupe.environment.market_metrics import market_result
from tinytroupe.environment.market_models import (
    MarketResult,
    Order,
    Product,
    Tally,
    Trade,
    check_quantity,
    format_cents,
    to_cents,
)
from tinytroupe.errors import InvalidArgument

#: which actions each role may take (CANCEL: anyone, for their own orders)
ROLE_ACTIONS: dict[str, frozenset[str]] = {"buyer": frozenset({"BUY"}), "seller": frozenset({"OFFER", "SELL"}),
                                           "trader": frozenset({"BUY", "OFFER", "SELL"})}


def _offer_key(order: Order) -> tuple[int, int]:
    return order.price_cents, order.number


def _bid_key(order: Order) -> tuple[int, int]:
    return -order.price_cents, order.number


class MarketActions:
    """Mixin of :class:`~tinytroupe.environment.market.Market`: its actions and their bookkeeping."""

    if TYPE_CHECKING:
        _lock: threading.RLock
        recorder: Callable[[int, int, list[Trade]], None] | None
        on_trades: Callable[[list[Trade]], None] | None
        _wallets: dict[str, int]
        _inventory: dict[str, dict[str, int]]
        _offers: dict[str, list[Order]]
        _bids: dict[str, list[Order]]
        _orders: dict[str, Order]
        _next: int
        _step: int
        _seq: int
        _tallies: dict[str, Tally]

        def role(self, agent: str) -> str: ...

        def wallet_cents(self, agent: str) -> int: ...

        def holding(self, agent: str, product: str) -> int: ...

        def orders(self, agent: str | None = None, product: str | None = None) -> list[Order]: ...

        def _product(self, name: str) -> Product: ...

    def _check(self, action: str, agent: str, product: str, quantity: int) -> tuple[Product, int]:
        role = self.role(agent)
        if action not in ROLE_ACTIONS[role]:
            raise InvalidArgument(f"you are a {role} here, and a {role} cannot {action}")
        return self._product(product), check_quantity(quantity, field="quantity")


    def offer(self, agent: str, product: str, quantity: int, price: object = None) -> MarketResult:
        """Offer ``quantity`` units at ``price`` each (default: the reference price): they first sell into
        buy orders at or above the price, the rest stays on offer (held out of the inventory).

        Raises:
            InvalidArgument: the reason the offer is refused (nothing changed).
        """
        with self._lock:
            item, n = self._check("OFFER", agent, product, quantity)
            cents = item.price_cents if price is None else to_cents(price, field="price")
            if self.holding(agent, product) < n:
                raise InvalidArgument(f"you have {self.holding(agent, product)} {product} to offer, not {n}")
            plan = self._plan(self._bids[product], agent, n, lambda p: p >= cents)
            rest = n - sum(k for _, k in plan)
            trades = self._commit("OFFER", agent, product, plan, taker_buys=False, supply=n)
            opened = self._open(agent, "offer", product, rest, cents) if rest else None
            return self._result("OFFER", agent, product, trades, opened)

    def buy(self, agent: str, product: str, quantity: int, offer_id: str | None = None,
            max_price: object = None) -> MarketResult:
        """Buy from the offer ``offer_id``, or from the cheapest offers (at most ``max_price`` each);
        with ``max_price`` and no ``offer_id``, what is not filled now stays as a buy order.

        Raises:
            InvalidArgument: the reason the purchase is refused (nothing changed).
        """
        with self._lock:
            _, n = self._check("BUY", agent, product, quantity)
            limit = None if max_price is None else to_cents(max_price, field="max_price")
            if offer_id is not None:
                plan = [(self._named(offer_id, "offer", agent, product, n, limit), n)]
            else:
                plan = self._plan(self._offers[product], agent, n, lambda p: limit is None or p <= limit)
            rest = n - sum(k for _, k in plan)
            held = rest * limit if limit is not None and offer_id is None else 0
            cost = sum(k * o.price_cents for o, k in plan)
            if not plan and not held:
                where = f" at or under {format_cents(limit)}" if limit is not None else ""
                raise InvalidArgument(f"no {product} is on offer{where} from anyone but you")
            if cost + held > self.wallet_cents(agent):
                raise InvalidArgument(self._short_of_money(agent, cost, held))
            trades = self._commit("BUY", agent, product, plan, taker_buys=True, demand=n)
            opened = self._open(agent, "bid", product, rest, limit) if held and limit is not None else None
            note = f"only {n - rest} of {n} were on offer; the rest was not bought" if rest and not held else ""
            return self._result("BUY", agent, product, trades, opened, note)

    def sell(self, agent: str, product: str, quantity: int, order_id: str | None = None,
             min_price: object = None) -> MarketResult:
        """Sell into the buy order ``order_id``, or into the highest buy orders (at least ``min_price``
        each); units nobody buys now stay in the inventory (OFFER them to leave them on sale).

        Raises:
            InvalidArgument: the reason the sale is refused (nothing changed).
        """
        with self._lock:
            _, n = self._check("SELL", agent, product, quantity)
            limit = None if min_price is None else to_cents(min_price, field="min_price")
            if self.holding(agent, product) < n:
                raise InvalidArgument(f"you have {self.holding(agent, product)} {product} to sell, not {n}")
            if order_id is not None:
                plan = [(self._named(order_id, "bid", agent, product, n, limit), n)]
            else:
                plan = self._plan(self._bids[product], agent, n, lambda p: limit is None or p >= limit)
            if not plan:
                where = f" at or above {format_cents(limit)}" if limit is not None else ""
                raise InvalidArgument(f"nobody but you has a buy order for {product}{where}; OFFER it instead")
            rest = n - sum(k for _, k in plan)
            trades = self._commit("SELL", agent, product, plan, taker_buys=False, supply=n)
            note = f"buy orders took only {n - rest} of {n}; the rest stays in your inventory" if rest else ""
            return self._result("SELL", agent, product, trades, None, note)

    def cancel(self, agent: str, order_id: str) -> MarketResult:
        """Withdraw ``agent``'s standing order: its units go back to the inventory, or its money to the wallet.

        Raises:
            InvalidArgument: no such order, or not ``agent``'s.
        """
        with self._lock:
            order = self._orders.get(order_id.strip())
            if order is None or order.owner != agent:
                mine = ", ".join(o.order_id for o in self.orders(agent)) or "none"
                raise InvalidArgument(f"you have no standing order {order_id!r} (yours: {mine})")
            self._commit("CANCEL", agent, order.product, [], taker_buys=False)
            self._drop(order)
            if order.side == "bid":
                self._wallets[agent] = self.wallet_cents(agent) + order.quantity * order.price_cents
            else:
                self._give(agent, order.product, order.quantity)
            return self._result("CANCEL", agent, order.product, [], None,
                                f"{order.order_id} withdrawn: {order.quantity} {order.product} "
                                + ("back in your inventory" if order.side == "offer" else
                                   f"no longer wanted; {format_cents(order.quantity * order.price_cents)} back "
                                   "in your wallet"))

    def _tally(self, product: str) -> Tally:
        tally = self._tallies.get(product)
        if tally is None:
            tally = self._tallies[product] = Tally()
        return tally

    @staticmethod
    def _plan(book: list[Order], agent: str, quantity: int,
              acceptable: Callable[[int], bool]) -> list[tuple[Order, int]]:
        """The fills that take ``quantity`` from ``book`` (best first), skipping ``agent``'s own orders."""
        plan: list[tuple[Order, int]] = []
        left = quantity
        for order in book:
            if not left or not acceptable(order.price_cents):
                break  # the book is sorted best first: the rest is worse
            if order.owner != agent:
                take = min(left, order.quantity)
                plan.append((order, take))
                left -= take
        return plan

    def _named(self, order_id: str, side: str, agent: str, product: str, quantity: int,
               limit: int | None) -> Order:
        order = self._orders.get(order_id.strip())
        kind = "offer" if side == "offer" else "buy order"
        if order is None or order.side != side:
            raise InvalidArgument(f"there is no standing {kind} {order_id!r}")
        if order.product != product:
            raise InvalidArgument(f"{kind} {order.order_id} is for {order.product}, not {product}")
        if order.owner == agent:
            raise InvalidArgument(f"{kind} {order.order_id} is your own")
        if order.quantity < quantity:
            raise InvalidArgument(f"{kind} {order.order_id} has only {order.quantity} {product} left, not {quantity}")
        if limit is not None and (order.price_cents > limit if side == "offer" else order.price_cents < limit):
            bound = "max_price" if side == "offer" else "min_price"
            raise InvalidArgument(f"{kind} {order.order_id} is at {format_cents(order.price_cents)}, past your "
                                  f"{bound} {format_cents(limit)}")
        return order

    def _short_of_money(self, agent: str, cost: int, held: int) -> str:
        need = f"{format_cents(cost)} now" if cost else ""
        if held:
            need += (" and " if need else "") + f"{format_cents(held)} held for the buy order"
        return f"that needs {need}, and you have {format_cents(self.wallet_cents(agent))}"

    def _commit(self, action: str, agent: str, product: str, plan: list[tuple[Order, int]], *,
                taker_buys: bool, demand: int = 0, supply: int = 0) -> list[Trade]:
        """Record the transaction's fills (nothing changes if that raises), then apply them and count
        the action's ``demand`` or ``supply`` for the price rule."""
        seq = self._seq
        trades = [Trade(step=self._step, seq=seq, leg=i, action=action, product=product,
                        buyer=agent if taker_buys else order.owner, seller=order.owner if taker_buys else agent,
                        quantity=k, price_cents=order.price_cents, order_id=order.order_id)
                  for i, (order, k) in enumerate(plan)]
        if self.recorder is not None:
            self.recorder(self._step, seq, trades)
        self._seq += 1
        tally = self._tally(product) if trades or demand or supply else None
        if tally is not None:
            tally.demand += demand
            tally.supply += supply
        for (order, k), trade in zip(plan, trades, strict=True):
            amount = trade.amount_cents
            if taker_buys:  # the offer's units were held already: only money moves from the buyer
                self._wallets[agent] = self.wallet_cents(agent) - amount
            else:  # the buy order's money was held already: only units move from the seller
                self._inventory[agent][product] -= k
            self._wallets[trade.seller] = self.wallet_cents(trade.seller) + amount
            self._give(trade.buyer, product, k)
            order.quantity -= k
            if not order.quantity:
                self._drop(order)
            if tally is not None:
                tally.volume += k
                tally.turnover_cents += amount
                tally.trades += 1
                tally.last_price_cents = trade.price_cents
        if trades and self.on_trades is not None:
            self.on_trades(trades)
        return trades

    def _open(self, agent: str, side: Literal["offer", "bid"], product: str, quantity: int, price: int) -> Order:
        if side == "offer":
            self._inventory[agent][product] -= quantity
        else:
            self._wallets[agent] = self.wallet_cents(agent) - quantity * price
        order = Order(order_id=f"{'o' if side == 'offer' else 'b'}{self._next}", side=side, owner=agent,
                      product=product, price_cents=price, quantity=quantity, number=self._next, step=self._step)
        self._next += 1
        self._add(order)
        return order

    def _add(self, order: Order) -> None:
        self._orders[order.order_id] = order
        if order.side == "offer":
            insort(self._offers.setdefault(order.product, []), order, key=_offer_key)
        else:
            insort(self._bids.setdefault(order.product, []), order, key=_bid_key)

    def _drop(self, order: Order) -> None:
        del self._orders[order.order_id]
        (self._offers if order.side == "offer" else self._bids)[order.product].remove(order)

    def _give(self, agent: str, product: str, quantity: int) -> None:
        held = self._inventory.setdefault(agent, {})
        held[product] = held.get(product, 0) + quantity

    def _result(self, action: str, agent: str, product: str, trades: list[Trade], opened: Order | None,
                note: str = "") -> MarketResult:
        return market_result(action, product, trades, opened, wallet_cents=self.wallet_cents(agent),
                             holding=self.holding(agent, product), note=note)


__all__ = ["ROLE_ACTIONS", "MarketActions"]
