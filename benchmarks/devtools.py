"""What the developer tools cost: the debugger attached to a running world.

Sections (each a function ``(quick) -> dict`` of figures; ``main`` runs them in order and prints one
JSON object of all their figures as its last line):

(a) ``debugger``: a ring of agents on the scripted backend (each TALKs to the next, then DONE; parallel
    steps; the usual client stack of ``build_client``) runs the same steps plain, and with a
    ``Debugger`` attached that has a breakpoint never met (``agent=Nobody``), run through
    ``Debugger.run`` (the run on a background thread, the seams checked, every event and call
    recorded). Rounds alternate between the two, each on fresh worlds; the overhead is the median
    over rounds of each debugged run's wall time over its round's plain one: ``debugger_overhead_pct``
    (goal <= 5), and
    ``debugger_attached_overhead_pct`` for a debugger with no breakpoint at all.

Usage::

    python benchmarks/devtools.py [--quick]

``--quick`` finishes in under a minute (fewer agents, steps and rounds).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tinytroupe.agent import TinyPerson  # noqa: E402
from tinytroupe.config import Settings  # noqa: E402
from tinytroupe.devtools.debugger import Debugger  # noqa: E402
from tinytroupe.environment import TinyWorld  # noqa: E402
from tinytroupe.llm import ScriptedBackend  # noqa: E402
from tinytroupe.llm.factory import build_client  # noqa: E402
from tinytroupe.llm.types import LLMRequest  # noqa: E402


def _ring_world(agents: int) -> TinyWorld:
    names = [f"P{i:03d}" for i in range(agents)]

    def reply(request: LLMRequest) -> str:
        system = request.messages[0].content
        me = next(n for n in names if f"Name: {n}" in system)
        target = names[(names.index(me) + 1) % len(names)]
        return json.dumps({"actions": [{"type": "TALK", "content": f"hello {target}", "target": target},
                                       {"type": "DONE"}], "cognitive_state": {"goals": "chat"}})

    client = build_client(Settings(), backend=ScriptedBackend(reply))
    people = [TinyPerson(n) for n in names]
    world = TinyWorld("Ring", people, client=client, communication_display=False, parallelize=True, seed=1)
    for i, person in enumerate(people):
        person.make_agent_accessible(people[(i + 1) % len(people)])
    return world


def _timed(agents: int, steps: int, mode: str) -> float:
    world = _ring_world(agents)
    world.run(1)  # warm-up: clients ready, first prompts built
    if mode == "plain":
        start = time.perf_counter()
        world.run(steps)
        return time.perf_counter() - start
    dbg = Debugger(world, breakpoints=["agent=Nobody"] if mode == "breakpoint" else ())
    try:
        start = time.perf_counter()
        pause = dbg.run(steps)
        wall = time.perf_counter() - start
    finally:
        dbg.detach()
    if pause.reason != "finished":
        raise RuntimeError(f"the debugged run did not finish: {pause}")
    return wall


def debugger_section(quick: bool) -> dict[str, Any]:
    """(a): the debugger's overhead when attached and no breakpoint is hit."""
    agents, steps, rounds = (20, 6, 7) if quick else (40, 10, 9)
    walls: dict[str, list[float]] = {"plain": [], "breakpoint": [], "attached": []}
    for _ in range(rounds):
        for mode in walls:  # back to back, so drift in the machine's speed hits every mode alike
            walls[mode].append(_timed(agents, steps, mode))
    med = {mode: statistics.median(values) for mode, values in walls.items()}

    def overhead(mode: str) -> float:
        # the median of each round's ratio to its own plain run: robust to a busy machine between rounds
        ratios = [w / p for w, p in zip(walls[mode], walls["plain"], strict=True)]
        return round((statistics.median(ratios) - 1) * 100, 2)

    turns = agents * steps
    print(f"(a) {agents} agents x {steps} steps, {rounds} rounds each (median wall): plain {med['plain']:.3f} s "
          f"({turns / med['plain']:.0f} turns/s); debugger with a breakpoint never met {med['breakpoint']:.3f} s; "
          f"debugger without breakpoints {med['attached']:.3f} s")
    return {
        "debugger_overhead_pct": overhead("breakpoint"),
        "debugger_attached_overhead_pct": overhead("attached"),
        "debugger_turns_per_s_plain": round(turns / med["plain"], 1),
    }


#: the sections, in order; each returns its figures
SECTIONS: list[Callable[[bool], dict[str, Any]]] = [debugger_section]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run, under a minute")
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    for section in SECTIONS:
        figures.update(section(args.quick))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
