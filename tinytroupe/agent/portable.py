"""Turn components in another process: what an agent's state says about its components
(:class:`~tinytroupe.agent.state_models.ComponentSpec`, in order), and rebuilding them from it.

A worker process of the sharded or Ray executor holds its own copy of each agent, rebuilt from the
agent's state. State is data, components are code: so each component class that can be rebuilt says
so (``portable = True`` and :meth:`~tinytroupe.agent.turn.TurnComponent.spec_args`), the state names
each component's class by module and qualified name with those arguments, and the worker builds the
same components, in the same order, before it puts the agent in its state. Their states travel in
``AgentState.components`` both ways, so after the turn the driver's components are where a local
turn would have left them. A component that is a mental faculty too (``TinyToolUse``) is rebuilt from
the agent's saved faculty (``AgentState.mental_faculties``).

The worker imports a component's module only when it is one of tinytroupe's own; any other must be
imported in that process already (by what the transport unpickled): a state, which may come from a
file, never makes a process import the code it names.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.agent.emotions import EmotionComponent
    >>> ana = TinyPerson("Ana").add_component(EmotionComponent(baseline={"pleasure": 0.2}))
    >>> [(s.name, s.qualname) for s in ana.state_model().component_specs][-1]
    ('emotions', 'EmotionComponent')
    >>> copy = TinyPerson("Ana")
    >>> restore_components(copy, ana.state_model())
    >>> [c.name for c in copy.components] == [c.name for c in ana.components]
    True
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from tinytroupe.agent.faculties import MentalFaculty
from tinytroupe.agent.state_models import AgentState, ComponentSpec
from tinytroupe.agent.turn import TurnComponent
from tinytroupe.agent.turn_components import default_components
from tinytroupe.errors import InvalidState, ScenarioError

if TYPE_CHECKING:  # annotations only: the agent builds on this module
    from tinytroupe.agent.person import TinyPerson

#: the only package whose modules a rebuild may import
OWN_PACKAGE = "tinytroupe"


def component_spec(component: TurnComponent) -> ComponentSpec:
    """How a worker rebuilds ``component`` (not portable: its class only, for the record)."""
    cls = type(component)
    portable = component.portability_problem() is None
    faculty = isinstance(component, MentalFaculty)
    return ComponentSpec(name=component.name, module=cls.__module__, qualname=cls.__qualname__, portable=portable,
                         faculty=faculty, args=component.spec_args() if portable and not faculty else None)


def component_specs(components: Sequence[TurnComponent]) -> list[ComponentSpec] | None:
    """The specs of ``components`` in order; None when they are the built-in ones (what
    ``AgentState.component_specs`` holds)."""
    if _is_built_in(components):
        return None
    return [component_spec(c) for c in components]


@cache
def _built_in_specs() -> tuple[ComponentSpec, ...]:
    return tuple(component_spec(c) for c in default_components())


@cache
def _built_in_layout() -> tuple[tuple[type[TurnComponent], str], ...]:
    return tuple((type(c), c.name) for c in default_components())


def _is_built_in(components: Sequence[TurnComponent]) -> bool:
    # The built-in components take no arguments: their classes and names say all their specs would (and
    # this runs for every agent at every step, where building the specs would cost a fifth of the state).
    return tuple((type(c), c.name) for c in components) == _built_in_layout()


def portability_problems(agent: TinyPerson) -> dict[str, str]:
    """Per component (and mental faculty) of ``agent`` that a worker process cannot rebuild, why (empty: all can)."""
    problems = {c.name: problem for c in agent.components if (problem := c.portability_problem()) is not None}
    for faculty in agent.mental_faculties:
        if (problem := faculty.faculty_portability_problem()) is not None:
            problems[f"mental faculty {faculty.name!r}"] = problem
    return problems


def import_portable(module_name: str, qualname: str, base: type[Any], *, what: str) -> type[Any]:
    """The class ``module_name``:``qualname``, a subclass of ``base``; the module is imported only when it is
    tinytroupe's own (others must be imported in this process already).

    Raises:
        ScenarioError: the module is neither tinytroupe's nor imported here, or it holds no such class.
    """
    module = sys.modules.get(module_name)
    if module is None and (module_name == OWN_PACKAGE or module_name.startswith(OWN_PACKAGE + ".")):
        # Only our own package: a state may come from a file, and reading one must not run code it names.
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ScenarioError(f"{what} is a {module_name}.{qualname}, and this tinytroupe has no module "
                                f"{module_name} ({exc}); use the same tinytroupe version everywhere") from exc
    if module is None:
        raise ScenarioError(f"{what} is a {module_name}.{qualname}, and {module_name} is not imported in this "
                            f"process; import it there first (only {OWN_PACKAGE}'s modules are imported for you)")
    found: Any = module
    for part in qualname.split("."):
        # The namespace's own entries, not getattr: a module's __getattr__ (PEP 562) may import the
        # submodule a state names.
        found = vars(found).get(part) if hasattr(found, "__dict__") else None
    if not (isinstance(found, type) and issubclass(found, base)):
        raise ScenarioError(f"{what} is a {module_name}.{qualname}, which is not a {base.__name__} defined there")
    return found


def build_component(spec: ComponentSpec) -> TurnComponent:
    """A new component as ``spec`` describes it (its state apart).

    Raises:
        InvalidState: the spec is of a component that is not portable.
        ScenarioError: its class cannot be found (see :func:`import_portable`) or does not declare itself portable.
    """
    what = f"turn component {spec.name!r}"
    if not spec.portable or spec.args is None:
        raise InvalidState(f"{what} ({spec.qualname}) cannot be rebuilt in a worker process; run the agent's "
                           "world with the local executor")
    cls = import_portable(spec.module, spec.qualname, TurnComponent, what=what)
    if not cls.portable:
        raise ScenarioError(f"{what} is a {spec.qualname}, which does not declare itself portable")
    component = cls.from_spec_args(spec.args)
    if component.name != spec.name:
        component.name = spec.name
    return component


def _build_faculty(spec: ComponentSpec, state: AgentState) -> MentalFaculty:
    saved = next((f for f in state.mental_faculties if f.get("name") == spec.name), None)
    if saved is None:
        raise InvalidState(f"turn component {spec.name!r} is a mental faculty, but the agent's state has no "
                           "faculty of that name")
    cls = import_portable(spec.module, spec.qualname, MentalFaculty, what=f"mental faculty {spec.name!r}")
    cannot = f"turn component {spec.name!r} ({spec.qualname}) cannot be rebuilt in a worker process"
    declared = issubclass(cls, TurnComponent) and cls.portable
    if not declared:  # asked of the class, before building anything
        raise InvalidState(cannot)
    faculty: MentalFaculty = cls.from_spec(saved)
    problem = faculty.portability_problem() if isinstance(faculty, TurnComponent) else "not a turn component"
    if problem is not None:
        raise InvalidState(f"{cannot}: {problem}")
    return faculty


def _stale(component: TurnComponent, state: AgentState) -> bool:
    # A component the state has no state for is a fresh one in the driver (emotions before their first
    # turn): apply_state leaves such a component as it is, so a copy that had turns must build it anew.
    # A faculty's state travels with the faculty (apply_state sets it).
    return (not isinstance(component, MentalFaculty) and component.name not in state.components
            and bool(component.get_state()))


def _add_faculties(agent: TinyPerson, state: AgentState, component_specs: dict[str, ComponentSpec]) -> None:
    """Add the state's faculties ``agent`` lacks, as apply_state would but before the components are set:
    in the state's order, its action types registered first (the prompt lists them in that order), those
    that are components built from their specs (the others as apply_state builds them)."""
    own = {f.name for f in agent.mental_faculties}
    missing = [saved for saved in state.mental_faculties if saved.get("name") not in own]
    if not missing:
        return
    for action_type, description in state.action_types.items():
        if action_type not in agent.actions_registry.types:
            agent.actions_registry.register(action_type, description)
    for saved in missing:
        spec = component_specs.get(str(saved.get("name")))
        agent.add_mental_faculty(_build_faculty(spec, state) if spec is not None else MentalFaculty.from_spec(saved))


def restore_components(agent: TinyPerson, state: AgentState) -> None:
    """Give ``agent`` the turn components ``state`` describes, in its order: components it has with the same
    spec stay (with their state, which :meth:`~TinyPerson.apply_state` then sets; one with a state where
    ``state`` has none is built anew), others are built, and those the state lacks are dropped. The state's
    faculties the agent lacks are added first, in the state's order; those that are components join its
    components as their specs say.

    Raises:
        InvalidState: the state names a component that cannot be rebuilt.
        ScenarioError: a component's class cannot be found (see :func:`import_portable`).
    """
    wanted = list(state.component_specs if state.component_specs is not None else _built_in_specs())
    _add_faculties(agent, state, {s.name: s for s in wanted if s.faculty})
    stale = {c.name for c in agent.components if _stale(c, state)}
    if not stale and state.component_specs is None and _is_built_in(agent.components):
        return
    have = {c.name: c for c in agent.components}
    if not stale and [component_spec(c) for c in have.values()] == wanted:
        return
    faculties = {f.name: f for f in agent.mental_faculties}
    components: list[TurnComponent] = []
    for spec in wanted:
        current = have.get(spec.name)
        if current is not None and current.name not in stale and component_spec(current) == spec:
            components.append(current)
        elif spec.faculty and isinstance(faculties.get(spec.name), TurnComponent):
            components.append(faculties[spec.name])  # type: ignore[arg-type]  # checked just above
        elif spec.faculty:
            faculty = _build_faculty(spec, state)
            agent.add_mental_faculty(faculty)
            components.append(faculty)  # type: ignore[arg-type]  # a TurnComponent: checked in _build_faculty
        else:
            components.append(build_component(spec))
    agent._set_components(components)


__all__ = ["OWN_PACKAGE", "build_component", "component_spec", "component_specs", "import_portable",
           "portability_problems", "restore_components"]
