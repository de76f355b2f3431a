"""Time in a world: an event scheduler on the world clock, and activity scheduling (who acts when).

:class:`EventScheduler` delivers one-time, recurring (RFC 5545 RRULE) and deadline events, with
reminders and cancellations, to their attendees as stimuli when the clock reaches them, shows each
agent its upcoming events (:class:`UpcomingEvents`), and follows the agents' ``TinyCalendar`` s.
:class:`ActivitySchedule` gives agents :class:`Routine` s and activity probabilities, so only those
who would act take a turn (and idle agents cost no model call), reproducibly from the run's seed.

Public names: EventScheduler, ScheduledEvent, Notice, UpcomingEvents, ActivitySchedule, Routine,
Recurrence, parse_lead.
"""

from tinytroupe.environment.scheduler.activity import ActivitySchedule, Routine
from tinytroupe.environment.scheduler.events import Notice, ScheduledEvent
from tinytroupe.environment.scheduler.prompt import UpcomingEvents
from tinytroupe.environment.scheduler.scheduler import EventScheduler
from tinytroupe.environment.scheduler.timeline import Recurrence, parse_lead

__all__ = ["ActivitySchedule", "EventScheduler", "Notice", "Recurrence", "Routine", "ScheduledEvent",
           "UpcomingEvents", "parse_lead"]
