"""A world's state as a model: :class:`WorldState` (clock, step, random generator, options, errors,
metrics and its agents' :class:`~tinytroupe.agent.state_models.AgentState` s) and
:class:`SocialNetworkState`, which adds the relations of a
:class:`~tinytroupe.environment.social_network.TinySocialNetwork`.

``TinyWorld.state_model()`` produces one and ``TinyWorld.apply_state()`` takes it back; ``to_state()``
is its ``to_dict()``. :data:`AnyWorldState` reads either from a dict (a network's has ``relations``), as
a checkpoint holding several worlds needs.

Example:
    >>> from pydantic import TypeAdapter
    >>> data = {"kind": "TinySocialNetwork", "name": "Office", "datetime": "2025-01-06T09:00:00", "step": 2,
    ...         "broadcast_if_no_target": True, "random_state": [3, [1, 2], None],
    ...         "relations": [["Ana", "Ben", "colleagues"]]}
    >>> state = TypeAdapter(AnyWorldState).validate_python(data)
    >>> type(state).__name__, state.relations, state.agents is None
    ('SocialNetworkState', [('Ana', 'Ben', 'colleagues')], True)
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import Discriminator, Field, Tag

from tinytroupe.agent.state_models import AgentState
from tinytroupe.environment.classroom_models import Grade, Lesson, Question, Quiz
from tinytroupe.environment.org_chart import ReachPolicy
from tinytroupe.environment.workplace_models import Meeting, MessageRecord, Task
from tinytroupe.state import StateModel


class WorldState(StateModel):
    """A :class:`~tinytroupe.environment.TinyWorld` as data.

    ``random_state`` is Python's ``random.getstate()`` as JSON (``[version, [internal...], gauss]``).
    ``errors`` and ``step_metrics`` are the world's records as their ``as_dict()`` gives them; ``schedule``
    and ``activity`` those of its scheduler and activity schedule (None: it has none). Options
    missing from older states (None) keep the world's own. ``agents`` is None when the state was taken
    without them. ``extensions`` holds what a specialised world adds (a spatial world's positions, a
    store's carts, a marketplace's market), one JSON-ready dict per part, read back by that world's
    ``apply_state``.
    """

    omit_when: ClassVar[dict[str, Any]] = {"agents": None, "schedule": None, "activity": None, "extensions": {}}

    kind: str = "TinyWorld"
    name: str
    datetime: datetime
    step: int
    agent_names: list[str] = Field(default_factory=list)
    broadcast_if_no_target: bool
    seed: int | None = None
    parallelize: bool | None = None
    max_workers: int | None = None
    agent_timeout: float | None = None
    on_agent_error: str | None = None
    random_state: tuple[int, list[int], float | None]
    errors: list[dict[str, Any]] = Field(default_factory=list)
    step_metrics: list[dict[str, Any]] = Field(default_factory=list)
    agents: list[AgentState] | None = None
    #: the world's event scheduler's state (``EventScheduler.get_state()``), if it has one
    schedule: dict[str, Any] | None = None
    #: the world's activity schedule's state (``ActivitySchedule.get_state()``), if it has one
    activity: dict[str, Any] | None = None
    #: the state of a specialised world's own mechanics, by part (``"market"``, ``"spatial"``, ``"retail"``)
    extensions: dict[str, dict[str, Any]] = Field(default_factory=dict)


class SocialNetworkState(WorldState):
    """A :class:`~tinytroupe.environment.social_network.TinySocialNetwork` as data: a world's state plus
    its relations as sorted ``(agent, agent, relation name)`` triples."""

    kind: str = "TinySocialNetwork"
    relations: list[tuple[str, str, str]] = Field(default_factory=list)


class WorkplaceState(WorldState):
    """A :class:`~tinytroupe.environment.workplace.TinyWorkplace` as data: a world's state plus its org
    chart (``(name, role, reports_to)`` rows, managers first), reach policy, tasks, meetings, the record
    of messages, and which meeting starts and ends (``(meeting id, "start"|"end")``) and which
    briefings were already given."""

    kind: str = "TinyWorkplace"
    org: list[tuple[str, str, str | None]] = Field(default_factory=list)
    policy: ReachPolicy = Field(default_factory=ReachPolicy)
    tasks: list[Task] = Field(default_factory=list)
    meetings: list[Meeting] = Field(default_factory=list)
    messages: list[MessageRecord] = Field(default_factory=list)
    announced: list[tuple[str, str]] = Field(default_factory=list)
    briefed: list[str] = Field(default_factory=list)


class ClassroomState(WorldState):
    """A :class:`~tinytroupe.environment.classroom.TinyClassroom` as data: a world's state plus its
    teacher, lessons, students' questions, quizzes, grades and talk counts."""

    kind: str = "TinyClassroom"
    teacher: str | None = None
    lessons: list[Lesson] = Field(default_factory=list)
    questions: list[Question] = Field(default_factory=list)
    quizzes: list[Quiz] = Field(default_factory=list)
    grades: list[Grade] = Field(default_factory=list)
    talks: dict[str, int] = Field(default_factory=dict)


#: the field only each kind's state has, and the kind's tag (a subclass keeps its parent's fields, not
#: its kind name, so kinds are told apart by fields)
_KIND_FIELDS = (("org", "workplace", WorkplaceState), ("teacher", "classroom", ClassroomState),
                ("relations", "network", SocialNetworkState))


def _world_kind(value: Any) -> str:
    for field, tag, model in _KIND_FIELDS:
        if (field in value) if isinstance(value, dict) else isinstance(value, model):
            return tag
    return "world"


#: a world's state of any kind this package defines, told apart by the fields only each kind has
AnyWorldState = Annotated[Annotated[SocialNetworkState, Tag("network")] | Annotated[WorkplaceState, Tag("workplace")]
                          | Annotated[ClassroomState, Tag("classroom")] | Annotated[WorldState, Tag("world")],
                          Discriminator(_world_kind)]

__all__ = ["AnyWorldState", "ClassroomState", "SocialNetworkState", "WorkplaceState", "WorldState"]
