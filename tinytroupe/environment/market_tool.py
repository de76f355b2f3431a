"""The market actions as a tool: ``MarketTool`` (OFFER, BUY, SELL, CANCEL_ORDER) and ``MarketAccess``,
the faculty that gives it to agents in a :class:`~tinytroupe.environment.marketplace.TinyMarketplace`.

Why a tool: an agent writes each market action's arguments as JSON in the action's content, and the
tool machinery (:mod:`tinytroupe.tools`) already checks them against pydantic models, shows them in
the prompt from their schema, asks the model once more within the turn when they do not fit, and
turns every result or refusal into a ``TOOL_RESULT`` observation at the agent's next turn.

What differs from other tools: :class:`MarketAccess` does not run the calls in the agent's turn.
The marketplace runs them when it routes the step's actions, agent by agent in the world's order
(as it delivers TALK), so a parallel step trades in the same order whichever model answered first,
and every agent decided on the same market. A refused action (unknown product, too little money or
stock, a bad price) comes back as the observation ``your BUY (...) failed: <reason>``; nothing fails
the step. Called outside a turn (``tool.call(...)``, ``faculty.process_action``) the tool trades at once.

The faculty also adds a "Market" section to the prompt: the agent's wallet, holdings and standing
orders, and each product's reference price with its best offers and buy orders.

Example:
    >>> tool = MarketTool()
    >>> sorted(tool.operations)
    ['BUY', 'CANCEL_ORDER', 'OFFER', 'SELL']
    >>> tool.parse_arguments("BUY", '{"product": "apple", "quantity": 0}')
    Traceback (most recent call last):
    ...
    tinytroupe.errors.ToolArgumentError: market.BUY: quantity: Input should be greater than or equal to 1
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from tinytroupe.agent.actions import Action
from tinytroupe.agent.turn import Turn
from tinytroupe.environment.market import Market
from tinytroupe.environment.market_models import MarketResult, Money, Quantity, format_cents
from tinytroupe.errors import InvalidArgument, ToolArgumentError, ToolError, ToolExecutionError
from tinytroupe.tools.base import TinyTool, ToolCall, tool_action
from tinytroupe.tools.references import resolve
from tinytroupe.tools.tool_use import TinyToolUse
from tinytroupe.tools.turn_calls import CallOutcome, plan_calls

if TYPE_CHECKING:
    from tinytroupe.agent.person import TinyPerson

#: standing orders per side and product the prompt's Market section shows
BOARD_DEPTH = 3


class OfferArgs(BaseModel):
    """Arguments of OFFER."""

    product: str = Field(min_length=1, max_length=80)
    quantity: Quantity
    price: Money | None = Field(None, description="each; default: the reference price")


class BuyArgs(BaseModel):
    """Arguments of BUY."""

    product: str = Field(min_length=1, max_length=80)
    quantity: Quantity
    offer_id: str | None = Field(None, description="buy from this offer; default: the cheapest offers")
    max_price: Money | None = Field(None, description="most you pay each; what is not bought stays as a buy order")


class SellArgs(BaseModel):
    """Arguments of SELL."""

    product: str = Field(min_length=1, max_length=80)
    quantity: Quantity
    order_id: str | None = Field(None, description="sell into this buy order; default: the highest ones")
    min_price: Money | None = Field(None, description="least you accept each")


class CancelArgs(BaseModel):
    """Arguments of CANCEL_ORDER."""

    order_id: str = Field(min_length=1, max_length=40)


class MarketTool(TinyTool):
    """The market's actions for one agent; the market is the one of the agent's world.

    Args:
        name: the tool's name among an agent's tools.
        market: a market to trade on instead of the caller's world's (tests, scripts).
    """

    capabilities = ("market",)

    def __init__(self, name: str = "market", market: Market | None = None) -> None:
        super().__init__(name, "trade on the marketplace you are in: offer, buy and sell products for money")
        self.market = market

    @tool_action("OFFER", "put units of a product up for sale at a price; they sell into buy orders at or "
                          "above it first, the rest stays on offer")
    def offer(self, call: ToolCall, args: OfferArgs) -> MarketResult:
        market, agent = self._where(call)
        return self._trade(call, lambda: market.offer(agent, args.product, args.quantity, args.price))

    @tool_action("BUY", "buy units of a product: from one offer (offer_id), or the cheapest offers")
    def buy(self, call: ToolCall, args: BuyArgs) -> MarketResult:
        market, agent = self._where(call)
        return self._trade(call, lambda: market.buy(agent, args.product, args.quantity, args.offer_id,
                                                    args.max_price))

    @tool_action("SELL", "sell units of a product you hold into a buy order (order_id), or the highest ones")
    def sell(self, call: ToolCall, args: SellArgs) -> MarketResult:
        market, agent = self._where(call)
        return self._trade(call, lambda: market.sell(agent, args.product, args.quantity, args.order_id,
                                                     args.min_price))

    @tool_action("CANCEL_ORDER", "withdraw one of your standing offers or buy orders (order_id)")
    def cancel_order(self, call: ToolCall, args: CancelArgs) -> MarketResult:
        market, agent = self._where(call)
        return self._trade(call, lambda: market.cancel(agent, args.order_id))

    def market_for(self, agent: TinyPerson | None) -> Market | None:
        """The market ``agent`` trades on: this tool's own, else its world's (None if neither)."""
        if self.market is not None:
            return self.market
        found = getattr(agent.environment, "market", None) if agent is not None else None
        return found if isinstance(found, Market) else None

    def _where(self, call: ToolCall) -> tuple[Market, str]:
        if call.agent is None and self.market is None:
            raise ToolArgumentError("trading needs an agent in a marketplace", tool=self.name, action=call.action)
        market = self.market_for(call.agent)
        if market is None:
            raise ToolArgumentError("you are not in a marketplace, so there is nothing to trade on", tool=self.name,
                                    action=call.action, agent=call.agent_name)
        return market, call.agent_name or ""

    def _trade(self, call: ToolCall, act: Callable[[], MarketResult]) -> MarketResult:
        try:
            return act()
        except InvalidArgument as exc:  # the market's refusal, with its reason: the agent's observation
            raise ToolArgumentError(str(exc), tool=self.name, action=call.action, agent=call.agent_name) from exc


class MarketAccess(TinyToolUse):
    """Gives an agent the market's actions; the marketplace runs them when it routes the step.

    Args:
        tool: the market tool (default: a new :class:`MarketTool`).
        name: the faculty's name among the agent's faculties and components.
        reask: ask the model again, within the turn, when an action's arguments do not fit.
    """

    def __init__(self, tool: MarketTool | None = None, *, name: str = "market", reask: bool = True) -> None:
        self.tool = tool if tool is not None else MarketTool()
        super().__init__([self.tool], name=name, reask=reask)

    @classmethod
    def from_spec(cls, spec: dict[str, object]) -> MarketAccess:  # type: ignore[override]
        """Rebuild a saved faculty (its tool keeps no state of its own: the market is the world's)."""
        return cls(name=str(spec.get("name", "market")), reask=bool(spec.get("reask", True)))

    async def retrieve(self, turn: Turn) -> None:
        await super().retrieve(turn)
        market = self.tool.market_for(turn.agent)
        if turn.view is not None and market is not None:
            turn.view.sections["Market"] = market_section(market, turn.agent.name)

    async def act(self, turn: Turn) -> None:
        """Nothing in the turn: the marketplace carries the actions out when it routes them."""

    def portability_problem(self) -> str | None:
        return "it shows the world's market in the turn's prompt, and a worker process holds no world"

    def carry_out(self, agent: TinyPerson, actions: Iterable[Action], world: str | None,
                  step: int | None) -> list[CallOutcome]:
        """Run ``agent``'s market actions now, in order (a call may use an earlier one's result,
        ``${N.field}``), and report each result or refusal to the agent; nothing raises."""
        outcomes: list[CallOutcome] = []
        for planned in plan_calls(list(actions), {a: self.tool for a in self.tool.operations}):
            call = ToolCall(self.tool.name, planned.op.action if planned.op else planned.action.type, agent=agent,
                            world=world, step=step)
            outcome = CallOutcome(planned, call.call_id, error=planned.error)
            if outcome.error is None and planned.op is not None:
                started = time.perf_counter()
                try:
                    earlier = {o.call.number: o.result for o in outcomes if o.result is not None}
                    failed = sorted({r.call for r in planned.refs} - set(earlier))
                    if failed:
                        raise ToolArgumentError(f"not run: it uses the result of tool action {failed[0]}, which "
                                                "failed", tool=self.tool.name, action=planned.op.action,
                                                agent=agent.name)
                    args = self.tool.parse_arguments(planned.op.action, resolve(planned.data, earlier))
                    outcome.result = planned.op.handler(call, args)
                except ToolError as exc:
                    outcome.error = exc
                except Exception as exc:  # a bug below the tool must not fail the step: the agent is told
                    outcome.error = ToolExecutionError(f"{type(exc).__name__}: {exc}", tool=self.tool.name,
                                                       action=planned.op.action, agent=agent.name)
                    outcome.error.__cause__ = exc
                outcome.duration_s = time.perf_counter() - started
            outcomes.append(outcome)
            self._report(agent, outcome, world, step)
        return outcomes


def market_section(market: Market, agent: str) -> str:
    """What an agent sees of the market: its wallet, holdings and orders, then each product's board."""
    held = market.inventory(agent)
    mine = market.orders(agent)
    reserved = sum(o.quantity * o.price_cents for o in mine if o.side == "bid")
    lines = [f"Your wallet: {format_cents(market.wallet_cents(agent))}"
             + (f" (and {format_cents(reserved)} held in your buy orders)" if reserved else "")
             + f". You hold: {', '.join(f'{n} {p}' for p, n in held.items()) or 'nothing'}."
             + f" Your role: {market.role(agent)}."]
    if mine:
        lines.append("Your standing orders: " + "; ".join(
            f"{o.order_id} {'offer' if o.side == 'offer' else 'buy'} {o.quantity} {o.product} at "
            f"{format_cents(o.price_cents)}" for o in mine) + ".")
    lines.append("Products (reference price; cheapest offers; highest buy orders):")
    for name, product in market.products.items():
        offers, bids = market.book(name)
        shown_offers = ", ".join(f"{o.order_id} {o.quantity} at {format_cents(o.price_cents)} by {o.owner}"
                                 for o in offers[:BOARD_DEPTH]) or "none"
        shown_bids = ", ".join(f"{o.order_id} {o.quantity} at {format_cents(o.price_cents)} by {o.owner}"
                               for o in bids[:BOARD_DEPTH]) or "none"
        lines.append(f"- {name}: {format_cents(product.price_cents)} a {product.unit}; offers: {shown_offers}; "
                     f"buy orders: {shown_bids}")
    return "\n".join(lines)


__all__ = ["BuyArgs", "CancelArgs", "MarketAccess", "MarketTool", "OfferArgs", "SellArgs", "market_section"]
