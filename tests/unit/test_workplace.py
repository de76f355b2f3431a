"""TinyWorkplace: org-chart validation and reachability, meetings, task rules (for the user and for
agents), metrics, and state saved with the world."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import DONE_TURN, START, heard, policy_client
from pydantic import TypeAdapter

from tinytroupe import control
from tinytroupe.agent import Action, TinyPerson
from tinytroupe.environment import Executor, OrgChart, ReachPolicy, TinyWorkplace, TurnOutcome
from tinytroupe.environment.state_models import AnyWorldState, WorkplaceState, WorldState
from tinytroupe.errors import InvalidArgument
from tinytroupe.llm import LLMRequest, ScriptedBackend

STEP = timedelta(minutes=15)


def scripted(scripts: dict[str, list[dict[str, Any]]]) -> Callable[[str, LLMRequest], Any]:
    """Each agent's turns in order (then DONE); a re-ask within a turn takes the next one too."""
    queues = {name: list(turns) for name, turns in scripts.items()}
    return lambda name, request: queues.get(name, []).pop(0) if queues.get(name) else DONE_TURN


def act(*actions: tuple[str, Any] | tuple[str, Any, str]) -> dict[str, Any]:
    out = [{"type": a[0], "content": a[1] if isinstance(a[1], str) else json.dumps(a[1]),
            "target": a[2] if len(a) > 2 else ""} for a in actions]
    return {"actions": [*out, {"type": "DONE"}], "cognitive_state": {}}


def office(policy: str = "direct", scripts: dict[str, list[dict[str, Any]]] | None = None) -> TinyWorkplace:
    """Cleo (director) <- Ana (manager) <- Ben, Dan (engineers) <- Eve (intern, reports to Ben);
    Fay reports to Cleo too."""
    client, _ = policy_client(scripted(scripts or {}))
    place = TinyWorkplace("Office", initial_datetime=START, client=client, policy=policy,
                          communication_display=False)
    place.add_employee(TinyPerson("Cleo"), "director")
    place.add_employee(TinyPerson("Ana"), "manager", reports_to="Cleo")
    place.add_employee(TinyPerson("Fay"), "designer", reports_to="Cleo")
    place.add_employee(TinyPerson("Ben"), "engineer", reports_to="Ana")
    place.add_employee(TinyPerson("Dan"), "engineer", reports_to="Ana")
    place.add_employee(TinyPerson("Eve"), "intern", reports_to="Ben")
    return place


def social(agent: TinyPerson) -> list[str]:
    return [i.content for i in agent.memory.items() if i.kind == "stimulus" and i.type == "SOCIAL"]


def tool_results(agent: TinyPerson) -> list[str]:
    return [i.content for i in agent.memory.items() if i.kind == "stimulus" and i.type == "TOOL_RESULT"]


# ---------------------------------------------------------------------- org chart


def test_org_chart_refuses_cycles_unknown_managers_and_duplicates() -> None:
    with pytest.raises(InvalidArgument, match=r"cycle \(.*reports to"):
        OrgChart.from_rows([("A", "", "B"), ("B", "", "C"), ("C", "", "A")])
    with pytest.raises(InvalidArgument, match="managers who are not in it: 'Zed'"):
        OrgChart.from_rows([("A", "", None), ("B", "", "Zed")])
    with pytest.raises(InvalidArgument, match="'A' more than once"):
        OrgChart.from_rows([("A", "", None), ("A", "", None)])
    chart = OrgChart.from_rows([("B", "dev", "A"), ("A", "lead", None), ("R", "other root", None)])
    assert chart.roots() == ["A", "R"]  # several roots are fine
    assert chart.to_rows() == [("A", "lead", None), ("R", "other root", None), ("B", "dev", "A")]
    with pytest.raises(InvalidArgument, match="'Q', who is not in the org chart"):
        chart.add("C", reports_to="Q")
    with pytest.raises(InvalidArgument, match=r"'A' cannot report to 'B', who is below .*\(reporting line B -> A\)"):
        chart.set_manager("A", "B")  # B reports to A: A under B would be a cycle
    with pytest.raises(InvalidArgument, match="themselves"):
        chart.set_manager("A", "A")
    with pytest.raises(InvalidArgument, match="not in the org chart"):
        chart.manager_of("Nobody")


def test_workplace_refuses_a_manager_who_does_not_work_there() -> None:
    place = office()
    with pytest.raises(InvalidArgument, match="'Zoe', who does not work in Office"):
        place.add_employee(TinyPerson("Gus"), "dev", reports_to="Zoe")
    assert place.get_agent_by_name("Gus") is None  # nothing half-added
    with pytest.raises(InvalidArgument, match="reporting line Eve -> Ben -> Ana -> Cleo"):
        place.add_employee(place.get_agent_by_name("Cleo"), "director", reports_to="Eve")  # type: ignore[arg-type]


@pytest.mark.parametrize(("policy", "reach"), [
    ("direct", {"Ben": ["Ana", "Dan", "Eve"], "Ana": ["Cleo", "Fay", "Ben", "Dan"], "Eve": ["Ben"],
                "Cleo": ["Ana", "Fay"]}),
    ("skip_level", {"Ben": ["Cleo", "Ana", "Dan", "Eve"], "Eve": ["Ana", "Ben"],
                    "Cleo": ["Ana", "Fay", "Ben", "Dan"]}),
    ("chain", {"Eve": ["Cleo", "Ana", "Ben"], "Cleo": ["Ana", "Fay", "Ben", "Dan", "Eve"]}),
    ("open", {"Eve": ["Cleo", "Ana", "Fay", "Ben", "Dan"]}),
])
def test_reach_follows_the_policy(policy: str, reach: dict[str, list[str]]) -> None:
    place = office(policy)
    for name, names in reach.items():
        assert place.reachable_names(name) == names, name


def test_a_custom_policy_without_peers() -> None:
    place = office(ReachPolicy(up=1, down=0, peers=False))  # type: ignore[arg-type]
    assert place.reachable_names("Ben") == ["Ana"]
    assert place.reachable_names("Ana") == ["Cleo"]
    with pytest.raises(InvalidArgument, match="unknown reach policy 'flat'"):
        TinyWorkplace("X", policy="flat")


def test_talk_goes_along_reporting_lines_and_is_counted_by_line() -> None:
    place = office()
    ben, eve, cleo, ana = (place.get_agent_by_name(n) for n in ("Ben", "Eve", "Cleo", "Ana"))
    assert ben and eve and cleo and ana
    place._handle_actions(eve, [Action(type="TALK", content="Hello boss's boss", target="Ana")])
    assert heard(ana) == []
    assert "outside Eve's reporting lines in Office" in social(eve)[-1]
    place._handle_actions(ben, [Action(type="TALK", content="Standup in 5", target="")])
    assert [n for n in ("Ana", "Dan", "Eve", "Cleo") if heard(place.name_to_agent[n])] == ["Ana", "Dan", "Eve"]
    place._handle_actions(cleo, [Action(type="REACH_OUT", content="", target="Ben")])
    assert "no relation that allows it" in social(cleo)[-1]
    lines = place.messages_dataframe().set_index("target")["line"].to_dict()
    assert lines == {"Ana": "manager", "Dan": "peer", "Eve": "report"}


def test_agents_see_their_reporting_lines_in_accessibility_and_a_briefing() -> None:
    place = office()
    place.run(1)
    ben = place.get_agent_by_name("Ben")
    assert ben is not None
    assert [a.name for a in ben.accessible_agents] == ["Ana", "Dan", "Eve"]
    assert social(ben)[0] == ("You work at Office as engineer. You report to Ana. Your direct reports: Eve. "
                              "You can talk to: Ana, Dan, Eve.")
    place.run(1)
    assert sum("You work at Office" in s for s in social(ben)) == 1  # briefed once


# ---------------------------------------------------------------------- meetings


def test_overlapping_meetings_are_refused_for_the_user_with_names() -> None:
    place = office()
    first = place.schedule_meeting("Planning", START + timedelta(hours=1), ["Ana", "Ben"], 60)
    assert first.id == "M-1"
    with pytest.raises(InvalidArgument, match=r"Ben is already in M-1 'Planning' 2025-01-06 10:00-11:00.*overlaps"):
        place.schedule_meeting("1:1", START + timedelta(hours=1, minutes=30), ["Ben", "Eve"], 30)
    place.schedule_meeting("After", START + timedelta(hours=2), ["Ben", "Eve"], 30)  # back to back is fine
    for bad, message in [(dict(attendees=["Ben", "Nobody"]), "nobody named 'Nobody'"),
                         (dict(minutes=0), "from 1 to 720 minutes"), (dict(attendees=["Ben"]), "at least two"),
                         (dict(title=" "), "needs a title")]:
        args: dict[str, Any] = {"title": "X", "start": START + timedelta(days=1), "attendees": ["Ben", "Ana"],
                                "minutes": 30, **bad}
        with pytest.raises(InvalidArgument, match=message):
            place.schedule_meeting(**args)


def test_during_a_meeting_attendees_hear_each_other_whatever_the_chart_says() -> None:
    place = office()
    eve, cleo, ana = (place.name_to_agent[n] for n in ("Eve", "Cleo", "Ana"))
    place.schedule_meeting("All hands", START + STEP, ["Cleo", "Eve", "Ana"], 30)
    assert not place.may_reach("Eve", "Cleo")
    place.run(1, timedelta_per_step=STEP)  # the clock reaches the meeting's start
    assert any("'All hands' (M-1) is starting now" in s for s in social(eve))
    assert place.may_reach("Eve", "Cleo")
    place._handle_actions(eve, [Action(type="TALK", content="Question for Cleo", target="Cleo")])
    assert heard(cleo) == [("Eve", "Question for Cleo")] and heard(ana) == [("Eve", "Question for Cleo")]
    assert set(place.messages_dataframe()["meeting"]) == {"M-1"}
    place.run(2, timedelta_per_step=STEP)
    assert any("'All hands' (M-1) has ended" in s for s in social(eve))
    assert not place.may_reach("Eve", "Cleo")


def test_agents_schedule_meetings_and_get_reasoned_rejections() -> None:
    at = (START + timedelta(hours=2)).isoformat()
    scripts = {
        "Ana": [act(("SCHEDULE_MEETING", {"title": "Sprint", "start": at, "minutes": 60,
                                          "attendees": ["Ben", "Dan"]}))],
        "Ben": [act(("SCHEDULE_MEETING", {"title": "Pairing", "start": at, "attendees": ["Eve"]}),
                    ("SCHEDULE_MEETING", {"title": "Lunch", "start": at, "attendees": ["Fay"]}),
                    ("SCHEDULE_MEETING", {"title": "Past", "start": "2020-01-01T09:00", "attendees": ["Eve"]}))],
    }
    place = office(scripts=scripts)
    place.run(1, parallelize=False, randomize_agents_order=False)  # Ana's turn comes before Ben's
    assert list(place.meetings) == ["M-Ana-1"]
    results = tool_results(place.name_to_agent["Ben"])
    assert "Ben is already in M-Ana-1 'Sprint'" in results[0]
    assert "Fay is outside your reporting lines" in results[1]
    assert "in the past" in results[2]
    assert any("Ana invited you to the meeting M-Ana-1 'Sprint'" in s for s in social(place.name_to_agent["Dan"]))
    assert place.errors == []


# ---------------------------------------------------------------------- tasks


def test_only_managers_up_the_chain_assign_and_only_the_assignee_updates() -> None:
    place = office()
    task = place.assign_task("Cleo", "Eve", "Onboarding checklist", "by Friday")  # skip-level is fine
    assert (task.id, task.status) == ("T-Cleo-1", "todo")
    assert "Cleo assigned you task T-Cleo-1: 'Onboarding checklist'. by Friday" in social(place.name_to_agent["Eve"])[0]
    for assigner, assignee, message in [("Dan", "Ben", "Dan is not in Ben's chain of command"),
                                        ("Eve", "Ben", "only their managers up the chain may: Ana, Cleo"),
                                        ("Fay", "Eve", "Fay is not in Eve's chain"),
                                        ("Ana", "Ana", "themselves"), ("Ana", "Zed", "'Zed' is not in Office")]:
        with pytest.raises(InvalidArgument, match=message):
            place.assign_task(assigner, assignee, "x")
    with pytest.raises(InvalidArgument, match="only Eve, the assignee of T-Cleo-1, may update it"):
        place.update_task("T-Cleo-1", "done", by="Cleo")
    with pytest.raises(InvalidArgument, match="one of todo, doing, done, blocked, not 'finished'"):
        place.update_task("T-Cleo-1", "finished")
    with pytest.raises(InvalidArgument, match="no task 'T-9'"):
        place.update_task("T-9", "done")
    place.update_task("T-Cleo-1", "blocked", note="no laptop yet")
    assert place.tasks["T-Cleo-1"].status == "blocked"
    assert "Eve moved task T-Cleo-1 ('Onboarding checklist') to blocked. Note: no laptop yet" in \
        social(place.name_to_agent["Cleo"])[-1]


def test_agents_assign_and_update_tasks_and_learn_why_a_request_is_refused() -> None:
    scripts = {
        "Ana": [act(("ASSIGN_TASK", {"assignee": "Ben", "title": "Fix the build"}),
                    ("ASSIGN_TASK", {"assignee": "Cleo", "title": "Approve budget"}))],
        "Ben": [DONE_TURN, act(("UPDATE_TASK", {"task_id": "T-Ana-1", "status": "doing"})),
                act(("UPDATE_TASK", {"task_id": "T-Ana-1", "status": "done", "note": "green again"}),
                    ("UPDATE_TASK", {"task_id": "T-Ana-1", "status": "shipped"}))],
        "Dan": [DONE_TURN, act(("UPDATE_TASK", {"task_id": "T-Ana-1", "status": "done"}))],
    }
    place = office(scripts=scripts)
    place.run(3, timedelta_per_step=STEP)
    ana, ben, dan = (place.name_to_agent[n] for n in ("Ana", "Ben", "Dan"))
    refused = tool_results(ana)[1]
    assert "ASSIGN_TASK" in refused and "failed" in refused and "Ana is not in Cleo's chain of command" in refused
    assert "only Ben, the assignee of T-Ana-1, may update it" in tool_results(dan)[0]
    assert "not 'shipped'" in tool_results(ben)[-1]
    assert place.tasks["T-Ana-1"].status == "done"
    assert [u.status for u in place.tasks["T-Ana-1"].history] == ["todo", "doing", "done"]
    assert any("Ben moved task T-Ana-1 ('Fix the build') to done. Note: green again" in s for s in social(ana))
    assert place.errors == []


# ---------------------------------------------------------------------- metrics and state


def test_metrics_are_dataframes_over_time() -> None:
    place = office()
    place.assign_task("Ana", "Ben", "A")
    place.assign_task("Ana", "Dan", "B")
    place.run(1)
    place.update_task("T-Ana-1", "doing")
    place.run(1)
    place.update_task("T-Ana-1", "done")
    place.update_task("T-Ana-2", "blocked")
    over_time = place.task_status_over_time()
    assert over_time.to_dict("index") == {0: {"todo": 2, "doing": 0, "done": 0, "blocked": 0},
                                          1: {"todo": 1, "doing": 1, "done": 0, "blocked": 0},
                                          2: {"todo": 0, "doing": 0, "done": 1, "blocked": 1}}
    tasks = place.tasks_dataframe().set_index("id")
    assert tasks.loc["T-Ana-1", "done_step"] == 2 and tasks.loc["T-Ana-1", "updates"] == 2
    assert str(tasks.loc["T-Ana-2", "done_step"]) == "<NA>"
    ben, eve = place.name_to_agent["Ben"], place.name_to_agent["Eve"]
    place._handle_actions(ben, [Action(type="TALK", content="hi", target="Eve")])
    place._handle_actions(eve, [Action(type="TALK", content="hi", target="Ben")])
    by_line = place.messages_by_line()
    assert list(by_line.index) == [1, 2]
    assert by_line.loc[2, ["report", "manager", "peer", "in_meeting"]].tolist() == [1, 1, 0, 0]


def test_state_round_trips_through_to_state_and_checkpoint_parsing() -> None:
    place = office("skip_level")
    place.assign_task("Cleo", "Ben", "A")
    place.schedule_meeting("Sync", START + STEP, ["Ana", "Ben"], 30)
    place.run(1, timedelta_per_step=STEP)
    place._handle_actions(place.name_to_agent["Ana"], [Action(type="TALK", content="hi", target="Ben")])
    data = json.loads(json.dumps(place.to_state()))
    assert isinstance(TypeAdapter(AnyWorldState).validate_python(data), WorkplaceState)  # checkpoints keep it
    copy = TinyWorkplace("Office", initial_datetime=START, client=place.client, communication_display=False)
    copy.load_state(data)
    assert copy.to_state() == place.to_state()
    assert copy.org.to_rows() == place.org.to_rows() and copy.policy == ReachPolicy.preset("skip_level")
    assert copy.messages_dataframe().equals(place.messages_dataframe())
    copy.run(1, timedelta_per_step=STEP)  # the meeting's start is not announced twice
    assert sum("is starting now" in s for s in social(copy.name_to_agent["Ben"])) == 1
    with pytest.raises(InvalidArgument, match="not a workplace's"):
        copy.apply_state(WorldState.parse(data))  # a plain world's state has no org chart


def test_a_workplace_starts_at_a_given_time() -> None:
    place = office()
    assert place.current_datetime == datetime(2025, 1, 6, 9)


def test_a_checkpoint_in_the_run_file_restores_the_workplace(tmp_path: Path) -> None:
    with control.Simulation(tmp_path / "run.sqlite", backend=ScriptedBackend([DONE_TURN], cycle=True),
                            quiet=True) as sim:
        place = office("chain")
        place.client = sim.client
        place.assign_task("Cleo", "Eve", "Onboarding")
        place.schedule_meeting("Sync", START, ["Ana", "Ben"], 30)
        place.run(1)
        sim.checkpoint("after step 1")
        saved = place.to_state()
    with control.Simulation(tmp_path / "run.sqlite", backend=ScriptedBackend([DONE_TURN], cycle=True),
                            quiet=True) as sim2:
        fresh = TinyWorkplace("Office", initial_datetime=START, communication_display=False)
        sim2.restore(fresh)
        assert fresh.to_state() == saved
        assert fresh.tasks["T-Cleo-1"].assignee == "Eve" and fresh.policy == ReachPolicy.preset("chain")


def test_the_workplace_tool_needs_the_local_executor() -> None:
    class Elsewhere(Executor):
        async def run_turns(self, agents: Sequence[TinyPerson], *, step: int, world: str, timeout: float | None,
                            max_workers: int | None) -> list[TurnOutcome]:
            raise AssertionError("never reached")

    with pytest.raises(InvalidArgument, match="its tool needs the local executor, not Elsewhere"):
        TinyWorkplace("Remote", executor=Elsewhere())
    assert TinyWorkplace("Remote", executor=Elsewhere(), give_tools=False).give_tools is False
