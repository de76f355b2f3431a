"""The scheduler in running worlds (scripted backend): calendar events agents create are delivered,
upcoming events are in the prompt within budget; activity scheduling: routines, seeded reproducible
active sets, idle agents make no model call, events wake attendees, state and resumed runs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from helpers import DONE_TURN, action_prompt, agent_of, is_action_request, turn

from tinytroupe.agent import TinyPerson
from tinytroupe.environment import ActivitySchedule, EventScheduler, Routine, TinySocialNetwork, TinyWorld
from tinytroupe.environment.dependency import dependency_plan
from tinytroupe.environment.scheduler import UpcomingEvents
from tinytroupe.environment.scheduler.prompt import SECTION, UPCOMING
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.tools import CalendarReminders, TinyCalendar, TinyToolUse

MONDAY = datetime(2025, 1, 6, 0, 0)


def done_backend() -> ScriptedBackend:
    return ScriptedBackend(lambda request: DONE_TURN)


def team(n: int, backend: ScriptedBackend, *, seed: int | None = 11, start: datetime = MONDAY,
         parallelize: bool = True) -> TinyWorld:
    return TinyWorld("Office", [TinyPerson(f"P{i:03d}") for i in range(n)], initial_datetime=start,
                     client=LLMClient(backend), communication_display=False, seed=seed, parallelize=parallelize)


def acted(history: list[dict[str, Any]] | None) -> list[list[str]]:
    assert history is not None
    return [sorted(step) for step in history]


# ------------------------------------------------------------------------------------ the calendar

def test_an_event_an_agent_creates_with_its_calendar_is_delivered_and_shown_as_upcoming() -> None:
    create = {"title": "Design review", "start": "2025-01-06T11:00", "duration_minutes": 30, "attendees": ["Ben"],
              "remind_minutes_before": 30}
    prompts: dict[str, list[str]] = {"Lisa": [], "Ben": []}

    def respond(request: LLMRequest) -> Any:
        name = agent_of(request)
        prompts[name].append(action_prompt(request))
        if name == "Lisa" and len(prompts["Lisa"]) == 1:
            return turn(("CREATE_EVENT", json.dumps(create)))
        return DONE_TURN

    lisa, ben = TinyPerson("Lisa"), TinyPerson("Ben")
    calendar = TinyCalendar(owner="Lisa")
    lisa.add_mental_faculty(TinyToolUse([calendar]))
    ben.add_component(CalendarReminders(calendar))  # the calendar's own reminders: the scheduler adds no second
    world = TinyWorld("Office", [lisa, ben], initial_datetime=datetime(2025, 1, 6, 10), communication_display=False,
                      client=LLMClient(ScriptedBackend(respond)))
    schedule = EventScheduler().attach(world)
    world.run(6, timedelta(minutes=15))  # 10:15 ... 11:30
    notices = [(n.kind, n.event_id, n.to, n.due) for n in schedule.notices]
    assert notices == [("reminder", "Lisa/ev-1", ["Ben"], datetime(2025, 1, 6, 10, 30)),
                       ("reminder", "Lisa/ev-1", ["Lisa"], datetime(2025, 1, 6, 10, 30)),
                       ("start", "Lisa/ev-1", ["Lisa", "Ben"], datetime(2025, 1, 6, 11))]
    for agent in (lisa, ben):
        texts = [i.content for i in agent.memory.items() if i.kind == "stimulus"]
        assert texts.count("Reminder: 'Design review' starts at 11:00 (2025-01-06), in 30 minutes.") == 1
        assert texts.count("'Design review' starts now (11:00–11:30).") == 1
    # Ben's turn at 10:30 lists it as upcoming; after it started it is gone from the list
    assert "- 2025-01-06 11:00–11:30 Design review" in prompts["Ben"][1].split(SECTION)[1]
    assert SECTION not in prompts["Ben"][-1]
    assert schedule.get_state()["calendar_done"] == ["Lisa/ev-1"]


def test_the_upcoming_section_keeps_to_its_budget_soonest_first() -> None:
    world = team(1, done_backend())
    schedule = EventScheduler().attach(world)
    for h in range(1, 20):
        schedule.add(f"Meeting number {h} about the very long agenda item {h}", MONDAY + timedelta(hours=h))
    schedule.deliver(world)

    def section() -> list[str]:
        prompt = world.agents[0].build_prompt()[-1].content
        return prompt.split(f"# {SECTION}")[1].split("\n# ")[0].strip().splitlines()

    shown = section()
    assert shown[0] == "- 2025-01-06 01:00 Meeting number 1 about the very long agenda item 1"
    assert shown[4].startswith("- 2025-01-06 05:00") and shown[5:] == ["(later ones not shown)"]  # 5 at most
    world.agents[0].remove_component(UPCOMING)
    world.agents[0].add_component(UpcomingEvents(budget_tokens=40))  # about 160 characters
    assert section() == ["- 2025-01-06 01:00 Meeting number 1 about the very long agenda item 1",
                         "- 2025-01-06 02:00 Meeting number 2 about the very long agenda item 2", "(3 more not shown)"]


# ------------------------------------------------------------------------------------ routines

def test_routines_cover_days_hours_and_nights_and_refuse_bad_hours() -> None:
    shift = Routine(days=["mo", "We"], hours=["08:00-12:00", "22:00-02:00"])
    assert shift.days == ["MO", "WE"]
    assert shift.within(datetime(2025, 1, 6, 8)) and not shift.within(datetime(2025, 1, 6, 12))
    assert shift.within(datetime(2025, 1, 7, 1, 59)) and not shift.within(datetime(2025, 1, 7, 2))  # Monday's night
    assert not shift.within(datetime(2025, 1, 7, 9))  # a Tuesday
    assert Routine().within(datetime(2025, 1, 11, 3))
    for bad, message in [("9-17", "not a span"), ("09:00-25:00", "does not exist"), ("10:00-10:00", "is empty")]:
        with pytest.raises(ValueError, match=message):
            Routine(hours=[bad])
    with pytest.raises(ValueError, match="activity"):
        Routine(activity=1.5)


def test_idle_agents_make_no_model_call() -> None:
    backend = done_backend()
    world = team(20, backend)
    ActivitySchedule(default=Routine.office_hours()).attach(world)
    world.run(24 * 7, timedelta(hours=1))  # a week in hourly steps
    assert backend.calls == 20 * 8 * 5  # weekdays, 09:00 to 16:00 steps only
    assert (world.activity.turns, world.activity.idle) == (800, 20 * 24 * 7 - 800)
    assert sum(m.llm_calls for m in world.step_metrics) == backend.calls


@pytest.mark.parametrize("parallelize", [True, False])
def test_the_same_seed_gives_the_same_active_sets_and_another_seed_others(parallelize: bool) -> None:
    def active_sets(seed: int) -> list[list[str]]:
        world = team(30, done_backend(), seed=seed, parallelize=parallelize)
        ActivitySchedule(default=Routine(activity=0.3)).attach(world)
        return acted(world.run(12, timedelta(hours=1), return_actions=True))

    first = active_sets(5)
    assert first == active_sets(5)
    assert first != active_sets(6)
    share = sum(map(len, first)) / (30 * 12)
    assert 0.2 < share < 0.4


def test_a_resumed_run_picks_the_same_agents_as_one_run_straight_through() -> None:
    def build() -> TinyWorld:
        world = team(25, done_backend(), seed=None)  # no seed: one is drawn once and saved
        ActivitySchedule(default=Routine(activity=0.5),
                         routines={"P000": Routine(hours=["00:00-03:00"], activity=1.0)}).attach(world)
        return world

    straight = build()
    straight.activity.seed = 1234
    whole = acted(straight.run(8, timedelta(hours=1), return_actions=True))
    first = build()
    first.activity.seed = 1234
    head = acted(first.run(3, timedelta(hours=1), return_actions=True))
    saved = first.to_state()
    again = TinyWorld("Office", initial_datetime=MONDAY, client=LLMClient(done_backend()),
                      communication_display=False)
    again.load_state(saved)
    assert again.activity is not None and again.activity.seed == 1234
    assert head + acted(again.run(5, timedelta(hours=1), return_actions=True)) == whole
    assert all("P000" in step for step in whole[:2]) and all("P000" not in step for step in whole[3:])


def test_an_event_wakes_its_attendees_outside_their_routine() -> None:
    backend = done_backend()
    world = team(5, backend)
    ActivitySchedule(default=Routine.office_hours()).attach(world)
    schedule = EventScheduler().attach(world)
    schedule.add("Board meeting", datetime(2025, 1, 6, 19), attendees=["P001", "P003"])
    history = acted(world.run(24, timedelta(hours=1), return_actions=True))
    assert history[18] == ["P001", "P003"]  # the 19:00 step
    assert history[17] == [] and history[9] == [f"P{i:03d}" for i in range(5)]
    woken = team(5, done_backend())
    ActivitySchedule(default=Routine.office_hours(), wake_on_events=False).attach(woken)
    EventScheduler().attach(woken).add("Board meeting", datetime(2025, 1, 6, 19), attendees=["P001"])
    assert acted(woken.run(19, timedelta(hours=1), return_actions=True))[18] == []


def test_schedules_keep_a_dependency_aware_run_synchronous() -> None:
    net = TinySocialNetwork("Pairs", communication_display=False)
    net.add_relation(TinyPerson("Ana"), TinyPerson("Ben"))
    assert dependency_plan(net, parallel=True, batch=False) is not None
    ActivitySchedule().attach(net)
    assert dependency_plan(net, parallel=True, batch=False) is None


def test_requests_only_for_active_agents_in_a_scheduled_world() -> None:
    seen_agents: list[str] = []

    def respond(request: LLMRequest) -> Any:
        if is_action_request(request):
            seen_agents.append(agent_of(request))
        return DONE_TURN

    world = team(4, ScriptedBackend(respond), start=datetime(2025, 1, 6, 8))
    ActivitySchedule({"P000": Routine(hours=["09:00-10:00"]), "P001": Routine(activity=0.0)}).attach(world)
    world.run(3, timedelta(hours=1))  # 09:00, 10:00, 11:00
    assert sorted(set(seen_agents)) == ["P000", "P002", "P003"]
    assert seen_agents.count("P000") == 1 and seen_agents.count("P002") == 3


def test_turns_in_shards_see_the_same_schedule_and_the_same_idle_agents() -> None:
    from sharding_support import NAMES, NameScript, ScriptFactory
    from test_sharded_executor import sharded

    from tinytroupe.config import Settings
    from tinytroupe.environment import Executor, LocalExecutor
    from tinytroupe.llm.factory import build_client

    def run(executor: Executor, upcoming: bool = False) -> tuple[list[list[str]], list[list[str]], int]:
        client = build_client(Settings(), backend=ScriptFactory(NameScript(NAMES))())
        world = TinyWorld("Room", [TinyPerson(n) for n in NAMES], initial_datetime=MONDAY, client=client, seed=7,
                          executor=executor, communication_display=False)
        # no upcoming-events section: it asks the world's scheduler, which worker processes do not hold, so the
        # local prompts would differ by it (the scheduler leaves it out by itself for a sharded world)
        EventScheduler(show_upcoming=upcoming).attach(world).add("Stand-up", MONDAY + timedelta(minutes=10),
                                                              attendees=NAMES[:2])
        ActivitySchedule(default=Routine(activity=0.5)).attach(world)
        history = acted(world.run(4, timedelta(minutes=5), return_actions=True))
        memories = [[i.content for i in a.memory.items()] for a in world.agents]
        return history, memories, int(client.get_cost_stats()["total"]["calls"])

    local = run(LocalExecutor())
    assert run(sharded(NameScript(NAMES))) == local
    assert run(sharded(NameScript(NAMES)), upcoming=True) == local  # the section is left out, not an error
    assert local[2] < 4 * len(NAMES) and all(NAMES[0] in step and NAMES[1] in step for step in local[0][1:2])
