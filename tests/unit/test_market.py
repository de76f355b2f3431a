"""The market engine: conservation of money and stock, matching, rejections with reasons, the price
rule, atomic transactions, metrics and state (no world, no model)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytroupe.environment.market import Market
from tinytroupe.environment.market_models import PriceRule, Trade, format_cents, to_cents
from tinytroupe.errors import InvalidArgument, StorageError

AGENTS = ("Ana", "Ben", "Cai", "Dan")
PRODUCTS = ("apple", "pear")


def _market(recorder=None) -> Market:
    market = Market([{"name": "apple", "price": "1.20"}, {"name": "pear", "price": 2}], recorder=recorder)
    for agent in AGENTS:
        market.deposit(agent, "50.00")
        market.add_stock(agent, "apple", 10)
        market.add_stock(agent, "pear", 5)
    return market


# ---------------------------------------------------------------- money


def test_money_is_read_exactly_into_cents() -> None:
    assert to_cents("1.20", field="p") == 120
    assert to_cents(Decimal("0.05"), field="p") == 5
    assert to_cents(3, field="p") == 300
    assert to_cents(1.1, field="p") == 110  # a float's shortest text, as YAML gives it
    assert to_cents("0", field="w", allow_zero=True) == 0
    assert format_cents(100_001) == "1000.01"


@pytest.mark.parametrize(("value", "words"), [
    ("-1", "more than zero"), ("0", "more than zero"), ("1.234", "more than two decimals"),
    ("abc", "not an amount"), ("NaN", "not an amount"), (True, "expected an amount"), (None, "expected an amount"),
    ("1e20", "more than the market can hold"), (0.1 + 0.2, "more than two decimals"),
])
def test_bad_money_is_refused_naming_the_field(value: object, words: str) -> None:
    with pytest.raises(InvalidArgument, match=words) as err:
        to_cents(value, field="price of apple")
    assert "price of apple" in str(err.value)


# ---------------------------------------------------------------- matching


def test_buy_takes_the_cheapest_offers_first_at_their_price() -> None:
    m = _market()
    m.offer("Ben", "apple", 2, "1.50")
    m.offer("Cai", "apple", 2, "1.30")
    m.offer("Dan", "apple", 2, "1.30")  # same price, later: after Cai's
    r = m.buy("Ana", "apple", 3)
    assert [(f.counterparty, f.quantity, f.price) for f in r.fills] == [("Cai", 2, "1.30"), ("Dan", 1, "1.30")]
    assert r.amount == "3.90" and r.wallet == "46.10" and r.holding == 13
    assert m.wallet_cents("Cai") == 5000 + 260 and m.holding("Cai", "apple") == 8


def test_buy_with_max_price_leaves_a_buy_order_holding_its_money() -> None:
    m = _market()
    m.offer("Ben", "apple", 1, "1.00")
    r = m.buy("Ana", "apple", 3, max_price="1.10")
    assert r.filled == 1 and r.open_order is not None
    assert (r.open_order.side, r.open_order.quantity, r.open_order.price) == ("bid", 2, "1.10")
    assert m.wallet_cents("Ana") == 5000 - 100 - 220  # paid 1.00, holds 2 x 1.10
    # a later OFFER at or below the bid sells into it, at the bid's price
    o = m.offer("Cai", "apple", 3, "1.05")
    assert [(f.counterparty, f.quantity, f.price) for f in o.fills] == [("Ana", 2, "1.10")]
    assert o.open_order is not None and o.open_order.quantity == 1
    assert m.holding("Ana", "apple") == 13 and m.orders("Ana") == []


def test_sell_into_the_highest_buy_orders_and_a_named_one() -> None:
    m = _market()
    m.buy("Ana", "pear", 2, max_price="1.50")
    m.buy("Ben", "pear", 2, max_price="1.80")
    r = m.sell("Cai", "pear", 3)
    assert [(f.counterparty, f.quantity, f.price) for f in r.fills] == [("Ben", 2, "1.80"), ("Ana", 1, "1.50")]
    assert r.amount == "5.10"
    bid = m.orders("Ana")[0]
    r2 = m.sell("Dan", "pear", 1, order_id=bid.order_id)
    assert r2.fills[0].counterparty == "Ana" and m.orders("Ana") == []


def test_nobody_trades_with_their_own_orders() -> None:
    m = _market()
    offer = m.offer("Ben", "apple", 2, "1.00").open_order
    assert offer is not None
    with pytest.raises(InvalidArgument, match="from anyone but you"):
        m.buy("Ben", "apple", 1)
    with pytest.raises(InvalidArgument, match="your own"):
        m.buy("Ben", "apple", 1, offer_id=offer.order_id)


def test_cancel_gives_back_what_the_order_held() -> None:
    m = _market()
    o = m.offer("Ben", "apple", 4, "2.00").open_order
    b = m.buy("Ana", "pear", 2, max_price="1.00").open_order
    assert o is not None and b is not None
    m.cancel("Ben", o.order_id)
    m.cancel("Ana", b.order_id)
    assert m.holding("Ben", "apple") == 10 and m.wallet_cents("Ana") == 5000 and m.orders() == []
    with pytest.raises(InvalidArgument, match="no standing order"):
        m.cancel("Ana", o.order_id)


# ---------------------------------------------------------------- rejections with reasons


@pytest.mark.parametrize(("call", "reason"), [
    (lambda m: m.buy("Ana", "plum", 1), "no product 'plum' here; the products are: apple, pear"),
    (lambda m: m.offer("Ana", "apple", 11, "1"), "you have 10 apple to offer, not 11"),
    (lambda m: m.sell("Ana", "pear", 6), "you have 5 pear to sell, not 6"),
    (lambda m: m.offer("Ana", "apple", 1, "-2"), "price: -2 must be more than zero"),
    (lambda m: m.offer("Ana", "apple", -1, "2"), "quantity: -1 must be from 1"),
    (lambda m: m.buy("Ana", "apple", 0), "quantity: 0 must be from 1"),
    (lambda m: m.buy("Ana", "apple", 1), "no apple is on offer"),
    (lambda m: m.buy("Ana", "apple", 100, max_price="1"),
     "that needs 100.00 held for the buy order, and you have 50.00"),
    (lambda m: m.sell("Ana", "apple", 1), "nobody but you has a buy order for apple"),
    (lambda m: m.buy("Ana", "apple", 1, offer_id="o99"), "there is no standing offer 'o99'"),
])
def test_a_refused_action_says_why_and_changes_nothing(call, reason: str) -> None:
    m = _market()
    before = m.state_model()
    with pytest.raises(InvalidArgument, match=re.escape(reason)):
        call(m)
    assert m.state_model() == before


def test_overdraft_refused_with_the_amounts() -> None:
    m = _market()
    m.offer("Ben", "apple", 10, "6.00")
    with pytest.raises(InvalidArgument, match=r"that needs 60.00 now, and you have 50.00"):
        m.buy("Ana", "apple", 10)
    assert m.wallet_cents("Ana") == 5000 and m.orders("Ben")[0].quantity == 10


def test_roles_limit_what_an_agent_may_do() -> None:
    m = _market()
    m.set_role("Ana", "buyer")
    m.set_role("Ben", "seller")
    with pytest.raises(InvalidArgument, match="you are a buyer here, and a buyer cannot OFFER"):
        m.offer("Ana", "apple", 1, "1")
    with pytest.raises(InvalidArgument, match="a seller cannot BUY"):
        m.buy("Ben", "apple", 1)
    with pytest.raises(InvalidArgument, match="not one of buyer, seller, trader"):
        m.set_role("Cai", "banker")  # type: ignore[arg-type]


def test_named_orders_are_checked() -> None:
    m = _market()
    o = m.offer("Ben", "apple", 2, "1.50").open_order
    assert o is not None
    with pytest.raises(InvalidArgument, match="is for apple, not pear"):
        m.buy("Ana", "pear", 1, offer_id=o.order_id)
    with pytest.raises(InvalidArgument, match="has only 2 apple left, not 3"):
        m.buy("Ana", "apple", 3, offer_id=o.order_id)
    with pytest.raises(InvalidArgument, match=r"past your max_price 1\.00"):
        m.buy("Ana", "apple", 1, offer_id=o.order_id, max_price="1.00")


def test_setup_input_is_checked() -> None:
    with pytest.raises(InvalidArgument, match="twice"):
        Market([{"name": "a", "price": 1}, {"name": "a", "price": 2}])
    with pytest.raises(InvalidArgument, match="product 'a': price: -1 must be more than zero"):
        Market([{"name": "a", "price": -1}])
    m = Market([{"name": "a", "price": 1}])
    with pytest.raises(InvalidArgument, match="wallet of 'Ana': -5 must be zero or more"):
        m.deposit("Ana", "-5")
    with pytest.raises(InvalidArgument, match="no product 'b'"):
        m.add_stock("Ana", "b", 1)
    with pytest.raises(InvalidArgument, match="inventory of 'Ana': a: -1 must be from 0"):
        m.add_stock("Ana", "a", -1)


# ---------------------------------------------------------------- atomicity and the ledger hook


def test_a_failing_ledger_leaves_the_market_unchanged() -> None:
    calls: list[tuple[int, int, list[Trade]]] = []

    def recorder(step: int, seq: int, trades: list[Trade]) -> None:
        if len(calls) == 1:
            raise StorageError("disk full", path="x", cause_kind="disk_full")
        calls.append((step, seq, trades))

    m = _market(recorder)
    m.offer("Ben", "apple", 3, "1.00")
    before = m.state_model()
    with pytest.raises(StorageError):
        m.buy("Ana", "apple", 2)
    assert m.state_model() == before


def test_transactions_are_numbered_per_step() -> None:
    seen: list[tuple[int, int, int]] = []
    m = _market(lambda step, seq, trades: seen.append((step, seq, len(trades))))
    m.begin_step(1)
    m.offer("Ben", "apple", 3, "1.00")
    m.buy("Ana", "apple", 2)
    with pytest.raises(InvalidArgument):
        m.buy("Ana", "plum", 1)  # refused: not a transaction
    m.begin_step(2)
    m.buy("Cai", "apple", 1)
    assert seen == [(1, 0, 0), (1, 1, 1), (2, 0, 1)]


# ---------------------------------------------------------------- conservation under many random transactions

_actions = st.lists(st.tuples(
    st.sampled_from(["offer", "buy", "buy_limit", "sell", "cancel", "step"]),
    st.sampled_from(AGENTS), st.sampled_from([*PRODUCTS, "plum"]), st.integers(-2, 12),
    st.integers(-50, 400)), max_size=80)


@settings(max_examples=150, deadline=None)
@given(_actions)
def test_money_and_stock_are_conserved_under_any_sequence(actions) -> None:
    m = _market()
    money = m.total_money_cents()
    stock = {p: m.total_units(p) for p in PRODUCTS}
    step = 0
    for kind, agent, product, quantity, cents in actions:
        price = Decimal(cents) / 100
        try:
            if kind == "offer":
                m.offer(agent, product, quantity, price)
            elif kind == "buy":
                m.buy(agent, product, quantity)
            elif kind == "buy_limit":
                m.buy(agent, product, quantity, max_price=price)
            elif kind == "sell":
                m.sell(agent, product, quantity, min_price=price if cents > 0 else None)
            elif kind == "cancel":
                mine = m.orders(agent)
                m.cancel(agent, mine[0].order_id if mine else "o0")
            else:
                step += 1
                m.close_step()
                m.begin_step(step)
        except InvalidArgument:
            pass  # a refusal is allowed; a wrong state is not
        assert m.total_money_cents() == money
        assert {p: m.total_units(p) for p in PRODUCTS} == stock
        assert all(m.wallet_cents(a) >= 0 for a in AGENTS)
        assert all(m.holding(a, p) >= 0 for a in AGENTS for p in PRODUCTS)
        offers, bids = m.book("apple")
        if offers and bids:  # a crossed book would have traded
            assert offers[0].price_cents > bids[0].price_cents or offers[0].owner == bids[0].owner


# ---------------------------------------------------------------- the price rule and metrics


@pytest.mark.parametrize(("price", "demand", "supply", "expected"), [
    (100, 0, 0, 100),      # no trading interest: unchanged
    (100, 3, 1, 105),      # 1 + 0.1 * 2/4
    (100, 1, 3, 95),
    (100, 5, 0, 110),      # all demand: +rate
    (1, 0, 9, 1),          # never below the minimum
    (125, 1, 0, 138),      # 137.5 rounds half to even
])
def test_the_price_rule(price: int, demand: int, supply: int, expected: int) -> None:
    assert PriceRule().next_price(price, demand=demand, supply=supply) == expected


def test_the_price_rule_clips_each_step() -> None:
    rule = PriceRule(adjustment_rate=1.0, max_step_change=0.25)
    assert rule.next_price(1000, demand=10, supply=0) == 1250
    assert rule.next_price(1000, demand=0, supply=10) == 750
    with pytest.raises(ValueError):
        PriceRule(adjustment_rate=0)


def test_prices_follow_excess_demand_and_metrics_record_each_step() -> None:
    m = _market()
    m.begin_step(1)
    m.offer("Ben", "apple", 2, "1.20")
    m.buy("Ana", "apple", 2)
    m.buy("Cai", "apple", 4, max_price="1.00")   # demand 6 against supply 2
    m.close_step()
    m.begin_step(2)
    m.offer("Dan", "pear", 5, "2.00")             # supply only
    m.close_step()
    frame = m.metrics()
    assert list(frame["step"]) == [1, 1, 2, 2]
    apple1 = frame[(frame["step"] == 1) & (frame["product"] == "apple")].iloc[0]
    assert (apple1["price_cents"], apple1["volume"], apple1["turnover_cents"], apple1["demand"],
            apple1["supply"], apple1["wanted"], apple1["best_bid_cents"]) == (120, 2, 240, 6, 2, 4, 100)
    assert apple1["next_price_cents"] == 126  # 120 * (1 + 0.1 * 4/8)
    assert m.price_cents("apple") == 126 and m.price_cents("pear") == 180
    pear2 = frame[(frame["step"] == 2) & (frame["product"] == "pear")].iloc[0]
    assert (pear2["on_offer"], pear2["held"], pear2["volume"]) == (5, 15, 0)
    assert str(frame["last_trade_cents"].dtype) == "Int64"  # missing prices do not turn money into floats


def test_state_round_trips_exactly() -> None:
    m = _market()
    m.begin_step(3)
    m.offer("Ben", "apple", 2, "1.50")
    m.buy("Ana", "pear", 2, max_price="1.10")
    m.close_step()
    state = m.state_model()
    copy = Market()
    copy.apply_state(type(state).parse(state.to_dict()))
    assert copy.state_model() == state
    assert copy.buy("Cai", "apple", 1).fills[0].counterparty == "Ben"
