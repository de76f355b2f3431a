"""Schedules in scenario files: the office-day example on the scripted backend (events delivered, only
agents at work act, everyone answers the closing question, the same seed gives the same run), and
errors with their line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from helpers import action_prompt, agent_of, is_action_request, turn
from scenario_support import write

from tinytroupe.errors import ScenarioError
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.scenario import arun_scenario, load_scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
_NOW = re.compile(r"Date and time: \d{4}-\d\d-\d\d (\d\d):00")


def office_backend(calls: list[tuple[int, str]]) -> ScriptedBackend:
    def respond(request: LLMRequest) -> Any:
        if is_action_request(request):
            name = agent_of(request)
            calls.append((int(_NOW.findall(action_prompt(request))[-1]), name))
            return turn(("THINK", f"{name} gets on with the day"))
        record = request.messages[-1].content
        name = record.split(">>>>>>>> Interactions of ", 1)[1].split("\n", 1)[0]
        return {"summary": f"{name} had a fine day"}

    return ScriptedBackend(respond)


async def test_the_office_day_example_runs_with_events_routines_and_idle_hours() -> None:
    scenario = load_scenario(EXAMPLES / "office_day.yaml")
    calls: list[tuple[int, str]] = []
    world, result = await arun_scenario(scenario, client=LLMClient(office_backend(calls)), base_dir=EXAMPLES)
    names = ["Lisa Brennan", "Oscar Villanueva", "Marcos Ferreira", "Ana Costa"]
    assert result.failed == 0 and set(result.results) == set(names)
    assert all(row["status"] == "ok" for row in result.results.values())
    by_hour: dict[int, list[str]] = {}
    for hour, name in calls:
        by_hour.setdefault(hour, []).append(name)
    assert set(by_hour.get(8, [])) <= {"Marcos Ferreira"}  # only he starts at 07:00
    assert sorted(by_hour[10]) == sorted(names)  # the 09:30 stand-up pulls everyone in
    assert {"Lisa Brennan", "Oscar Villanueva"} <= set(by_hour[16])  # the report's deadline
    assert 17 not in by_hour and 18 not in by_hour  # after hours nobody acts ...
    assert sorted(by_hour[19]) == sorted(names)  # ... but everyone answers the closing question
    turns = len(calls)
    assert turns < len(names) * 12  # idle hours cost nothing
    assert result.cost["calls"] == turns + len(names)  # the turns taken, then one extraction each
    lisa = world.get_agent_by_name("Lisa Brennan")
    texts = [i.content for i in lisa.memory.items() if i.kind == "stimulus"]
    assert "Reminder: 'Stand-up' starts at 09:30 (2025-01-06) at the small meeting room, in 30 minutes." in texts
    assert "'Stand-up' took place at 09:30 (2025-01-06) at the small meeting room." in texts
    assert "Deadline: 'Quarterly report' is due now, 16:00 (2025-01-06)." in texts
    ana_texts = [i.content for i in world.get_agent_by_name("Ana Costa").memory.items()]
    assert not any("Quarterly report" in t for t in ana_texts)  # not an attendee

    again: list[tuple[int, str]] = []
    await arun_scenario(scenario, client=LLMClient(office_backend(again)), base_dir=EXAMPLES)
    assert again == calls  # the same seed: the same agents act at the same hours


BASE = """\
name: Scheduled
agents:
  - persona: {name: Ana}
script:
  - run: 1
"""


@pytest.mark.parametrize("extra, line, message", [
    ("schedule:\n  events:\n    - title: X\n      start: 2025-01-06T09:00:00\n      rrule: FREQ=OFTEN\n",
     8, "invalid 'FREQ'"),
    ("schedule:\n  events:\n    - title: X\n      start: 2025-01-06T09:00:00\n      attendees: [Zed]\n",
     10, "no agent is named 'Zed'"),
    ("schedule:\n  routine: {hours: ['9 to 5']}\n", 7, "not a span like '09:00-17:00'"),
    ("schedule:\n  activity: 2\n", 7, "activity"),
    ("schedule:\n  events:\n    - title: X\n      start: 2025-01-06T09:00:00\n      reminders: [soon]\n",
     8, "reminder 'soon'"),
])
def test_bad_schedules_fail_at_load_time_with_their_line(tmp_path: Path, extra: str, line: int, message: str) -> None:
    with pytest.raises(ScenarioError, match=message) as info:
        load_scenario(write(tmp_path, BASE + extra))
    assert info.value.line == line


async def test_a_one_time_event_before_the_world_starts_is_refused_before_any_call(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "world: {initial_datetime: 2025-01-06T10:00:00}\n"
                                  "schedule:\n  events:\n    - title: X\n      start: 2025-01-06T09:00:00\n")
    backend = ScriptedBackend([])
    with pytest.raises(ScenarioError, match=r"schedule.events.0: event 'ev-1' start: .* before the world clock"):
        await arun_scenario(load_scenario(path), client=LLMClient(backend))
    assert backend.calls == 0
