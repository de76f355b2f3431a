"""TinyMarketplace: agents trade through their actions on the scripted backend; refusals come back
with reasons; the ledger lives in the run file without duplicates on replay; the market survives
checkpoints; metrics as DataFrames; bad setup input gets clear errors."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tinytroupe import control
from tinytroupe.agent import TinyPerson
from tinytroupe.environment import MarketAccess, TinyMarketplace
from tinytroupe.errors import InvalidArgument, ScenarioError, StorageError
from tinytroupe.events import ToolCallEvent
from tinytroupe.llm import LLMClient, ScriptedBackend
from tinytroupe.llm.demo import SchemaFiller
from tinytroupe.llm.types import LLMRequest
from tinytroupe.scenario.loader import load_scenario
from tinytroupe.scenario.runner import arun_scenario
from tinytroupe.storage.market_ledger import MarketLedger

_ACTING = re.compile(r"Now act as (\w+)")


def _act(kind: str, **args: Any) -> dict[str, str]:
    return {"type": kind, "content": json.dumps(args)}


def _turn_replies(turns: dict[str, list[list[dict[str, str]]]]) -> Callable[[LLMRequest], dict[str, Any]]:
    """Each agent's turns in order (a turn: its actions before DONE); past the list, it only ends its turn."""
    seen: dict[str, int] = {}

    def reply(request: LLMRequest) -> dict[str, Any]:
        name = _ACTING.findall(str(request.messages[-1].content))[-1]
        n = seen.get(name, 0)
        seen[name] = n + 1
        actions = turns.get(name, [])[n] if n < len(turns.get(name, [])) else []
        return {"actions": [*actions, {"type": "DONE"}], "cognitive_state": {}}

    return reply


def _scripted(turns: dict[str, list[list[dict[str, str]]]]) -> ScriptedBackend:
    return ScriptedBackend(_turn_replies(turns))


TURNS = {
    "Ana": [[_act("BUY", product="apple", quantity=2)],                     # step 1: nothing on offer yet
            [_act("BUY", product="apple", quantity=2),
             _act("BUY", product="plum", quantity=1)],                      # step 2: buys; plum is unknown
            [_act("BUY", product="apple", quantity=3, max_price="1.60")]],  # step 3: leaves a buy order
    "Ben": [[_act("OFFER", product="apple", quantity=3, price="1.50")],
            [_act("OFFER", product="apple", quantity=9, price="1.50")],     # step 2: holds only 2
            [_act("SELL", product="apple", quantity=1)]],                   # step 3: into Ana's buy order
}


def _market(client: LLMClient | None = None, **kwargs: Any) -> tuple[TinyMarketplace, dict[str, TinyPerson]]:
    people = {n: TinyPerson(n) for n in ("Ana", "Ben")}
    world = TinyMarketplace("Market", list(people.values()), products=[{"name": "apple", "price": "1.20"}],
                            wallets={"Ana": "10.00", "Ben": "1.00"}, inventory={"Ben": {"apple": 5}},
                            client=client, communication_display=False, **kwargs)
    return world, people


def _contents(agent: TinyPerson) -> list[str]:
    return [str(i.content) for i in agent.memory.items()]


def test_agents_trade_through_their_actions_and_hear_why_an_action_failed() -> None:
    world, p = _market(LLMClient(_scripted(TURNS)))
    events: list[ToolCallEvent] = []
    world.bus.subscribe(events.append, kinds=["tool_call"])
    world.run(3)
    ana, ben = _contents(p["Ana"]), _contents(p["Ben"])
    assert any("your BUY (tool action 1 of your last turn, tool market) failed: no apple is on offer" in c for c in ana)
    assert any("failed: no product 'plum' here; the products are: apple" in c for c in ana)
    assert any("failed: you have 2 apple to offer, not 9" in c for c in ben)
    assert any("Market: Ana bought 2 apple from your offer o1 at 1.50 each; you received 3.00." in c for c in ben)
    # step 3: Ana (first in the world's order) takes Ben's last offered apple, and her other 2 wait as a
    # buy order at 1.60 (its money held); Ben's SELL then fills it at 1.60
    assert any("Market: Ben sold you 1 apple into your buy order b2 at 1.60 each" in c for c in ana)
    market = world.market
    assert market.wallet_cents("Ana") == 1000 - 300 - 150 - 320 and market.holding("Ana", "apple") == 4
    assert market.wallet_cents("Ben") == 100 + 300 + 150 + 160 and market.holding("Ben", "apple") == 1
    assert [(o.order_id, o.quantity) for o in market.orders()] == [("b2", 1)]
    assert [e.ok for e in events] == [False, True, True, False, False, True, True]  # in the world's agent order
    assert [(r.step, r.seq, r.buyer, r.seller, r.quantity, r.price_cents) for r in world.ledger_rows()] == [
        (2, 0, "Ana", "Ben", 2, 150), (3, 0, "Ana", "Ben", 1, 150), (3, 1, "Ana", "Ben", 1, 160)]


def test_a_parallel_step_trades_in_the_worlds_order_whoever_answers_first() -> None:
    async def reply(request: LLMRequest) -> dict[str, Any]:
        name = _ACTING.findall(str(request.messages[-1].content))[-1]
        await asyncio.sleep({"Ana": 0.06, "Ben": 0.03, "Cai": 0.0}[name])  # Ana answers last
        return {"actions": [_act("BUY", product="apple", quantity=1), {"type": "DONE"}], "cognitive_state": {}}

    people = [TinyPerson(n) for n in ("Ana", "Ben", "Cai")]
    world = TinyMarketplace("Market", people, products=[{"name": "apple", "price": 1}],
                            wallets={n.name: 5 for n in people}, client=LLMClient(ScriptedBackend(reply)),
                            communication_display=False)
    world.market.add_stock("Dan", "apple", 1)  # a seller outside the world: the engine takes any name
    world.market.offer("Dan", "apple", 1, 1)
    world.run(1, parallelize=True)
    assert [(r.buyer, r.seller) for r in world.ledger_rows()] == [("Ana", "Dan")]


def test_metrics_and_holdings_are_dataframes() -> None:
    world, _ = _market(LLMClient(_scripted(TURNS)))
    world.run(3)
    frame = world.metrics()
    assert list(frame["step"]) == [1, 2, 3]
    assert list(frame["volume"]) == [0, 2, 2]
    assert list(frame["demand"]) == [0, 2, 3]  # the refused step-1 BUY is not demand
    assert list(frame["supply"]) == [3, 0, 1]
    assert list(frame["price_cents"]) == [120, 108, 119]  # 120 * 0.9, then * 1.1
    assert list(frame["on_offer"] + frame["held"]) == [5, 5, 5]  # stock is conserved
    holdings = world.holdings().set_index("agent")
    assert holdings.loc["Ana", "wallet_cents"] == 230 and holdings.loc["Ana", "held_in_orders_cents"] == 160
    assert holdings.loc["Ben", "apple"] == 1


def test_the_prompt_shows_the_market_to_each_agent() -> None:
    world, p = _market()
    world.market.offer("Ben", "apple", 2, "1.50")
    text = "\n".join(str(m.content) for m in p["Ana"].build_prompt())
    assert "# Market" in text and "Your wallet: 10.00" in text
    assert "- apple: 1.20 a unit; offers: o1 2 at 1.50 by Ben; buy orders: none" in text
    assert "BUY: buy units of a product" in text and "offer_id" in text


def test_wrong_arguments_are_asked_again_within_the_turn() -> None:
    bad = {"actions": [_act("OFFER", product="apple", quantity=0, price="1.5"), {"type": "DONE"}]}
    good = {"actions": [_act("OFFER", product="apple", quantity=1, price="1.5"), {"type": "DONE"}]}
    backend = ScriptedBackend([bad, good])
    world, p = _market(LLMClient(backend))
    world.remove_agent(p["Ana"])
    world.run(1)
    assert "quantity: Input should be greater than or equal to 1" in str(backend.requests[1].messages[-1].content)
    assert world.market.orders("Ben")[0].quantity == 1


def test_a_failing_ledger_fails_the_action_not_the_step(monkeypatch: pytest.MonkeyPatch) -> None:
    world, p = _market(LLMClient(_scripted(TURNS)))
    world.market.offer("Ben", "apple", 3, "1.00")

    def broken(*args: object, **kwargs: object) -> None:
        raise StorageError("disk full", path="x", cause_kind="disk_full")

    monkeypatch.setattr(world.ledger, "record", broken)
    world.run(1)
    assert world.errors == []
    assert any("failed: StorageError: disk full" in c for c in _contents(p["Ana"]))
    assert world.market.wallet_cents("Ana") == 1000 and world.market.orders("Ben")[0].quantity == 3


def test_bad_setup_input_gets_a_clear_error() -> None:
    ana = TinyPerson("Ana")
    with pytest.raises(InvalidArgument, match="wallets names 'Zed', who is not in the marketplace"):
        TinyMarketplace("M", [ana], products=[{"name": "tea", "price": 1}], wallets={"Zed": 5})
    with pytest.raises(InvalidArgument, match="no product 'coffee' here"):
        TinyMarketplace("M", [TinyPerson("Ana")], products=[{"name": "tea", "price": 1}],
                        inventory={"Ana": {"coffee": 1}})
    with pytest.raises(InvalidArgument, match="price: -1 must be more than zero"):
        TinyMarketplace("M", products=[{"name": "tea", "price": "-1"}])


def test_every_agent_gets_market_access_once() -> None:
    world, p = _market()
    own = MarketAccess(name="my_market")
    cai = TinyPerson("Cai").add_mental_faculty(own)
    world.add_agent(cai)
    assert TinyMarketplace.access_of(cai) is own
    assert all(TinyMarketplace.access_of(a) is not None for a in p.values())
    plain = TinyMarketplace("Quiet", [TinyPerson("Dan")], market_access=False)
    assert TinyMarketplace.access_of(plain.agents[0]) is None


def test_the_market_survives_a_state_round_trip() -> None:
    world, _ = _market(LLMClient(_scripted(TURNS)))
    world.run(3)
    state = world.to_state()
    fresh, _ = _market()
    fresh.load_state(state)
    assert fresh.market.state_model() == world.market.state_model()
    assert fresh.metrics().equals(world.metrics())


def _trading_day(path: Path) -> TinyMarketplace:
    control.begin(path, backend=_scripted(TURNS), quiet=True)
    world, _ = _market()
    world.run(3)
    return world


def test_the_ledger_is_in_the_run_file_and_a_replay_does_not_duplicate_it(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    world = _trading_day(path)
    sim = control.current_simulation()
    assert sim is not None and world.ledger is sim.market_ledger
    control.end()
    first = MarketLedger(path, "default").rows()
    assert [(r.world, r.step, r.seq, r.leg, r.amount_cents) for r in first] == [
        ("Market", 2, 0, 0, 300), ("Market", 3, 0, 0, 150), ("Market", 3, 1, 0, 160)]
    _trading_day(path)  # a replay of the same run: the same trades at the same places
    control.end()
    again = MarketLedger(path, "default")
    assert again.rows() == first and again.count() == 3
    again.close()


def test_a_checkpoint_keeps_the_market(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    world = _trading_day(path)
    saved = world.market.state_model()
    control.checkpoint()
    control.end()
    sim = control.begin(path, backend=_scripted({}), quiet=True)
    rebuilt, _ = _market()
    assert rebuilt.market.state_model() != saved
    sim.restore(rebuilt)
    assert rebuilt.market.state_model() == saved
    control.end()


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "marketplace.yaml"


def test_the_example_scenario_trades_on_the_scripted_backend() -> None:
    filler = SchemaFiller(seed=1)
    turns = {"Oscar": [[_act("OFFER", product="bread", quantity=6, price="3.50")]],
             "Lisa": [[], [_act("BUY", product="bread", quantity=2), _act("BUY", product="apples", quantity=1)]],
             "Marcos": [[_act("OFFER", product="apples", quantity=5, price=2.2)],
                        [_act("BUY", product="bread", quantity=1, max_price=3)]]}
    acting = _turn_replies(turns)

    def reply(request: LLMRequest) -> Any:  # the turns as scripted; the extraction filled from its schema
        return acting(request) if _ACTING.search(str(request.messages[-1].content)) else filler(request)

    scenario = load_scenario(EXAMPLE)
    world, result = asyncio.run(arun_scenario(scenario, client=LLMClient(ScriptedBackend(reply)),
                                              base_dir=EXAMPLE.parent))
    assert isinstance(world, TinyMarketplace) and result.steps == 4 and not result.errors
    assert [(r.buyer, r.seller, r.product, r.quantity, r.price_cents) for r in world.ledger_rows()] == [
        ("Lisa", "Oscar", "bread", 2, 350), ("Lisa", "Marcos", "apples", 1, 220)]
    assert [o.order_id for o in world.market.orders("Marcos")] == ["o2", "b3"]  # his bid waits under 3.50
    frame = world.metrics()
    assert len(frame) == 2 * 4 and set(frame["product"]) == {"bread", "apples"}
    assert world.market.total_money_cents() == 6500


def test_a_scenario_market_is_checked_when_loaded(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace("Oscar: {bread: 12}", "Oscar: {bread: 12, cake: 1}")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("price: 3.50", "price: 3.505"))
    with pytest.raises(ScenarioError) as err:
        load_scenario(bad)
    assert "more than two decimals" in str(err.value) and "bad.yaml:" in str(err.value)
    bad.write_text(text)
    with pytest.raises(ScenarioError, match="no product 'cake' in the catalogue"):
        load_scenario(bad)
    bad.write_text(EXAMPLE.read_text().replace("kind: marketplace", "kind: world"))
    with pytest.raises(ScenarioError, match="a market applies to marketplaces only"):
        load_scenario(bad)


def test_a_replay_that_trades_differently_leaves_no_stale_rows(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    _trading_day(path)
    control.end()
    control.begin(path, backend=_scripted({"Ben": TURNS["Ben"][:1]}), quiet=True)  # Ana never buys this time
    world, _ = _market()
    world.market.deposit("Ana", "0.50")  # her prompts differ from the first run's: no cached answers for her
    world.run(3)
    control.end()
    ledger = MarketLedger(path, "default")
    assert ledger.count() == 0
    ledger.close()
