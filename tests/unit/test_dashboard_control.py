"""The dashboard's controls over the debugger: pause stops the steps, step advances exactly one, injections
and edits land on the paused world (and in its next prompt), stop ends the run."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from dashboard_support import cafe, step_ends

from tinytroupe.dashboard.control import DashboardController
from tinytroupe.dashboard.hub import EventHub
from tinytroupe.devtools.debugger import Debugger
from tinytroupe.environment import TinyWorld
from tinytroupe.errors import InvalidArgument, InvalidState, NotFound, TinyTroupeError


class Driven:
    def __init__(self, world: TinyWorld, steps: int, *, start_paused: bool) -> None:
        self.world = world
        self.hub = EventHub().attach(world.bus)
        self.control = DashboardController(Debugger(world), self.hub)
        self.thread = threading.Thread(target=self.control.drive, args=(world.arun(steps),),
                                       kwargs={"start_paused": start_paused})
        self.thread.start()

    def close(self) -> None:
        if self.control.state not in ("finished", "failed", "stopped"):
            self.control.command("stop")
        self.thread.join(10)
        self.control.debugger.detach()
        self.hub.detach()


@pytest.fixture
def paused() -> Iterator[Driven]:
    world, _ = cafe()
    driven = Driven(world, 20, start_paused=True)
    driven.control.wait_for("paused")
    yield driven
    driven.close()


def test_step_advances_exactly_one_step_and_pauses_again(paused: Driven) -> None:
    assert step_ends(paused.hub.events()) == [1]
    for expected in (2, 3):
        paused.control.command("step")
        status = paused.control.wait_for("paused")
        assert status["step"] == expected and status["reason"] == "step"
        assert step_ends(paused.hub.events()) == list(range(1, expected + 1))
    time.sleep(0.2)  # paused: nothing more happens
    assert step_ends(paused.hub.events()) == [1, 2, 3]


def test_pause_stops_a_running_run_at_the_end_of_its_step() -> None:
    world, _ = cafe(latency_s=0.01)
    driven = Driven(world, 200, start_paused=False)
    try:
        deadline = time.monotonic() + 10
        while len(step_ends(driven.hub.events())) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        driven.control.command("pause")
        status = driven.control.wait_for("paused")
        ended = step_ends(driven.hub.events())
        assert status["step"] == ended[-1] == world.current_step
        time.sleep(0.3)
        assert step_ends(driven.hub.events()) == ended  # no step ran while paused
        driven.control.command("play")
        deadline = time.monotonic() + 10
        while len(step_ends(driven.hub.events())) == len(ended) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(step_ends(driven.hub.events())) > len(ended)
    finally:
        driven.close()


def test_an_edit_while_paused_is_traced_and_in_the_next_prompt(paused: Driven) -> None:
    edit = paused.control.edit("Ana", "persona.occupation", "lighthouse keeper")
    assert edit.before is None and edit.after == "lighthouse keeper"
    assert any(e["kind"] == "state_edit" and e["path"] == "persona.occupation" for e in paused.hub.events())
    assert "lighthouse keeper" in str(paused.control.next_prompt("Ana"))
    paused.control.command("step")
    paused.control.wait_for("paused")
    assert "lighthouse keeper" in str(paused.control.debugger.prompt("Ana").prompt)
    with pytest.raises(TinyTroupeError, match=r"persona\.age"):  # refused by the persona model, agent unchanged
        paused.control.edit("Ana", "persona.age", "not a number")


def test_injections_reach_one_agent_or_everyone_as_stimuli(paused: Driven) -> None:
    assert paused.control.inject("The cafe closes soon.", source="Owner") == 2
    assert paused.control.inject("I should order tea", kind="thought", target="Ben") == 1
    stimuli = [e for e in paused.hub.events() if e["kind"] == "stimulus" and e["step"] == 1 and
               e["content"] in ("The cafe closes soon.", "I should order tea")]
    assert sorted((e["agent"], e["stimulus_type"]) for e in stimuli) == [
        ("Ana", "CONVERSATION"), ("Ben", "CONVERSATION"), ("Ben", "THOUGHT")]
    with pytest.raises(NotFound):
        paused.control.inject("hi", target="Zoe")
    with pytest.raises(InvalidArgument, match="empty"):
        paused.control.inject("  ")


def test_edits_and_injections_need_a_pause_and_an_ended_run_takes_no_command() -> None:
    world, _ = cafe()
    driven = Driven(world, 2, start_paused=False)
    driven.thread.join(10)
    assert driven.control.state == "finished" and step_ends(driven.hub.events()) == [1, 2]
    with pytest.raises(InvalidState, match="pause the run"):
        driven.control.edit("Ana", "persona.age", 3)
    with pytest.raises(InvalidState, match="finished"):
        driven.control.command("step")
    with pytest.raises(InvalidArgument):
        driven.control.command("jump")  # type: ignore[arg-type]
    driven.close()


def test_stop_ends_a_paused_run(paused: Driven) -> None:
    paused.control.command("stop")
    paused.thread.join(10)
    assert paused.control.state == "stopped" and paused.control.outcome is not None
    assert paused.control.outcome.reason == "quit" and paused.hub.status["state"] == "stopped"
