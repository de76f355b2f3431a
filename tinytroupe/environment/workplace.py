"""``TinyWorkplace``: a world with roles, an org chart, meetings and tasks, where reporting lines shape
who may reach whom.

* **Org chart**: each person has a role and at most one manager (:mod:`.org_chart`; a networkx
  ``DiGraph`` from managers to reports, never with a cycle, one root or several).
* **Reach**: a TALK or REACH_OUT goes only along the reporting lines the :class:`ReachPolicy` allows
  (default ``direct``: one's manager, direct reports and peers; ``skip_level``, ``chain`` or
  ``open`` allow more). A TALK to someone out of reach is not delivered and the speaker is told why;
  one with no target goes to everyone within reach.
* **Meetings** (:meth:`schedule_meeting`, or agents' ``SCHEDULE_MEETING``): while one is on, its
  attendees hear each other whatever the chart says; its start and end are announced to them. No one
  is in two meetings at once.
* **Tasks**: ``ASSIGN_TASK`` by a manager up the chain to someone below, ``UPDATE_TASK`` (todo, doing,
  done, blocked) by the assignee; agents use them through :class:`~.workplace_tool.WorkplaceTool`,
  which every agent who joins is given, so a refused request comes back to the agent with its reason.
* **Metrics** as DataFrames (:mod:`.workplace_metrics`): tasks, statuses over time, messages by line.

Tools change the workplace during agents' turns, so a workplace steps synchronously (it declares no
narrower :meth:`routing_reach`).

Example:
    >>> from datetime import datetime
    >>> from tinytroupe.agent import TinyPerson
    >>> office = TinyWorkplace("Office", initial_datetime=datetime(2025, 1, 6, 9), communication_display=False)
    >>> _ = office.add_employee(TinyPerson("Cleo"), "director")
    >>> _ = office.add_employee(TinyPerson("Ana"), "manager", reports_to="Cleo")
    >>> _ = office.add_employee(TinyPerson("Ben"), "engineer", reports_to="Ana")
    >>> office.reachable_names("Ben"), office.may_reach("Ben", "Cleo")
    (['Ana'], False)
    >>> office.assign_task("Cleo", "Ben", "Ship the release").id
    'T-Cleo-1'
    >>> office.assign_task("Ben", "Ana", "Review my code")
    Traceback (most recent call last):
    ...
    tinytroupe.environment.workplace_work.WorkRefused: Ben is not in Ana's chain of command, ...
"""

from __future__ import annotations

from typing import Any

from tinytroupe.agent.actions import Action
from tinytroupe.agent.person import TinyPerson
from tinytroupe.environment.executors import LocalExecutor
from tinytroupe.environment.org_chart import OrgChart, ReachPolicy, as_policy
from tinytroupe.environment.state_models import WorkplaceState, WorldState
from tinytroupe.environment.workplace_metrics import WorkplaceMetrics
from tinytroupe.environment.workplace_models import Meeting, MessageRecord, Task
from tinytroupe.environment.workplace_tool import WorkplaceTool
from tinytroupe.environment.workplace_work import WorkplaceWork
from tinytroupe.environment.world import TinyWorld
from tinytroupe.errors import InvalidArgument
from tinytroupe.tools.tool_use import TinyToolUse

#: the name of the faculty through which a workplace gives its agents the workplace tool
TOOL_FACULTY = "workplace"

_LINE_WORDS = {"manager": "your manager", "report": "your direct report", "peer": "your peer",
               "skip_level_up": "above you in the chain", "skip_level_down": "below you in the chain",
               "other": "a colleague"}


class TinyWorkplace(WorkplaceWork, WorkplaceMetrics, TinyWorld):
    """A :class:`TinyWorld` with an org chart, meetings and tasks (see the module docstring).

    Args:
        name: the workplace's name.
        agents: people to add now, each at the top of the chart with no role (place them with
            :meth:`add_employee`).
        policy: who may reach whom: ``"direct"`` (default), ``"skip_level"``, ``"chain"``, ``"open"``,
            a mapping of :class:`ReachPolicy` fields, or a policy.
        give_tools: give each agent who joins the workplace tool (``ASSIGN_TASK``, ``UPDATE_TASK``,
            ``SCHEDULE_MEETING``, ``MY_TASKS``).
        **kwargs: as :class:`TinyWorld`.

    Raises:
        InvalidArgument: an unknown policy, or ``give_tools`` with an executor other than the local one;
            otherwise as :class:`TinyWorld`.
    """

    state_class = WorkplaceState

    def __init__(self, name: str = "A TinyWorkplace", agents: Any = (), *,
                 policy: ReachPolicy | str | dict[str, Any] = "direct", give_tools: bool = True,
                 broadcast_if_no_target: bool = True, **kwargs: Any) -> None:
        self.org = OrgChart()
        self.policy = as_policy(policy)
        self.give_tools = give_tools
        self.tasks: dict[str, Task] = {}
        self.meetings: dict[str, Meeting] = {}
        self.messages: list[MessageRecord] = []
        self._announced: set[tuple[str, str]] = set()
        self._briefed: set[str] = set()
        super().__init__(name, agents, broadcast_if_no_target=broadcast_if_no_target, **kwargs)
        if give_tools and not isinstance(self.executor, LocalExecutor):
            # the tool changes the workplace in the process that runs the turn: a worker's copy elsewhere
            raise InvalidArgument(f"workplace {name!r}: its tool needs the local executor, not "
                                  f"{type(self.executor).__name__}; pass give_tools=False to run turns elsewhere")

    @property
    def org_chart(self) -> Any:
        """The org chart as a networkx ``DiGraph`` (manager → report; each node has a ``role``)."""
        return self.org.graph

    # ------------------------------------------------------------------ people

    def add_agent(self, agent: TinyPerson) -> TinyWorkplace:
        """Add ``agent`` (at the top of the chart with no role, unless already placed); it gets the
        workplace tool when ``give_tools`` is set. See :meth:`TinyWorld.add_agent`."""
        super().add_agent(agent)
        if agent.name not in self.org:
            self.org.add(agent.name)
        if self.give_tools and not any(f.name == TOOL_FACULTY for f in agent.mental_faculties):
            agent.add_mental_faculty(TinyToolUse([WorkplaceTool()], name=TOOL_FACULTY))
        return self

    def add_employee(self, agent: TinyPerson, role: str = "", reports_to: TinyPerson | str | None = None
                     ) -> TinyWorkplace:
        """Add ``agent`` (if new here) with ``role``, reporting to ``reports_to`` (None: nobody).

        Raises:
            InvalidArgument: ``reports_to`` is not in the workplace, or the change would make a cycle.
        """
        manager = reports_to.name if isinstance(reports_to, TinyPerson) else reports_to
        if manager is not None and manager not in self.org:
            raise InvalidArgument(f"{agent.name!r} is to report to {manager!r}, who does not work in {self.name}; "
                                  "add the manager first")
        self.add_agent(agent)
        self.org.set_role(agent.name, role)
        self.org.set_manager(agent.name, manager)
        return self

    def remove_agent(self, agent: TinyPerson) -> TinyWorkplace:
        """Take ``agent`` out; their reports then report to their manager. Their tasks stay on the books."""
        super().remove_agent(agent)
        if agent.name in self.org:
            self.org.remove(agent.name)
        return self

    def briefing(self, name: str) -> str:
        """What ``name`` is told of their place in the workplace before their first turn."""
        role = self.org.role_of(name)
        lines = [f"You work at {self.name}" + (f" as {role}." if role else ".")]
        manager = self.org.manager_of(name)
        lines.append(f"You report to {manager}." if manager else "You report to no one here.")
        if reports := self.org.reports_of(name):
            lines.append(f"Your direct reports: {', '.join(reports)}.")
        reach = self.reachable_names(name)
        lines.append(f"You can talk to: {', '.join(reach)}." if reach else "You can talk to no one directly.")
        return " ".join(lines)

    # ------------------------------------------------------------------ reach and routing

    def reachable_names(self, agent: str) -> list[str]:
        """Whom ``agent`` may talk to now: the reporting lines the policy allows, and their meeting."""
        return [name for name in self.agent_names() if self.may_reach(agent, name)]

    def routing_reach(self, agent: TinyPerson) -> list[str] | None:
        """None: tools and meetings change who is reached while a run goes on, so steps stay synchronous."""
        return None

    def _can_reach(self, source: TinyPerson, target: TinyPerson) -> bool:
        return self.may_reach(source.name, target.name)

    def _handle_talk(self, source: TinyPerson, action: Action) -> None:
        name = action.target.strip()
        target = self.get_agent_by_name(name) if name else None
        meeting = self.meeting_of(source.name)
        if meeting is not None and target is not source and (target is None or target.name in meeting.attendees):
            self._deliver(source, [n for n in meeting.attendees if n != source.name], action, meeting.id)
            return
        if target is not None and target is not source:
            if self.may_reach(source.name, target.name):
                self._deliver(source, [target.name], action, None)
            else:
                self._talk_not_delivered(source, action, f"{target.name} is outside {source.name}'s reporting lines "
                                                         f"in {self.name} ({self.policy_text()})")
            return
        if not self.broadcast_if_no_target:
            super()._handle_talk(source, action)
            return
        listeners = self.reachable_names(source.name)
        if not listeners:
            self._talk_not_delivered(source, action, f"nobody in {self.name} is within {source.name}'s reporting lines")
            return
        self._deliver(source, listeners, action, None)

    def _deliver(self, source: TinyPerson, names: list[str], action: Action, meeting: str | None) -> None:
        step = self.current_step
        for name in names:
            listener = self.get_agent_by_name(name)
            if listener is None:
                continue  # an attendee who has left the workplace
            listener.listen(action.content, source)
            line = self.org.line(source.name, name) if source.name in self.org and name in self.org else "other"
            self.messages.append(MessageRecord(step=step, source=source.name, target=name, line=line, meeting=meeting))

    # ------------------------------------------------------------------ steps

    def _before_step(self) -> None:
        for agent in self.agents:
            if agent.name not in self._briefed:
                agent.socialize(self.briefing(agent.name), source=self.name)
                self._briefed.add(agent.name)
        self._announce_meetings()
        super()._before_step()

    def _announce_meetings(self) -> None:
        now = self.current_datetime
        for meeting in sorted(self.meetings.values(), key=lambda m: (m.start, m.id)):
            if meeting.is_on(now) and (meeting.id, "start") not in self._announced:
                self._announced.add((meeting.id, "start"))
                text = (f"The meeting {meeting.title!r} ({meeting.id}) is starting now with "
                        f"{', '.join(meeting.attendees)}; until {meeting.end:%H:%M} everyone in it hears what you say.")
                self._tell(meeting.attendees, text + (f" Agenda: {meeting.agenda}" if meeting.agenda else ""))
            elif now >= meeting.end and (meeting.id, "start") in self._announced \
                    and (meeting.id, "end") not in self._announced:
                self._announced.add((meeting.id, "end"))
                self._tell(meeting.attendees, f"The meeting {meeting.title!r} ({meeting.id}) has ended.")

    def _tell(self, names: list[str], text: str) -> None:
        for name in names:
            if (agent := self.get_agent_by_name(name)) is not None:
                agent.socialize(text, source=self.name)

    def _before_agent_step(self, agent: TinyPerson) -> None:
        agent.make_all_agents_inaccessible()
        meeting = self.meeting_of(agent.name)
        for name in self.reachable_names(agent.name):
            other = self.name_to_agent[name]
            line = self.org.line(agent.name, name) if agent.name in self.org and name in self.org else "other"
            if meeting is not None and name in meeting.attendees:
                agent.make_agent_accessible(other, f"in the meeting {meeting.title!r} with you")
            else:
                agent.make_agent_accessible(other, _LINE_WORDS.get(line, "a colleague"))

    # ------------------------------------------------------------------ state

    def state_model(self, include_agents: bool = True) -> WorkplaceState:
        """The workplace's state: the world's (see :meth:`TinyWorld.state_model`) plus its org chart,
        policy, tasks, meetings and message record."""
        return WorkplaceState.model_construct(
            **self._state_fields(include_agents), org=self.org.to_rows(), policy=self.policy,
            tasks=[t.model_copy(deep=True) for t in self.tasks.values()],
            meetings=[m.model_copy(deep=True) for m in self.meetings.values()],
            messages=list(self.messages), announced=sorted(self._announced), briefed=sorted(self._briefed))

    def apply_state(self, state: WorldState) -> TinyWorkplace:
        """Put the workplace in ``state``.

        Raises:
            InvalidArgument: the state is not a workplace's, or see :meth:`TinyWorld.apply_state`.
        """
        if not isinstance(state, WorkplaceState):
            raise InvalidArgument(f"the state of {state.kind} {state.name!r} is not a workplace's (it has no org "
                                  "chart), so it cannot be loaded into a TinyWorkplace")
        super().apply_state(state)
        self.org = OrgChart.from_rows(state.org)
        for agent in self.agents:
            if agent.name not in self.org:
                self.org.add(agent.name)
        self.policy = state.policy
        self.tasks = {t.id: t.model_copy(deep=True) for t in state.tasks}
        self.meetings = {m.id: m.model_copy(deep=True) for m in state.meetings}
        self.messages = list(state.messages)
        self._announced = {(a, b) for a, b in state.announced}
        self._briefed = set(state.briefed)
        return self


__all__ = ["TOOL_FACULTY", "TinyWorkplace"]
