"""The scheduler and :class:`~tinytroupe.tools.calendar.TinyCalendar`: events agents create with the
calendar tool are on the world's schedule.

At each step the scheduler reads the calendars its world's agents hold (through
:class:`~tinytroupe.tools.tool_use.TinyToolUse`; a calendar shared by several agents is read once):
an event not cancelled whose start has come gets a start notice to its participants, once (the keys of
those delivered are kept in the scheduler's state); its reminders are the calendar's own
(:meth:`TinyCalendar.deliver_reminders`, once per participant, so a
:class:`~tinytroupe.tools.calendar.CalendarReminders` component on the same agent adds none); and the
calendar's upcoming events are in the prompt section of :class:`~.prompt.UpcomingEvents`. The calendar
stays the record of those events: cancelling one is the calendar's ``CANCEL_EVENT``.

Example:
    >>> from datetime import datetime
    >>> from tinytroupe.tools.calendar_events import CalendarEvent
    >>> ev = CalendarEvent(id="ev-1", title="Review", start=datetime(2025, 1, 6, 14), end=datetime(2025, 1, 6, 15),
    ...                    organizer="Lisa", attendees=["Ben"])
    >>> view = as_scheduled(ev, "Lisa")
    >>> view.id, view.duration_minutes, view.attendees, view.source
    ('Lisa/ev-1', 60, ['Lisa', 'Ben'], 'calendar:Lisa')
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from tinytroupe.environment.scheduler.events import MAX_EVENT_MINUTES, Notice, ScheduledEvent, start_text
from tinytroupe.environment.scheduler.timeline import instant
from tinytroupe.tools.calendar import TinyCalendar
from tinytroupe.tools.calendar_events import CalendarEvent
from tinytroupe.tools.tool_use import TinyToolUse

if TYPE_CHECKING:
    from tinytroupe.environment.world import TinyWorld

#: what attendees see as the source of a calendar event's start notice
SOURCE = "calendar"


def world_calendars(world: TinyWorld) -> list[tuple[str, TinyCalendar]]:
    """Each calendar the world's agents hold, once, with its label: its owner's name, else ``shared``
    (``shared-2``, ... for further calendars without an owner, in the agents' order)."""
    found: list[tuple[str, TinyCalendar]] = []
    seen: set[int] = set()
    shared = 0
    for agent in world.agents:
        for faculty in agent.mental_faculties:
            if not isinstance(faculty, TinyToolUse):
                continue
            for tool in faculty.tools:
                if isinstance(tool, TinyCalendar) and id(tool) not in seen:
                    seen.add(id(tool))
                    owner = tool.owner if isinstance(tool.owner, str) or tool.owner is None else tool.owner.name
                    if owner is None:
                        shared += 1
                        owner = "shared" if shared == 1 else f"shared-{shared}"
                    found.append((owner, tool))
    return found


def as_scheduled(event: CalendarEvent, label: str) -> ScheduledEvent:
    """A calendar event as a scheduled one (for its texts and the upcoming-events section)."""
    minutes = int((event.end - event.start).total_seconds() // 60)
    return ScheduledEvent(id=f"{label}/{event.id}", title=event.title, start=event.start,
                          duration_minutes=min(max(minutes, 0), MAX_EVENT_MINUTES), attendees=event.participants,
                          location=event.location, description=event.description, source=f"calendar:{label}")


def calendar_starts(calendars: list[tuple[str, TinyCalendar]], done: set[str], origin: datetime, high: datetime,
                    now: datetime) -> list[tuple[Notice, list[str]]]:
    """Start notices of calendar events whose start has come (by ``high``) and not been delivered, with
    their participants; ``done`` gains their keys. Events that started before ``origin`` are marked
    done without a notice (they belong to a time before the scheduler's)."""
    due: list[tuple[Notice, list[str]]] = []
    for label, calendar in calendars:
        for event in calendar.events:
            key = f"{label}/{event.id}"
            if event.cancelled or key in done or instant(event.start) > instant(high):
                continue
            done.add(key)
            if instant(event.start) < instant(origin):
                continue
            view = as_scheduled(event, label)
            due.append((Notice(event_id=key, kind="start", occurrence=event.start, due=event.start,
                               text=start_text(view, event.start, now)), view.attendees))
    return due


def calendar_reminders(world: TinyWorld, calendars: list[tuple[str, TinyCalendar]], now: datetime) -> list[Notice]:
    """Deliver the calendars' due reminders to their participants in ``world`` (the calendar's own rule:
    once per participant); a notice for each."""
    notices: list[Notice] = []
    for label, calendar in calendars:
        for name in sorted({r.to for r in calendar.due_reminders(now) if r.to is not None}):
            agent = world.get_agent_by_name(name)
            if agent is None:
                continue
            for reminder in calendar.deliver_reminders(agent, now):
                notices.append(Notice(event_id=f"{label}/{reminder.event_id}", kind="reminder",
                                      occurrence=reminder.start, due=now, text=reminder.text, to=[name]))
    return notices


def calendar_upcoming(calendars: list[tuple[str, TinyCalendar]], name: str, low: datetime,
                      high: datetime) -> list[tuple[datetime, ScheduledEvent]]:
    """``name``'s calendar events not cancelled starting after ``low`` and by ``high``."""
    found = []
    for label, calendar in calendars:
        for event in calendar.events:
            if not event.cancelled and event.involves(name) and instant(low) < instant(event.start) <= instant(high):
                found.append((event.start, as_scheduled(event, label)))
    return found


__all__ = ["SOURCE", "as_scheduled", "calendar_reminders", "calendar_starts", "calendar_upcoming", "world_calendars"]
