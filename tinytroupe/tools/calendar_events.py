"""The event model of :class:`~tinytroupe.tools.calendar.TinyCalendar`: :class:`CalendarEvent`, the
times agents write (ISO 8601, read against the simulated clock), and overlaps between events.

Example:
    >>> from datetime import datetime
    >>> now = datetime(2025, 1, 6, 9, 0)
    >>> parse_time("2025-01-06T14:30", "start", now)
    datetime.datetime(2025, 1, 6, 14, 30)
    >>> parse_time("in 2 hours", "start", now)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tinytroupe.errors.InvalidArgument: start: 'in 2 hours' is not an ISO 8601 date and time; write it like ...
    >>> a = CalendarEvent(id="ev-1", title="Stand-up", start=datetime(2025, 1, 6, 9), end=datetime(2025, 1, 6, 9, 15))
    >>> b = CalendarEvent(id="ev-2", title="Review", start=datetime(2025, 1, 6, 9, 10), end=datetime(2025, 1, 6, 10))
    >>> a.overlaps(b), a.overlaps(b.model_copy(update={"start": a.end}))
    (True, False)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import BaseModel, Field, model_validator

from tinytroupe.errors import InvalidArgument

#: the longest event (a week): longer spans are almost always a mistaken end date
MAX_EVENT_MINUTES = 7 * 24 * 60
MAX_ATTENDEES = 50


class CalendarEvent(BaseModel):
    """One event in a calendar. Times are the simulated clock's (naive unless the world's clock is aware).

    ``organizer`` is who created it; ``attendees`` who was invited (the organizer is not among them);
    ``remind_minutes_before`` when participants are reminded (None: no reminder).
    """

    id: str
    title: str = Field(min_length=1, max_length=200)
    start: datetime
    end: datetime
    organizer: str | None = None
    attendees: list[str] = Field(default_factory=list, max_length=MAX_ATTENDEES)
    location: str | None = None
    description: str | None = None
    remind_minutes_before: int | None = Field(15, ge=0, le=MAX_EVENT_MINUTES)
    cancelled: bool = False

    @model_validator(mode="after")
    def _ends_after_start(self) -> CalendarEvent:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end.isoformat()}) must be after start ({self.start.isoformat()})")
        return self

    @property
    def participants(self) -> list[str]:
        """The organizer (if known) and the attendees."""
        return ([self.organizer] if self.organizer else []) + [a for a in self.attendees if a != self.organizer]

    def involves(self, name: str) -> bool:
        return name in self.participants

    def overlaps(self, other: CalendarEvent) -> bool:
        """Whether the two events share some time (touching ends do not count)."""
        return self.start < other.end and other.start < self.end

    @property
    def remind_at(self) -> datetime | None:
        if self.remind_minutes_before is None:
            return None
        return self.start - timedelta(minutes=self.remind_minutes_before)

    def when(self) -> str:
        """``2025-01-06 14:00–15:00`` (or the end's date too when it is another day)."""
        end = f"{self.end:%H:%M}" if self.end.date() == self.start.date() else f"{self.end:%Y-%m-%d %H:%M}"
        return f"{self.start:%Y-%m-%d %H:%M}–{end}"

    def describe(self) -> str:
        """One line: title, time, place and who."""
        parts = [f"{self.title!r} ({self.id}) {self.when()}"]
        if self.location:
            parts.append(f"at {self.location}")
        if self.organizer:
            parts.append(f"organised by {self.organizer}")
        if self.attendees:
            parts.append(f"with {', '.join(self.attendees)}")
        return ", ".join(parts)


class Conflict(BaseModel):
    """An existing event that overlaps a new one for someone taking part in both."""

    event_id: str
    title: str
    start: datetime
    end: datetime
    people: list[str] = Field(description="who would have to be in both")


def conflicts_with(new: CalendarEvent, existing: Iterable[CalendarEvent]) -> list[Conflict]:
    """The events of ``existing`` (not cancelled) overlapping ``new`` for a shared participant."""
    mine = set(new.participants)
    found = []
    for event in existing:
        if event.cancelled or event.id == new.id or not event.overlaps(new):
            continue
        shared = sorted(mine.intersection(event.participants))
        if shared:
            found.append(Conflict(event_id=event.id, title=event.title, start=event.start, end=event.end,
                                  people=shared))
    return found


class Reminder(BaseModel):
    """A reminder due to one participant of an event."""

    event_id: str
    to: str | None
    start: datetime
    text: str


def reminder_text(event: CalendarEvent, now: datetime) -> str:
    """What a participant perceives: ``Reminder: 'Review' starts at 11:00 (2025-01-06) at Room 4, in 20 minutes.``"""
    minutes = int((event.start - now).total_seconds() // 60)
    if minutes >= 120:
        when = f"in about {round(minutes / 60)} hours"
    elif minutes > 0:
        when = f"in {minutes} minute{'s' if minutes > 1 else ''}"
    else:
        when = "now" if minutes == 0 else "already started"
    where = f" at {event.location}" if event.location else ""
    return f"Reminder: {event.title!r} starts at {event.start:%H:%M} ({event.start:%Y-%m-%d}){where}, {when}."


def _example(now: datetime | None) -> str:
    base = (now or datetime(2025, 1, 6, 9)) + timedelta(hours=2)
    return base.replace(second=0, microsecond=0).isoformat(timespec="minutes")


def parse_time(text: str, field: str, now: datetime | None) -> datetime:
    """``text`` as a datetime (ISO 8601: ``2025-01-06T14:30``, ``2025-01-06 14:30``, a date alone is midnight).

    A time with a UTC offset is accepted only when the simulated clock has one too; a time without one
    takes the clock's zone.

    Raises:
        InvalidArgument: not ISO 8601, or a zone mismatch (a ValueError); the message shows the expected form and the
            simulated time now (the caller turns it into a ``ToolArgumentError``).
    """
    clock = f" (the simulated time now is {now.isoformat(timespec='minutes')})" if now else ""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidArgument(f"{field}: {text!r} is not an ISO 8601 date and time; write it like {_example(now)}"
                         f"{clock}") from None
    if now is not None and value.tzinfo is not None and now.tzinfo is None:
        raise InvalidArgument(f"{field}: {text!r} has a UTC offset but the simulated clock has none; write the local "
                         f"simulated time, like {_example(now)}{clock}")
    if now is not None and value.tzinfo is None and now.tzinfo is not None:
        value = value.replace(tzinfo=now.tzinfo)
    return value


__all__ = ["MAX_ATTENDEES", "MAX_EVENT_MINUTES", "CalendarEvent", "Conflict", "Reminder", "conflicts_with",
           "parse_time", "reminder_text"]
