"""``UpcomingEvents``: the turn component that shows an agent its next scheduled events in the prompt.

In the turn's ``retrieve`` phase it asks the scheduler of the agent's world (``world.scheduler``) for
the agent's occurrences in the next ``within`` (a day by default), at most ``limit``, and adds them as
the section "Your upcoming events", soonest first, cut to ``budget_tokens`` (the later ones go first;
a last line says when some were left out).
An :class:`~.scheduler.EventScheduler` gives it to its world's agents; nothing is shown when the world
has no scheduler or nothing is coming.

Example:
    >>> from datetime import datetime
    >>> from tinytroupe.environment.scheduler.events import ScheduledEvent
    >>> review = ScheduledEvent(id="r", title="Review", start=datetime(2025, 1, 6, 14), duration_minutes=30,
    ...                         location="Room 4")
    >>> upcoming_line(review.start, review, datetime(2025, 1, 6, 9))
    '- 2025-01-06 14:00–14:30 Review, at Room 4'
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from tinytroupe.agent.cognition import fit_lines
from tinytroupe.agent.turn import Turn, TurnComponent
from tinytroupe.environment.scheduler.events import ScheduledEvent

#: the component's name on an agent
UPCOMING = "upcoming_events"
#: the prompt section's title
SECTION = "Your upcoming events"


@runtime_checkable
class _Schedule(Protocol):
    def upcoming(self, now: datetime, *, name: str | None = None, within: timedelta = ...,
                 limit: int = ...) -> list[tuple[datetime, ScheduledEvent]]: ...


def upcoming_line(occurrence: datetime, event: ScheduledEvent, now: datetime) -> str:
    """One line of the section: when, what, where."""
    t = occurrence.astimezone(now.tzinfo) if occurrence.tzinfo is not None and now.tzinfo is not None else occurrence
    end = event.end_of(t)
    span = f"{t:%Y-%m-%d %H:%M}" + (f"–{end:%H:%M}" if event.duration_minutes else "")
    what = f"deadline: {event.title}" if event.kind == "deadline" else event.title
    where = f", at {event.location}" if event.location else ""
    return f"- {span} {what}{where}"


class UpcomingEvents(TurnComponent):
    """Adds "Your upcoming events" to the agent's prompt (see the module docstring)."""

    name = UPCOMING

    def __init__(self, within: timedelta = timedelta(days=1), limit: int = 5, budget_tokens: int = 120) -> None:
        self.within = within
        self.limit = limit
        self.budget_tokens = budget_tokens

    def portability_problem(self) -> str | None:
        return "it asks its world's scheduler during the turn, and a worker process holds no world"

    async def retrieve(self, turn: Turn) -> None:
        env, view = turn.agent.environment, turn.view
        schedule = getattr(env, "scheduler", None)  # a world without one shows nothing
        if not isinstance(schedule, _Schedule) or view is None or view.now is None:
            return
        now = view.now
        found = schedule.upcoming(now, name=turn.agent.name, within=self.within, limit=self.limit + 1)
        if not found:
            return
        text = fit_lines([upcoming_line(t, event, now) for t, event in found[:self.limit]], self.budget_tokens,
                         keep="oldest")
        if len(found) > self.limit and not text.endswith("not shown)"):
            text += "\n(later ones not shown)"
        view.sections[SECTION] = text


__all__ = ["SECTION", "UPCOMING", "UpcomingEvents", "upcoming_line"]
