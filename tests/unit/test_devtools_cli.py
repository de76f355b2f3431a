"""``tinytroupe debug`` (its command prompt fed from stdin), ``tinytroupe inspect`` on a recorded run and
``tinytroupe replay`` with its divergence report; the run-file inspector on a run made with control.begin."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tinytroupe import control
from tinytroupe.agent import TinyPerson
from tinytroupe.cli import app
from tinytroupe.devtools.debugger import Debugger
from tinytroupe.devtools.inspector import RunFileInspector
from tinytroupe.environment import TinyWorld
from tinytroupe.errors import NotFound
from tinytroupe.llm import ScriptedBackend

SCENARIO = """
name: Tea talk
seed: 7
world: {name: Kitchen, initial_datetime: 2025-01-06T09:00:00}
agents:
  - persona: {name: Ana, age: 30, occupation: baker}
  - persona: {name: Ben, age: 41, occupation: nurse}
script:
  - broadcast: "Tea or coffee this morning?"
  - run: 2
"""


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "tea.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def _debug(args: list[str], commands: list[str]) -> Any:
    return CliRunner().invoke(app, ["debug", *args, "--backend", "scripted", "--quiet"],
                              input="\n".join(commands) + "\n")


def test_debug_prompt_breaks_inspects_edits_and_steps(scenario: Path, tmp_path: Path) -> None:
    run_file = tmp_path / "tea.sqlite"
    result = _debug([str(scenario), "--break", "agent=Ben kind=action", "--run-file", str(run_file)], [
        "breaks", "continue", "where", "show Ben", "prompt Ben", "edit Ben persona.age 42",
        "edit Ben cognitive_state.goals \"drink green tea\"", "state Ben persona.age", "next Ben",
        "memories Ben 3", "events 3", "clear", "turn", "step", "bogus", "prompt Zed", "continue", "continue", "quit"])
    out = result.output
    assert result.exit_code == 0, out
    assert "#1  agent=Ben kind=action" in out
    assert "paused (breakpoint): world 'Kitchen', step 1" in out and "breakpoint #1" in out
    assert "occupation" in out and "nurse" in out  # show
    assert "answer (call 1)" in out and "Tea or coffee this morning?" in out  # the exact prompt and answer
    assert "Ben.persona.age: 41 -> 42" in out and "drink green tea" in out
    assert "paused (turn)" in out and "paused (step)" in out
    assert "unknown command 'bogus'" in out and "no agent 'Zed'" in out
    assert "run over (finished)" in out and "the run is over" in out
    assert f"recorded in {run_file}" in out.replace("\n", "")
    with RunFileInspector(run_file) as run:
        edits = run.trace.events(kinds=["state_edit"])
        assert [(e["agent"], e["path"], e["after"]) for e in edits] == [
            ("Ben", "persona.age", 42), ("Ben", "cognitive_state.goals", "drink green tea")]
        assert run.agent_state("Ben")["persona"]["persona"]["age"] == 42
        assert "drink green tea" in json.dumps(run.turn("Ben", 2).prompt)


def test_debug_end_of_input_quits_and_bad_scenario_fails(scenario: Path, tmp_path: Path) -> None:
    result = _debug([str(scenario), "--break", "step=1"], ["continue"])
    assert result.exit_code == 0 and "paused (breakpoint)" in result.output and "run over (quit)" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nagents: []\nscript: [{run: 1}]\n", encoding="utf-8")
    failed = _debug([str(bad)], ["continue"])
    assert failed.exit_code == 1 and "Error" in failed.output
    wrong = _debug([str(scenario), "--break", "who=Ana"], [])
    assert wrong.exit_code == 1 and "unknown condition 'who'" in wrong.output


def _recorded(scenario: Path, tmp_path: Path) -> Path:
    run_file = tmp_path / "rec.sqlite"
    result = _debug([str(scenario), "--run-file", str(run_file)], ["continue", "quit"])
    assert result.exit_code == 0, result.output
    return run_file


def test_inspect_a_recorded_run(scenario: Path, tmp_path: Path) -> None:
    run_file = _recorded(scenario, tmp_path)
    runner = CliRunner()
    summary = runner.invoke(app, ["inspect", str(run_file)])
    assert summary.exit_code == 0 and "agents" in summary.output and "checkpoints" in summary.output
    data = json.loads(runner.invoke(app, ["inspect", str(run_file), "--json"]).output)
    assert data["agent_names"] == ["Ana", "Ben"] and data["recorded_turns"] == {"Ana": 2, "Ben": 2}
    assert [c["step"] for c in data["checkpoints"]][-1] == 2
    first = data["checkpoints"][0]["id"]
    early = json.loads(runner.invoke(app, ["inspect", str(run_file), "-a", "Ana", "--checkpoint", str(first),
                                           "--json"]).output)
    late = json.loads(runner.invoke(app, ["inspect", str(run_file), "-a", "Ana", "--json"]).output)
    assert (early["turns"], late["turns"]) == (1, 2)
    memories = json.loads(runner.invoke(app, ["inspect", str(run_file), "-a", "Ana", "--memories", "--json"]).output)
    assert memories[0]["content"] == "Tea or coffee this morning?"
    turn = json.loads(runner.invoke(app, ["inspect", str(run_file), "-a", "Ana", "--turn", "1", "--json"]).output)
    assert turn["step"] == 1 and "Tea or coffee" in json.dumps(turn["attempts"][0]["messages"])
    assert json.loads(turn["attempts"][0]["answer"])["actions"]
    shown = runner.invoke(app, ["inspect", str(run_file), "-a", "Ana", "-t", "-1"])
    assert shown.exit_code == 0 and "answer (call 1)" in shown.output
    missing = runner.invoke(app, ["inspect", str(run_file), "-a", "Zed"])
    assert missing.exit_code == 1 and "'Zed' is not in checkpoint" in " ".join(missing.output.split())
    assert runner.invoke(app, ["inspect", str(run_file), "--turn", "1"]).exit_code == 1
    assert runner.invoke(app, ["inspect", str(tmp_path / "none.sqlite")]).exit_code == 1


def test_replay_is_identical_then_reports_a_divergence(scenario: Path, tmp_path: Path) -> None:
    run_file = _recorded(scenario, tmp_path)
    before = _contents(run_file)
    runner = CliRunner()
    same = runner.invoke(app, ["replay", str(run_file), "--json"])
    assert same.exit_code == 0, same.output
    report = json.loads(same.output)
    assert (report["new_calls"], report["backend_calls"], report["differing_events"]) == (0, 0, 0)
    assert report["matched_calls"] == report["recorded_calls"] == 4
    edited = tmp_path / "edited.yaml"
    edited.write_text(SCENARIO.replace("Tea or coffee this morning?", "Juice or water?"), encoding="utf-8")
    changed = runner.invoke(app, ["replay", str(run_file), "--scenario", str(edited), "--out",
                                  str(tmp_path / "copy.sqlite")])
    assert changed.exit_code == 3, changed.output
    out = " ".join(changed.output.split())
    assert "diverged" in out and "Juice or water?" in out and "first trace difference: event" in out
    assert _contents(run_file) == before  # replays run on a copy
    python_made = tmp_path / "py.sqlite"
    control.begin(python_made, backend=ScriptedBackend(["x"], cycle=True), quiet=True)
    control.end()
    refused = runner.invoke(app, ["replay", str(python_made)])
    assert refused.exit_code == 1 and "holds no scenario run" in " ".join(refused.output.split())


def _contents(run_file: Path) -> tuple[Any, ...]:
    with RunFileInspector(run_file) as run:
        return run.trace.canonical(), run.trace.runs(), [t.model_dump() for t in run.turns("Ana")]


def test_inspector_on_a_run_made_with_control_begin(tmp_path: Path) -> None:
    talk = {"actions": [{"type": "TALK", "content": "Coffee, please"}, {"type": "DONE"}],
            "cognitive_state": {"goals": "coffee"}}
    path = tmp_path / "study.sqlite"
    control.begin(path, backend=ScriptedBackend([talk], cycle=True), quiet=True, auto_checkpoint=True)
    try:
        world = TinyWorld("Cafe", [TinyPerson("Ana"), TinyPerson("Ben")], communication_display=False)
        world.broadcast("Tea or coffee?")
        dbg = Debugger(world)
        dbg.run(3)
        live = dbg.prompt("Ana", 3)
        dbg.detach()
    finally:
        control.end()
    with RunFileInspector(path) as run:
        assert run.agents() == ["Ana", "Ben"]
        assert [c["step"] for c in run.checkpoints()] == [2, 3, 3]  # the last 3 kept: steps 2, 3, and the end
        assert run.agent_state("Ben", run.checkpoints()[0]["id"])["turns"] == 2
        recorded = run.turn("Ana", 3)
        assert recorded.prompt == live.prompt and recorded.answer == live.answer  # the exact prompt and answer
        assert [t.step for t in run.turns("Ana")] == [1, 2, 3]
        assert run.memories("Ana")[0]["content"] == "Tea or coffee?"
        with pytest.raises(NotFound, match="no turn 9"):
            run.turn("Ana", 9)
        with pytest.raises(NotFound, match="no checkpoint #999"):
            run.agent_state("Ana", 999)
