"""Schedules under a simulation: checkpoints keep them, and a re-run replays from the run file with the
same active sets (no call reaches the backend)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import agent_of, turn

from tinytroupe import control
from tinytroupe.agent import TinyPerson
from tinytroupe.environment import ActivitySchedule, EventScheduler, Routine, TinyWorld
from tinytroupe.llm import LLMRequest, ScriptedBackend
from tinytroupe.storage.trace_store import Trace


@pytest.fixture(autouse=True)
def _no_leftover_simulation() -> Any:
    yield
    control.reset()


def _reply(request: LLMRequest) -> dict[str, Any]:
    return turn(("THINK", f"{agent_of(request)} works"))


def _office() -> TinyWorld:
    world = TinyWorld("Office", [TinyPerson(f"P{i}") for i in range(6)], initial_datetime=datetime(2025, 1, 6, 8),
                      communication_display=False)  # the seed is the simulation's
    EventScheduler().attach(world).add("Stand-up", datetime(2025, 1, 6, 9, 30), rrule="FREQ=DAILY",
                                       reminders=["30m"], attendees=["P0", "P1"])
    ActivitySchedule(default=Routine(activity=0.4)).attach(world)
    return world


def _acted(history: list[dict[str, Any]] | None) -> list[list[str]]:
    assert history is not None
    return [sorted(step) for step in history]


def test_a_rerun_replays_the_same_active_sets_from_the_run_file(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    backend = ScriptedBackend(_reply)
    control.begin(path, backend=backend, quiet=True, seed=21)
    first = _acted(_office().run(6, timedelta(hours=1), return_actions=True))
    calls = backend.calls
    assert 0 < calls < 6 * 6
    control.end()
    trace = Trace(path).canonical()

    replay_backend = ScriptedBackend(_reply)
    sim = control.begin(path, backend=replay_backend, quiet=True, seed=21)
    assert _acted(_office().run(6, timedelta(hours=1), return_actions=True)) == first
    assert replay_backend.calls == 0 and sim.divergences == []
    control.end()
    assert Trace(path).canonical() == trace


def test_a_checkpoint_holds_the_schedules_and_a_restored_world_goes_on_as_before(tmp_path: Path) -> None:
    straight_backend = ScriptedBackend(_reply)
    control.begin(tmp_path / "straight.sqlite", backend=straight_backend, quiet=True, seed=5)
    straight = _office()
    whole = _acted(straight.run(8, timedelta(hours=1), return_actions=True))
    control.end()

    path = tmp_path / "run.sqlite"
    control.begin(path, backend=ScriptedBackend(_reply), quiet=True, seed=5)
    world = _office()
    head = _acted(world.run(3, timedelta(hours=1), return_actions=True))
    control.checkpoint("three hours in")
    control.end()

    with control.Simulation(path, backend=ScriptedBackend(_reply), quiet=True) as sim:
        fresh = TinyWorld("Office", initial_datetime=datetime(2000, 1, 1), communication_display=False)
        sim.restore(fresh)
        assert fresh.scheduler is not None and fresh.activity is not None
        assert fresh.scheduler.get_state() == world.scheduler.get_state()  # type: ignore[union-attr]
        assert fresh.activity.get_state() == world.activity.get_state()  # type: ignore[union-attr]
        tail = _acted(fresh.run(5, timedelta(hours=1), return_actions=True))
    assert head + tail == whole
    p0 = [i.content for i in fresh.get_agent_by_name("P0").memory.items() if i.kind == "stimulus"]
    assert p0 == [i.content for i in straight.get_agent_by_name("P0").memory.items() if i.kind == "stimulus"]
