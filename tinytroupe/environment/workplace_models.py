"""What a workplace keeps as data: tasks with their status history, meetings, and the record of messages
across reporting lines. Plain pydantic models, saved with the world's state.

Example:
    >>> from datetime import datetime
    >>> a = Meeting(id="M1", title="Standup", start=datetime(2025, 1, 6, 9), end=datetime(2025, 1, 6, 9, 15),
    ...             attendees=["Ana", "Ben"])
    >>> b = a.model_copy(update={"id": "M2", "start": datetime(2025, 1, 6, 9, 10)})
    >>> a.overlaps(b), a.is_on(datetime(2025, 1, 6, 9, 15))
    (True, False)
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

#: a task's status; a new task is ``todo``
TaskStatus = Literal["todo", "doing", "done", "blocked"]
TASK_STATUSES: tuple[TaskStatus, ...] = ("todo", "doing", "done", "blocked")


class TaskUpdate(BaseModel):
    """One change of a task's status: to what, by whom, when (step and simulated time), and why."""

    status: TaskStatus
    by: str
    step: int
    at: datetime
    note: str = ""


class Task(BaseModel):
    """A task assigned by ``assigner`` to ``assignee``; ``history[0]`` is its creation (``todo``)."""

    id: str
    title: str
    description: str = ""
    assignee: str
    assigner: str
    history: list[TaskUpdate] = Field(min_length=1)

    @property
    def status(self) -> TaskStatus:
        return self.history[-1].status

    def status_at(self, step: int) -> TaskStatus | None:
        """The status at the end of ``step`` (None: the task did not exist yet)."""
        current: TaskStatus | None = None
        for update in self.history:
            if update.step > step:
                break
            current = update.status
        return current

    def describe(self) -> str:
        return f"{self.id} {self.title!r} (assigned by {self.assigner} to {self.assignee}, {self.status})"


class Meeting(BaseModel):
    """A meeting from ``start`` (included) to ``end`` (excluded) of ``attendees`` (the organiser first)."""

    id: str
    title: str
    start: datetime
    end: datetime
    attendees: list[str] = Field(min_length=1)
    organizer: str | None = None
    agenda: str = ""

    def overlaps(self, other: Meeting) -> bool:
        return self.start < other.end and other.start < self.end

    def is_on(self, now: datetime) -> bool:
        return self.start <= now < self.end

    def when(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M}-{self.end:%H:%M}"

    def describe(self) -> str:
        return f"{self.id} {self.title!r} {self.when()} with {', '.join(self.attendees)}"


class MessageRecord(BaseModel):
    """One delivered TALK: who to whom at which step, the reporting line between them, and whether it
    was said in a meeting."""

    step: int
    source: str
    target: str
    line: str
    meeting: str | None = None


__all__ = ["TASK_STATUSES", "Meeting", "MessageRecord", "Task", "TaskStatus", "TaskUpdate"]
