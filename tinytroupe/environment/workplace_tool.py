"""``WorkplaceTool``: what agents do with a workplace's work: ``ASSIGN_TASK``, ``UPDATE_TASK``,
``SCHEDULE_MEETING`` and ``MY_TASKS``.

It is a :class:`~tinytroupe.tools.TinyTool` that a :class:`~tinytroupe.environment.TinyWorkplace`
gives each agent who joins it (through :class:`~tinytroupe.tools.TinyToolUse`), so an agent's request
is validated like any tool call: arguments that do not fit, a request the org chart does not allow
(assigning work to someone not below you, inviting someone outside your reporting lines) or that
breaks a rule (an overlapping meeting, another person's task) comes back to the agent as an
observation with the reason; nothing is changed and the step goes on.

The tool finds its workplace through the calling agent's world, so it has no state of its own and is
rebuilt with no arguments when a saved agent is loaded.

Example:
    >>> from datetime import datetime
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.environment import TinyWorkplace
    >>> office = TinyWorkplace("Office", initial_datetime=datetime(2025, 1, 6, 9), communication_display=False)
    >>> ana, ben = TinyPerson("Ana"), TinyPerson("Ben")
    >>> _ = office.add_employee(ana, "manager").add_employee(ben, "engineer", reports_to="Ana")
    >>> tool = WorkplaceTool()
    >>> tool.call("ASSIGN_TASK", {"assignee": "Ben", "title": "Fix the build"},
    ...           ToolCall("workplace", "ASSIGN_TASK", ana)).task_id
    'T-Ana-1'
    >>> tool.call("ASSIGN_TASK", {"assignee": "Ana", "title": "Review my code"},
    ...           ToolCall("workplace", "ASSIGN_TASK", ben))
    Traceback (most recent call last):
    ...
    tinytroupe.errors.ToolPermissionError: workplace.ASSIGN_TASK (Ben): Ben is not in Ana's chain of command, ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, Field

from tinytroupe.environment.workplace_models import TASK_STATUSES
from tinytroupe.environment.workplace_work import PERMISSION, WorkplaceWork, WorkRefused
from tinytroupe.errors import InvalidArgument, ToolArgumentError, ToolPermissionError
from tinytroupe.tools.base import TinyTool, ToolCall, tool_action
from tinytroupe.tools.calendar_events import parse_time

R = TypeVar("R")


class AssignTaskArgs(BaseModel):
    assignee: str = Field(description="who does the task: someone who reports to you, directly or further down")
    title: str = Field(description="the task in a few words")
    description: str = Field("", description="details, expectations, deadline")


class UpdateTaskArgs(BaseModel):
    task_id: str = Field(description="the task's id, e.g. T-Ana-1")
    status: str = Field(description=f"one of {', '.join(TASK_STATUSES)}")
    note: str = Field("", description="why, or what is blocking it")


class ScheduleMeetingArgs(BaseModel):
    title: str
    start: str = Field(description="simulated date and time, ISO 8601, e.g. 2025-01-06T14:00")
    minutes: int = Field(30, description="how long it lasts")
    attendees: list[str] = Field(description="who to invite (you attend too)")
    agenda: str = ""


class NoArgs(BaseModel):
    pass


class TaskResult(BaseModel):
    task_id: str
    title: str
    assignee: str
    status: str


class MeetingResult(BaseModel):
    meeting_id: str
    title: str
    start: str
    end: str
    attendees: list[str]


class TaskList(BaseModel):
    tasks: list[TaskResult]


class WorkplaceTool(TinyTool):
    """Tasks and meetings for the agents of a :class:`~tinytroupe.environment.TinyWorkplace` (see the
    module docstring)."""

    def __init__(self) -> None:
        super().__init__("workplace", "tasks and meetings at your workplace, within its org chart")

    def _workplace(self, call: ToolCall) -> WorkplaceWork:
        env = call.agent.environment if call.agent is not None else None
        if not isinstance(env, WorkplaceWork):
            raise ToolArgumentError("you are not in a workplace, so there is no work to manage here",
                                    tool=self.name, action=call.action, agent=call.agent_name)
        return env

    def _caller(self, call: ToolCall) -> str:
        if call.agent_name is None:
            raise ToolArgumentError("only an agent of a workplace can use it", tool=self.name, action=call.action)
        return call.agent_name

    async def _guarded(self, call: ToolCall, work: Callable[[], R]) -> R:
        try:
            return work()
        except WorkRefused as exc:
            kind = ToolPermissionError if exc.kind == PERMISSION else ToolArgumentError
            raise kind(str(exc), tool=self.name, action=call.action, agent=call.agent_name) from None

    # Handlers are coroutines: they run on the world's event loop, never in a worker thread, so the
    # workplace's books are changed by one call at a time.
    @tool_action("ASSIGN_TASK", "give a task to someone below you in the org chart; they are told")
    async def assign_task(self, call: ToolCall, args: AssignTaskArgs) -> TaskResult:
        office, me = self._workplace(call), self._caller(call)
        task = await self._guarded(call, lambda: office.assign_task(me, args.assignee.strip(), args.title,
                                                                    args.description))
        return TaskResult(task_id=task.id, title=task.title, assignee=task.assignee, status=task.status)

    @tool_action("UPDATE_TASK", "change the status of a task assigned to you; whoever assigned it is told")
    async def update_task(self, call: ToolCall, args: UpdateTaskArgs) -> TaskResult:
        office, me = self._workplace(call), self._caller(call)
        task = await self._guarded(call, lambda: office.update_task(args.task_id, args.status, me, args.note))
        return TaskResult(task_id=task.id, title=task.title, assignee=task.assignee, status=task.status)

    @tool_action("SCHEDULE_MEETING", "schedule a meeting with people you may reach; they are invited")
    async def schedule_meeting(self, call: ToolCall, args: ScheduleMeetingArgs) -> MeetingResult:
        office, me = self._workplace(call), self._caller(call)
        now = office.current_datetime
        try:
            start = parse_time(args.start, "start", now)
        except InvalidArgument as exc:
            raise ToolArgumentError(str(exc), tool=self.name, action=call.action, agent=me) from None
        if start < now:
            raise ToolArgumentError(f"{args.start} is in the past (the simulated time now is "
                                    f"{now.isoformat(timespec='minutes')})", tool=self.name, action=call.action,
                                    agent=me)
        outside = [a for a in args.attendees if a != me and not office.may_reach(me, a)]
        if outside:
            raise ToolPermissionError(f"{', '.join(outside)} {'is' if len(outside) == 1 else 'are'} outside your "
                                      f"reporting lines ({office.policy_text()}), so you cannot invite them",
                                      tool=self.name, action=call.action, agent=me)
        meeting = await self._guarded(call, lambda: office.schedule_meeting(
            args.title, start, args.attendees, args.minutes, organizer=me, agenda=args.agenda))
        return MeetingResult(meeting_id=meeting.id, title=meeting.title, start=meeting.start.isoformat(),
                             end=meeting.end.isoformat(), attendees=meeting.attendees)

    @tool_action("MY_TASKS", "list the tasks assigned to you, with their ids and status")
    async def my_tasks(self, call: ToolCall, args: NoArgs) -> TaskList:
        office, me = self._workplace(call), self._caller(call)
        return TaskList(tasks=[TaskResult(task_id=t.id, title=t.title, assignee=t.assignee, status=t.status)
                               for t in office.tasks_of(me)])

__all__ = ["WorkplaceTool"]
