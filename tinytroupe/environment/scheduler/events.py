"""The scheduler's events: :class:`ScheduledEvent` (one-time, recurring by an RFC 5545 RRULE, or a
deadline, with reminders) and :class:`Notice` (what its attendees perceive), with the texts they read.

Texts show times in the world clock's zone: an event kept in ``Europe/Lisbon`` and a clock in UTC read
``08:00`` in summer for a 09:00 Lisbon stand-up.

Example:
    >>> from datetime import datetime
    >>> standup = ScheduledEvent(id="standup", title="Stand-up", start=datetime(2025, 1, 6, 9, 30),
    ...                          duration_minutes=15, rrule="FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR")
    >>> start_text(standup, datetime(2025, 1, 7, 9, 30), datetime(2025, 1, 7, 9, 30))
    "'Stand-up' starts now (09:30–09:45)."
    >>> report = ScheduledEvent(id="report", title="Report", start=datetime(2025, 1, 6, 17), kind="deadline")
    >>> reminder_text(report, report.start, datetime(2025, 1, 6, 15))
    "Reminder: 'Report' is due at 17:00 (2025-01-06), in 2 hours."
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from tinytroupe.environment.scheduler.timeline import instant, parse_rule, same_kind
from tinytroupe.errors import InvalidArgument

#: the longest event (a week)
MAX_EVENT_MINUTES = 7 * 24 * 60
MAX_REMINDERS = 5

EventKind = Literal["event", "deadline"]
NoticeKind = Literal["start", "reminder", "cancelled", "more"]


class ScheduledEvent(BaseModel):
    """One event on the world's schedule.

    ``start`` is its (first) time; ``rrule`` an RFC 5545 RRULE repeating it from there; a ``deadline``
    is a moment (no duration). ``attendees`` empty means everyone in the world. ``reminders`` are lead
    times in minutes. ``source`` is ``"calendar:<name>"`` for an event read from a
    :class:`~tinytroupe.tools.calendar.TinyCalendar`.
    """

    id: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=200)
    start: datetime
    duration_minutes: int = Field(0, ge=0, le=MAX_EVENT_MINUTES)
    rrule: str | None = Field(None, max_length=500)
    kind: EventKind = "event"
    attendees: list[str] = Field(default_factory=list, description="empty: everyone in the world")
    location: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=2000)
    reminders: list[int] = Field(default_factory=list, max_length=MAX_REMINDERS, description="minutes before")
    cancelled: bool = False
    cancelled_occurrences: list[datetime] = Field(default_factory=list)
    source: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ScheduledEvent:
        if self.kind == "deadline" and self.duration_minutes:
            raise ValueError("a deadline is a moment: it has no duration")
        if self.rrule is not None:
            parse_rule(self.rrule, self.start)  # InvalidArgument is a ValueError: pydantic reports it
        if any(m <= 0 for m in self.reminders):
            raise ValueError("reminders: each is a number of minutes before the event, more than 0")
        if any(not a.strip() for a in self.attendees):
            raise ValueError("attendees: names must not be empty")
        if any(not same_kind(t, self.start) for t in self.cancelled_occurrences):
            raise ValueError("cancelled_occurrences: give them with a time zone exactly when start has one")
        self.reminders = sorted(set(self.reminders), reverse=True)
        return self

    @property
    def leads(self) -> list[timedelta]:
        """The reminders' lead times, longest first."""
        return [timedelta(minutes=m) for m in self.reminders]

    def involves(self, name: str) -> bool:
        """Whether ``name`` attends (everyone does when no attendees are listed)."""
        return not self.attendees or name in self.attendees

    def end_of(self, occurrence: datetime) -> datetime:
        return occurrence + timedelta(minutes=self.duration_minutes)


class Notice(BaseModel):
    """What the scheduler delivered: one text for one occurrence (or reminder of it) to its attendees.

    ``kind`` is ``start`` (the occurrence came), ``reminder``, ``cancelled``, or ``more`` (one line for
    the occurrences past the per-step limit). ``due`` is when it fell due on the timeline; ``not_found``
    the attendees who were not in the world.
    """

    event_id: str
    kind: NoticeKind
    occurrence: datetime | None = None
    due: datetime
    text: str
    to: list[str] = Field(default_factory=list)
    not_found: list[str] = Field(default_factory=list)


def _local(value: datetime, now: datetime) -> datetime:
    return value.astimezone(now.tzinfo) if value.tzinfo is not None and now.tzinfo is not None else value


def _at(value: datetime) -> str:
    return f"{value:%H:%M} ({value:%Y-%m-%d})"


def _in(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes >= 48 * 60:
        return f"in {round(minutes / 1440)} days"
    if minutes >= 120:
        return f"in about {round(minutes / 60)} hours" if minutes % 60 else f"in {minutes // 60} hours"
    if minutes > 0:
        return f"in {minutes} minute{'s' if minutes > 1 else ''}"
    return "now"


def start_text(event: ScheduledEvent, occurrence: datetime, now: datetime) -> str:
    """What attendees perceive when an occurrence comes (at the step's clock ``now``, maybe later)."""
    t, where = _local(occurrence, now), f" at {event.location}" if event.location else ""
    extra = f" {event.description}" if event.description else ""
    if event.kind == "deadline":
        return _deadline(event, t, now, extra)
    end = _local(event.end_of(occurrence), now)
    span = f"{t:%H:%M}–{end:%H:%M}" if event.duration_minutes else f"{t:%H:%M}"
    if instant(occurrence) == instant(now):
        return f"{event.title!r} starts now ({span}){where}.{extra}"
    if instant(end) > instant(now):
        return f"{event.title!r} started at {_at(t)}{where} and goes on until {end:%H:%M}.{extra}"
    return f"{event.title!r} took place at {_at(t)}{where}.{extra}"


def _deadline(event: ScheduledEvent, t: datetime, now: datetime, extra: str) -> str:
    if instant(t) == instant(now):
        return f"Deadline: {event.title!r} is due now, {_at(t)}.{extra}"
    return f"Deadline: {event.title!r} was due at {_at(t)}.{extra}"


def reminder_text(event: ScheduledEvent, occurrence: datetime, now: datetime) -> str:
    """A reminder of ``occurrence``, read at ``now``."""
    t, where = _local(occurrence, now), f" at {event.location}" if event.location else ""
    verb = "is due at" if event.kind == "deadline" else "starts at"
    return f"Reminder: {event.title!r} {verb} {_at(t)}{where}, {_in(instant(occurrence) - instant(now))}."


def cancel_text(event: ScheduledEvent, occurrence: datetime | None, reason: str | None, now: datetime) -> str:
    """The notice of a cancellation: of one occurrence, or of the whole event."""
    why = f" ({reason})" if reason else ""
    if occurrence is not None:
        return f"{event.title!r} on {_at(_local(occurrence, now))} is cancelled{why}."
    again = " and will not take place again" if event.rrule else ""
    return f"{event.title!r} is cancelled{again}{why}."


def more_text(event: ScheduledEvent, count: int, first: datetime, last: datetime, now: datetime) -> str:
    """One line for ``count`` occurrences past the per-step limit."""
    return (f"{event.title!r} also came {count} more times since your last notice, from {_at(_local(first, now))} "
            f"to {_at(_local(last, now))}.")


def check_time(value: datetime, clock: datetime, field: str) -> None:
    """Refuse a time that cannot be compared with the world clock (one naive, the other aware).

    Raises:
        InvalidArgument: naming ``field``, the value and what to write instead.
    """
    if not same_kind(value, clock):
        has, lacks = ("a time zone", "none") if value.tzinfo is not None else ("no time zone", "one")
        raise InvalidArgument(f"{field}: {value.isoformat()} has {has} but the world clock "
                              f"({clock.isoformat()}) has {lacks}; give both a time zone or neither")


__all__ = ["MAX_EVENT_MINUTES", "MAX_REMINDERS", "EventKind", "Notice", "NoticeKind", "ScheduledEvent",
           "cancel_text", "check_time", "more_text", "reminder_text", "start_text"]
