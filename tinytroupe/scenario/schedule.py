"""Schedules in scenario files: a ``schedule:`` section (events with RFC 5545 rules, everyone's routine
and activity) and, per agent, ``routine:`` and ``activity:``; checked when the file is loaded and put
on the world (:class:`~tinytroupe.environment.EventScheduler`,
:class:`~tinytroupe.environment.ActivitySchedule`) when it is built.

An agent's chance to act in a step is its own ``activity``, else the schedule's ``activity``, else
its routine's; its routine is its own ``routine``, else the schedule's. With neither a routine nor an
activity anywhere, everyone acts in every step, as without a schedule. The closing extraction
question is answered by everyone, whatever their routine.

Example:
    >>> spec = ScheduleSpec.model_validate({
    ...     "events": [{"title": "Stand-up", "start": "2025-01-06T09:30:00", "rrule": "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
    ...                 "duration_minutes": 15, "reminders": ["10m"]}],
    ...     "routine": {"days": ["MO", "TU", "WE", "TH", "FR"], "hours": ["09:00-17:00"]}, "activity": 0.5})
    >>> spec.events[0].rrule, spec.routine.hours, spec.activity
    ('FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR', ['09:00-17:00'], 0.5)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BeforeValidator, Field, Strict, ValidationError, model_validator

from tinytroupe.environment.scheduler import ActivitySchedule, EventScheduler, Routine, ScheduledEvent
from tinytroupe.environment.scheduler.timeline import parse_lead
from tinytroupe.errors import InvalidArgument, ScenarioError
from tinytroupe.scenario.tools import StrictModel
from tinytroupe.state import describe_error

if TYPE_CHECKING:
    from tinytroupe.agent.person import TinyPerson
    from tinytroupe.environment.world import TinyWorld
    from tinytroupe.scenario.model import Scenario


def _a_time(value: Any) -> Any:
    if isinstance(value, bool | int | float):
        raise ValueError("write a date and time such as 2025-01-06T09:30:00, not a number")
    return value


class EventSpec(StrictModel):
    """One event: ``title``, ``start`` and, as needed, an ``rrule`` (RFC 5545, e.g.
    ``FREQ=WEEKLY;BYDAY=MO``), ``duration_minutes``, ``kind`` (``event`` or ``deadline``), ``attendees``
    (default everyone), ``reminders`` (minutes, or ``"30m"``, ``"2h"``, ``"1d"``), ``location``,
    ``description`` and an ``id``."""

    title: str = Field(min_length=1, max_length=200)
    start: Annotated[datetime, BeforeValidator(_a_time), Strict(False)]
    duration_minutes: int = Field(0, ge=0)
    rrule: str | None = None
    kind: Literal["event", "deadline"] = "event"
    attendees: list[str] = Field(default_factory=list)
    reminders: list[int | str] = Field(default_factory=list)
    location: str | None = None
    description: str | None = None
    id: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _valid_event(self) -> EventSpec:
        # Built once here so a bad rule, reminder or duration is reported with its line at load time.
        leads = [int(parse_lead(r).total_seconds() // 60) for r in self.reminders]
        try:
            ScheduledEvent(id=self.id or "check", title=self.title, start=self.start,
                           duration_minutes=self.duration_minutes, rrule=self.rrule, kind=self.kind,
                           attendees=self.attendees, reminders=leads)
        except ValidationError as exc:
            raise ValueError(describe_error(exc)) from None
        return self


class WithRoutine(StrictModel):
    """An agent entry's ``routine`` (days, hours) and ``activity`` (its chance to act in a step of it)."""

    routine: Routine | None = None
    activity: float | None = Field(None, ge=0.0, le=1.0)


class ScheduleSpec(StrictModel):
    """A scenario's ``schedule:``: its ``events``, and everyone's ``routine`` and ``activity``."""

    events: list[EventSpec] = Field(default_factory=list, max_length=10_000)
    routine: Routine | None = None
    activity: float | None = Field(None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _unique_ids(self) -> ScheduleSpec:
        ids = [e.id for e in self.events if e.id is not None]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"events: the id {twice[0]!r} is used more than once")
        return self


def _routine(routine: Routine | None, activity: float | None) -> Routine | None:
    if activity is None:
        return routine
    return (routine or Routine()).model_copy(update={"activity": activity})


def apply_schedule(scenario: Scenario, agents: Sequence[TinyPerson], world: TinyWorld) -> None:
    """Put the scenario's events and routines on ``world`` (nothing when it has none); ``agents`` are
    the scenario's, its ``agents:`` entries first, in order.

    Raises:
        ScenarioError: an event does not fit the world clock (a zone on one side only, a one-time event
            before the start), naming the event.
    """
    spec = scenario.schedule
    if spec is not None and spec.events:
        schedule = EventScheduler().attach(world)
        for k, event in enumerate(spec.events):
            try:
                schedule.add(event.title, event.start, duration_minutes=event.duration_minutes, rrule=event.rrule,
                             attendees=event.attendees, kind=event.kind, reminders=event.reminders,
                             location=event.location, description=event.description, id=event.id)
            except InvalidArgument as exc:
                raise ScenarioError(f"schedule.events.{k}: {exc}", field=f"schedule.events.{k}") from exc
    default = _routine(spec.routine, spec.activity) if spec is not None else None
    routines = {agent.name: routine for entry, agent in zip(scenario.agents, agents, strict=False)
                if (routine := _routine(entry.routine or (spec.routine if spec else None),
                                        entry.activity if entry.activity is not None else
                                        spec.activity if spec else None)) is not None}
    if default is not None or routines:
        ActivitySchedule(routines, default=default).attach(world)


@contextlib.contextmanager
def everyone_acts(world: TinyWorld) -> Iterator[None]:
    """Within the block every agent of ``world`` takes its turns, whatever its routine."""
    saved, world.activity = world.activity, None
    try:
        yield
    finally:
        world.activity = saved


__all__ = ["EventSpec", "ScheduleSpec", "WithRoutine", "apply_schedule", "everyone_acts"]
