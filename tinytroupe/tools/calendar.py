"""``TinyCalendar``: agents create events, invite each other, list and cancel events, and get reminders.

TinyTroupe's ``TinyCalendar(owner=None)`` declares ``CREATE_EVENT`` and does not work (see the
reference). Ours keeps :class:`~tinytroupe.tools.calendar_events.CalendarEvent` s in the tool's state,
delivers invitations and cancellations to the attendees of the caller's world as stimuli (reporting
those who are not there), finds overlapping events, and reminds participants once per event, through
:meth:`TinyCalendar.deliver_reminders` or the :class:`CalendarReminders` turn component.

One calendar per owner is the usual set-up; one calendar without an owner given to several agents is
a shared calendar, where conflicts are seen across everyone's events.

Example:
    >>> from datetime import datetime
    >>> cal = TinyCalendar(owner="Lisa")
    >>> made = cal.call("CREATE_EVENT", {"title": "Design review", "start": "2025-01-06T14:00",
    ...                                  "duration_minutes": 45})
    >>> made.created, made.event.id, made.event.when()
    (True, 'ev-1', '2025-01-06 14:00–14:45')
    >>> [r.text for r in cal.due_reminders(datetime(2025, 1, 6, 13, 50))]
    ["Reminder: 'Design review' starts at 14:00 (2025-01-06), in 10 minutes."]
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError, model_validator

from tinytroupe.agent.turn import Turn, TurnComponent
from tinytroupe.errors import InvalidArgument, InvalidState, ToolArgumentError, ToolExecutionError, ToolPermissionError
from tinytroupe.state import StateModel
from tinytroupe.tools.base import TinyTool, ToolCall, tool_action
from tinytroupe.tools.calendar_events import (
    MAX_ATTENDEES,
    MAX_EVENT_MINUTES,
    CalendarEvent,
    Conflict,
    Reminder,
    conflicts_with,
    parse_time,
    reminder_text,
)

if TYPE_CHECKING:
    from tinytroupe.agent.person import TinyPerson

DEFAULT_DURATION_MINUTES = 60
DEFAULT_MAX_EVENTS = 1000
#: events one LIST_EVENTS shows at most
MAX_LISTED = 100

_Name = Field(min_length=1, max_length=100)


class CreateEventArgs(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    start: str = Field(min_length=1, max_length=40, description="ISO 8601, e.g. 2025-01-06T14:00")
    end: str | None = Field(None, max_length=40, description="ISO 8601; or give duration_minutes")
    duration_minutes: int | None = Field(None, ge=1, le=MAX_EVENT_MINUTES, description="default 60")
    attendees: list[str] = Field(default_factory=list, max_length=MAX_ATTENDEES, description="names to invite")
    location: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=2000)
    remind_minutes_before: int | None = Field(15, ge=0, le=MAX_EVENT_MINUTES, description="null: no reminder")
    allow_conflicts: bool | None = Field(None, description="create it even if it overlaps another event")

    @model_validator(mode="after")
    def _end_or_duration(self) -> CreateEventArgs:
        if self.end is not None and self.duration_minutes is not None:
            raise ValueError("give end or duration_minutes, not both")
        if any(not a.strip() or len(a) > 100 for a in self.attendees):
            raise ValueError("attendees: each must be a name of 1 to 100 characters")
        return self


class EventRef(BaseModel):
    event: str = Field(min_length=1, max_length=200, description="the event's id (e.g. ev-3) or its exact title")


class InviteArgs(EventRef):
    attendees: list[str] = Field(min_length=1, max_length=MAX_ATTENDEES)


class CancelEventArgs(EventRef):
    reason: str | None = Field(None, max_length=500)


class ListEventsArgs(BaseModel):
    within_hours: float = Field(24 * 7, gt=0, le=24 * 366, description="how far ahead to look (default a week)")
    start_from: str | None = Field(None, max_length=40, description="ISO 8601 (default: now)")
    include_cancelled: bool = False


class Delivery(BaseModel):
    """Who got a notice (an invitation, a cancellation) and who could not be reached."""

    delivered: list[str] = Field(default_factory=list)
    not_found: list[str] = Field(default_factory=list, description="not in your world: nothing delivered")


class CreateEventResult(BaseModel):
    created: bool
    event: CalendarEvent | None = None
    conflicts: list[Conflict] = Field(default_factory=list)
    invitations: Delivery = Field(default_factory=Delivery)
    message: str


class InviteResult(BaseModel):
    event_id: str
    invitations: Delivery
    already_invited: list[str] = Field(default_factory=list)
    conflicts: list[Conflict] = Field(default_factory=list)


class EventList(BaseModel):
    start_from: datetime | None
    until: datetime | None
    events: list[CalendarEvent]
    more: int = Field(0, description="events in the window not shown")


class CancelResult(BaseModel):
    event_id: str
    notices: Delivery


class CalendarState(StateModel):
    events: list[CalendarEvent] = Field(default_factory=list)
    next_id: int = 1
    reminded: list[tuple[str, str]] = Field(default_factory=list, description="(event id, person) reminded")


def _clock(agent: TinyPerson | None) -> datetime | None:
    env = agent.environment if agent is not None else None
    return env.current_datetime if env is not None else None


class TinyCalendar(TinyTool):
    """A calendar: ``CREATE_EVENT``, ``INVITE``, ``LIST_EVENTS`` and ``CANCEL_EVENT``, with reminders.

    Args:
        owner: whose calendar it is (None: a calendar shared by everyone it is given to).
        allow_conflicts: create an event that overlaps another for one of its participants (the result
            lists the conflicts either way); False refuses it, and the agent may retry with
            ``"allow_conflicts": true``.
        max_events: how many events it keeps; creating one more is refused.
    """

    capabilities = ("calendar", "scheduling")

    def __init__(self, owner: TinyPerson | str | None = None, *, allow_conflicts: bool = False,
                 max_events: int = DEFAULT_MAX_EVENTS) -> None:
        super().__init__("calendar", "A calendar to schedule events, invite people and be reminded.", owner=owner)
        if max_events < 1:
            raise InvalidArgument(f"max_events must be at least 1, got {max_events}")
        self.allow_conflicts = allow_conflicts
        self.max_events = max_events
        self._events: dict[str, CalendarEvent] = {}
        self._next_id = 1
        self._reminded: set[tuple[str, str]] = set()
        self._lock = threading.RLock()  # calls of one turn run in worker threads at once

    # ------------------------------------------------------------------ reading
    @property
    def events(self) -> list[CalendarEvent]:
        """Every event (cancelled ones too), by start time."""
        with self._lock:
            return sorted(self._events.values(), key=lambda e: (e.start, e.id))

    def find_event(self, ref: str) -> CalendarEvent:
        """The event with id ``ref``, else the one not cancelled titled ``ref`` (case ignored).

        Raises:
            ToolArgumentError: none, or several with that title (the message lists their ids).
        """
        with self._lock:
            if ref.strip() in self._events:
                return self._events[ref.strip()]
            wanted = ref.strip().casefold()
            same = [e for e in self._events.values() if not e.cancelled and e.title.casefold() == wanted]
        if len(same) == 1:
            return same[0]
        if same:
            raise ToolArgumentError(f"several events are titled {ref!r}: {', '.join(e.id for e in same)}; give the id",
                                    tool=self.name)
        raise ToolArgumentError(f"no event {ref!r} (give an id like ev-1 or an exact title; LIST_EVENTS shows them)",
                                tool=self.name)

    def _organizer(self, call: ToolCall) -> str | None:
        if call.agent_name is not None:
            return call.agent_name
        return self.owner if isinstance(self.owner, str) or self.owner is None else self.owner.name

    # ------------------------------------------------------------------ operations
    @tool_action("CREATE_EVENT", "add an event and invite people: JSON {\"title\", \"start\" (ISO 8601), \"end\" or "
                 "\"duration_minutes\", \"attendees\"?, \"location\"?, \"description\"?}")
    def create_event(self, call: ToolCall, args: CreateEventArgs) -> CreateEventResult:
        now = _clock(call.agent)
        start = self._time(args.start, "start", now, call)
        end = self._time(args.end, "end", now, call) if args.end else start + timedelta(
            minutes=args.duration_minutes or DEFAULT_DURATION_MINUTES)
        if now is not None and start < now:
            raise ToolArgumentError(f"start: {start.isoformat(timespec='minutes')} is in the past (the simulated "
                                    f"time now is {now.isoformat(timespec='minutes')})", tool=self.name,
                                    action=call.action)
        organizer = self._organizer(call)
        attendees = list(dict.fromkeys(a.strip() for a in args.attendees if a.strip() != organizer))
        with self._lock:
            if sum(not e.cancelled for e in self._events.values()) >= self.max_events:
                raise ToolExecutionError(f"this calendar holds its maximum of {self.max_events} events",
                                         tool=self.name, action=call.action)
            try:
                event = CalendarEvent(id=f"ev-{self._next_id}", title=args.title.strip(), start=start, end=end,
                                      organizer=organizer, attendees=attendees, location=args.location,
                                      description=args.description, remind_minutes_before=args.remind_minutes_before)
            except ValidationError as exc:
                raise ToolArgumentError(exc.errors(include_url=False)[0]["msg"].removeprefix("Value error, "),
                                        tool=self.name, action=call.action) from exc
            if event.end - event.start > timedelta(minutes=MAX_EVENT_MINUTES):
                raise ToolArgumentError("end: an event may last at most a week", tool=self.name, action=call.action)
            conflicts = conflicts_with(event, self._events.values())
            allow = self.allow_conflicts if args.allow_conflicts is None else args.allow_conflicts
            if conflicts and not allow:
                return CreateEventResult(created=False, conflicts=conflicts, message=(
                    f"not created: it overlaps {len(conflicts)} event(s); pick another time, or create it anyway "
                    "with \"allow_conflicts\": true"))
            self._events[event.id] = event
            self._next_id += 1
        delivery = self._notify(call, event, event.attendees, "invitation")
        note = f"; it overlaps {len(conflicts)} event(s)" if conflicts else ""
        return CreateEventResult(created=True, event=event, conflicts=conflicts, invitations=delivery,
                                 message=f"created {event.id}{note}")

    @tool_action("INVITE", "invite more people to an event: JSON {\"event\" (id or title), \"attendees\": [names]}")
    def invite(self, call: ToolCall, args: InviteArgs) -> InviteResult:
        with self._lock:
            event = self._editable(args.event, call)
            new = [a for a in dict.fromkeys(x.strip() for x in args.attendees) if a and a != event.organizer]
            already = [a for a in new if a in event.attendees]
            added = [a for a in new if a not in event.attendees]
            if len(event.attendees) + len(added) > MAX_ATTENDEES:
                raise ToolArgumentError(f"attendees: an event may have at most {MAX_ATTENDEES}", tool=self.name,
                                        action=call.action)
            event = event.model_copy(update={"attendees": [*event.attendees, *added]})
            self._events[event.id] = event
            conflicts = [c for c in conflicts_with(event, self._events.values()) if set(c.people) & set(added)]
        return InviteResult(event_id=event.id, invitations=self._notify(call, event, added, "invitation"),
                            already_invited=already, conflicts=conflicts)

    @tool_action("LIST_EVENTS", "list your upcoming events: JSON {\"within_hours\"? (default 168), \"start_from\"?}")
    def list_events(self, call: ToolCall, args: ListEventsArgs) -> EventList:
        now = _clock(call.agent)
        start = self._time(args.start_from, "start_from", now, call) if args.start_from else now
        until = start + timedelta(hours=args.within_hours) if start is not None else None
        who = call.agent_name
        found = [e for e in self.events
                 if (args.include_cancelled or not e.cancelled) and (who is None or e.involves(who))
                 and (start is None or e.end > start) and (until is None or e.start < until)]
        return EventList(start_from=start, until=until, events=found[:MAX_LISTED], more=max(0, len(found) - MAX_LISTED))

    @tool_action("CANCEL_EVENT", "cancel an event you organised: JSON {\"event\" (id or title), \"reason\"?}")
    def cancel_event(self, call: ToolCall, args: CancelEventArgs) -> CancelResult:
        with self._lock:
            event = self._editable(args.event, call).model_copy(update={"cancelled": True})
            self._events[event.id] = event
        reason = f" ({args.reason})" if args.reason else ""
        return CancelResult(event_id=event.id, notices=self._notify(call, event, event.attendees, "cancellation",
                                                                    reason))

    # ------------------------------------------------------------------ reminders
    def due_reminders(self, now: datetime, name: str | None = None) -> list[Reminder]:
        """Reminders due at ``now`` and not yet delivered: one per participant (only ``name``'s if given)
        of each event not cancelled whose reminder time has come and that has not ended. Marks nothing."""
        due = []
        with self._lock:
            for event in self.events:
                at = event.remind_at
                if event.cancelled or at is None or not at <= now < event.end:
                    continue
                people: list[str | None] = [*event.participants] or [None]
                for person in people:
                    if (name is None or person == name) and (event.id, person or "") not in self._reminded:
                        due.append(Reminder(event_id=event.id, to=person, start=event.start,
                                            text=reminder_text(event, now)))
        return due

    def deliver_reminders(self, agent: TinyPerson, now: datetime | None = None) -> list[Reminder]:
        """Make ``agent`` perceive each reminder due to it (``"Reminder: <event> starts at <time> ..."``), once
        per event however often this is called; what was delivered. ``now`` defaults to the agent's world clock.

        Raises:
            InvalidState: no ``now`` and the agent is in no world (there is no simulated time to go by).
        """
        now = now if now is not None else _clock(agent)
        if now is None:
            raise InvalidState(f"{agent.name} is in no world: give deliver_reminders the simulated time (now=...)")
        delivered = []
        for reminder in self.due_reminders(now, agent.name):
            with self._lock:
                if (reminder.event_id, agent.name) in self._reminded:
                    continue  # another thread delivered it in the meantime
                self._reminded.add((reminder.event_id, agent.name))
            agent.see(reminder.text, source="calendar")
            delivered.append(reminder)
        return delivered

    # ------------------------------------------------------------------ helpers
    def _time(self, text: str, field: str, now: datetime | None, call: ToolCall) -> datetime:
        try:
            return parse_time(text, field, now)
        except ValueError as exc:
            raise ToolArgumentError(str(exc), tool=self.name, action=call.action) from None

    def _editable(self, ref: str, call: ToolCall) -> CalendarEvent:
        event = self.find_event(ref)
        if event.cancelled:
            raise ToolArgumentError(f"{event.id} ({event.title!r}) was cancelled", tool=self.name, action=call.action)
        if call.agent_name is not None and event.organizer not in (None, call.agent_name):
            raise ToolPermissionError(f"only its organiser, {event.organizer}, may change {event.id}", tool=self.name,
                                      action=call.action, agent=call.agent_name)
        return event

    def _notify(self, call: ToolCall, event: CalendarEvent, names: list[str], kind: str, extra: str = "") -> Delivery:
        sender = event.organizer or "someone"
        if kind == "invitation":
            text = f"Calendar invitation from {sender}: {event.describe()}."
            if event.description:
                text += f" {event.description}"
        else:
            text = f"{sender} cancelled {event.title!r} ({event.id}), planned for {event.when()}{extra}."
        delivery = Delivery()
        for name in names:
            other = call.find_agent(name)
            if other is None:
                delivery.not_found.append(name)
                continue
            other.socialize(text, source=event.organizer)
            delivery.delivered.append(name)
        return delivery

    # ------------------------------------------------------------------ state
    def portability_problem(self) -> str | None:
        return f"tool {self.name!r} delivers invitations to other agents, which a worker process does not hold"

    def get_state(self) -> dict[str, Any]:
        """Events, the next id and the reminders delivered, JSON-ready (saved with the agent)."""
        with self._lock:
            return CalendarState(events=self.events, next_id=self._next_id, reminded=sorted(self._reminded)).to_dict()

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`get_state` output.

        Raises:
            InvalidArgument: ``state`` does not fit (the message names the field).
        """
        parsed = CalendarState.parse(state)
        with self._lock:
            self._events = {e.id: e for e in parsed.events}
            self._next_id = max([parsed.next_id, *(int(i[3:]) + 1 for i in self._events if i[3:].isdigit())])
            self._reminded = {(e, p) for e, p in parsed.reminded}


class CalendarReminders(TurnComponent):
    """A turn component delivering a calendar's reminders to its agent at the start of each turn,
    so they are among what the agent perceives that very turn.

    ``agent.add_component(CalendarReminders(calendar))``; several calendars need several components
    with distinct ``name`` s.
    """

    def __init__(self, calendar: TinyCalendar, name: str = "calendar_reminders") -> None:
        self.calendar = calendar
        self.name = name

    def portability_problem(self) -> str | None:
        return ("its calendar is an object outside the agent's state (it may be shared), which a worker process "
                "cannot rebuild")

    async def perceive(self, turn: Turn) -> None:
        agent, view = turn.agent, turn.view
        if _clock(agent) is None:
            return  # outside a world there is no simulated time to remind by
        before = agent.memory.last_id
        if self.calendar.deliver_reminders(agent) and view is not None:
            fresh = [i for i in agent.memory.after(before) if i.kind == "stimulus" and i.id > turn.seen_upto]
            view.new = [*view.new, *fresh]
            turn.seen_upto = max([turn.seen_upto, *(i.id for i in fresh)])


__all__ = ["CalendarEvent", "CalendarReminders", "CancelEventArgs", "CancelResult", "Conflict", "CreateEventArgs",
           "CreateEventResult", "Delivery", "EventList", "InviteArgs", "InviteResult", "ListEventsArgs", "Reminder",
           "TinyCalendar"]
