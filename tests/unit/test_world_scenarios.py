"""The specialised worlds' example scenarios run end to end on the scripted backend, and scenario files
name kinds of world and their options with errors that point at the field."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from helpers import DONE_TURN, agent_of, is_action_request, turn

from tinytroupe.environment import SpatialWorld, TinyRetailStore
from tinytroupe.errors import ScenarioError
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.scenario import arun_scenario, load_scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def playing(plans: dict[str, list[dict[str, Any]]], answer: dict[str, Any]) -> ScriptedBackend:
    """Each agent plays its plan turn by turn (then only DONE); extraction requests get ``answer``."""
    played: dict[str, int] = defaultdict(int)

    def respond(request: LLMRequest) -> Any:
        if not is_action_request(request):
            return answer
        name = agent_of(request)
        plan = plans.get(name, [])
        played[name] += 1
        return plan[played[name] - 1] if played[name] <= len(plan) else DONE_TURN

    return ScriptedBackend(respond)


async def test_retail_store_example_runs_on_the_scripted_backend() -> None:
    scenario = load_scenario(EXAMPLES / "retail_store.yaml")
    # the checkout is 12 cells from the dairy shelf: three steps at the example's speed of 4
    shopping = [turn(("MOVE_TO", "dairy")),
                turn(("LOOK_AT_SHELF", "dairy"), ("PICK_ITEM", "milk"), ("MOVE_TO", "checkout")),
                DONE_TURN, DONE_TURN, turn(("CHECKOUT", ""))]
    names = ["Lisa Brennan", "Oscar Villanueva", "Marcos Ferreira"]
    backend = playing({n: shopping for n in names}, {"bought": "milk", "reason": "for breakfast"})
    world, result = await arun_scenario(scenario, client=LLMClient(backend), base_dir=EXAMPLES)
    assert isinstance(world, TinyRetailStore)
    assert result.failed == 0 and result.errors == []
    assert all(r == {"status": "ok", "bought": "milk", "reason": "for breakfast"} for r in result.results.values())
    bought = world.purchases_frame()
    assert sorted(bought["customer"]) == sorted(names) and set(bought["product"]) == {"milk"}
    assert world.shelves["dairy"].products["milk"].stock == 12 - 3
    metrics = world.metrics().set_index("customer")
    assert list(metrics["items_bought"]) == [1, 1, 1] and metrics["spent"].sum() == pytest.approx(3 * 1.15)
    assert world.heatmap().sum() == 3 * 7  # three customers, six scripted steps and the closing question


async def test_town_square_example_runs_on_the_scripted_backend() -> None:
    scenario = load_scenario(EXAMPLES / "town_square.yaml")
    walk = [turn(("MOVE_TO", "fountain"))]
    backend = playing({"Lisa Brennan": walk, "Oscar Villanueva": walk}, {"summary": "we met"})
    world, result = await arun_scenario(scenario, client=LLMClient(backend), base_dir=EXAMPLES)
    assert isinstance(world, SpatialWorld)
    assert result.failed == 0
    fountain = world.space.resolve("fountain")
    assert world.position_of("Lisa Brennan") == fountain == world.position_of("Oscar Villanueva")
    assert world.position_of("Marcos Ferreira") == world.space.resolve("bench")
    assert "Oscar Villanueva" in world.in_sight("Lisa Brennan")


@pytest.mark.parametrize(("world_yaml", "message"), [
    ("  kind: moon_base\n", "world.kind: unknown kind of world 'moon_base'; use one of: world, social_network"),
    ("  kind: spatial\n  options: {map: ['#..#'], speed: 0}\n", "world.options.speed"),
    ("  kind: spatial\n  options: {speed: 2}\n", "give either 'map'"),
    ("  kind: retail_store\n  options: {layout: {plan: ['#E#'], places: {E: entrance}}}\n", "places need checkout"),
    ("  options: {speed: 2}\n", "world.options.speed: Extra inputs are not permitted"),
    ("  relations: [[A, B, friends]]\n", "relations apply to social networks only"),
])
def test_bad_world_kinds_and_options_name_the_field(tmp_path: Path, world_yaml: str, message: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: t\nagents:\n  - persona: {name: A}\nscript:\n  - run: 1\nworld:\n" + world_yaml)
    with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_scenario(path)


async def test_a_start_position_on_a_wall_is_a_scenario_error(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: t\nagents:\n  - persona: {name: A}\nscript:\n  - run: 1\nworld:\n  kind: spatial\n"
                    "  options: {map: ['#..'], positions: {A: [0, 0]}}\n")
    with pytest.raises(ScenarioError, match=r"world.options: \(0, 0\) is a wall"):
        await arun_scenario(load_scenario(path), client=LLMClient(ScriptedBackend([DONE_TURN], cycle=True)))


async def test_a_graph_of_places_from_a_scenario_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: t\nagents:\n  - persona: {name: A}\n  - persona: {name: B}\nscript:\n  - run: 1\n"
                    "world:\n  kind: spatial\n  options:\n    links: {home: {street: 2}, street: {cafe: 1}}\n"
                    "    positions: {A: home, B: cafe}\n    sight_radius: 3\n    things: {kiosk: street}\n")
    world, result = await arun_scenario(load_scenario(path),
                                        client=LLMClient(ScriptedBackend([DONE_TURN], cycle=True)))
    assert isinstance(world, SpatialWorld) and result.failed == 0
    assert world.positions == {"A": "home", "B": "cafe"}
    assert world.in_sight("A") == ["B", "kiosk"]
