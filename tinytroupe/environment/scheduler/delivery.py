"""What falls due in one step's window, and handing it to the attendees.

The window of a step is the stretch of simulated time from the end of the previous delivery
(exclusive) to the step's clock (inclusive); the first delivery includes the scheduler's origin (the
world's clock when it was attached). Windows follow each other without gaps or overlaps, so an
occurrence is delivered once, in the step whose window holds it, however long the steps are.

* an occurrence's **start** notice is due at its time; when a window holds more than ``cap``
  occurrences of one event (a daily event under weekly steps), the first ``cap`` get their own notice
  and one ``more`` notice counts the rest, so none goes unsaid;
* a **reminder** is due its lead time before the occurrence, and is sent only while the occurrence
  is still ahead of the step's clock (an occurrence that came in the same step gets its start notice
  instead); of several reminders of one occurrence due in one window only the nearest is sent.

Example:
    >>> from datetime import datetime
    >>> from tinytroupe.environment.scheduler.events import ScheduledEvent
    >>> from tinytroupe.environment.scheduler.timeline import Recurrence
    >>> daily = ScheduledEvent(id="e", title="Stand-up", start=datetime(2025, 1, 6, 9), rrule="FREQ=DAILY")
    >>> week = event_notices(daily, Recurrence(daily.start, daily.rrule), datetime(2025, 1, 6), False,
    ...                      datetime(2025, 1, 13), datetime(2025, 1, 13), cap=3)
    >>> [(n.kind, n.due.day) for n in week]
    [('start', 6), ('start', 7), ('start', 8), ('more', 12)]
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from tinytroupe.environment.scheduler.events import Notice, ScheduledEvent, more_text, reminder_text, start_text
from tinytroupe.environment.scheduler.timeline import Recurrence, instant

if TYPE_CHECKING:
    from tinytroupe.agent.person import TinyPerson
    from tinytroupe.environment.world import TinyWorld

logger = logging.getLogger(__name__)

#: what attendees see as the source of a scheduler's notices
SOURCE = "schedule"


def event_notices(event: ScheduledEvent, recurrence: Recurrence, low: datetime, low_inclusive: bool, high: datetime,
                  now: datetime, *, cap: int) -> list[Notice]:
    """The start notices and reminders of ``event`` due in the window from ``low`` to ``high``, read at ``now``."""
    if event.cancelled:
        return []
    notices: list[Notice] = []
    first: datetime | None = None  # the first and the latest occurrence past the cap
    last: datetime | None = None
    count = 0
    for t in recurrence.between(low, high, low_inclusive=low_inclusive, advance=True):
        if len(notices) < cap:
            notices.append(Notice(event_id=event.id, kind="start", occurrence=t, due=t, text=start_text(event, t, now)))
            continue
        count += 1
        first = t if first is None else first
        last = t
    if first is not None and last is not None:
        notices.append(Notice(event_id=event.id, kind="more", occurrence=last, due=last,
                              text=more_text(event, count, first, last, now)))
    return notices + _reminders(event, recurrence, low, low_inclusive, high, now, cap)


def _reminders(event: ScheduledEvent, recurrence: Recurrence, low: datetime, low_inclusive: bool, high: datetime,
               now: datetime, cap: int) -> list[Notice]:
    """Reminders due in the window, the nearest lead per occurrence, only for occurrences after ``high``."""
    nearest: dict[datetime, Notice] = {}
    for lead in event.leads:  # longest first: a nearer reminder replaces a farther one
        lo, hi = instant(low) + lead, instant(high) + lead
        inclusive = low_inclusive
        if lo <= instant(high):
            lo, inclusive = instant(high), False
        for i, t in enumerate(recurrence.between(lo, hi, low_inclusive=inclusive)):
            if i >= cap:
                break
            nearest[instant(t)] = Notice(event_id=event.id, kind="reminder", occurrence=t, due=instant(t) - lead,
                                         text=reminder_text(event, t, now))
    return sorted(nearest.values(), key=lambda n: n.due)[:cap]


def recipients(world: TinyWorld, names: Iterable[str] | None) -> tuple[list[TinyPerson], list[str]]:
    """The agents of ``world`` named (everyone when ``names`` is None or empty) and the names not found."""
    wanted = list(names or [])
    if not wanted:
        return list(world.agents), []
    found, missing = [], []
    for name in wanted:
        agent = world.get_agent_by_name(name)
        if agent is None:
            missing.append(name)
        else:
            found.append(agent)
    return found, missing


def hand_out(world: TinyWorld, notice: Notice, attendees: Iterable[str] | None, source: str = SOURCE) -> Notice:
    """Make each attendee in ``world`` perceive ``notice``; the notice with who got it and who was not there."""
    agents, missing = recipients(world, attendees)
    for agent in agents:
        agent.see(notice.text, source=source)
    if missing:
        logger.warning("schedule of world %r: %s not in the world, so %r did not reach them", world.name,
                       ", ".join(missing), notice.text)
    return notice.model_copy(update={"to": [a.name for a in agents], "not_found": missing})


__all__ = ["SOURCE", "event_notices", "hand_out", "recipients"]
