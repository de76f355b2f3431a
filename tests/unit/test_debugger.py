"""The debugger: each breakpoint kind, stepping by turn and by step, state edits (applied, seen in the
next prompt, traced), prompts and answers of turns, and a run left as it would be without it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tinytroupe import control
from tinytroupe.agent import TinyPerson
from tinytroupe.devtools.debugger import Breakpoint, Debugger
from tinytroupe.environment import TinyWorld
from tinytroupe.environment.executors import LocalExecutor
from tinytroupe.errors import InvalidArgument, InvalidState, NotFound
from tinytroupe.events import ActionEvent, LLMCallEvent, StimulusEvent
from tinytroupe.llm import LLMClient, ScriptedBackend
from tinytroupe.storage.trace_store import Trace


def _reply(request: Any) -> str:
    """Each agent says who it is and what step it believes it is; 'Ben' fails when asked to."""
    text = request.messages[-1].content
    who = "Ana" if "Ana" in request.messages[0].content else "Ben"
    if "FAIL" in text and who == "Ben":
        return "not json at all"
    return json.dumps({"actions": [{"type": "TALK", "content": f"{who} here, about coffee"}, {"type": "DONE"}],
                       "cognitive_state": {"goals": f"{who} wants coffee"}})


def _world(parallel: bool = False, names: tuple[str, ...] = ("Ana", "Ben")) -> TinyWorld:
    client = LLMClient(ScriptedBackend(_reply), max_reasks=0)
    world = TinyWorld("Cafe", [TinyPerson(n) for n in names], client=client, communication_display=False,
                      parallelize=parallel, seed=3)
    world.make_everyone_accessible()
    return world


@pytest.fixture
def dbg() -> Any:
    world = _world()
    debugger = Debugger(world)
    yield debugger
    if debugger.paused is not None:
        debugger.quit()
    debugger.detach()


def test_breakpoint_on_agent_pauses_after_its_turn(dbg: Debugger) -> None:
    dbg.break_on(agent="Ben", kind="action")
    pause = dbg.run(2)
    assert pause.reason == "breakpoint" and pause.agent == "Ben" and pause.step == 1
    assert {h.event["agent"] for h in pause.hits} == {"Ben"}
    assert dbg.agent("Ben").turns == 1
    follow = dbg.continue_()
    assert follow.reason == "breakpoint" and follow.step == 2
    assert dbg.continue_().reason == "finished"


def test_breakpoint_on_action_type_and_text(dbg: Debugger) -> None:
    dbg.break_on("action=think")
    dbg.break_on("text='ana here'")
    pause = dbg.run(1)
    assert pause.reason == "breakpoint"
    assert [h.breakpoint.id for h in pause.hits] == [2]  # no THINK was taken; the text matched Ana's TALK
    assert pause.hits[0].event["content"] == "Ana here, about coffee"


def test_breakpoint_on_step_pauses_before_that_steps_turns(dbg: Debugger) -> None:
    dbg.break_on(step=2)
    pause = dbg.run(3)
    assert pause.reason == "breakpoint" and pause.step == 2
    assert "before the turn" in pause.where
    assert dbg.worlds[0].current_step == 2 and all(dbg.agent(n).turns == 1 for n in ("Ana", "Ben"))
    dbg.clear()
    assert dbg.continue_().reason == "finished"
    assert dbg.worlds[0].current_step == 3


def test_breakpoint_on_error_pauses_after_the_failed_turn(dbg: Debugger) -> None:
    dbg.break_on("error")
    dbg.worlds[0].broadcast("FAIL now please")
    pause = dbg.run(1)
    assert pause.reason == "breakpoint" and pause.agent == "Ben"
    kinds = {h.event["kind"] for h in pause.hits}
    assert "agent_error" in kinds
    assert dbg.continue_().reason == "finished"
    assert [e.agent for e in dbg.worlds[0].errors] == ["Ben"]


def test_breakpoint_parsing_and_validation() -> None:
    bp = Breakpoint.parse("agent=Ana step=3 error")
    assert (bp.agent, bp.step, bp.error) == ("Ana", 3, True)
    assert Breakpoint.parse(bp.describe()) == bp
    with pytest.raises(InvalidArgument, match="unknown condition 'who'"):
        Breakpoint.parse("who=Ana")
    with pytest.raises(InvalidArgument, match="step must be a number"):
        Breakpoint.parse("step=x")
    with pytest.raises(InvalidArgument, match="at least one condition"):
        Breakpoint()
    assert Breakpoint(kind="llm_call", error=True).matches(LLMCallEvent(model="m", error="boom"))
    assert not Breakpoint(kind="llm_call", error=True).matches(LLMCallEvent(model="m"))
    assert Breakpoint(text="COFFEE").matches(StimulusEvent(stimulus_type="CONVERSATION", content="more coffee?"))
    assert not Breakpoint(action="TALK").matches(StimulusEvent(stimulus_type="TALK", content=""))


def test_step_by_turn_pauses_after_each_turn_in_a_parallel_step() -> None:
    world = _world(parallel=True, names=("Ana", "Ben", "Cleo"))
    dbg = Debugger(world)
    try:
        first = dbg.run(1, stop_at="turn")
        assert first.reason == "turn" and first.agent == "Ana"
        assert [dbg.agent(n).turns for n in ("Ana", "Ben", "Cleo")] == [1, 0, 0]
        # nothing delivered yet: a parallel step's messages arrive after every turn
        assert not any("Ana here" in str(i) for i in dbg.memories("Ben"))
        second = dbg.turn()
        assert second.agent == "Ben" and dbg.agent("Cleo").turns == 0
        named = dbg.turn("Ana")  # Cleo's turn, then the step ends: Ana's next turn is in no step
        assert named.reason == "finished"
        assert [dbg.agent(n).turns for n in ("Ana", "Ben", "Cleo")] == [1, 1, 1]
    finally:
        dbg.detach()


def test_step_pauses_at_the_end_of_each_world_step(dbg: Debugger) -> None:
    pause = dbg.run(3, stop_at="step")
    assert (pause.reason, pause.step) == ("step", 1)
    assert all(dbg.agent(n).turns == 1 for n in ("Ana", "Ben"))
    assert dbg.step().step == 2
    turn = dbg.turn()
    assert turn.reason == "turn" and turn.step == 3
    assert sum(dbg.agent(n).turns for n in ("Ana", "Ben")) == 5
    assert dbg.continue_().reason == "finished"


def test_edit_is_applied_seen_in_the_next_prompt_and_traced(tmp_path: Any) -> None:
    path = tmp_path / "run.sqlite"
    control.begin(path, backend=ScriptedBackend(_reply), quiet=True)
    world = TinyWorld("Cafe", [TinyPerson("Ana"), TinyPerson("Ben")], communication_display=False,
                      parallelize=False)
    dbg = Debugger(world, breakpoints=["agent=Ana action=TALK"])
    try:
        assert dbg.run(2).reason == "breakpoint"
        event = dbg.edit("Ana", "persona.occupation", "astronaut")
        assert (event.before, event.after, event.path) == (None, "astronaut", "persona.occupation")
        dbg.edit("Ana", "cognitive_state.goals", "find the moon")
        talk = next(i for i, m in enumerate(dbg.memories("Ana", None)) if m["type"] == "TALK")
        dbg.edit("Ana", f"memory.items[{talk}].content", "Ana here, about tea")
        dbg.delete("Ana", "memory.items[-1]")  # her DONE
        assert dbg.agent("Ana").get("occupation") == "astronaut"
        assert [m["type"] for m in dbg.memories("Ana")][-1] == "TALK"
        prompt = "\n".join(m["content"] for m in dbg.next_prompt("Ana"))
        assert "astronaut" in prompt and "find the moon" in prompt and "about tea" in prompt
        dbg.clear()
        assert dbg.continue_().reason == "finished"
        sent = "\n".join(m["content"] for m in dbg.prompt("Ana").prompt)
        assert "astronaut" in sent and "about tea" in sent  # the next turn really sent it
    finally:
        dbg.quit()
        dbg.detach()
        control.end()
    edits = Trace(path).events(kinds=["state_edit"])
    assert [(e["agent"], e["path"], e["operation"]) for e in edits] == [
        ("Ana", "persona.occupation", "set"), ("Ana", "cognitive_state.goals", "set"),
        ("Ana", f"memory.items[{talk}].content", "set"), ("Ana", "memory.items[-1]", "delete")]
    assert edits[1]["after"] == "find the moon" and edits[0]["step"] == 1
    assert edits[3]["before"]["type"] == "DONE" and edits[3]["after"] is None


def test_bad_edits_leave_the_agent_unchanged(dbg: Debugger) -> None:
    before = dbg.state("Ana")
    with pytest.raises(InvalidArgument, match="turns"):
        dbg.edit("Ana", "turns", "many")
    with pytest.raises(NotFound, match=r"memory.items\[5\]"):
        dbg.edit("Ana", "memory.items[5].content", "x")
    with pytest.raises(InvalidArgument, match="name cannot be edited"):
        dbg.edit("Ana", "name", "Zoe")
    with pytest.raises(InvalidArgument, match="malformed"):
        dbg.edit("Ana", "persona..age", 3)
    with pytest.raises(NotFound, match="no agent 'Zed'"):
        dbg.show("Zed")
    assert dbg.state("Ana") == before
    assert dbg.events(kind="state_edit") == []


def test_prompt_and_answer_of_each_turn(dbg: Debugger) -> None:
    dbg.run(2, stop_at="step")
    dbg.continue_()
    first, last = dbg.prompt("Ben", 1), dbg.prompt("Ben")
    assert (first.turn, first.step, last.turn, last.step) == (1, 1, 2, 2)
    assert first.prompt[0]["role"] == "system" and "Ben" in first.prompt[0]["content"]
    assert json.loads(last.answer or "")["actions"][0]["content"] == "Ben here, about coffee"
    assert dbg.prompt("Ben", -2) == first
    with pytest.raises(NotFound, match="recorded turns: 1, 2"):
        dbg.prompt("Ben", 7)


def test_show_summarises_the_state_model(dbg: Debugger) -> None:
    dbg.run(1)
    view = dbg.show("Ana")
    assert view.name == "Ana" and view.turns == 1 and view.world == "Cafe"
    assert view.cognitive_state["goals"] == "Ana wants coffee"
    assert view.accessible == ["Ben"] and view.recent and view.episodic_items >= 2
    assert dbg.state("Ana", "persona.name") == "Ana"


def test_without_breakpoints_the_run_is_untouched_and_detach_restores() -> None:
    plain, debugged = _world(parallel=True), _world(parallel=True)
    executor = debugged.executor
    dbg = Debugger(debugged)
    plain.run(2)
    assert dbg.run(2).reason == "finished"
    assert [a.to_state()["memory"]["items"] for a in plain.agents] == \
        [a.to_state()["memory"]["items"] for a in debugged.agents]
    assert len(dbg.events(0, kind="action")) == 8 and len(dbg.log.calls) == 4
    dbg.detach()
    assert debugged.executor is executor and isinstance(executor, LocalExecutor)
    assert debugged.step_end_hooks == () and debugged.client.backend.find(ScriptedBackend) is not None
    assert type(debugged.client.backend).__name__ == "UsageWrapper"


def test_quit_stops_the_run_where_it_paused(dbg: Debugger) -> None:
    dbg.break_on("agent=Ana")
    dbg.run(5)
    assert dbg.quit().reason == "quit"
    assert dbg.worlds[0].current_step == 1
    with pytest.raises(InvalidState, match="not paused"):
        dbg.continue_()


def test_breakpoints_without_a_debugger_run_are_recorded_not_paused(dbg: Debugger) -> None:
    dbg.break_on("agent=Ana action=TALK")
    dbg.worlds[0].run(1)
    assert [h.event["agent"] for h in dbg.unattended_hits] == ["Ana"]


def test_one_debugger_per_world() -> None:
    world = _world()
    first = Debugger(world)
    with pytest.raises(InvalidState, match="already has a debugger"):
        Debugger(world)
    first.detach()
    Debugger(world).detach()


def test_catching_worlds_attaches_to_worlds_built_inside() -> None:
    dbg = Debugger()
    with dbg.catching_worlds():
        world = _world()
    assert dbg.worlds == [world]
    dbg.detach()
    assert ActionEvent(action_type="TALK").kind == "action"
