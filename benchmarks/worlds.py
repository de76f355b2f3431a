"""Specialised worlds: what their own mechanics cost per step, apart from the LLM calls.

Each section is a function ``(quick) -> dict`` of figures; :func:`main` runs them in order, prints what
each measured and, as its last line, all figures as one JSON object. A new world adds its section to
``SECTIONS``.

- ``spatial_step_overhead_ms_1000``: a :class:`~tinytroupe.environment.SpatialWorld` of 1,000 agents on a
  100 × 100 grid (10 % of cells walls, in blocks), sight and hearing radius 5 with lines of sight, everyone
  walking one cell a step: the median per step of the world's own work, without the agents' turns (no
  LLM): perception (the spatial index, who sees whom and what, every spatial memory updated), finding
  who hears each TALK of a tenth of the agents, planning a ``MOVE_TO`` to a random cell for whoever
  arrived, and moving everyone. Goal <= 20 ms. ``spatial_perception_ms_1000`` is the perception part.
  ``spatial_step_with_delivery_ms_1000`` is the same step with the stimuli delivered into the agents'
  memories as a run does (a VISUAL one on each change of view, each TALK to everyone who hears it):
  that part is the agents' own cost of perceiving (``TinyPerson.see``/``listen``), which grows with
  what they perceive, not the world's. The ``_cpu_ms`` twins are the process's CPU time for the same
  steps: on a machine shared with other work they show what the step itself costs.
- ``pathfinding_p95_ms``: the 95th percentile of :meth:`GridMap.plan` between random free cells of that
  map (A* after a region look-up; an unreachable pair is answered by the look-up). Goal <= 5 ms.
  ``pathfinding_p95_cpu_ms`` is the same in CPU time.

Usage::

    python benchmarks/worlds.py [--quick]

``--quick``: 15 steps and 300 paths (well under a minute); otherwise 60 and 2,000.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np

from tinytroupe.agent import TinyPerson
from tinytroupe.agent.actions import Action
from tinytroupe.environment import GridMap, SpatialWorld
from tinytroupe.environment.spatial import Unreachable
from tinytroupe.gc_freeze import frozen_gc
from tinytroupe.llm import LLMClient, ScriptedBackend

SIDE = 100
AGENTS = 1_000


def city_map(seed: int = 7) -> GridMap:
    """A 100 × 100 grid whose walls (about 10 % of cells) are random 2-to-5-cell blocks."""
    rng = np.random.default_rng(seed)
    walls = np.zeros((SIDE, SIDE), dtype=bool)
    while walls.mean() < 0.10:
        x, y = rng.integers(0, SIDE - 5, size=2)
        w, h = rng.integers(2, 6, size=2)
        walls[y:y + h, x:x + w] = True
    return GridMap(SIDE, SIDE, [(int(x), int(y)) for y, x in np.argwhere(walls)])


def _crowd(space: GridMap, sight_stimuli: str, rng: random.Random) -> SpatialWorld:
    free = space.free_cells()
    client = LLMClient(ScriptedBackend([{"actions": [{"type": "DONE"}]}], cycle=True))
    agents = [TinyPerson(f"P{i}", client=client) for i in range(AGENTS)]
    positions = {a.name: rng.choice(free) for a in agents}
    return SpatialWorld("City", agents, space, positions=positions, hearing_radius=5, sight_radius=5,
                        sight_stimuli=sight_stimuli, initial_datetime=datetime(2025, 1, 6, 9),
                        communication_display=False)


def _spatial_steps(space: GridMap, steps: int, deliver: bool) -> tuple[list[float], list[float], list[float]]:
    """Per-step times of the world's work (and of its perception part); ``deliver``: stimuli reach the
    agents' memories (VISUAL on a change of view, each TALK to whoever hears it), else the world only
    works out who would get them."""
    rng = random.Random(11)
    world = _crowd(space, "arrivals" if deliver else "none", rng)
    free = space.free_cells()
    region = space._regions[free[0][1], free[0][0]]
    reachable = [c for c in free if space._regions[c[1], c[0]] == region]
    for agent in world.agents:  # everyone sets off before the timing; later, whoever arrives sets off again
        world.place(agent, rng.choice(reachable))
        world.move_to(agent, rng.choice(reachable))
    world.perceive()
    step_ms: list[float] = []
    perceive_ms: list[float] = []
    cpu_ms: list[float] = []
    with frozen_gc():  # as in a world's run: the collector leaves the objects made before it alone
        for step in range(steps):
            talkers = rng.sample(world.agents, AGENTS // 10)
            moves = {a.name: Action(type="MOVE_TO", content="{},{}".format(*rng.choice(reachable)))
                     for a in world.agents if not world._routes.get(a.name)}
            start, cpu = time.perf_counter(), time.process_time()
            world._step += 1
            world.perceive()
            perceived = time.perf_counter()
            for agent in talkers:
                if deliver:
                    world._handle_actions(agent, [Action(type="TALK", content=f"Hello at step {step}")])
                else:
                    world.hearers(agent)
            for agent in world.agents:
                if agent.name in moves:
                    world._handle_actions(agent, [moves[agent.name]])
            world._advance()
            step_ms.append((time.perf_counter() - start) * 1000)
            cpu_ms.append((time.process_time() - cpu) * 1000)
            perceive_ms.append((perceived - start) * 1000)
    return step_ms, perceive_ms, cpu_ms


def spatial(quick: bool) -> dict[str, Any]:
    space = city_map()
    steps = 15 if quick else 60
    own_ms, own_perceive_ms, own_cpu_ms = _spatial_steps(space, steps, deliver=False)
    full_ms, full_perceive_ms, full_cpu_ms = _spatial_steps(space, steps, deliver=True)
    figures = {"spatial_step_overhead_ms_1000": round(statistics.median(own_ms), 2),
               "spatial_step_overhead_cpu_ms_1000": round(statistics.median(own_cpu_ms), 2),
               "spatial_perception_ms_1000": round(statistics.median(own_perceive_ms), 2),
               "spatial_step_with_delivery_ms_1000": round(statistics.median(full_ms), 2),
               "spatial_step_with_delivery_cpu_ms_1000": round(statistics.median(full_cpu_ms), 2),
               "spatial_perception_with_delivery_ms_1000": round(statistics.median(full_perceive_ms), 2)}
    print(f"{AGENTS} agents on a {SIDE}x{SIDE} grid: the world's own work {figures['spatial_step_overhead_ms_1000']} "
          f"ms a step, {figures['spatial_step_overhead_cpu_ms_1000']} ms of CPU (perception "
          f"{figures['spatial_perception_ms_1000']} ms; goal <= 20); delivering the stimuli into the agents' "
          f"memories too: {figures['spatial_step_with_delivery_ms_1000']} ms, "
          f"{figures['spatial_step_with_delivery_cpu_ms_1000']} ms of CPU (perception "
          f"{figures['spatial_perception_with_delivery_ms_1000']} ms)")
    return figures


def pathfinding(quick: bool) -> dict[str, Any]:
    space = city_map()
    free = space.free_cells()
    rng = random.Random(5)
    space.plan(free[0], free[0])  # the map's regions and neighbour table, computed once per map
    times: list[float] = []
    cpu_times: list[float] = []
    unreachable = 0
    for _ in range(300 if quick else 2000):
        a, b = rng.choice(free), rng.choice(free)
        start, cpu = time.perf_counter(), time.process_time()
        try:
            space.plan(a, b)
        except Unreachable:
            unreachable += 1
        times.append((time.perf_counter() - start) * 1000)
        cpu_times.append((time.process_time() - cpu) * 1000)
    figures = {"pathfinding_p95_ms": _p95(times), "pathfinding_p95_cpu_ms": _p95(cpu_times),
               "pathfinding_p50_ms": round(statistics.median(times), 3), "pathfinding_unreachable": unreachable}
    print(f"paths on the {SIDE}x{SIDE} grid: p50 {figures['pathfinding_p50_ms']} ms, p95 "
          f"{figures['pathfinding_p95_ms']} ms, {figures['pathfinding_p95_cpu_ms']} ms of CPU (goal <= 5; "
          f"{unreachable} of {len(times)} pairs unreachable)")
    return figures


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return round(ordered[int(0.95 * (len(ordered) - 1))], 3)


#: the sections, in the order they run; each is ``(quick) -> figures``
SECTIONS: list[Callable[[bool], dict[str, Any]]] = [spatial, pathfinding]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (under a minute)")
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    for section in SECTIONS:
        figures.update(section(args.quick))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
