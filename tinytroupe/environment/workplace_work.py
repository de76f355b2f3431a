"""The work of a workplace: tasks (assigned down the chain of command, updated by their assignee) and
meetings (no one in two at once), with the rules checked the same way for the user and for agents.

Each rule is a function that returns the reason a request breaks it, or None. The workplace's own
methods (what a script calls) raise :class:`~tinytroupe.errors.InvalidArgument` with that reason; the
workplace tool (what agents call) turns it into a refusal the agent perceives.

Example:
    >>> from datetime import datetime
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.environment import TinyWorkplace
    >>> office = TinyWorkplace("Office", initial_datetime=datetime(2025, 1, 6, 9), communication_display=False)
    >>> _ = office.add_employee(TinyPerson("Ana"), "lead").add_employee(TinyPerson("Ben"), "dev", reports_to="Ana")
    >>> _ = office.schedule_meeting("Standup", datetime(2025, 1, 6, 9, 30), ["Ana", "Ben"], 15)
    >>> print(office.meeting_problem("1:1", datetime(2025, 1, 6, 9, 40), ["Ben", "Ana"], 30))
    Ben, Ana are already in M-1 'Standup' 2025-01-06 09:30-09:45 with Ana, Ben, which overlaps 2025-01-06 09:40-10:10
    >>> office.assignment_problem("Ana", "Ben") is None
    True
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tinytroupe.agent.person import TinyPerson
from tinytroupe.environment.org_chart import OrgChart, ReachPolicy
from tinytroupe.environment.workplace_models import TASK_STATUSES, Meeting, Task, TaskStatus, TaskUpdate
from tinytroupe.errors import InvalidArgument

#: the longest meeting, in minutes (a working day)
MAX_MEETING_MINUTES = 12 * 60

#: a refusal whose reason is the assigner's standing in the org chart (the tool calls it a permission)
PERMISSION = "permission"
#: a refusal whose reason is the request itself: an unknown task, a bad status, an overlap
ARGUMENT = "argument"


class WorkRefused(InvalidArgument):
    """A request the workplace's rules refuse; ``kind`` is :data:`PERMISSION` or :data:`ARGUMENT`."""

    def __init__(self, message: str, kind: str = ARGUMENT) -> None:
        super().__init__(message)
        self.kind = kind


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_") or "x"


class WorkplaceWork:
    """Mixin of :class:`~tinytroupe.environment.workplace.TinyWorkplace`: its tasks and meetings."""

    if TYPE_CHECKING:
        name: str
        org: OrgChart
        policy: ReachPolicy
        tasks: dict[str, Task]
        meetings: dict[str, Meeting]
        name_to_agent: dict[str, TinyPerson]

        @property
        def current_datetime(self) -> datetime: ...

        @property
        def current_step(self) -> int: ...

    # ------------------------------------------------------------------ tasks

    def assign_task(self, assigner: str, assignee: str, title: str, description: str = "", *,
                    notify: bool = True) -> Task:
        """``assigner`` gives ``assignee`` a new task (status ``todo``); the assignee is told.

        Only someone up the assignee's chain of command may assign them work.

        Raises:
            InvalidArgument: an unknown person, an empty title, or an assigner who is not above the
                assignee in the org chart (the message says who may).
        """
        problem = self.assignment_problem(assigner, assignee)
        if problem is not None:
            raise WorkRefused(problem, PERMISSION if assigner in self.org and assignee in self.org else ARGUMENT)
        if not title.strip():
            raise WorkRefused("a task needs a title")
        n = 1 + sum(1 for t in self.tasks.values() if t.assigner == assigner)
        task = Task(id=f"T-{_slug(assigner)}-{n}", title=title.strip(), description=description.strip(),
                    assignee=assignee, assigner=assigner,
                    history=[TaskUpdate(status="todo", by=assigner, step=self.current_step, at=self.current_datetime)])
        self.tasks[task.id] = task
        if notify and (agent := self.name_to_agent.get(assignee)) is not None:
            text = f"{assigner} assigned you task {task.id}: {task.title!r}."
            if task.description:
                text += f" {task.description}"
            agent.socialize(text + " Its status is todo; change it with UPDATE_TASK.", source=assigner)
        return task

    def assignment_problem(self, assigner: str, assignee: str) -> str | None:
        """Why ``assigner`` may not assign work to ``assignee``, or None when they may."""
        for who in (assigner, assignee):
            if who not in self.org:
                return f"{who!r} is not in {self.name}'s org chart"
        if assigner == assignee:
            return f"{assigner} cannot assign a task to themselves; tasks go down the chain of command"
        if not self.org.is_above(assigner, assignee):
            chain = self.org.chain_of_command(assignee)
            who = ", ".join(chain) if chain else "nobody (they report to no one)"
            return (f"{assigner} is not in {assignee}'s chain of command, so cannot assign them tasks; "
                    f"only their managers up the chain may: {who}")
        return None

    def update_task(self, task_id: str, status: str, by: str | None = None, note: str = "", *,
                    notify: bool = True) -> Task:
        """Move task ``task_id`` to ``status`` (todo, doing, done or blocked); ``by`` (default: the
        assignee) must be its assignee. The assigner is told.

        Raises:
            InvalidArgument: an unknown task or status, or ``by`` is not the task's assignee.
        """
        task = self.tasks.get(task_id.strip())
        if task is None:
            known = ", ".join(sorted(self.tasks)[:20]) or "none yet"
            raise WorkRefused(f"there is no task {task_id!r} in {self.name} (tasks: {known})")
        status = status.strip().lower()
        if status not in TASK_STATUSES:
            raise WorkRefused(f"a task's status is one of {', '.join(TASK_STATUSES)}, not {status!r}")
        by = task.assignee if by is None else by
        if by != task.assignee:
            raise WorkRefused(f"only {task.assignee}, the assignee of {task.id}, may update it", PERMISSION)
        task.history.append(TaskUpdate(status=status_of(status), by=by, step=self.current_step,
                                       at=self.current_datetime, note=note.strip()))
        if notify and task.assigner != by and (agent := self.name_to_agent.get(task.assigner)) is not None:
            text = f"{by} moved task {task.id} ({task.title!r}) to {status}."
            agent.socialize(text + (f" Note: {note.strip()}" if note.strip() else ""), source=by)
        return task

    def tasks_of(self, assignee: str) -> list[Task]:
        """The tasks assigned to ``assignee``, oldest first."""
        return [t for t in self.tasks.values() if t.assignee == assignee]

    # ------------------------------------------------------------------ meetings

    def schedule_meeting(self, title: str, start: datetime, attendees: Iterable[str], minutes: int = 30, *,
                         organizer: str | None = None, agenda: str = "", notify: bool = True) -> Meeting:
        """Put a meeting of ``attendees`` (and the ``organizer``) from ``start`` for ``minutes`` on the books.

        While it is on, what an attendee says is heard by all of them. Each attendee is told of it.

        Raises:
            InvalidArgument: an empty title, bad length, an unknown attendee, or an attendee who is in
                another meeting at that time (the message names both).
        """
        people = list(dict.fromkeys([*([organizer] if organizer else []), *attendees]))
        problem = self.meeting_problem(title, start, people, minutes)
        if problem is not None:
            raise WorkRefused(problem)
        key = f"M-{_slug(organizer)}" if organizer else "M"
        n = 1 + sum(1 for m in self.meetings.values() if m.organizer == organizer)
        meeting = Meeting(id=f"{key}-{n}", title=title.strip(), start=start, end=start + timedelta(minutes=minutes),
                          attendees=people, organizer=organizer, agenda=agenda.strip())
        self.meetings[meeting.id] = meeting
        if notify:
            by = f"{organizer} invited you to" if organizer else "You are expected at"
            for name in people:
                if name != organizer and (agent := self.name_to_agent.get(name)) is not None:
                    text = f"{by} the meeting {meeting.describe()}."
                    agent.socialize(text + (f" Agenda: {meeting.agenda}" if meeting.agenda else ""),
                                    source=organizer)
        return meeting

    def meeting_problem(self, title: str, start: datetime, attendees: list[str], minutes: int) -> str | None:
        """Why this meeting cannot be scheduled, or None when it can."""
        if not title.strip():
            return "a meeting needs a title"
        if not isinstance(minutes, int) or not 1 <= minutes <= MAX_MEETING_MINUTES:
            return f"a meeting lasts from 1 to {MAX_MEETING_MINUTES} minutes, not {minutes!r}"
        if len(attendees) < 2:
            return "a meeting needs at least two people"
        unknown = [a for a in attendees if a not in self.name_to_agent]
        if unknown:
            return f"nobody named {', '.join(map(repr, unknown))} works in {self.name}"
        wanted = Meeting(id="?", title=title, start=start, end=start + timedelta(minutes=minutes), attendees=attendees)
        for other in self.meetings.values():
            busy = [a for a in attendees if a in other.attendees]
            if busy and wanted.overlaps(other):
                return (f"{', '.join(busy)} {'is' if len(busy) == 1 else 'are'} already in {other.describe()}, "
                        f"which overlaps {wanted.when()}")
        return None

    def meetings_on(self, when: datetime | None = None) -> list[Meeting]:
        """The meetings going on at ``when`` (default: now), in start order."""
        now = self.current_datetime if when is None else when
        return sorted((m for m in self.meetings.values() if m.is_on(now)), key=lambda m: (m.start, m.id))

    def meeting_of(self, person: str, when: datetime | None = None) -> Meeting | None:
        """The meeting ``person`` is in at ``when`` (default: now), if any."""
        return next((m for m in self.meetings_on(when) if person in m.attendees), None)

    # ------------------------------------------------------------------ reach

    def may_reach(self, source: str, target: str) -> bool:
        """Whether ``source`` may talk to ``target`` now: along the reporting lines the policy allows,
        or because both are in the meeting going on."""
        if source == target or target not in self.name_to_agent:
            return False
        if self.org.can_reach(source, target, self.policy):
            return True
        meeting = self.meeting_of(source)
        return meeting is not None and target in meeting.attendees

    def policy_text(self) -> str:
        """The reach policy in words, for the reasons agents are given."""
        p = self.policy
        if p.anyone:
            return "anyone may reach anyone"
        parts = [f"{p.up} level{'s' if p.up != 1 else ''} up" if p.up < 1000 else "the whole chain up",
                 f"{p.down} level{'s' if p.down != 1 else ''} down" if p.down < 1000 else "the whole chain down"]
        return "reach goes " + " and ".join(parts) + (", and to peers" if p.peers else ", peers excluded")


def status_of(text: str) -> TaskStatus:
    """``text`` as a task status (already checked to be one)."""
    for status in TASK_STATUSES:
        if status == text:
            return status
    raise InvalidArgument(f"a task's status is one of {', '.join(TASK_STATUSES)}, not {text!r}")


__all__ = ["ARGUMENT", "MAX_MEETING_MINUTES", "PERMISSION", "WorkRefused", "WorkplaceWork", "status_of"]
