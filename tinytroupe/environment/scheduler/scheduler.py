"""``EventScheduler``: one-time, recurring (RFC 5545 RRULE) and deadline events on a world's clock,
with reminders and cancellation, delivered to their attendees as stimuli when the clock reaches them.

Attach it to a world (``EventScheduler().attach(world)``); at the start of each step, after the
interventions and before anyone acts, the world hands out what fell due in the step's window (see
:mod:`.delivery` for the rule: each occurrence once, none skipped however coarse the steps), including
the start of events agents made with their :class:`~tinytroupe.tools.calendar.TinyCalendar`
(:mod:`.calendars`). Each attendee's prompt lists its upcoming events (:class:`~.prompt.UpcomingEvents`).
The scheduler's state is saved with the world's (``world.to_state()``, checkpoints).

Example:
    >>> from datetime import datetime
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.environment import TinyWorld
    >>> world = TinyWorld("Office", [TinyPerson("Ana")], initial_datetime=datetime(2025, 1, 6, 8))
    >>> schedule = EventScheduler().attach(world)
    >>> standup = schedule.add("Stand-up", datetime(2025, 1, 6, 9), duration_minutes=15,
    ...                        rrule="FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", reminders=["10m"])
    >>> world.skip_hours(1)
    >>> sorted(schedule.deliver(world))
    ['Ana']
    >>> world.get_agent_by_name("Ana").memory.items()[-1].content
    "'Stand-up' starts now (09:00–09:15)."
    >>> [t.isoformat() for t, _ in schedule.upcoming(world.current_datetime, name="Ana")]
    ['2025-01-07T09:00:00']
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Self

from pydantic import Field, ValidationError

from tinytroupe.environment.executors import LocalExecutor
from tinytroupe.environment.scheduler.calendars import (
    calendar_reminders,
    calendar_starts,
    calendar_upcoming,
    world_calendars,
)
from tinytroupe.environment.scheduler.delivery import event_notices, hand_out
from tinytroupe.environment.scheduler.events import (
    EventKind,
    Notice,
    ScheduledEvent,
    cancel_text,
    check_time,
    start_text,
)
from tinytroupe.environment.scheduler.prompt import UPCOMING, UpcomingEvents
from tinytroupe.environment.scheduler.timeline import Recurrence, instant, parse_lead
from tinytroupe.errors import InvalidArgument, NotFound
from tinytroupe.state import StateModel, describe_error

if TYPE_CHECKING:
    from tinytroupe.environment.world import TinyWorld

#: notices one event may send in one step before the rest are summed up in one line
DEFAULT_MAX_NOTICES_PER_STEP = 10
#: notices kept in :attr:`EventScheduler.notices` (the newest)
DEFAULT_KEEP_NOTICES = 1000


class SchedulerState(StateModel):
    """An :class:`EventScheduler` as data: its events, the delivery mark, and what is owed."""

    events: list[ScheduledEvent] = Field(default_factory=list)
    next_id: int = 1
    origin: datetime | None = None
    through: datetime | None = None
    late: list[tuple[str, datetime]] = Field(default_factory=list)
    calendar_done: list[str] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict)


class EventScheduler:
    """The events on a world's clock (see the module docstring).

    Args:
        events: events to start with.
        max_notices_per_step: per event and step, start notices (and reminders) sent one by one; the
            rest of the occurrences in the window are counted in one line.
        follow_calendars: put the events of the calendars the world's agents hold on the schedule.
        show_upcoming: give the world's agents the :class:`~.prompt.UpcomingEvents` prompt section (when
            their turns run locally: it asks the world's scheduler, which worker processes do not hold).
        keep_notices: how many of the latest notices :attr:`notices` keeps.
    """

    def __init__(self, events: Iterable[ScheduledEvent] = (), *,
                 max_notices_per_step: int = DEFAULT_MAX_NOTICES_PER_STEP, follow_calendars: bool = True,
                 show_upcoming: bool = True, keep_notices: int = DEFAULT_KEEP_NOTICES) -> None:
        if max_notices_per_step < 1 or keep_notices < 0:
            raise InvalidArgument("max_notices_per_step must be at least 1 and keep_notices not negative")
        self.max_notices_per_step = max_notices_per_step
        self.follow_calendars = follow_calendars
        self.show_upcoming = show_upcoming
        self._events: dict[str, ScheduledEvent] = {}
        self._recurrences: dict[str, Recurrence] = {}
        self._next_id = 1
        self._origin: datetime | None = None
        self._through: datetime | None = None
        self._late: list[tuple[str, datetime]] = []
        self._calendar_done: set[str] = set()
        #: the latest notices delivered (or attempted: ``not_found`` lists who was missing)
        self.notices: deque[Notice] = deque(maxlen=keep_notices)
        #: notices delivered since the start, by kind
        self.counts: Counter[str] = Counter()
        self.world: TinyWorld | None = None
        for event in events:
            self.add_event(event)

    def __repr__(self) -> str:
        return f"EventScheduler(events={len(self._events)}, through={self._through})"

    # ------------------------------------------------------------------ building
    def attach(self, world: TinyWorld) -> Self:
        """Become ``world``'s scheduler (``world.scheduler``); deliveries start at its clock now.

        Raises:
            InvalidArgument: an event's time and the world clock are not both naive or both aware, or a
                one-time event lies before the world clock.
        """
        clock = world.current_datetime
        for event in self._events.values():
            self._check_event(event, clock, self._through)
        if self._origin is None:
            self._origin = clock
        world.scheduler = self
        self.world = world
        return self

    def add(self, title: str, start: datetime, *, duration_minutes: int = 0, rrule: str | None = None,
            attendees: Sequence[str] = (), kind: EventKind = "event", reminders: Iterable[int | str | timedelta] = (),
            location: str | None = None, description: str | None = None, id: str | None = None) -> ScheduledEvent:
        """Schedule an event: once at ``start``, or by the RFC 5545 ``rrule`` from ``start``.

        ``attendees`` empty means everyone in the world; ``reminders`` are lead times (minutes, or text such
        as ``"30m"``, ``"2h"``, ``"1d"``).

        Raises:
            InvalidArgument: a field is not allowed (the message names it), the id is taken, the time cannot
                be compared with the world clock, or a one-time event lies before the world clock.
        """
        leads = [int(parse_lead(r).total_seconds() // 60) for r in reminders]
        try:
            event = ScheduledEvent(id=id or self._new_id(), title=title, start=start, duration_minutes=duration_minutes,
                                   rrule=rrule, kind=kind, attendees=list(attendees), reminders=leads,
                                   location=location, description=description)
        except ValidationError as exc:
            raise InvalidArgument(f"event {title!r}: {describe_error(exc)}") from exc
        return self.add_event(event)

    def add_deadline(self, title: str, due: datetime, *, attendees: Sequence[str] = (),
                     reminders: Iterable[int | str | timedelta] = (), description: str | None = None,
                     id: str | None = None) -> ScheduledEvent:
        """Schedule a deadline: a moment (``due``) its attendees are told of, with reminders before it."""
        return self.add(title, due, kind="deadline", attendees=attendees, reminders=reminders,
                        description=description, id=id)

    def add_event(self, event: ScheduledEvent) -> ScheduledEvent:
        """Schedule a ready-made :class:`ScheduledEvent` (see :meth:`add`)."""
        if event.id in self._events:
            raise InvalidArgument(f"id: an event {event.id!r} is already scheduled; give another id")
        if self.world is not None:
            self._check_event(event, self.world.current_datetime, self._through)
        recurrence = Recurrence(event.start, event.rrule, event.cancelled_occurrences)
        mark = self._through
        if mark is not None and not event.cancelled and recurrence.is_occurrence(mark):
            self._late.append((event.id, mark))  # due at the mark, which was delivered before it existed
        self._events[event.id] = event
        self._recurrences[event.id] = recurrence
        return event

    def _check_event(self, event: ScheduledEvent, clock: datetime, mark: datetime | None) -> None:
        check_time(event.start, clock, f"event {event.id!r} start")
        floor = mark if mark is not None else self._origin if self._origin is not None else clock
        if event.rrule is None and not event.cancelled and instant(event.start) < instant(floor):
            raise InvalidArgument(f"event {event.id!r} start: {event.start.isoformat()} is before the world clock "
                                  f"({floor.isoformat()}); schedule it at or after that")

    def _new_id(self) -> str:
        while f"ev-{self._next_id}" in self._events:
            self._next_id += 1
        self._next_id += 1
        return f"ev-{self._next_id - 1}"

    def cancel(self, event_id: str, *, occurrence: datetime | None = None, reason: str | None = None,
               notify: bool = True) -> Notice:
        """Cancel an event, or only its ``occurrence``; its attendees in the attached world are told at once
        (unless ``notify`` is False).

        Raises:
            NotFound: no such event.
            InvalidArgument: it is cancelled already, or ``occurrence`` is not one of its occurrences.
        """
        event = self.get(event_id)
        if event.cancelled:
            raise InvalidArgument(f"event {event_id!r} is cancelled already")
        if occurrence is not None:
            if not self._recurrences[event_id].is_occurrence(occurrence):
                raise InvalidArgument(f"occurrence: {occurrence.isoformat()} is not an occurrence of {event_id!r}")
            event = event.model_copy(update={"cancelled_occurrences": [*event.cancelled_occurrences, occurrence]})
            self._recurrences[event_id].skip(occurrence)
        else:
            event = event.model_copy(update={"cancelled": True})
        self._events[event_id] = event
        now = self.world.current_datetime if self.world is not None else occurrence or event.start
        notice = Notice(event_id=event_id, kind="cancelled", occurrence=occurrence, due=now,
                        text=cancel_text(event, occurrence, reason, now))
        if notify and self.world is not None:
            notice = self._record(hand_out(self.world, notice, event.attendees))
        return notice

    # ------------------------------------------------------------------ reading
    def get(self, event_id: str) -> ScheduledEvent:
        """The event ``event_id`` (cancelled ones too).

        Raises:
            NotFound: no such event (the message lists some ids).
        """
        if event_id not in self._events:
            known = ", ".join(list(self._events)[:20]) or "none"
            raise NotFound(f"no scheduled event {event_id!r}; scheduled: {known}")
        return self._events[event_id]

    @property
    def events(self) -> list[ScheduledEvent]:
        """The scheduler's own events (not the calendars'), by start."""
        return sorted(self._events.values(), key=lambda e: (instant(e.start), e.id))

    def upcoming(self, now: datetime, *, name: str | None = None, within: timedelta = timedelta(days=1),
                 limit: int = 10) -> list[tuple[datetime, ScheduledEvent]]:
        """The next occurrences after ``now`` and within ``within`` (of ``name``'s events, if given), soonest
        first, at most ``limit``: the scheduler's and, with ``follow_calendars``, the calendars' events."""
        until = instant(now) + within
        found: list[tuple[datetime, ScheduledEvent]] = []
        for event in self._events.values():
            if event.cancelled or (name is not None and not event.involves(name)):
                continue
            found += [(t, event) for t in self._recurrences[event.id].after(now, limit) if instant(t) <= until]
        if self.follow_calendars and self.world is not None and name is not None:
            found += calendar_upcoming(world_calendars(self.world), name, now, until)
        return sorted(found, key=lambda pair: (instant(pair[0]), pair[1].id))[:limit]

    # ------------------------------------------------------------------ delivering
    def deliver(self, world: TinyWorld) -> set[str]:
        """Hand out what fell due since the last delivery, up to the world's clock now (the step's): who got
        an event's start (they may be woken by an :class:`~.activity.ActivitySchedule`).

        Raises:
            InvalidArgument: the clock cannot be compared with the events' times.
        """
        if self.world is not world:
            self.attach(world)
        now = world.current_datetime
        assert self._origin is not None  # set by attach
        check_time(now, self._origin, "world clock")
        if self.show_upcoming and isinstance(world.executor, LocalExecutor):
            _give_upcoming(world)  # it asks this scheduler in the turn: worker processes hold no world
        low, inclusive = (self._origin, True) if self._through is None else (self._through, False)
        if instant(now) < instant(low):
            return set()  # the clock went back (a restored state): what is due was delivered
        due = self._due(low, inclusive, now)
        calendars = world_calendars(world) if self.follow_calendars else []
        for notice in calendar_reminders(world, calendars, now):
            self._record(notice)
        for notice, attendees in calendar_starts(calendars, self._calendar_done, self._origin, now, now):
            due.append((notice, attendees, "calendar"))
        self._through = now
        woken: set[str] = set()
        for notice, attendees, source in sorted(due, key=lambda d: instant(d[0].due)):  # stable: event order on ties
            delivered = self._record(hand_out(world, notice, attendees, source))
            if delivered.kind in ("start", "more"):
                woken.update(delivered.to)
        return woken

    def _due(self, low: datetime, inclusive: bool, now: datetime) -> list[tuple[Notice, list[str], str]]:
        due: list[tuple[Notice, list[str], str]] = []
        late, self._late = self._late, []
        for event_id, occurrence in late:
            event = self._events[event_id]
            if not event.cancelled and instant(occurrence) not in self._recurrences[event_id].skipped:
                due.append((Notice(event_id=event_id, kind="start", occurrence=occurrence, due=occurrence,
                                   text=start_text(event, occurrence, now)), event.attendees, "schedule"))
        for event in self.events:
            for notice in event_notices(event, self._recurrences[event.id], low, inclusive, now, now,
                                        cap=self.max_notices_per_step):
                due.append((notice, event.attendees, "schedule"))
        return due

    def _record(self, notice: Notice) -> Notice:
        self.notices.append(notice)
        self.counts[notice.kind] += 1
        return notice

    # ------------------------------------------------------------------ state
    def get_state(self) -> dict[str, Any]:
        """The events, the delivery mark and what is owed, JSON-ready (saved with the world)."""
        return SchedulerState(events=self.events, next_id=self._next_id, origin=self._origin, through=self._through,
                              late=list(self._late), calendar_done=sorted(self._calendar_done),
                              counts=dict(self.counts)).to_dict()

    def set_state(self, state: Mapping[str, Any]) -> Self:
        """Restore :meth:`get_state` output (in place).

        Raises:
            InvalidArgument: ``state`` does not fit (the message names the field).
        """
        parsed = SchedulerState.parse(state)
        self._events = {e.id: e for e in parsed.events}
        self._recurrences = {e.id: Recurrence(e.start, e.rrule, e.cancelled_occurrences) for e in parsed.events}
        self._next_id, self._origin, self._through = parsed.next_id, parsed.origin, parsed.through
        self._late = [(e, t) for e, t in parsed.late]
        self._calendar_done = set(parsed.calendar_done)
        self.counts = Counter(parsed.counts)
        return self


def _give_upcoming(world: TinyWorld) -> None:
    for agent in world.agents:
        if agent.get_component(UPCOMING) is None:
            agent.add_component(UpcomingEvents())


__all__ = ["DEFAULT_KEEP_NOTICES", "DEFAULT_MAX_NOTICES_PER_STEP", "EventScheduler", "SchedulerState"]
