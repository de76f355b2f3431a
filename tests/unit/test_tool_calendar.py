"""TinyCalendar: events, invitations reaching agents of a real world, conflicts, listing, cancelling, reminders."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from tinytroupe.agent import TinyPerson
from tinytroupe.environment import TinyWorld
from tinytroupe.errors import InvalidArgument, InvalidState, ToolArgumentError, ToolPermissionError
from tinytroupe.llm import LLMClient, ScriptedBackend
from tinytroupe.tools import CalendarEvent, CalendarReminders, TinyCalendar, ToolCall

NOW = datetime(2025, 1, 6, 9, 0)
DONE = {"actions": [{"type": "DONE"}]}


@pytest.fixture
def office() -> tuple[TinyWorld, TinyPerson, TinyPerson, ScriptedBackend]:
    backend = ScriptedBackend([DONE], cycle=True)
    lisa, ben = TinyPerson("Lisa"), TinyPerson("Ben")
    world = TinyWorld("Office", [lisa, ben], initial_datetime=NOW, client=LLMClient(backend),
                      communication_display=False)
    return world, lisa, ben, backend


def by(agent: TinyPerson | None, cal: TinyCalendar, action: str, arguments: dict[str, Any]) -> Any:
    return cal.call(action, arguments, call=ToolCall(cal.name, action, agent=agent))


def test_create_with_duration_end_or_the_default_hour() -> None:
    cal = TinyCalendar(owner="Lisa")
    a = cal.call("CREATE_EVENT", {"title": "A", "start": "2025-01-06T10:00", "duration_minutes": 30}).event
    b = cal.call("CREATE_EVENT", {"title": "B", "start": "2025-01-06 11:00", "end": "2025-01-06T11:45"}).event
    c = cal.call("CREATE_EVENT", {"title": "C", "start": "2025-01-07"}).event
    assert [(e.id, e.start, e.end, e.organizer) for e in (a, b, c)] == [
        ("ev-1", datetime(2025, 1, 6, 10), datetime(2025, 1, 6, 10, 30), "Lisa"),
        ("ev-2", datetime(2025, 1, 6, 11), datetime(2025, 1, 6, 11, 45), "Lisa"),
        ("ev-3", datetime(2025, 1, 7), datetime(2025, 1, 7, 1), "Lisa")]
    assert isinstance(a, CalendarEvent) and [e.id for e in cal.events] == ["ev-1", "ev-2", "ev-3"]


@pytest.mark.parametrize(("arguments", "message"), [
    ({"title": "X", "start": "2025-01-06T10:00", "end": "2025-01-06T09:00"}, "must be after start"),
    ({"title": "X", "start": "2025-01-06T10:00", "end": "2025-01-06T11:00", "duration_minutes": 5}, "not both"),
    ({"title": "X", "start": "2025-01-06T10:00", "end": "2025-01-20T10:00"}, "at most a week"),
    ({"title": "X", "start": "2025-01-06T10:00", "duration_minutes": 0}, "duration_minutes"),
    ({"title": "", "start": "2025-01-06T10:00"}, "title"),
    ({"title": "X", "start": "2025-01-06T10:00", "attendees": [" "]}, "attendees"),
    ({"title": "X", "start": "2025-01-06T10:00", "attendees": ["p"] * 51}, "attendees"),
    ({"title": "X", "start": "2025-01-06T10:00+01:00"}, "UTC offset"),
])
def test_bad_events_are_refused_with_a_clear_message(office: Any, arguments: dict[str, Any], message: str) -> None:
    _, lisa, _, _ = office
    with pytest.raises(ToolArgumentError, match=message):
        by(lisa, TinyCalendar(), "CREATE_EVENT", arguments)


def test_a_time_that_is_not_iso_shows_the_format_and_the_simulated_now(office: Any) -> None:
    _, lisa, _, _ = office
    with pytest.raises(ToolArgumentError) as info:
        by(lisa, TinyCalendar(), "CREATE_EVENT", {"title": "Lunch", "start": "in 2 hours"})
    text = str(info.value)
    assert "start: 'in 2 hours' is not an ISO 8601" in text
    assert "like 2025-01-06T11:00" in text and "the simulated time now is 2025-01-06T09:00" in text


def test_an_event_in_the_simulated_past_is_refused(office: Any) -> None:
    _, lisa, _, _ = office
    with pytest.raises(ToolArgumentError, match="in the past"):
        by(lisa, TinyCalendar(), "CREATE_EVENT", {"title": "Late", "start": "2025-01-06T08:00"})


def test_invitations_reach_agents_of_the_world_and_the_absent_are_reported(office: Any) -> None:
    _, lisa, ben, backend = office
    cal = TinyCalendar(owner=lisa)
    made = by(lisa, cal, "CREATE_EVENT", {"title": "Design review", "start": "2025-01-06T14:00",
                                          "attendees": ["Ben", "Zoe", "Lisa"], "location": "Room 4",
                                          "description": "Bring the mock-ups."})
    assert made.created and made.event.attendees == ["Ben", "Zoe"]
    assert made.invitations.delivered == ["Ben"] and made.invitations.not_found == ["Zoe"]
    note = ben.memory.items()[-1]
    assert (note.type, note.source, note.sim_time) == ("SOCIAL", "Lisa", NOW)
    assert "Calendar invitation from Lisa: 'Design review' (ev-1) 2025-01-06 14:00–15:00, at Room 4" in note.content
    assert "Bring the mock-ups." in note.content
    assert lisa.memory.items() == []  # the organiser is not invited to her own event

    ben.act()  # Ben's next turn shows the invitation to the model
    prompt = "\n".join(str(m.content) for m in backend.requests[-1].messages)
    assert "Calendar invitation from Lisa" in prompt


def test_invite_adds_people_reports_the_already_invited_and_absent(office: Any) -> None:
    world, lisa, ben, _ = office
    carla = TinyPerson("Carla")
    world.add_agent(carla)
    cal = TinyCalendar()
    by(lisa, cal, "CREATE_EVENT", {"title": "Sync", "start": "2025-01-06T10:00", "attendees": ["Ben"]})
    result = by(lisa, cal, "INVITE", {"event": "sync", "attendees": ["Ben", "Carla", "Max"]})
    assert result.already_invited == ["Ben"]
    assert result.invitations.delivered == ["Carla"] and result.invitations.not_found == ["Max"]
    assert cal.find_event("ev-1").attendees == ["Ben", "Carla", "Max"]
    assert "Calendar invitation from Lisa: 'Sync'" in carla.memory.items()[-1].content
    assert sum("invitation" in i.content for i in ben.memory.items()) == 1  # not invited twice
    with pytest.raises(ToolPermissionError, match="only its organiser, Lisa"):
        by(ben, cal, "INVITE", {"event": "ev-1", "attendees": ["Carla"]})


def test_conflicts_for_the_organiser_are_refused_unless_allowed() -> None:
    cal = TinyCalendar(owner="Lisa")
    cal.call("CREATE_EVENT", {"title": "Stand-up", "start": "2025-01-06T09:00", "duration_minutes": 30})
    refused = cal.call("CREATE_EVENT", {"title": "Call", "start": "2025-01-06T09:15"})
    assert not refused.created and refused.event is None and "allow_conflicts" in refused.message
    assert [(c.event_id, c.people) for c in refused.conflicts] == [("ev-1", ["Lisa"])]
    assert len(cal.events) == 1
    touching = cal.call("CREATE_EVENT", {"title": "Next", "start": "2025-01-06T09:30"})
    assert touching.created and touching.conflicts == []
    forced = cal.call("CREATE_EVENT", {"title": "Call", "start": "2025-01-06T09:15", "allow_conflicts": True})
    assert forced.created and {c.event_id for c in forced.conflicts} == {"ev-1", "ev-2"}
    assert "overlaps 2 event(s)" in forced.message

    lenient = TinyCalendar(owner="Lisa", allow_conflicts=True)
    lenient.call("CREATE_EVENT", {"title": "A", "start": "2025-01-06T09:00"})
    assert lenient.call("CREATE_EVENT", {"title": "B", "start": "2025-01-06T09:30"}).created


def test_a_shared_calendar_sees_an_attendees_conflict(office: Any) -> None:
    _, lisa, ben, _ = office
    shared = TinyCalendar()
    by(lisa, shared, "CREATE_EVENT", {"title": "Review", "start": "2025-01-06T10:00", "attendees": ["Ben"]})
    clash = by(ben, shared, "CREATE_EVENT", {"title": "Dentist", "start": "2025-01-06T10:30"})
    assert not clash.created and [(c.title, c.people) for c in clash.conflicts] == [("Review", ["Ben"])]
    invite = by(lisa, shared, "CREATE_EVENT", {"title": "Lunch", "start": "2025-01-06T12:00"})
    by(ben, shared, "CREATE_EVENT", {"title": "Gym", "start": "2025-01-06T12:00"})
    added = by(lisa, shared, "INVITE", {"event": invite.event.id, "attendees": ["Ben"]})
    assert [(c.title, c.people) for c in added.conflicts] == [("Gym", ["Ben"])]


def test_list_events_within_a_window_for_the_caller(office: Any) -> None:
    _, lisa, ben, _ = office
    shared = TinyCalendar()
    by(lisa, shared, "CREATE_EVENT", {"title": "Today", "start": "2025-01-06T10:00", "attendees": ["Ben"]})
    by(lisa, shared, "CREATE_EVENT", {"title": "Tomorrow", "start": "2025-01-07T10:00"})
    by(lisa, shared, "CREATE_EVENT", {"title": "Next month", "start": "2025-02-10T10:00"})
    listed = by(lisa, shared, "LIST_EVENTS", {})
    assert [e.title for e in listed.events] == ["Today", "Tomorrow"]
    assert (listed.start_from, listed.until) == (NOW, NOW + timedelta(days=7))
    assert [e.title for e in by(lisa, shared, "LIST_EVENTS", {"within_hours": 12}).events] == ["Today"]
    assert [e.title for e in by(ben, shared, "LIST_EVENTS", {}).events] == ["Today"]
    later = by(lisa, shared, "LIST_EVENTS", {"start_from": "2025-02-01T00:00", "within_hours": 24 * 30})
    assert [e.title for e in later.events] == ["Next month"]
    with pytest.raises(ToolArgumentError, match="within_hours"):
        by(lisa, shared, "LIST_EVENTS", {"within_hours": 0})


def test_cancel_notifies_attendees_and_frees_the_time(office: Any) -> None:
    _, lisa, ben, _ = office
    cal = TinyCalendar()
    by(lisa, cal, "CREATE_EVENT", {"title": "Sync", "start": "2025-01-06T10:00", "attendees": ["Ben", "Zoe"]})
    with pytest.raises(ToolPermissionError):
        by(ben, cal, "CANCEL_EVENT", {"event": "ev-1"})
    result = by(lisa, cal, "CANCEL_EVENT", {"event": "Sync", "reason": "Lisa is ill"})
    assert result.notices.delivered == ["Ben"] and result.notices.not_found == ["Zoe"]
    assert ben.memory.items()[-1].content == (
        "Lisa cancelled 'Sync' (ev-1), planned for 2025-01-06 10:00–11:00 (Lisa is ill).")
    assert by(lisa, cal, "LIST_EVENTS", {}).events == []
    assert [e.id for e in by(lisa, cal, "LIST_EVENTS", {"include_cancelled": True}).events] == ["ev-1"]
    assert by(lisa, cal, "CREATE_EVENT", {"title": "Other", "start": "2025-01-06T10:00"}).created
    with pytest.raises(ToolArgumentError, match="was cancelled"):
        by(lisa, cal, "CANCEL_EVENT", {"event": "ev-1"})


def test_event_lookup_by_title_must_be_unambiguous() -> None:
    cal = TinyCalendar(allow_conflicts=True)
    cal.call("CREATE_EVENT", {"title": "Sync", "start": "2025-01-06T10:00"})
    cal.call("CREATE_EVENT", {"title": "sync", "start": "2025-01-07T10:00"})
    with pytest.raises(ToolArgumentError, match="ev-1, ev-2; give the id"):
        cal.find_event("SYNC")
    with pytest.raises(ToolArgumentError, match="no event 'Gym'"):
        cal.call("CANCEL_EVENT", {"event": "Gym"})


def test_reminders_are_delivered_once_per_participant(office: Any) -> None:
    world, lisa, ben, _ = office
    cal = TinyCalendar()
    by(lisa, cal, "CREATE_EVENT", {"title": "Review", "start": "2025-01-06T10:00", "attendees": ["Ben"],
                                   "location": "Room 4", "remind_minutes_before": 30})
    assert cal.deliver_reminders(lisa) == []  # 09:00: too early
    world.skip(1, timedelta(minutes=40))
    assert [r.to for r in cal.due_reminders(world.current_datetime)] == ["Lisa", "Ben"]
    sent = cal.deliver_reminders(lisa)
    assert [r.text for r in sent] == ["Reminder: 'Review' starts at 10:00 (2025-01-06) at Room 4, in 20 minutes."]
    assert (lisa.memory.items()[-1].type, lisa.memory.items()[-1].source) == ("VISUAL", "calendar")
    assert cal.deliver_reminders(lisa) == []  # once
    world.skip(1, timedelta(minutes=10))
    assert len(cal.deliver_reminders(ben)) == 1 and cal.deliver_reminders(ben) == []
    assert cal.due_reminders(world.current_datetime) == []

    restored = TinyCalendar()
    restored.set_state(json.loads(json.dumps(cal.get_state())))
    assert restored.deliver_reminders(lisa) == [] and restored.deliver_reminders(ben) == []


def test_no_reminder_after_the_event_ended_cancelled_or_when_turned_off() -> None:
    cal = TinyCalendar(owner="Lisa")
    cal.call("CREATE_EVENT", {"title": "A", "start": "2025-01-06T10:00", "duration_minutes": 30})
    cal.call("CREATE_EVENT", {"title": "B", "start": "2025-01-06T11:00", "remind_minutes_before": None})
    cal.call("CREATE_EVENT", {"title": "C", "start": "2025-01-06T12:00"})
    cal.call("CANCEL_EVENT", {"event": "C"})
    assert cal.due_reminders(datetime(2025, 1, 6, 10, 30)) == []
    assert cal.due_reminders(datetime(2025, 1, 6, 11, 0)) == []
    assert cal.due_reminders(datetime(2025, 1, 6, 11, 50)) == []
    assert [r.text for r in cal.due_reminders(datetime(2025, 1, 6, 10, 10))] == [
        "Reminder: 'A' starts at 10:00 (2025-01-06), already started."]


@pytest.mark.parametrize(("now", "when"), [(datetime(2025, 1, 6, 9, 59), "in 1 minute"),
                                           (datetime(2025, 1, 5, 12, 0), "in about 22 hours")])
def test_reminder_wording(now: datetime, when: str) -> None:
    cal = TinyCalendar(owner="Lisa")
    cal.call("CREATE_EVENT", {"title": "A", "start": "2025-01-06T10:00", "remind_minutes_before": 24 * 60})
    assert cal.due_reminders(now)[0].text == f"Reminder: 'A' starts at 10:00 (2025-01-06), {when}."


def test_deliver_reminders_outside_a_world_needs_the_time() -> None:
    cal = TinyCalendar(owner="Lisa")
    cal.call("CREATE_EVENT", {"title": "A", "start": "2025-01-06T10:00"})
    lisa = TinyPerson("Lisa")
    with pytest.raises(InvalidState, match=r"now=\.\.\."):
        cal.deliver_reminders(lisa)
    assert len(cal.deliver_reminders(lisa, now=datetime(2025, 1, 6, 9, 50))) == 1


def test_the_turn_component_shows_a_due_reminder_in_that_very_turn(office: Any) -> None:
    world, lisa, _, backend = office
    cal = TinyCalendar(owner=lisa)
    lisa.add_component(CalendarReminders(cal))
    by(lisa, cal, "CREATE_EVENT", {"title": "Review", "start": "2025-01-06T11:00"})  # reminder due at 10:45
    seen = []
    for _ in range(5):
        backend.requests.clear()
        world.run(1, timedelta(minutes=30))
        lisa_prompt = next("\n".join(str(m.content) for m in r.messages) for r in backend.requests
                           if "Lisa" in str(r.messages[0].content))
        delivered = [i for i in lisa.memory.items() if i.content.startswith("Reminder:")]
        new_section = lisa_prompt.split("# New since your last turn")[1]
        seen.append((len(delivered), "Reminder: 'Review'" in new_section))
    # not due at first; once due, new in that very turn's prompt (not the next one's), and delivered once
    assert seen == [(0, False), (0, False), (0, False), (1, True), (1, False)]
    reminder = next(i for i in lisa.memory.items() if i.content.startswith("Reminder:"))
    assert datetime(2025, 1, 6, 10, 45) <= reminder.sim_time < datetime(2025, 1, 6, 12)


def test_state_round_trip_keeps_events_ids_and_refuses_bad_state() -> None:
    cal = TinyCalendar(owner="Lisa")
    cal.call("CREATE_EVENT", {"title": "A", "start": "2025-01-06T10:00", "attendees": ["Ben"]})
    cal.call("CREATE_EVENT", {"title": "B", "start": "2025-01-06T12:00"})
    state = json.loads(json.dumps(cal.get_state()))
    restored = TinyCalendar(owner="Lisa")
    restored.set_state(state)
    assert restored.events == cal.events and restored.get_state() == state
    assert restored.call("CREATE_EVENT", {"title": "C", "start": "2025-01-08T10:00"}).event.id == "ev-3"
    with pytest.raises(InvalidArgument, match="events"):
        restored.set_state({"events": [{"id": "ev-1", "title": "x", "start": "soon", "end": "later"}]})


def test_operations_and_capabilities() -> None:
    cal = TinyCalendar()
    assert sorted(cal.actions_definitions()) == ["CANCEL_EVENT", "CREATE_EVENT", "INVITE", "LIST_EVENTS"]
    assert "calendar" in cal.capabilities
    assert cal.operation("CREATE_EVENT").args_schema()["required"] == ["title", "start"]
