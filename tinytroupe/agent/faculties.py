"""Mental faculties: components that give an agent extra action types and carry those actions out.

A faculty declares the action types it adds, each with the one-line description the agent's prompt
shows, and handles them in :meth:`MentalFaculty.process_action`, which the agent calls for every
action of a turn once the turn's actions are committed. This is TinyTroupe's ``TinyMentalFaculty``
(``TinyMentalFaculty`` is an alias) in our shape: actions arrive as :class:`~tinytroupe.agent.actions.Action`
objects (``action.type``, ``action.content``, ``action.target``), not dicts.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> class Diary(MentalFaculty):
    ...     def __init__(self) -> None:
    ...         super().__init__("diary", actions={"WRITE_DIARY": "write in your diary; content is the entry"})
    ...         self.entries: list[str] = []
    ...     def process_action(self, agent, action) -> bool:
    ...         if action.type != "WRITE_DIARY":
    ...             return False
    ...         self.entries.append(action.content)
    ...         return True
    >>> lisa = TinyPerson("Lisa").add_mental_faculty(Diary())
    >>> "WRITE_DIARY" in lisa.actions_registry.types
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from tinytroupe.errors import InvalidArgument, ScenarioError

if TYPE_CHECKING:  # annotations only: person.py imports this module
    from tinytroupe.agent.actions import Action
    from tinytroupe.agent.person import TinyPerson


class MentalFaculty:
    """A named component adding action types to an agent.

    Args:
        name: unique among the faculties of one agent.
        actions: action type -> the description the prompt shows (e.g. ``{"RECALL": "..."}``).
        requires_faculties: names of faculties the agent must have first (checked when added).

    Subclasses override :meth:`process_action`, and :meth:`get_state`/:meth:`set_state` when they keep
    state that should be saved with the agent. One whose actions carry long contents (a tool's JSON
    arguments, a document) sets :attr:`content_chars`.
    """

    #: the longest action content this faculty's actions need (None: the default 600 characters suffice);
    #: a turn allows the largest of its agent's faculties'
    content_chars: int | None = None

    def __init__(self, name: str, actions: Mapping[str, str] | None = None,
                 requires_faculties: Iterable[str] | None = None) -> None:
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgument("a mental faculty needs a non-empty name")
        self.name = name.strip()
        self.actions: dict[str, str] = {k.strip().upper(): v for k, v in (actions or {}).items()}
        self.requires_faculties: list[str] = list(requires_faculties or [])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def actions_definitions(self) -> dict[str, str]:
        """The action types this faculty adds, with their prompt descriptions."""
        return dict(self.actions)

    def action_argument_schemas(self) -> dict[str, dict[str, Any]]:
        """Action type -> the JSON schema of its ``content``, for actions whose content is an object of
        arguments (none by default). The agent's turn schema then asks for those contents as objects
        (:mod:`tinytroupe.agent.action_schema`); they arrive as JSON text in ``action.content``.

        Example:
            >>> MentalFaculty("diary", actions={"WRITE_DIARY": "write an entry"}).action_argument_schemas()
            {}
        """
        return {}

    def citable_ids(self, agent: TinyPerson) -> tuple[str, ...]:
        """Ids of passages ``agent`` was shown and may cite (none by default). The agent's turn schema then
        offers TALK and THINK a ``cites`` list of them (:func:`~tinytroupe.agent.action_schema.with_citations`),
        and the ids cited arrive in ``action.cites``. Keep it short (a few recent ids): each set is a schema.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> MentalFaculty("diary").citable_ids(TinyPerson("Lisa"))
            ()
        """
        return ()

    def process_action(self, agent: TinyPerson, action: Action) -> bool:
        """Carry out ``action`` if it is this faculty's; True when it was handled.

        The default handles nothing (a faculty that only adds descriptions of actions the world routes).
        """
        return False

    def faculty_portability_problem(self) -> str | None:
        """Why a worker process (sharded and Ray executors) could not rebuild this faculty from the
        agent's state so that it acts the same, or None when it can (the default: a faculty is rebuilt
        from its spec and state). A faculty holding objects its state does not carry says so here, and
        the executors refuse the agent instead of running it differently.

        Example:
            >>> MentalFaculty("diary").faculty_portability_problem() is None
            True
        """
        return None

    def get_state(self) -> dict[str, Any]:
        """JSON-ready state saved with the agent (none by default)."""
        return {}

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`get_state` output (nothing to restore by default)."""

    def to_spec(self) -> dict[str, Any]:
        """What ``save_specification(include_mental_faculties=True)`` writes for this faculty."""
        return {"type": type(self).__name__, "name": self.name, "actions": self.actions_definitions(),
                "requires_faculties": list(self.requires_faculties), "state": self.get_state()}

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> MentalFaculty:
        """Rebuild a faculty written by :meth:`to_spec`.

        The class is found by its name among the subclasses of :class:`MentalFaculty` defined so far
        (import the module that defines it first). A subclass is built with no arguments, then given
        its saved state; one whose constructor needs arguments overrides this classmethod.

        Raises:
            ScenarioError: the class is unknown, or cannot be built without arguments.
        """
        # TinyTroupe's own saved faculties name their class under "json_serializable_class_name"
        kind = str(spec.get("type") or spec.get("json_serializable_class_name") or "MentalFaculty")
        target = _subclass_named(MentalFaculty, kind)
        if target is None:
            raise ScenarioError(
                f"the saved agent has a mental faculty of type {kind!r}, which is not defined here; import the "
                "module that defines it before loading, or load with suppress_mental_faculties=True")
        if target is not cls and getattr(target.from_spec, "__func__", None) is not _BASE_FROM_SPEC:
            return target.from_spec(spec)
        if target is MentalFaculty:
            faculty = MentalFaculty(str(spec["name"]), spec.get("actions"), spec.get("requires_faculties"))
        else:
            try:
                # subclasses define their own constructors; the base one needs a name
                faculty = target()  # type: ignore[call-arg]
            except TypeError as exc:
                raise ScenarioError(f"cannot rebuild the saved mental faculty {kind}: {kind}() needs arguments; "
                                    f"give {kind} a from_spec classmethod") from exc
        faculty.set_state(spec.get("state") or {})
        return faculty


def _subclass_named(root: type[MentalFaculty], name: str) -> type[MentalFaculty] | None:
    if root.__name__ == name:
        return root
    for sub in root.__subclasses__():
        found = _subclass_named(sub, name)
        if found is not None:
            return found
    return None


_BASE_FROM_SPEC = MentalFaculty.from_spec.__func__  # type: ignore[attr-defined]

#: TinyTroupe's name for :class:`MentalFaculty`.
TinyMentalFaculty = MentalFaculty

__all__ = ["MentalFaculty", "TinyMentalFaculty"]
