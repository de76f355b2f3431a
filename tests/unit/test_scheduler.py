"""The event scheduler's rules: one-time, recurring, deadline events, reminders, cancellation, windows that
neither repeat nor skip however coarse the steps, daylight saving, month ends, bad input, state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr

from tinytroupe.agent import TinyPerson
from tinytroupe.environment import EventScheduler, TinyWorld
from tinytroupe.environment.scheduler import Recurrence
from tinytroupe.errors import InvalidArgument, NotFound

LISBON = ZoneInfo("Europe/Lisbon")
MONDAY = datetime(2025, 1, 6, 0, 0)


def office(start: datetime = MONDAY, names: tuple[str, ...] = ("Ana", "Ben", "Cy")) -> tuple[TinyWorld, EventScheduler]:
    world = TinyWorld("Office", [TinyPerson(n) for n in names], initial_datetime=start, communication_display=False)
    return world, EventScheduler(max_notices_per_step=1000).attach(world)


def advance(world: TinyWorld, schedule: EventScheduler, step: timedelta, steps: int) -> None:
    """Move the clock as a run would, delivering at each step (no agent acts: no model is needed)."""
    for _ in range(steps):
        world.skip(1, step)
        schedule.deliver(world)


def seen(agent: TinyPerson) -> list[str]:
    return [i.content for i in agent.memory.items() if i.kind == "stimulus"]


def starts(schedule: EventScheduler) -> list[datetime]:
    return [n.occurrence for n in schedule.notices if n.kind == "start" and n.occurrence is not None]


# ------------------------------------------------------------------------------------ one-time events

def test_a_one_time_event_reaches_its_attendees_once_in_the_step_that_holds_it() -> None:
    world, schedule = office()
    schedule.add("Review", datetime(2025, 1, 6, 14), duration_minutes=30, attendees=["Ana", "Ben"],
                 location="Room 4")
    advance(world, schedule, timedelta(hours=1), 13)
    assert not seen(world.get_agent_by_name("Ana"))  # 13:00: not yet
    advance(world, schedule, timedelta(hours=1), 1)
    assert seen(world.get_agent_by_name("Ana")) == ["'Review' starts now (14:00–14:30) at Room 4."]
    assert seen(world.get_agent_by_name("Ben")) == seen(world.get_agent_by_name("Ana"))
    assert seen(world.get_agent_by_name("Cy")) == []
    advance(world, schedule, timedelta(hours=1), 30)
    assert len(seen(world.get_agent_by_name("Ana"))) == 1
    assert schedule.counts == {"start": 1}


def test_a_coarse_step_tells_what_happened_in_its_window() -> None:
    world, schedule = office()
    schedule.add("Review", datetime(2025, 1, 6, 14), duration_minutes=90, attendees=["Ana"])
    schedule.add("Lunch", datetime(2025, 1, 6, 12), duration_minutes=30, attendees=["Ana"])
    world.skip(1, timedelta(hours=15))
    assert schedule.deliver(world) == {"Ana"}
    assert seen(world.get_agent_by_name("Ana")) == [
        "'Lunch' took place at 12:00 (2025-01-06).",  # in time order, whatever the order they were added
        "'Review' started at 14:00 (2025-01-06) and goes on until 15:30.",
    ]


def test_an_event_at_the_starting_time_is_delivered_even_if_the_clock_never_moves() -> None:
    world, schedule = office()
    schedule.add("Kick-off", MONDAY)
    for _ in range(3):
        world.skip(1)  # steps without a time delta: the clock stays
        schedule.deliver(world)
    assert seen(world.get_agent_by_name("Cy")) == ["'Kick-off' starts now (00:00)."]


def test_an_event_added_at_the_clock_after_its_delivery_comes_at_the_next_step() -> None:
    world, schedule = office()
    advance(world, schedule, timedelta(hours=1), 2)
    schedule.add("Now", world.current_datetime, attendees=["Ana"])
    advance(world, schedule, timedelta(hours=1), 1)
    assert seen(world.get_agent_by_name("Ana")) == ["'Now' took place at 02:00 (2025-01-06)."]
    advance(world, schedule, timedelta(hours=1), 2)
    assert len(seen(world.get_agent_by_name("Ana"))) == 1


# ------------------------------------------------------------------------------------ recurring events

@pytest.mark.parametrize("step", [timedelta(minutes=20), timedelta(hours=1), timedelta(hours=7), timedelta(days=1),
                                  timedelta(days=3), timedelta(days=10)])
def test_recurring_occurrences_are_delivered_once_each_whatever_the_step(step: timedelta) -> None:
    world, schedule = office()
    rule = "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9,13;BYMINUTE=30"
    schedule.add("Check-in", datetime(2025, 1, 6, 9, 30), rrule=rule, attendees=["Ana"])
    end = MONDAY + timedelta(days=30)
    steps = int((end - MONDAY) / step)
    advance(world, schedule, step, steps)
    expected = list(rrulestr(rule, dtstart=datetime(2025, 1, 6, 9, 30)).between(MONDAY, world.current_datetime,
                                                                                 inc=True))
    assert starts(schedule) == expected  # none twice, none skipped, in order
    assert len(seen(world.get_agent_by_name("Ana"))) == len(expected)


def test_a_step_past_the_per_step_limit_sums_up_the_rest_in_one_line() -> None:
    world = TinyWorld("Office", [TinyPerson("Ana")], initial_datetime=MONDAY, communication_display=False)
    schedule = EventScheduler(max_notices_per_step=2).attach(world)
    schedule.add("Stand-up", datetime(2025, 1, 6, 9), rrule="FREQ=DAILY")
    world.skip(1, timedelta(weeks=1))
    schedule.deliver(world)
    assert seen(world.get_agent_by_name("Ana")) == [
        "'Stand-up' took place at 09:00 (2025-01-06).",
        "'Stand-up' took place at 09:00 (2025-01-07).",
        "'Stand-up' also came 5 more times since your last notice, from 09:00 (2025-01-08) to 09:00 (2025-01-12).",
    ]


@pytest.mark.parametrize("rule", ["FREQ=MINUTELY;INTERVAL=7;BYHOUR=9,10", "FREQ=HOURLY;INTERVAL=5;BYMINUTE=15",
                                  "FREQ=DAILY;COUNT=40", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH",
                                  "FREQ=MONTHLY;BYDAY=-1FR", "FREQ=MONTHLY;BYMONTHDAY=31",
                                  "FREQ=MONTHLY;BYSETPOS=2;BYDAY=MO,TU,WE,TH,FR", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
                                  "FREQ=DAILY;UNTIL=20250301T000000"])
def test_windows_moving_forward_find_the_rules_own_occurrences(rule: str) -> None:
    start = datetime(2025, 1, 6, 9, 0)
    recurrence = Recurrence(start, rule)
    full = list(rrulestr(rule, dtstart=start).between(start, datetime(2028, 1, 1), inc=True))
    found: list[datetime] = []
    low = start
    for hours in [1, 5, 30, 200, 3, 2000, 17, 9000, 12000]:  # uneven windows, all moving forward
        high = low + timedelta(hours=hours)
        found += recurrence.between(low, high, low_inclusive=low == start, advance=True)
        assert list(recurrence.between(low + timedelta(hours=30), high + timedelta(hours=60))) == [
            t for t in full if low + timedelta(hours=30) <= t <= high + timedelta(hours=60)]  # a look ahead
        low = high
    assert found == [t for t in full if t <= low]


# ------------------------------------------------------------------------------------ month ends

def test_monthly_on_the_31st_skips_the_short_months_as_rfc_5545_says() -> None:
    world, schedule = office(start=datetime(2025, 1, 1))
    schedule.add("Close the books", datetime(2025, 1, 31, 9), rrule="FREQ=MONTHLY;BYMONTHDAY=31")
    advance(world, schedule, timedelta(days=1), 365)
    assert [t.strftime("%m-%d") for t in starts(schedule)] == ["01-31", "03-31", "05-31", "07-31", "08-31",
                                                                "10-31", "12-31"]


def test_monthly_on_the_last_day_is_bymonthday_minus_one_leap_years_included() -> None:
    world, schedule = office(start=datetime(2027, 12, 1))
    schedule.add("Rent", datetime(2027, 12, 31, 9), rrule="FREQ=MONTHLY;BYMONTHDAY=-1")
    advance(world, schedule, timedelta(weeks=1), 20)
    assert [t.strftime("%Y-%m-%d") for t in starts(schedule)] == ["2027-12-31", "2028-01-31", "2028-02-29",
                                                                  "2028-03-31"]


# ------------------------------------------------------------------------------------ daylight saving

@pytest.mark.parametrize("day, before_utc, after_utc", [
    (datetime(2025, 3, 28), 9, 8),  # WET (UTC+0) to WEST (UTC+1) on 30 March
    (datetime(2025, 10, 24), 8, 9),  # back on 26 October
])
def test_a_daily_09_00_lisbon_event_stays_at_09_00_local_across_the_change(day: datetime, before_utc: int,
                                                                          after_utc: int) -> None:
    world, schedule = office(start=day.replace(tzinfo=UTC))  # a clock in UTC, stepped by the hour
    schedule.add("Stand-up", day.replace(hour=9, tzinfo=LISBON), rrule="FREQ=DAILY", attendees=["Ana"])
    advance(world, schedule, timedelta(hours=1), 24 * 5)
    delivered_at = [n.due.astimezone(UTC).hour for n in schedule.notices]
    assert delivered_at == [before_utc, before_utc, after_utc, after_utc, after_utc]
    assert all(t.astimezone(LISBON).hour == 9 for t in starts(schedule))
    assert "'Stand-up' starts now" in seen(world.get_agent_by_name("Ana"))[-1]  # each hit exactly by a step


def test_a_clock_in_lisbon_stepping_by_day_gets_the_event_every_day_exactly() -> None:
    world, schedule = office(start=datetime(2025, 3, 27, 9, tzinfo=LISBON))
    schedule.add("Stand-up", datetime(2025, 3, 28, 9, tzinfo=LISBON), rrule="FREQ=DAILY", attendees=["Ana"])
    advance(world, schedule, timedelta(days=1), 6)  # wall-clock days: 23 hours on 30 March
    assert seen(world.get_agent_by_name("Ana")) == ["'Stand-up' starts now (09:00)."] * 6


def test_a_time_skipped_by_the_spring_change_is_read_with_the_offset_before_it() -> None:
    world, schedule = office(start=datetime(2025, 3, 30, 0, tzinfo=UTC))
    schedule.add("Backup", datetime(2025, 3, 30, 1, 30, tzinfo=LISBON), attendees=["Ana"])  # 01:30 does not exist
    advance(world, schedule, timedelta(minutes=15), 12)
    (notice,) = schedule.notices
    assert notice.due.astimezone(UTC) == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)  # = 02:30 WEST
    assert seen(world.get_agent_by_name("Ana")) == ["'Backup' starts now (01:30)."]  # in the clock's zone


def test_times_with_and_without_a_zone_do_not_mix() -> None:
    _, schedule = office()
    with pytest.raises(InvalidArgument, match=r"event 'ev-1' start: .* has a time zone but the world clock"):
        schedule.add("Call", datetime(2025, 1, 6, 9, tzinfo=LISBON))
    loose = EventScheduler()
    loose.add("Call", datetime(2025, 1, 6, 9, tzinfo=LISBON))
    with pytest.raises(InvalidArgument, match="has a time zone but the world clock"):
        loose.attach(TinyWorld("Other", initial_datetime=MONDAY))


# ------------------------------------------------------------------------------------ reminders, deadlines

def test_reminders_come_their_lead_before_and_only_the_nearest_in_one_window() -> None:
    world, schedule = office()
    schedule.add("Review", datetime(2025, 1, 7, 10), attendees=["Ana"], reminders=["1d", "1h", 15])
    advance(world, schedule, timedelta(hours=1), 9)  # Monday 09:00
    assert seen(world.get_agent_by_name("Ana")) == []
    advance(world, schedule, timedelta(hours=1), 1)  # Monday 10:00: the day's reminder
    advance(world, schedule, timedelta(hours=1), 23)  # Tuesday 09:00: 1 h and 15 min both fell due: the nearer
    advance(world, schedule, timedelta(hours=1), 1)  # Tuesday 10:00: the event
    assert seen(world.get_agent_by_name("Ana")) == [
        "Reminder: 'Review' starts at 10:00 (2025-01-07), in 24 hours.",
        "Reminder: 'Review' starts at 10:00 (2025-01-07), in 60 minutes.",
        "'Review' starts now (10:00).",
    ]


def test_a_reminder_is_not_sent_when_its_event_came_in_the_same_step() -> None:
    world, schedule = office()
    schedule.add("Review", datetime(2025, 1, 6, 10), attendees=["Ana"], reminders=["30m"])
    advance(world, schedule, timedelta(days=1), 1)
    assert seen(world.get_agent_by_name("Ana")) == ["'Review' took place at 10:00 (2025-01-06)."]


def test_a_deadline_is_announced_with_reminders_before_it() -> None:
    world, schedule = office()
    schedule.add_deadline("Quarterly report", datetime(2025, 1, 6, 17), attendees=["Ben"], reminders=["2h"])
    advance(world, schedule, timedelta(hours=1), 18)
    assert seen(world.get_agent_by_name("Ben")) == [
        "Reminder: 'Quarterly report' is due at 17:00 (2025-01-06), in 2 hours.",
        "Deadline: 'Quarterly report' is due now, 17:00 (2025-01-06).",
    ]


# ------------------------------------------------------------------------------------ cancellation

def test_cancelling_an_event_tells_its_attendees_and_ends_it() -> None:
    world, schedule = office()
    standup = schedule.add("Stand-up", datetime(2025, 1, 6, 9), rrule="FREQ=DAILY", attendees=["Ana"])
    advance(world, schedule, timedelta(days=1), 2)  # Monday's and Tuesday's
    notice = schedule.cancel(standup.id, reason="the team moved to async updates")
    assert notice.to == ["Ana"]
    advance(world, schedule, timedelta(days=1), 5)
    assert seen(world.get_agent_by_name("Ana"))[2:] == [
        "'Stand-up' is cancelled and will not take place again (the team moved to async updates)."]
    assert schedule.upcoming(world.current_datetime) == []
    with pytest.raises(InvalidArgument, match="cancelled already"):
        schedule.cancel(standup.id)
    with pytest.raises(NotFound, match="no scheduled event 'nope'"):
        schedule.cancel("nope")


def test_cancelling_one_occurrence_skips_only_that_one() -> None:
    world, schedule = office()
    standup = schedule.add("Stand-up", datetime(2025, 1, 6, 9), rrule="FREQ=DAILY", attendees=["Ana"])
    schedule.cancel(standup.id, occurrence=datetime(2025, 1, 8, 9), notify=False)
    with pytest.raises(InvalidArgument, match="is not an occurrence"):
        schedule.cancel(standup.id, occurrence=datetime(2025, 1, 8, 10))
    advance(world, schedule, timedelta(hours=6), 4 * 4)
    assert [t.day for t in starts(schedule)] == [6, 7, 9]


# ------------------------------------------------------------------------------------ bad input

@pytest.mark.parametrize("kwargs, message", [
    ({"rrule": "FREQ=SOMETIMES"}, "rrule 'FREQ=SOMETIMES': invalid 'FREQ'"),
    ({"rrule": "DTSTART:20250101T090000\nRRULE:FREQ=DAILY"}, "give one RRULE"),
    ({"rrule": "BYDAY=MO"}, "it needs FREQ"),
    ({"rrule": "FREQ=DAILY;EVERY=2"}, "unknown part EVERY"),
    ({"reminders": ["soon"]}, "reminder 'soon': write minutes"),
    ({"reminders": [0]}, "must be more than 0"),
    ({"duration_minutes": -5}, "duration_minutes"),
    ({"kind": "deadline", "duration_minutes": 30}, "a deadline is a moment"),
    ({"attendees": [" "]}, "attendees: names must not be empty"),
])
def test_bad_events_get_an_error_naming_the_field(kwargs: dict[str, object], message: str) -> None:
    _, schedule = office()
    with pytest.raises(InvalidArgument, match=message):
        schedule.add("Thing", datetime(2025, 1, 6, 9), **kwargs)  # type: ignore[arg-type]


def test_a_one_time_event_before_the_clock_or_a_taken_id_is_refused() -> None:
    world, schedule = office(start=datetime(2025, 1, 6, 12))
    with pytest.raises(InvalidArgument, match=r"start: 2025-01-06T09:00:00 is before the world clock"):
        schedule.add("Gone", datetime(2025, 1, 6, 9))
    schedule.add("Daily", datetime(2025, 1, 1, 9), rrule="FREQ=DAILY", id="daily")  # past starts recur onwards
    with pytest.raises(InvalidArgument, match="'daily' is already scheduled"):
        schedule.add("Again", datetime(2025, 1, 7, 9), id="daily")
    advance(world, schedule, timedelta(hours=12), 1)
    assert starts(schedule) == []  # those before the clock are not delivered late
    advance(world, schedule, timedelta(hours=12), 1)
    assert starts(schedule) == [datetime(2025, 1, 7, 9)]


# ------------------------------------------------------------------------------------ state

def test_the_schedule_is_saved_and_restored_with_the_world_and_goes_on_without_repeats() -> None:
    def build() -> tuple[TinyWorld, EventScheduler]:
        world, schedule = office()
        schedule.add("Stand-up", datetime(2025, 1, 6, 9), rrule="FREQ=DAILY", reminders=["30m"], attendees=["Ana"])
        schedule.add_deadline("Report", datetime(2025, 1, 8, 17), attendees=["Ben"])
        return world, schedule

    straight, s1 = build()
    advance(straight, s1, timedelta(hours=5), 20)
    first, s2 = build()
    advance(first, s2, timedelta(hours=5), 8)
    saved = first.to_state()
    assert saved["schedule"]["through"] == "2025-01-07T16:00:00"
    again = TinyWorld("Office", initial_datetime=MONDAY, communication_display=False)
    again.load_state(saved)
    assert again.scheduler is not None and again.scheduler is not s2
    advance(again, again.scheduler, timedelta(hours=5), 12)
    for name in ("Ana", "Ben"):
        assert seen(again.get_agent_by_name(name)) == seen(straight.get_agent_by_name(name))
    assert again.scheduler.counts == s1.counts
