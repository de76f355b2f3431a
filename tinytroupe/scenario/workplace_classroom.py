"""Workplaces and classrooms in scenario files: ``world.kind: workplace`` with a ``workplace:`` section
(org chart, reach policy, meetings, tasks), ``world.kind: classroom`` with a ``classroom:`` section
(teacher, lessons, quizzes), the script items ``lesson: <title>`` and ``quiz: <id>``, and the grading
of every quiz given, once the script has run.

Example:
    >>> spec = WorkplaceSpec.model_validate({"org": [{"name": "Ana", "role": "lead"},
    ...                                               {"name": "Ben", "role": "dev", "reports_to": "Ana"}],
    ...                                      "policy": "skip_level"})
    >>> [(p.name, p.reports_to) for p in spec.org], spec.policy
    ([('Ana', None), ('Ben', 'Ana')], 'skip_level')
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import ConfigDict, Field, Strict, model_validator

from tinytroupe.agent.person import TinyPerson
from tinytroupe.environment.classroom import TinyClassroom
from tinytroupe.environment.classroom_models import Lesson, Quiz, QuizQuestion
from tinytroupe.environment.workplace import TinyWorkplace
from tinytroupe.environment.world import TinyWorld
from tinytroupe.errors import InvalidArgument, ScenarioError
from tinytroupe.extraction.quiz_grading import QuizGrader
from tinytroupe.llm.client import LLMClient
from tinytroupe.scenario.tools import StrictModel

if TYPE_CHECKING:
    from tinytroupe.scenario.model import Scenario, WorldSpec

Name = Annotated[str, Field(min_length=1)]


class OrgEntry(StrictModel):
    """One person of the org chart: an agent's name, their role, whom they report to (none: the top)."""

    name: Name
    role: str = ""
    reports_to: Name | None = None


class MeetingEntry(StrictModel):
    title: Name
    start: Annotated[datetime, Strict(False)]
    minutes: int = Field(30, ge=1, le=12 * 60)
    attendees: list[Name] = Field(min_length=2)
    agenda: str = ""


class TaskEntry(StrictModel):
    assigner: Name
    assignee: Name
    title: Name
    description: str = ""


class WorkplaceSpec(StrictModel):
    """``world.workplace``: the org chart (managers may come after their reports), the reach policy,
    and meetings and tasks on the books before the first step."""

    org: list[OrgEntry] = Field(min_length=1)
    policy: Literal["direct", "skip_level", "chain", "open"] = "direct"
    meetings: list[MeetingEntry] = Field(default_factory=list)
    tasks: list[TaskEntry] = Field(default_factory=list)
    give_tools: bool = True


class _StrictQuestion(QuizQuestion):
    model_config = ConfigDict(extra="forbid")


class _StrictQuiz(Quiz):
    model_config = ConfigDict(extra="forbid")
    questions: list[_StrictQuestion] = Field(min_length=1)  # type: ignore[assignment]


class _StrictLesson(Lesson):
    model_config = ConfigDict(extra="forbid")


class ClassroomSpec(StrictModel):
    """``world.classroom``: the teacher (an agent's name; the others are students), the lessons and
    quizzes the script's ``lesson:`` and ``quiz:`` items give, and who grades rubric questions."""

    teacher: Name
    lessons: list[_StrictLesson] = Field(default_factory=list)
    quizzes: list[_StrictQuiz] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> ClassroomSpec:
        lists = (("lesson title", [x.title for x in self.lessons]), ("quiz id", [q.id for q in self.quizzes]))
        for what, keys in lists:
            twice = sorted({k for k in keys if keys.count(k) > 1})
            if twice:
                raise ValueError(f"each {what} must be unique; repeated: {', '.join(twice)}")
        return self


class WorldSections(StrictModel):
    """The ``workplace`` and ``classroom`` sections of a scenario's ``world`` (a base of ``WorldSpec``),
    each only with its kind of world."""

    workplace: WorkplaceSpec | None = None
    classroom: ClassroomSpec | None = None

    if TYPE_CHECKING:
        kind: str

    @model_validator(mode="after")
    def _sections_fit_the_kind(self) -> WorldSections:
        for section in ("workplace", "classroom"):
            if getattr(self, section) is not None and self.kind != section:
                raise ValueError(f"world.{section} applies to kind {section} only; add 'kind: {section}' or remove it")
        if self.kind == "classroom" and self.classroom is None:
            raise ValueError("world.kind classroom needs a 'classroom:' section with the teacher's name")
        return self


class ClassroomItems(StrictModel):
    """The script items of a classroom (a base of ``ScriptItem``)."""

    lesson: Name | None = Field(None, description="a title in world.classroom.lessons")
    quiz: Name | None = Field(None, description="an id in world.classroom.quizzes, graded after the script")


def build_specialised_world(spec: WorldSpec, agents: list[TinyPerson], kwargs: dict[str, Any]) -> TinyWorld:
    """The workplace or classroom ``spec`` describes, holding ``agents``.

    Raises:
        ScenarioError: the section names someone who is not among the agents, or breaks the world's
            rules (a cycle in the org chart, overlapping meetings, a task assigned up the chain).
    """
    if spec.kind == "workplace":
        return _workplace(spec, spec.workplace or WorkplaceSpec(org=[OrgEntry(name=a.name) for a in agents]),
                          agents, kwargs)
    if spec.classroom is None:
        raise ScenarioError("world.kind classroom needs a 'classroom:' section naming the teacher",
                            field="world.classroom")
    names = {a.name for a in agents}
    if spec.classroom.teacher not in names:
        raise ScenarioError(f"world.classroom.teacher is {spec.classroom.teacher!r}, who is not among the agents",
                            field="world.classroom.teacher")
    teacher = next(a for a in agents if a.name == spec.classroom.teacher)
    return TinyClassroom(spec.name, teacher=teacher, students=[a for a in agents if a is not teacher],
                         initial_datetime=spec.initial_datetime, broadcast_if_no_target=spec.broadcast_if_no_target,
                         **kwargs)


def _workplace(spec: WorldSpec, section: WorkplaceSpec, agents: list[TinyPerson], kwargs: dict[str, Any]
               ) -> TinyWorkplace:
    by_name = {a.name: a for a in agents}
    place = TinyWorkplace(spec.name, policy=section.policy, give_tools=section.give_tools,
                          initial_datetime=spec.initial_datetime, broadcast_if_no_target=spec.broadcast_if_no_target,
                          **kwargs)
    place.add_agents(agents)
    where = "world.workplace.org"
    try:
        for i, entry in enumerate(section.org):
            where = f"world.workplace.org.{i}"
            if entry.name not in by_name:
                raise InvalidArgument(f"{entry.name!r} is not among the agents")
            place.org.set_role(entry.name, entry.role)
        for i, entry in enumerate(section.org):  # managers may be listed after their reports
            where = f"world.workplace.org.{i}"
            place.org.set_manager(entry.name, entry.reports_to)
        for i, meeting in enumerate(section.meetings):
            where = f"world.workplace.meetings.{i}"
            place.schedule_meeting(meeting.title, meeting.start, meeting.attendees, meeting.minutes,
                                   agenda=meeting.agenda)
        for i, task in enumerate(section.tasks):
            where = f"world.workplace.tasks.{i}"
            place.assign_task(task.assigner, task.assignee, task.title, task.description)
    except InvalidArgument as exc:
        raise ScenarioError(f"{where}: {exc}", field=where) from None
    return place


Problem = tuple[tuple[int | str, ...], str]


def reference_problems(scenario: Scenario, known: set[str]) -> list[Problem]:
    """Names in the workplace or classroom section that are not among ``known`` agents, and script
    ``lesson``/``quiz`` items the classroom lacks, each at its location (found when the file is loaded)."""
    spec = scenario.world
    problems: list[Problem] = []
    named: list[tuple[tuple[int | str, ...], str]] = []
    if spec.workplace is not None:
        named += [(("org", i), who) for i, e in enumerate(spec.workplace.org) for who in (e.name, e.reports_to) if who]
        named += [(("meetings", i), who) for i, m in enumerate(spec.workplace.meetings) for who in m.attendees]
        named += [(("tasks", i), who) for i, t in enumerate(spec.workplace.tasks) for who in (t.assigner, t.assignee)]
    if spec.classroom is not None:
        named.append((("teacher",), spec.classroom.teacher))
    section = "workplace" if spec.workplace is not None else "classroom"
    problems += [(("world", section, *loc), f"no agent is named {who!r}") for loc, who in named if who not in known]
    return problems + _script_problems(spec, [(item.lesson, item.quiz) for item in scenario.script])


def _script_problems(spec: WorldSpec, items: list[tuple[str | None, str | None]]) -> list[Problem]:
    problems: list[Problem] = []
    section = spec.classroom
    for i, (lesson, quiz) in enumerate(items):
        if lesson is None and quiz is None:
            continue
        field = "lesson" if lesson is not None else "quiz"
        if spec.kind != "classroom" or section is None:
            problems.append((("script", i, field), "lesson and quiz items need world.kind classroom with a "
                                                   "classroom section"))
        elif lesson is not None and lesson not in [x.title for x in section.lessons]:
            problems.append((("script", i, field), f"{lesson!r} is not among world.classroom.lessons' titles "
                                                   f"({', '.join(x.title for x in section.lessons) or 'none'})"))
        elif quiz is not None and quiz not in [q.id for q in section.quizzes]:
            problems.append((("script", i, field), f"{quiz!r} is not among world.classroom.quizzes' ids "
                                                   f"({', '.join(q.id for q in section.quizzes) or 'none'})"))
    return problems


def apply_classroom_item(world: TinyWorld, spec: ClassroomSpec | None, lesson: str | None, quiz: str | None) -> None:
    """A script's ``lesson: <title>`` or ``quiz: <id>`` item (checked when the file was loaded).

    Raises:
        ScenarioError: the world is not a classroom, or the title or id is not in ``world.classroom``.
    """
    if not isinstance(world, TinyClassroom) or spec is None:
        raise ScenarioError("'lesson' and 'quiz' script items need world.kind classroom", field="script")
    if lesson is not None:
        found = next((x for x in spec.lessons if x.title == lesson), None)
        if found is None:
            raise ScenarioError(f"the script's lesson {lesson!r} is not in world.classroom.lessons (titles: "
                                f"{', '.join(x.title for x in spec.lessons) or 'none'})", field="script")
        world.deliver_lesson(Lesson.model_validate(found.model_dump()))
    if quiz is not None:
        given = next((q for q in spec.quizzes if q.id == quiz), None)
        if given is None:
            raise ScenarioError(f"the script's quiz {quiz!r} is not in world.classroom.quizzes (ids: "
                                f"{', '.join(q.id for q in spec.quizzes) or 'none'})", field="script")
        world.give_quiz(Quiz.model_validate(given.model_dump()))


async def grade_quizzes(world: TinyWorld, client: LLMClient | None) -> None:
    """Grade every quiz a classroom gave (nothing for other worlds)."""
    if isinstance(world, TinyClassroom):
        grader = QuizGrader(client=client)
        for quiz_id in world.quizzes:
            await grader.agrade(world, quiz_id)


__all__ = [
    "ClassroomItems",
    "ClassroomSpec",
    "MeetingEntry",
    "OrgEntry",
    "TaskEntry",
    "WorkplaceSpec",
    "WorldSections",
    "apply_classroom_item",
    "build_specialised_world",
    "grade_quizzes",
    "reference_problems",
]
