"""SpatialWorld: maps, paths, movement, perception by distance, spatial memory in the prompt, rendering
and state, on the scripted backend."""

from __future__ import annotations

import itertools
import json
from typing import Any

import numpy as np
import pytest
from helpers import DONE_TURN, START, action_prompt, agent_of, new_section, policy_client, turn

from tinytroupe.agent import TinyPerson
from tinytroupe.environment import GridMap, PlaceGraph, SpatialWorld
from tinytroupe.environment.spatial import SpatialMemory, Unreachable
from tinytroupe.environment.spatial.pathfinding import astar
from tinytroupe.errors import InvalidArgument
from tinytroupe.events import WarningEvent
from tinytroupe.llm import LLMRequest, ScriptedBackend

# a hall split by a wall with one door at (5, 2); a closed room in the north-east corner
HALL = ["###########",
        "#....#..#.#",
        "#.......###",
        "#....#..###",
        "#....#....#",
        "###########"]


def hall() -> GridMap:
    return GridMap.from_ascii(HALL, legend=None).add_place("door", (5, 2)).add_place("closet", (9, 1))


def world_of(positions: dict[str, Any], script: dict[str, list[dict[str, Any]]] | None = None,
             **kwargs: Any) -> tuple[SpatialWorld, Any]:
    """A world on :func:`hall` whose agents play ``script[name]`` turn by turn, then only DONE."""
    turns = {name: list(script.get(name, [])) for name in positions} if script else {n: [] for n in positions}

    def policy(name: str, request: LLMRequest) -> dict[str, Any]:
        return turns[name].pop(0) if turns[name] else DONE_TURN

    client, backend = policy_client(policy)
    world = SpatialWorld("Hall", [TinyPerson(n) for n in positions], hall(), positions=positions,
                         initial_datetime=START, client=client, communication_display=False, **kwargs)
    return world, backend


def recorder(world: SpatialWorld) -> list[Any]:
    """The events the world's bus publishes from now on."""
    events: list[Any] = []
    world.bus.subscribe(events.append)
    return events


def warnings(events: list[Any], code: str) -> list[WarningEvent]:
    return [e for e in events if isinstance(e, WarningEvent) and e.code == code]


# ---------------------------------------------------------------- maps and paths

def test_astar_finds_a_shortest_path_around_walls() -> None:
    grid = hall()
    path = grid.plan((1, 1), (7, 4))
    assert path[0] == (1, 1) and path[-1] == (7, 4)
    assert (5, 2) in path  # through the door
    assert len(path) - 1 == 6 + 3  # Manhattan distance: the door is on a shortest route
    assert all(abs(a[0] - b[0]) + abs(a[1] - b[1]) == 1 for a, b in itertools.pairwise(path))
    assert all(grid.is_free(c) for c in path)


def test_astar_matches_breadth_first_lengths_on_random_mazes() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        walls = rng.random((15, 15)) < 0.3
        walls[0, 0] = walls[14, 14] = False
        path = astar(walls, (0, 0), (14, 14))
        assert (path is None) == (_bfs_length(walls, (0, 0), (14, 14)) is None)
        if path is not None:
            assert len(path) - 1 == _bfs_length(walls, (0, 0), (14, 14))


def _bfs_length(walls: np.ndarray, start: tuple[int, int], goal: tuple[int, int]) -> int | None:
    seen, frontier, steps = {start}, [start], 0
    while frontier:
        if goal in frontier:
            return steps
        nxt = []
        for x, y in frontier:
            for c in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                inside = 0 <= c[0] < walls.shape[1] and 0 <= c[1] < walls.shape[0]
                if inside and not walls[c[1], c[0]] and c not in seen:
                    seen.add(c)
                    nxt.append(c)
        frontier, steps = nxt, steps + 1
    return None


def test_unreachable_goal_is_a_clear_error_for_the_user() -> None:
    grid = hall()
    with pytest.raises(Unreachable, match=r"closet \(9, 1\) cannot be reached"):
        grid.plan((1, 1), (9, 1))
    world, _ = world_of({"Ana": (1, 1)})
    with pytest.raises(Unreachable):
        world.move_to("Ana", "closet")
    assert world.route_of("Ana") == []


@pytest.mark.parametrize(("where", "message"), [
    ((0, 0), r"\(0, 0\) is a wall"),
    ((40, 2), "off the map"),
    ("kitchen", "no place called 'kitchen'"),
    ("1.5,2", "no place called"),
])
def test_bad_positions_are_invalid_arguments(where: Any, message: str) -> None:
    world, _ = world_of({"Ana": (1, 1)})
    with pytest.raises(InvalidArgument, match=message):
        world.place("Ana", where)
    with pytest.raises(InvalidArgument, match=message):
        SpatialWorld("Other", [TinyPerson("Ben")], hall(), positions={"Ben": where})


def test_bad_maps_and_options_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="row 1, column 2: unknown character 'x'"):
        GridMap.from_ascii(["###", "#.x"])
    with pytest.raises(InvalidArgument, match="width must be"):
        GridMap(0, 3)
    with pytest.raises(InvalidArgument, match="on a wall"):
        hall().add_place("bad", (0, 0))
    with pytest.raises(InvalidArgument, match="speed must be"):
        SpatialWorld("W", space=hall(), speed=0)
    with pytest.raises(InvalidArgument, match="sight_stimuli"):
        SpatialWorld("W", space=hall(), sight_stimuli="some")
    with pytest.raises(InvalidArgument, match="positive number"):
        PlaceGraph({"a": {"b": -1}})


# ---------------------------------------------------------------- movement

def test_move_to_walks_at_the_agents_speed_and_arrives() -> None:
    world, _ = world_of({"Ana": (1, 1), "Ben": (1, 4)}, {"Ana": [turn(("MOVE_TO", "door"))]}, speeds={"Ana": 2})
    world.run(1)
    x, y = world.position_of("Ana")  # type: ignore[misc]
    assert abs(x - 1) + abs(y - 1) == 2 and abs(x - 5) + abs(y - 2) == 3  # two cells along a shortest walk
    assert len(world.route_of("Ana")) == 3  # 5 cells to the door, 2 walked
    ana = world.get_agent_by_name("Ana")
    assert ana is not None
    assert any("You set off towards the door (5, 2): 5 cells away, about 3 turns" in i.content
               for i in ana.memory.items())
    world.run(2)
    assert world.position_of("Ana") == (5, 2)
    assert world.route_of("Ana") == []
    assert ana.location == "the door (5, 2)"
    assert [i.content for i in ana.memory.items() if i.type == "LOCATION"] == ["the door (5, 2)"]
    assert world.position_of("Ben") == (1, 4)  # who does not move stays


def test_bad_moves_are_refused_with_the_reason_and_the_step_goes_on() -> None:
    script = {"Ana": [turn(("MOVE_TO", "0,0"), ("MOVE_TO", "closet"), ("MOVE_TO", "attic")),
                      turn(("MOVE_TO", "99,1"), ("MOVE_TO", "Ben"))]}
    world, _ = world_of({"Ana": (1, 1), "Ben": (7, 4)}, script)
    events = recorder(world)
    world.run(2)
    assert world.errors == []
    reasons = [e.data["reason"] for e in warnings(events, "action_rejected")]
    assert reasons[0] == "(0, 0) is a wall or obstacle"
    assert "cannot be reached" in reasons[1]
    assert "no place called 'attic'" in reasons[2]
    assert "off the map" in reasons[3]
    assert reasons[4] == "you do not know where Ben is: you have not seen them"
    ana = world.get_agent_by_name("Ana")
    assert ana is not None
    told = [i.content for i in ana.memory.items() if i.type == "SOCIAL"]
    assert told[0] == "You could not MOVE_TO 0,0: (0, 0) is a wall or obstacle."
    assert world.position_of("Ana") == (1, 1)


def test_walking_to_a_person_goes_where_they_were_last_seen() -> None:
    world, _ = world_of({"Ana": (1, 1), "Ben": (3, 2)}, {"Ana": [DONE_TURN, turn(("MOVE_TO", "", "Ben"))]},
                        sight_radius=4, speed=3)
    world.run(1)  # Ana sees Ben at (3, 2)
    world.place("Ben", (8, 4))  # he leaves while she is not looking
    world.run(2)
    assert world.position_of("Ana") == (3, 2)


# ---------------------------------------------------------------- perception

def test_talk_is_heard_only_within_the_hearing_radius() -> None:
    script = {"Ana": [turn(("TALK", "Anyone here?"))], "Ben": [turn(("TALK", "Cai, over here!", "Cai"))]}
    # Ben sees Cai (so he may address him) but stands 3.2 m from him; Ana is 4.2 m from Cai
    world, _ = world_of({"Ana": (1, 1), "Ben": (3, 1), "Cai": (4, 4)}, script, hearing_radius=3)
    events = recorder(world)
    world.run(1)
    ben, cai = world.get_agent_by_name("Ben"), world.get_agent_by_name("Cai")
    assert ben is not None and cai is not None
    assert [(i.source, i.content) for i in ben.memory.items() if i.type == "CONVERSATION"] == [("Ana", "Anyone here?")]
    assert [i for i in cai.memory.items() if i.type == "CONVERSATION"] == []
    undelivered = warnings(events, "talk_not_delivered")
    assert len(undelivered) == 1 and "Cai is 3.2 m away, out of earshot (voices carry 3 m)" in undelivered[0].message


def test_sight_radius_and_walls_limit_what_is_seen() -> None:
    world, _ = world_of({"Ana": (1, 2), "Ben": (4, 2), "Cai": (7, 1), "Dan": (7, 4)}, sight_radius=7)
    world.add_thing("fountain", (3, 4))
    world.perceive()
    # Cai stands behind the wall (column 5), Dan too far and behind it
    assert world.in_sight("Ana") == ["Ben", "fountain"]
    assert "Cai" in world.in_sight("Ben")
    assert {"Ben", "Dan"} <= set(world.in_sight("Cai"))
    ana = world.get_agent_by_name("Ana")
    assert ana is not None
    seen = [i.content for i in ana.memory.items() if i.type == "VISUAL"]
    assert seen == ["Now in sight: Ben (3 m east), fountain (3 m south-east)."]
    world.perceive()  # nothing changed: no new stimulus
    assert len([i for i in ana.memory.items() if i.type == "VISUAL"]) == 1


def test_graph_of_places_paths_and_perception() -> None:
    town = PlaceGraph({"home": {"street": 2}, "street": {"cafe": 1, "park": 5}, "island": {}})
    assert town.plan("home", "cafe") == ["home", "street", "cafe"]
    with pytest.raises(Unreachable):
        town.plan("home", "island")
    world = SpatialWorld("Town", [TinyPerson("Ana"), TinyPerson("Ben"), TinyPerson("Cai")], town,
                         positions={"Ana": "home", "Ben": "cafe", "Cai": "park"}, sight_radius=3, hearing_radius=3,
                         communication_display=False)
    world.perceive()
    assert world.in_sight("Ana") == ["Ben"]
    assert world.in_sight("Cai") == []
    world.move_to("Ana", "cafe")
    world._advance()
    assert world.position_of("Ana") == "street"
    assert "home: -" in world.render_ascii() and "street: Ana" in world.render_ascii()


# ---------------------------------------------------------------- spatial memory in the prompt

def test_spatial_memory_is_in_the_prompt_within_its_budget() -> None:
    prompts: list[str] = []

    def policy(name: str, request: LLMRequest) -> dict[str, Any]:
        if name == "Ana":
            prompts.append(action_prompt(request))
        return DONE_TURN

    client, _ = policy_client(policy)
    people = [TinyPerson("Ana"), TinyPerson("Ben")]
    world = SpatialWorld("Hall", people, hall(), positions={"Ana": (1, 1), "Ben": (2, 1)}, client=client,
                         initial_datetime=START, communication_display=False)
    world.run(1)
    world.place("Ben", (9, 4))
    world.run(1)
    section = prompts[-1].split("# Where you are", 1)[1].split("\n#", 1)[0]
    assert "You are at (1, 1)." in section
    assert "Nobody and nothing in sight." in section
    assert "- Ben: at (2, 1), step 1 (09:00)" in section
    memory = SpatialMemory(budget_tokens=30)
    memory.observe("(0, 0)", {f"P{i}": [f"({i}, 0)", i, "", [i, 0]] for i in range(50)}, step=1)
    memory.observe("(0, 0)", {}, step=2)
    text = memory.section()
    assert len(text) <= 30 * 4 + 60 and "- P49:" in text and "- P0:" not in text  # newest kept


# ---------------------------------------------------------------- rendering and state

def test_rendering_as_text_and_svg() -> None:
    world, _ = world_of({"Ana": (1, 1), "Ben": (1, 1), "Cai": (3, 4)})
    world.add_thing("fountain", (3, 3))
    text = world.render_ascii()
    rows = text.splitlines()
    assert rows[0] == "###########"
    assert rows[1][1] == "*" and rows[4][3] == "C" and rows[3][3] == "f"
    assert "C=Cai (3, 4)" in rows[-1]
    svg = world.render_svg(cell_px=10)
    assert svg.startswith("<svg") and svg.count("<circle") == 3 and "<title>Cai</title>" in svg


def test_positions_routes_and_memories_survive_a_state_round_trip() -> None:
    world, _ = world_of({"Ana": (1, 1), "Ben": (2, 1)}, {"Ana": [turn(("MOVE_TO", "door"))]})
    world.add_thing("fountain", (3, 3))
    world.run(1)
    data = json.loads(json.dumps(world.to_state()))
    assert data["extensions"]["spatial"]["positions"]["Ana"] == list(world.position_of("Ana"))
    fresh = SpatialWorld("Hall", [], hall(), communication_display=False)
    fresh.load_state(data)
    assert fresh.positions == world.positions
    assert fresh.route_of("Ana") == world.route_of("Ana")
    assert fresh.things == {"fountain": (3, 3)}
    ana = fresh.get_agent_by_name("Ana")
    assert ana is not None and "MOVE_TO" in ana.actions_registry.types
    memory = ana.get_component("spatial_memory")
    assert isinstance(memory, SpatialMemory) and "Ben" in memory.last_seen
    assert fresh.to_state() == world.to_state()
    data["extensions"]["spatial"]["positions"]["Ana"] = [0, 0]
    with pytest.raises(InvalidArgument, match="wall"):
        SpatialWorld("Hall", [], hall(), communication_display=False).load_state(data)


def test_arriving_view_is_a_visual_stimulus_in_the_next_prompt() -> None:
    sections: list[str] = []

    def policy(name: str, request: LLMRequest) -> dict[str, Any]:
        if name == "Ana":
            sections.append(new_section(request))
        return DONE_TURN

    client, _ = policy_client(policy)
    world = SpatialWorld("Hall", [TinyPerson("Ana"), TinyPerson("Ben")], hall(),
                         positions={"Ana": (1, 1), "Ben": (3, 3)}, client=client, initial_datetime=START,
                         communication_display=False)
    world.run(1)
    assert "you saw: Now in sight: Ben (3 m south-east)." in sections[0]


def test_a_simulation_checkpoint_restores_positions_and_walks(tmp_path: Any) -> None:
    from tinytroupe import control

    path = tmp_path / "run.sqlite"
    script = {"Ana": [turn(("MOVE_TO", "door"))]}
    turns = {name: list(t) for name, t in script.items()}
    backend = ScriptedBackend(lambda r: turns.get(agent_of(r), []).pop(0) if turns.get(agent_of(r)) else DONE_TURN)
    control.begin(path, backend=backend, quiet=True)
    try:
        world = SpatialWorld("Hall", [TinyPerson("Ana"), TinyPerson("Ben")], hall(),
                             positions={"Ana": (1, 1), "Ben": (2, 4)}, initial_datetime=START)
        world.run(1)
        control.checkpoint("walking")
        control.end()
    finally:
        control.reset()
    with control.Simulation(path, backend=ScriptedBackend([DONE_TURN], cycle=True), quiet=True) as sim:
        fresh = SpatialWorld("Hall", [], hall(), communication_display=False)
        sim.restore(fresh)
        assert fresh.positions == world.positions and fresh.route_of("Ana") == world.route_of("Ana") != []
        assert fresh.to_state() == world.to_state()
