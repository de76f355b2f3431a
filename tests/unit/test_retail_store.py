"""TinyRetailStore: layouts as data, customers walking, looking, picking and paying, refusals with
reasons, heat map and dwell times, metrics and state, on the scripted backend."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import DONE_TURN, START, policy_client, turn

from tinytroupe.agent import TinyPerson
from tinytroupe.environment import StoreLayout, TinyRetailStore
from tinytroupe.errors import InvalidArgument
from tinytroupe.events import WarningEvent
from tinytroupe.llm import LLMRequest

LAYOUT: dict[str, Any] = {
    "plan": ["##########",
             "#E.......#",
             "#.AAA.BB.#",
             "#........#",
             "#.CC....K#",
             "##########"],
    "places": {"E": "entrance", "K": "checkout"},
    "shelves": {
        "A": {"name": "dairy", "zone": "fresh", "products": {"milk": {"price": 1.2, "stock": 2},
                                                             "yogurt": {"price": 0.8}}},
        "B": {"name": "bakery", "zone": "fresh", "products": {"bread": {"price": 2.5, "stock": 1}}},
        "C": {"name": "snacks", "products": {"crisps": {"price": 1.75, "stock": 10}}},
    },
}


def store_of(script: dict[str, list[dict[str, Any]]], **kwargs: Any) -> TinyRetailStore:
    turns = {name: list(t) for name, t in script.items()}

    def policy(name: str, request: LLMRequest) -> dict[str, Any]:
        return turns[name].pop(0) if turns[name] else DONE_TURN

    client, _ = policy_client(policy)
    kwargs.setdefault("speed", 10)
    return TinyRetailStore("Shop", [TinyPerson(n) for n in script], LAYOUT, initial_datetime=START, client=client,
                           communication_display=False, **kwargs)


def told(store: TinyRetailStore, name: str, kind: str = "SOCIAL") -> list[str]:
    agent = store.get_agent_by_name(name)
    assert agent is not None
    return [i.content for i in agent.memory.items() if i.kind == "stimulus" and i.type == kind]


def test_a_customer_walks_looks_picks_and_pays() -> None:
    store = store_of({"Ana": [turn(("MOVE_TO", "dairy")),
                              turn(("LOOK_AT_SHELF", "dairy"), ("PICK_ITEM", "Milk"), ("PICK_ITEM", "yogurt")),
                              turn(("MOVE_TO", "bakery")),
                              turn(("PICK_ITEM", "bread"), ("MOVE_TO", "checkout")),
                              turn(("CHECKOUT", ""))]})
    store.run(5)
    assert store.errors == []
    assert "The dairy shelf offers: milk 1.20 € (2 left); yogurt 0.80 €." in told(store, "Ana", "VISUAL")
    bought = store.purchases_frame()
    assert list(bought["product"]) == ["milk", "yogurt", "bread"]
    assert bought["price"].sum() == pytest.approx(4.5)
    assert list(bought["step"]) == [5, 5, 5]
    assert store.shelves["dairy"].products["milk"].stock == 1
    assert store.shelves["dairy"].products["yogurt"].stock is None  # never runs out
    assert store.shelves["bakery"].products["bread"].stock == 0
    assert store.baskets["Ana"] == []
    assert told(store, "Ana")[-1] == "You paid 4.50 € for 3 items: milk, yogurt, bread."
    row = store.metrics().set_index("customer").loc["Ana"]
    assert (row["items_picked"], row["items_bought"], row["spent"], row["shelves_looked_at"]) == (3, 3, 4.5, 1)
    assert row["rejected_actions"] == 0 and row["steps"] == 5


def test_refusals_name_the_reason_and_do_not_stop_the_step() -> None:
    # Ana stays at the entrance, (1, 1): diagonally beside the dairy shelf, far from the rest
    store = store_of({"Ana": [turn(("PICK_ITEM", "crisps"), ("LOOK_AT_SHELF", "freezer"), ("CHECKOUT", "")),
                              turn(("PICK_ITEM", "caviar"), ("LOOK_AT_SHELF", "snacks"))],
                      "Ben": [turn(("MOVE_TO", "bakery")), turn(("PICK_ITEM", "bread"), ("PICK_ITEM", "bread"))]})
    events: list[Any] = []
    store.bus.subscribe(events.append)
    store.run(2)
    assert store.errors == []
    reasons = {(e.agent, e.data["reason"]) for e in events
               if isinstance(e, WarningEvent) and e.code == "action_rejected"}
    assert ("Ana", "you are not at the snacks shelf; it is 3 m south: MOVE_TO it first") in reasons
    assert ("Ana", "there is no shelf called 'freezer' here (shelves: dairy, bakery, snacks)") in reasons
    assert ("Ana", "you are not at the checkout; it is 8 m south-east: MOVE_TO checkout first") in reasons
    assert ("Ana", "this store sells no 'caviar' (here: dairy: milk, yogurt)") in reasons
    assert any(who == "Ana" and why.startswith("you are not at the snacks shelf") for who, why in reasons)
    assert ("Ben", "the bakery shelf has no bread left") in reasons
    assert store.baskets["Ben"] == ["bread"]
    assert store.metrics().set_index("customer")["rejected_actions"].to_dict() == {"Ana": 5, "Ben": 1}
    assert told(store, "Ana")[0] == ("You could not PICK_ITEM crisps: you are not at the snacks shelf; it is 3 m "
                                     "south: MOVE_TO it first.")


def test_checkout_with_an_empty_basket_is_refused() -> None:
    store = store_of({"Ana": [turn(("MOVE_TO", "checkout")), turn(("CHECKOUT", ""))]})
    store.run(2)
    assert told(store, "Ana")[-1] == "You could not CHECKOUT: your basket is empty: PICK_ITEM something first."
    assert store.purchases == []


def test_heat_map_and_dwell_time_per_zone() -> None:
    store = store_of({"Ana": [turn(("MOVE_TO", "1,4"))], "Ben": []}, speed=20)  # (1, 4): beside the snacks only
    store.run(3)
    heat = store.heatmap()
    assert heat.shape == (6, 10) and heat.sum() == 6  # two customers, three steps
    assert heat[1, 1] == 4  # both at the entrance in step 1, Ben in steps 2 and 3 too
    ana_spot = store.position_of("Ana")
    assert heat[ana_spot[1], ana_spot[0]] == 2  # type: ignore[index]
    assert np.all(heat[store.space.walls] == 0)
    frame = store.heatmap_frame()
    assert isinstance(frame, pd.DataFrame) and frame.loc[1, 1] == 4
    dwell = store.dwell_times()
    assert dwell.to_dict("records") == [{"customer": "Ana", "zone": "entrance", "steps": 1},
                                        {"customer": "Ana", "zone": "snacks", "steps": 2},
                                        {"customer": "Ben", "zone": "entrance", "steps": 3}]
    metrics = store.metrics()
    assert {"dwell_fresh", "dwell_snacks", "dwell_aisles", "dwell_checkout", "dwell_entrance"} <= set(metrics.columns)
    svg = store.heatmap_svg(cell_px=8)
    assert svg.startswith("<svg") and svg.count("<rect") == 61 and "<title>4</title>" in svg


def test_store_state_round_trip() -> None:
    store = store_of({"Ana": [turn(("MOVE_TO", "dairy")), turn(("PICK_ITEM", "milk"))]})
    store.run(2)
    data = json.loads(json.dumps(store.to_state()))
    fresh = TinyRetailStore("Shop", [], LAYOUT, communication_display=False)
    fresh.load_state(data)
    assert fresh.baskets == {"Ana": ["milk"]}
    assert fresh.shelves["dairy"].products["milk"].stock == 1
    assert (fresh.heatmap() == store.heatmap()).all()
    assert fresh.metrics().equals(store.metrics())
    assert fresh.to_state() == store.to_state()
    data["extensions"]["retail"]["heat"] = [[0]]
    with pytest.raises(InvalidArgument, match="another layout"):
        TinyRetailStore("Shop", [], LAYOUT, communication_display=False).load_state(data)


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["shelves"]["A"]["products"]["milk"].update(price=-1), "price"),
    (lambda d: d["places"].pop("K"), "places need checkout"),
    (lambda d: d["shelves"]["B"]["products"].update(milk={"price": 1}), "product 'milk' is on shelves"),
    (lambda d: d["shelves"].update(Z={"name": "ghost"}), "not drawn on the plan"),
    (lambda d: d.update(plan=["###", "#E?", "#K#"], shelves={}), "unknown character '\\?'"),
])
def test_bad_layouts_are_clear_errors(change: Any, message: str) -> None:
    layout = json.loads(json.dumps(LAYOUT))
    change(layout)
    with pytest.raises(InvalidArgument, match=message):
        TinyRetailStore("Shop", [], layout)
    with pytest.raises(InvalidArgument, match="needs a layout"):
        TinyRetailStore("Shop")
    assert isinstance(StoreLayout.model_validate(LAYOUT), StoreLayout)
