"""Scenario files of kind workplace and classroom: the examples run end to end on the scripted backend,
and mistakes in their sections are reported when the file is loaded (with the line) or the world is built."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import DONE_TURN, agent_of, is_action_request, turn

from tinytroupe.agent.judging import PropositionScore
from tinytroupe.environment import TinyClassroom, TinyWorkplace
from tinytroupe.errors import ScenarioError
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.scenario.loader import load_scenario
from tinytroupe.scenario.model import Scenario
from tinytroupe.scenario.runner import arun_scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def by_agent(turns: dict[str, list[dict[str, Any]]], other: Any = None) -> ScriptedBackend:
    queues = {name: list(t) for name, t in turns.items()}

    def respond(request: LLMRequest) -> Any:
        if is_action_request(request):
            name = agent_of(request)
            return queues[name].pop(0) if queues.get(name) else DONE_TURN
        return other(request)

    return ScriptedBackend(respond)


def tool(action: str, args: dict[str, Any]) -> tuple[str, str]:
    return (action, json.dumps(args))


async def test_the_workplace_example_runs_with_tasks_meetings_and_metrics() -> None:
    scenario = load_scenario(EXAMPLES / "workplace.yaml")
    turns = {
        "Marta": [turn(tool("ASSIGN_TASK", {"assignee": "Bruno", "title": "API changes"}),
                       tool("ASSIGN_TASK", {"assignee": "Iris", "title": "UI changes"})),
                  turn(("TALK", "Bruno takes the API, Iris the UI.", ""))],
        "Bruno": [DONE_TURN, turn(tool("UPDATE_TASK", {"task_id": "T-Marta-1", "status": "doing"})),
                  turn(tool("UPDATE_TASK", {"task_id": "T-Marta-1", "status": "done"}))],
        "Iris": [turn(("TALK", "Carla, can I skip the meeting?", "Carla"))],
    }
    world, result = await arun_scenario(scenario, client=LLMClient(by_agent(turns)), base_dir=EXAMPLES)
    assert isinstance(world, TinyWorkplace) and result.steps == 4 and result.errors == []
    assert world.org.to_rows()[0] == ("Carla", "engineering director", None)
    statuses = {t.id: t.status for t in world.tasks.values()}
    assert statuses == {"T-Carla-1": "todo", "T-Marta-1": "done", "T-Marta-2": "todo"}
    over_time = world.task_status_over_time()
    assert over_time.loc[4].to_dict() == {"todo": 2, "doing": 0, "done": 1, "blocked": 0}
    messages = world.messages_dataframe()
    # Marta's TALK in step 2 (10:00) is in the planning meeting: both engineers hear it there
    assert set(messages[messages["meeting"].notna()]["target"]) == {"Bruno", "Iris"}
    assert "Carla" not in set(messages["target"])  # Iris cannot reach her manager's manager


async def test_the_classroom_example_runs_and_its_quiz_is_graded() -> None:
    scenario = load_scenario(EXAMPLES / "classroom.yaml")
    answers = {"Tomas": {"q1": "3/4", "q2": "four", "q3": "a part of a whole cut in equal parts"},
               "Lea": {"q1": "0.75", "q2": "4", "q3": "a number"}, "Yusuf": {"q1": "3/8", "q2": "", "q3": ""}}
    turns = {"Tomas": [turn(("TALK", "Why must the parts be equal?", "Ms Rivera"))],
             "Ms Rivera": [DONE_TURN, turn(("TALK", "So that each part is the same size.", "Tomas"))]}

    def other(request: LLMRequest) -> Any:
        text = request.messages[-1].content
        if request.response_model is PropositionScore:
            good = "part of a whole" in text.split("Student's answer: ", 1)[1]
            return {"justification": "compared with the rubric", "value": 9 if good else 0, "confidence": 0.8}
        name = text.split(">>>>>>>> Interactions of ", 1)[1].split("\n", 1)[0]
        return answers[name]

    world, result = await arun_scenario(scenario, client=LLMClient(by_agent(turns, other)), base_dir=EXAMPLES)
    assert isinstance(world, TinyClassroom) and result.errors == [] and result.steps == 3
    assert world.lessons[0].title == "Fractions" and world.questions[0].answer == "So that each part is the same size."
    scores = world.quiz_scores().set_index("student")["score"].to_dict()
    assert scores == {"Lea": 2.0, "Tomas": 4.0, "Yusuf": 0.0}
    participation = world.participation_dataframe().set_index("student")
    assert participation.loc["Tomas", "questions"] == 1 and participation.loc["Lea", "talks"] == 0


BASE: dict[str, Any] = {"name": "x", "agents": [{"persona": {"name": "Ana"}}, {"persona": {"name": "Ben"}}],
                        "script": [{"run": 1}]}


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(("world", "script", "message"), [
    ({"workplace": {"org": [{"name": "Ana"}]}}, None, "world.workplace applies to kind workplace only"),
    ({"kind": "classroom"}, None, "needs a 'classroom:' section"),
    ({"kind": "workplace", "workplace": {"org": [{"name": "Zed"}]}}, None, "no agent is named 'Zed'"),
    ({"kind": "classroom", "classroom": {"teacher": "Ana"}}, [{"lesson": "Algebra"}, {"run": 1}],
     "'Algebra' is not among world.classroom.lessons' titles"),
    ({}, [{"quiz": "q"}, {"run": 1}], "need world.kind classroom"),
    ({"kind": "workplace", "workplace": {"org": [{"name": "Ana", "rank": 3}]}}, None, "rank"),
])
def test_mistakes_are_reported_when_the_file_is_loaded(tmp_path: Path, world: dict[str, Any],
                                                       script: list[dict[str, Any]] | None, message: str) -> None:
    data = {**BASE, "world": world, "script": script or BASE["script"]}
    with pytest.raises(ScenarioError, match=message):
        load_scenario(write(tmp_path, data))


@pytest.mark.parametrize(("section", "message"), [
    ({"org": [{"name": "Ana", "reports_to": "Ben"}, {"name": "Ben", "reports_to": "Ana"}]},
     "world.workplace.org.1: 'Ben' cannot report to 'Ana'"),
    ({"org": [{"name": "Ana"}, {"name": "Ben", "reports_to": "Ana"}],
      "tasks": [{"assigner": "Ben", "assignee": "Ana", "title": "t"}]}, "world.workplace.tasks.0: Ben is not in"),
    ({"org": [{"name": "Ana"}, {"name": "Ben"}], "meetings": [
        {"title": "a", "start": "2025-01-06T10:00:00", "attendees": ["Ana", "Ben"]},
        {"title": "b", "start": "2025-01-06T10:15:00", "attendees": ["Ben", "Ana"]}]},
     "world.workplace.meetings.1: Ben, Ana are already in M-1"),
])
async def test_broken_rules_in_the_workplace_section_stop_the_run_before_any_call(
        section: dict[str, Any], message: str) -> None:
    scenario = Scenario.model_validate({**BASE, "world": {"kind": "workplace", "workplace": section}})
    backend = ScriptedBackend([])
    with pytest.raises(ScenarioError, match=message):
        await arun_scenario(scenario, client=LLMClient(backend))
    assert backend.calls == 0
