"""Specialised worlds: what their own mechanics cost or save per step, apart from the LLM calls.

Each section is a function ``(quick) -> dict`` of figures; :func:`main` runs them in order, prints what
each measured and, as its last line, all figures as one JSON object. A new world adds its section to
``SECTIONS``.

- ``idle_agents_calls_saved_pct`` (:func:`idle_section`): the share of agent-turn LLM calls that activity
  scheduling saves in an office: 100 agents with office-hours routines (Monday to Friday, 09:00-17:00)
  who act in 60 % of their working hours, and a 09:30 stand-up that pulls everyone in, over a simulated
  Monday in one-hour steps (24 steps). Both runs are real, on the scripted backend: the calls of the
  world without an activity schedule (everyone acts in every step) against those of the same world with
  one; ``100 × (1 − with / without)``. ``idle_agents_calls_with`` / ``_without`` are the two counts,
  ``idle_select_us_per_agent`` what choosing who acts costs per agent and step (the mean over the day,
  1,000 agents). Without ``--quick`` the same over a whole week too (``idle_agents_calls_saved_pct_week``:
  weekends are idle).

Usage::

    python benchmarks/worlds.py [--quick]

``--quick``: the Monday only (well under a minute); otherwise the Monday and a week.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from tinytroupe.agent import TinyPerson
from tinytroupe.environment import ActivitySchedule, EventScheduler, Routine, TinyWorld
from tinytroupe.llm import LLMClient, ScriptedBackend

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


#: the sections, in the order they run; each is ``(quick) -> figures``
SECTIONS: list[Callable[[bool], dict[str, Any]]] = [idle_section]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the Monday only (under a minute)")
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    for section in SECTIONS:
        figures.update(section(args.quick))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
