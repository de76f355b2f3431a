"""Specialised worlds: what their own mechanics cost, with no LLM call (each section one world kind).

- ``market_transactions_per_s`` (goal >= 5,000): accepted market transactions per second through the
  :class:`~tinytroupe.environment.Market` engine of a ``TinyMarketplace``, each written to a ledger
  in a real run file (SQLite, WAL) through the run's background writer, as under a simulation; the
  final flush of the writer is timed too. The load: 200 traders and 10 products, a seeded random
  mix of OFFER (40%), BUY (40%, half of them with a ``max_price`` that may leave a buy order) and
  SELL (20%) at prices around the reference price; every action counts, refused ones as well, but
  only accepted ones are transactions. After every 200 actions a step closes (the price rule and the
  metrics rows). Also reported: ``market_trades_per_s`` (fills), ``market_refused_pct``,
  ``market_engine_transactions_per_s`` (no ledger), and ``market_tool_transactions_per_s``: the same
  load through the market tool as a marketplace carries out an agent's actions (JSON arguments
  validated by pydantic, the result model, the observation the agent perceives).
  ``market_transactions_per_cpu_s`` divides by the CPU time the process spent instead (the writer
  thread included): the figure a loaded machine cannot depress by keeping the process waiting.
- ``idle_agents_calls_saved_pct`` (:func:`idle_section`): the share of agent-turn LLM calls that activity
  scheduling saves in an office: 100 agents with office-hours routines (Monday to Friday, 09:00-17:00)
  who act in 60 % of their working hours, and a 09:30 stand-up that pulls everyone in, over a simulated
  Monday in one-hour steps (24 steps). Both runs are real, on the scripted backend: the calls of the
  world without an activity schedule (everyone acts in every step) against those of the same world with
  one; ``100 × (1 − with / without)``. ``idle_agents_calls_with`` / ``_without`` are the two counts,
  ``idle_select_us_per_agent`` what choosing who acts costs per agent and step (the mean over the day,
  1,000 agents). Without ``--quick`` the same over a whole week too (``idle_agents_calls_saved_pct_week``:
  weekends are idle).
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

``--quick``: 20,000 market actions per measurement (about 20 s), the idle agents over a Monday, 15
spatial steps and 300 paths; otherwise 200,000 actions, the Monday and a week, 60 steps and 2,000
paths. Each market engine figure is the best of 3 rounds (on a shared machine the slower rounds
measure the neighbours). The last line is one JSON object merging every section's figures.
"""

from __future__ import annotations

import importlib.util
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("tinytroupe") is None:
    sys.path.insert(0, str(ROOT))

from world_throughput import run_sections  # noqa: E402

from tinytroupe.agent import TinyPerson  # noqa: E402
from tinytroupe.agent.actions import Action  # noqa: E402
from tinytroupe.environment import ActivitySchedule, EventScheduler, GridMap, Routine, SpatialWorld, TinyWorld  # noqa: E402
from tinytroupe.environment.market import Market  # noqa: E402
from tinytroupe.environment.spatial import Unreachable  # noqa: E402
from tinytroupe.errors import InvalidArgument  # noqa: E402
from tinytroupe.gc_freeze import frozen_gc  # noqa: E402
from tinytroupe.llm import LLMClient, ScriptedBackend  # noqa: E402

MARKET_AGENTS = 200
MARKET_PRODUCTS = 10
STEP_EVERY = 200


def _market(recorder: Callable[..., None] | None = None) -> Market:
    market = Market([{"name": f"p{i}", "price": 10 + i} for i in range(MARKET_PRODUCTS)], recorder=recorder)
    for a in range(MARKET_AGENTS):
        market.deposit(f"a{a}", 100_000)
        for i in range(MARKET_PRODUCTS):
            market.add_stock(f"a{a}", f"p{i}", 1_000)
    return market


def _load(n: int, seed: int = 7) -> list[tuple[str, str, str, int, int | None]]:
    """``n`` actions: (kind, agent, product, quantity, price in cents or None)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        i = rng.randrange(MARKET_PRODUCTS)
        ref = (10 + i) * 100
        kind = rng.choices(("offer", "buy", "sell"), (4, 4, 2))[0]
        price: int | None = ref + rng.randint(-ref // 10, ref // 10)
        if kind == "buy" and rng.random() < 0.5:
            price = None  # a market order
        out.append((kind, f"a{rng.randrange(MARKET_AGENTS)}", f"p{i}", rng.randint(1, 5), price))
    return out


def _engine_run(market: Market, load: list[tuple[str, str, str, int, int | None]]) -> tuple[int, int]:
    accepted = 0
    for k, (kind, agent, product, quantity, price) in enumerate(load):
        if k % STEP_EVERY == 0:
            market.close_step()
            market.begin_step(k // STEP_EVERY + 1)
        money = None if price is None else f"{price // 100}.{price % 100:02d}"
        try:
            if kind == "offer":
                market.offer(agent, product, quantity, money)
            elif kind == "buy":
                market.buy(agent, product, quantity, max_price=money)
            else:
                market.sell(agent, product, quantity, min_price=money)
            accepted += 1
        except InvalidArgument:
            pass
    return accepted, len(load)


def _tool_run(load: list[tuple[str, str, str, int, int | None]]) -> int:
    from tinytroupe.agent import TinyPerson
    from tinytroupe.agent.actions import Action
    from tinytroupe.environment.market_tool import MarketAccess, MarketTool

    market = _market()
    access = MarketAccess(MarketTool(market=market))
    people = {f"a{a}": TinyPerson(f"a{a}") for a in range(MARKET_AGENTS)}
    accepted = 0
    for k, (kind, agent, product, quantity, price) in enumerate(load):
        if k % STEP_EVERY == 0:
            market.close_step()
            market.begin_step(k // STEP_EVERY + 1)
        args: dict[str, Any] = {"product": product, "quantity": quantity}
        if price is not None:
            key = {"offer": "price", "buy": "max_price", "sell": "min_price"}[kind]
            args[key] = f"{price // 100}.{price % 100:02d}"
        action = Action(type=kind.upper(), content=json.dumps(args))
        outcome = access.carry_out(people[agent], [action], "Market", k // STEP_EVERY + 1)[0]
        accepted += outcome.error is None
    return accepted


def market_section(quick: bool) -> dict[str, Any]:
    """The marketplace's own throughput (no LLM calls): see the module docstring."""
    n = 20_000 if quick else 200_000
    load = _load(n)
    # best of 3 rounds: on a shared machine the slowest rounds measure the neighbours
    best: tuple[float, int, int, int, int] | None = None
    for _ in range(3):
        outcome = _ledger_round(load)
        if best is None or outcome[0] < best[0]:
            best = outcome
    assert best is not None
    wall, accepted, total, fills, rows = best
    wall_plain = min(_timed(lambda: _engine_run(_market(), load)) for _ in range(3))
    accepted_plain = accepted
    tool_n = max(2_000, n // 10)
    started = time.perf_counter()
    accepted_tool = _tool_run(load[:tool_n])
    wall_tool = time.perf_counter() - started
    figures = {
        "market_transactions_per_s": round(accepted / wall),
        "market_trades_per_s": round(fills / wall),
        "market_transactions_per_cpu_s": round(accepted / min(_CPU)),
        "market_refused_pct": round(100 * (total - accepted) / total, 1),
        "market_ledger_rows": rows,
        "market_engine_transactions_per_s": round(accepted_plain / wall_plain),
        "market_tool_transactions_per_s": round(accepted_tool / wall_tool),
        "market_actions": total,
    }
    print(f"market ({MARKET_AGENTS} traders, {MARKET_PRODUCTS} products, {total:,} actions): "
          f"{figures['market_transactions_per_s']:,} transactions/s with the run-file ledger (goal >= 5,000), "
          f"{figures['market_trades_per_s']:,} fills/s, {figures['market_refused_pct']}% refused; engine alone "
          f"{figures['market_engine_transactions_per_s']:,}/s; through the market tool "
          f"{figures['market_tool_transactions_per_s']:,}/s")
    return figures


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


_CPU: list[float] = []  # CPU seconds of each ledger round (this process's threads: the writer's too)


def _ledger_round(load: list[tuple[str, str, str, int, int | None]]) -> tuple[float, int, int, int, int]:
    """One run of ``load`` with the ledger in a fresh run file: wall seconds, accepted, actions, fills, rows."""
    from tinytroupe.storage.market_ledger import MarketLedger
    from tinytroupe.storage.writer import BatchWriter

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run.sqlite"
        writer = BatchWriter(path)
        ledger = MarketLedger(path, "bench", writer=writer)
        fills = [0]

        def record(step: int, seq: int, trades: list[Any]) -> None:
            fills[0] += len(trades)
            ledger.record("Market", step, seq, [_row(t) for t in trades])

        market = _market(record)
        started, cpu = time.perf_counter(), time.process_time()
        accepted, total = _engine_run(market, load)
        writer.flush()
        wall = time.perf_counter() - started
        _CPU.append(time.process_time() - cpu)
        rows = ledger.count()
        ledger.close()
        writer.close()
    return wall, accepted, total, fills[0], rows


def _row(trade: Any) -> Any:
    from tinytroupe.storage.market_ledger import LedgerRow

    return LedgerRow(world="Market", **dict(trade))


MONDAY = datetime(2025, 1, 6, 0, 0)
_DONE = {"actions": [{"type": "DONE"}], "cognitive_state": {}}


def _office(agents: int, scheduled: bool) -> tuple[TinyWorld, ScriptedBackend]:
    backend = ScriptedBackend([_DONE], cycle=True)
    world = TinyWorld("Office", [TinyPerson(f"Worker {i:03d}") for i in range(agents)], initial_datetime=MONDAY,
                      client=LLMClient(backend), communication_display=False, seed=2025)
    EventScheduler().attach(world).add("Stand-up", datetime(2025, 1, 6, 9, 30), duration_minutes=15,
                                       rrule="FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", reminders=["15m"])
    if scheduled:
        ActivitySchedule(default=Routine.office_hours(activity=0.6)).attach(world)
    return world, backend


def _calls(agents: int, steps: int, scheduled: bool) -> tuple[int, float]:
    world, backend = _office(agents, scheduled)
    started = time.perf_counter()
    world.run(steps, timedelta(hours=1))
    return backend.calls, time.perf_counter() - started


def _select_us_per_agent(agents: int) -> float:
    world, _ = _office(agents, True)
    assert world.activity is not None
    times = []
    for step in range(1, 25):
        world._step, world._datetime = step, MONDAY + timedelta(hours=step)
        started = time.perf_counter()
        world.activity.select(world)
        times.append(time.perf_counter() - started)
    return statistics.fmean(times) / agents * 1e6  # over the day: in working hours each agent draws


def idle_section(quick: bool) -> dict[str, Any]:
    """Calls saved by activity scheduling (see the module docstring)."""
    figures: dict[str, Any] = {}
    spans = [("", 24)] if quick else [("", 24), ("_week", 24 * 7)]
    for suffix, steps in spans:
        without, wall_without = _calls(100, steps, scheduled=False)
        with_, wall_with = _calls(100, steps, scheduled=True)
        saved = round(100 * (1 - with_ / without), 1)
        print(f"idle agents over {steps} one-hour steps: {with_} calls with routines, {without} without "
              f"({wall_with:.1f} s vs {wall_without:.1f} s): {saved} % saved")
        figures[f"idle_agents_calls_saved_pct{suffix}"] = saved
        figures[f"idle_agents_calls_with{suffix}"] = with_
        figures[f"idle_agents_calls_without{suffix}"] = without
    figures["idle_select_us_per_agent"] = round(_select_us_per_agent(1000), 2)
    print(f"choosing who acts: {figures['idle_select_us_per_agent']} µs per agent and step (1,000 agents)")
    return figures


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
#: every section of this benchmark, each ``f(quick) -> figures``; their figures are merged
SECTIONS: list[Callable[[bool], dict[str, Any]]] = [market_section, idle_section, spatial, pathfinding]


def main() -> None:
    run_sections(SECTIONS, __doc__.split("\n\n")[0] if __doc__ else None, "smaller loads (under a minute)")


if __name__ == "__main__":
    main()
