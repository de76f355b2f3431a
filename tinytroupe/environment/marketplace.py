"""``TinyMarketplace``: a world with a market: a catalogue of products, wallets and inventories, and
the actions OFFER, BUY, SELL and CANCEL_ORDER (given to every agent by :class:`~.market_tool.MarketAccess`).

Agents decide in their turns; the marketplace carries the market actions out when it routes the
step's actions, agent by agent in the world's order (after the turns of a parallel step, like TALK),
each as one atomic transaction of the :class:`~.market.Market` engine. A refused action comes back
to its agent with the reason; the owner of a standing order that was filled is told who took it.
After every step each product's reference price moves with the step's demand and supply
(:class:`~.market_models.PriceRule`) and a metrics row per product is added (:meth:`TinyMarketplace.metrics`).

Every trade is written to the ledger: the run file's ``market_ledger`` table under a simulation
(``RunContext.market_ledger``), keyed by world, step and transaction, so a replayed or resumed run
writes no row twice; otherwise an in-memory ledger of the world's own. The market (books, wallets,
inventories, prices, metrics) is part of the world's state, so checkpoints keep it.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> ana, ben = TinyPerson("Ana"), TinyPerson("Ben")
    >>> market = TinyMarketplace("Market", [ana, ben], products=[{"name": "apple", "price": "1.20"}],
    ...                          wallets={"Ana": "10.00"}, inventory={"Ben": {"apple": 5}},
    ...                          roles={"Ana": "buyer", "Ben": "seller"})
    >>> market.market.offer("Ben", "apple", 5, "1.50").open_order.order_id
    'o1'
    >>> market.market.buy("Ana", "apple", 2).amount
    '3.00'
    >>> [(t.buyer, t.seller, t.quantity, t.price_cents) for t in market.ledger_rows()]
    [('Ana', 'Ben', 2, 150)]
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from tinytroupe.agent.actions import Action
from tinytroupe.agent.person import TinyPerson
from tinytroupe.environment.engine import TurnOutcome
from tinytroupe.environment.market import Market, Role
from tinytroupe.environment.market_models import MarketState, PriceRule, Product, Trade, format_cents
from tinytroupe.environment.market_tool import MarketAccess
from tinytroupe.environment.state_models import WorldState
from tinytroupe.environment.world import TinyWorld
from tinytroupe.errors import InvalidArgument
from tinytroupe.storage.market_ledger import LedgerRow, MarketLedger

if TYPE_CHECKING:
    import pandas as pd


class TinyMarketplace(TinyWorld):
    """A :class:`TinyWorld` whose agents trade products for money (see the module docstring).

    Args:
        name, agents: as :class:`TinyWorld`.
        products: the catalogue: :class:`~.market_models.Product` objects or mappings ``{"name", "price",
            "unit"?, "description"?}`` (prices as text such as ``"1.20"``, Decimals or whole units).
        wallets: agent name -> money at the start.
        inventory: agent name -> {product: units} at the start.
        roles: agent name -> ``"buyer"`` (BUY only), ``"seller"`` (OFFER, SELL) or ``"trader"`` (all;
            everyone not named).
        price_rule: how reference prices move after each step (default :class:`~.market_models.PriceRule`).
        market_access: give every agent that joins the market actions (a :class:`~.market_tool.MarketAccess`
            faculty) unless it has one.
        **kwargs: :class:`TinyWorld`'s other arguments.

    Raises:
        InvalidArgument: a malformed product, amount or quantity (the message names it), an unknown
            product, or a name in ``wallets``/``inventory``/``roles`` that is not among ``agents``.
    """

    def __init__(self, name: str = "A TinyMarketplace", agents: Iterable[TinyPerson] = (),
                 products: Iterable[Product | Mapping[str, Any]] = (), *,
                 wallets: Mapping[str, object] | None = None,
                 inventory: Mapping[str, Mapping[str, int]] | None = None,
                 roles: Mapping[str, Role] | None = None, price_rule: PriceRule | None = None,
                 market_access: bool = True, **kwargs: Any) -> None:
        self.market_access = market_access
        self.market = Market(products, rule=price_rule, recorder=self._record)
        self.market.on_trades = self._tell_owners
        self._own_ledger: MarketLedger | None = None
        self._ledger_lock = threading.Lock()
        super().__init__(name, agents, **kwargs)
        names = set(self.name_to_agent)
        for what, given in (("wallets", wallets), ("inventory", inventory), ("roles", roles)):
            unknown = sorted(set(given or {}) - names) if names else []
            if unknown:
                raise InvalidArgument(f"{what} names {', '.join(map(repr, unknown))}, who is not in the marketplace "
                                      f"{name!r} (its agents: {', '.join(sorted(names))})")
        for agent, role in (roles or {}).items():
            self.market.set_role(agent, role)
        for agent, amount in (wallets or {}).items():
            self.market.deposit(agent, amount)
        for agent, held in (inventory or {}).items():
            for product, units in held.items():
                self.market.add_stock(agent, product, units)

    # ------------------------------------------------------------------ agents

    def add_agent(self, agent: TinyPerson) -> TinyMarketplace:
        """Add ``agent`` (see :meth:`TinyWorld.add_agent`), giving it the market actions unless it has them."""
        super().add_agent(agent)
        if self.market_access and self.access_of(agent) is None:
            agent.add_mental_faculty(MarketAccess())
        return self

    @staticmethod
    def access_of(agent: TinyPerson) -> MarketAccess | None:
        """The agent's :class:`MarketAccess` faculty, if it has one."""
        return next((f for f in agent.mental_faculties if isinstance(f, MarketAccess)), None)

    # ------------------------------------------------------------------ the market's reports

    def metrics(self) -> pd.DataFrame:
        """Per step and product: prices, volume, demand and supply, what is on offer, wanted and held
        (see :data:`~.market_metrics.METRIC_COLUMNS`; money in cents)."""
        return self.market.metrics()

    def metrics_tables(self) -> dict[str, pd.DataFrame]:
        """The tables ``tinytroupe run`` writes beside the results (``world_<name>.csv``)."""
        return {"market": self.metrics(), "holdings": self.holdings()}

    def holdings(self) -> pd.DataFrame:
        """Now, per agent: its role, wallet (cents), money held in its buy orders and units of each product
        held (outside its offers)."""
        import pandas as pd

        products = list(self.market.products)
        rows = []
        for agent in sorted({*self.name_to_agent, *self.market.agents()}):
            held = self.market.inventory(agent)
            reserved = sum(o.quantity * o.price_cents for o in self.market.orders(agent) if o.side == "bid")
            rows.append({"agent": agent, "role": self.market.role(agent),
                         "wallet_cents": self.market.wallet_cents(agent), "held_in_orders_cents": reserved,
                         **{p: held.get(p, 0) for p in products}})
        return pd.DataFrame(rows, columns=["agent", "role", "wallet_cents", "held_in_orders_cents", *products])

    @property
    def ledger(self) -> MarketLedger:
        """Where this marketplace's trades are written: the run file's ledger under a simulation,
        else an in-memory one of its own."""
        found = self.context.market_ledger
        if found is not None:
            return found
        with self._ledger_lock:
            if self._own_ledger is None:
                self._own_ledger = MarketLedger(":memory:", "local")
            return self._own_ledger

    def ledger_rows(self) -> list[LedgerRow]:
        """This marketplace's trades, from its ledger, in order."""
        return self.ledger.rows(self.name)

    # ------------------------------------------------------------------ stepping and routing

    def _before_step(self) -> None:
        # a step carried out again (a replay that diverged, a resumed run) replaces its rows, never adds
        self.ledger.clear_step(self.name, self._step)
        self.market.begin_step(self._step)
        super()._before_step()

    def _handle_actions(self, agent: TinyPerson, actions: list[Action]) -> None:
        super()._handle_actions(agent, actions)
        access = self.access_of(agent)
        if access is not None:
            self.market.begin_step(self.current_step)
            access.carry_out(agent, actions, self.name, self.current_step)

    def _end_step(self, step: int, parallel: bool, outcomes: list[TurnOutcome], wall: float, calls_before: int) -> None:
        self.market.close_step()  # prices move and the step's metrics are kept before the step's end is told
        super()._end_step(step, parallel, outcomes, wall, calls_before)

    def _record(self, step: int, seq: int, trades: list[Trade]) -> None:
        when = self.current_datetime
        self.ledger.record(self.name, step, seq, [
            LedgerRow(world=self.name, sim_time=when, **t.model_dump()) for t in trades])

    def _tell_owners(self, trades: list[Trade]) -> None:
        for t in trades:
            taker, owner = (t.buyer, t.seller) if t.action == "BUY" else (t.seller, t.buyer)
            agent = self.name_to_agent.get(owner)
            if agent is None:
                continue
            if owner == t.seller:
                text = (f"Market: {taker} bought {t.quantity} {t.product} from your offer {t.order_id} at "
                        f"{format_cents(t.price_cents)} each; you received {format_cents(t.amount_cents)}.")
            else:
                text = (f"Market: {taker} sold you {t.quantity} {t.product} into your buy order {t.order_id} at "
                        f"{format_cents(t.price_cents)} each ({format_cents(t.amount_cents)}, paid from the money "
                        "the order held).")
            agent.see(text, source=taker)

    # ------------------------------------------------------------------ state

    def state_model(self, include_agents: bool = True) -> WorldState:
        """The world's state (see :meth:`TinyWorld.state_model`) with the market in ``extensions["market"]``."""
        return WorldState.model_construct(**self._state_fields(include_agents),
                                          extensions={"market": self.market.state_model().to_dict()})

    def apply_state(self, state: WorldState) -> TinyMarketplace:
        """Put the marketplace in ``state`` (a state without a market keeps the market as it is).

        Raises:
            InvalidArgument: see :meth:`TinyWorld.apply_state`; or a malformed market part.
        """
        super().apply_state(state)
        saved = state.extensions.get("market")
        if saved is not None:
            self.market.apply_state(MarketState.parse(saved))
        return self


__all__ = ["TinyMarketplace"]
