"""Tools in scenario files: a ``tools:`` list per agent and one for the whole scenario, each item a core
tool's short name (``word_processor``, ``calendar``, ``email``, ``web_search``, ``database``) or
``{tool: module:Class, args: {...}}``. Checked when the file is loaded (the name, that the class
imports, that the arguments fit its constructor: nothing is paid for yet); built when the study runs,
and given to each agent through the ``TinyToolUse`` faculty.

A scenario's own ``tools`` are built once and shared by every agent (one mailbox system, one
calendar everyone can invite to); an agent's ``tools`` are its own.

Example:
    >>> spec = WithTools.model_validate({"tools": ["email", {"tool": "mypkg.notes:Notes", "args": {"pages": 3}}]})
    >>> spec.tools[0].tool, spec.tools[1].args
    ('email', {'pages': 3})
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from tinytroupe.errors import ScenarioError, TinyTroupeError
from tinytroupe.tools.base import TinyTool
from tinytroupe.tools.names import (
    TOOL_USE_REF,
    arguments_problem,
    build_tool,
    load_object,
    load_tool_class,
    tool_ref_problem,
)

if TYPE_CHECKING:
    from tinytroupe.agent.person import TinyPerson
    from tinytroupe.scenario.model import Loc, Scenario


class StrictModel(BaseModel):
    """The base of every scenario model (here, below the model module, which builds on this one)."""

    # strict: "run: true" is not 1 and "seed: '3'" is not 3; no Infinity or NaN anywhere.
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class ToolSpec(StrictModel):
    """One tool: ``tool`` (a core tool's name or ``module:Class``) and its constructor's ``args``."""

    tool: str = Field(description="word_processor, calendar, email, web_search, database, or module:Class")
    args: dict[str, Any] = Field(default_factory=dict, description="keyword arguments of the tool's constructor")

    @field_validator("tool")
    @classmethod
    def _well_formed(cls, value: str) -> str:
        problem = tool_ref_problem(value.strip())
        if problem is not None:
            raise ValueError(problem)
        return value.strip()


def _from_name(value: Any) -> Any:
    return {"tool": value} if isinstance(value, str) else value


#: a tool as written in a scenario: its name alone, or a mapping
ToolEntry = Annotated[ToolSpec, BeforeValidator(_from_name)]


class WithTools(StrictModel):
    """The ``tools`` field of an agent entry and of a whole scenario."""

    tools: list[ToolEntry] = Field(default_factory=list, max_length=50, description="tools given to the agent(s)")


def _specs(scenario: Scenario) -> list[tuple[Loc, ToolSpec]]:
    found: list[tuple[Loc, ToolSpec]] = [(("tools", j), spec) for j, spec in enumerate(scenario.tools)]
    for i, entry in enumerate(scenario.agents):
        found += [(("agents", i, "tools", j), spec) for j, spec in enumerate(entry.tools)]
    return found


def tool_problems(scenario: Scenario) -> list[tuple[Loc, str]]:
    """Tools that cannot be loaded, or whose arguments do not fit their constructor (with locations)."""
    problems: list[tuple[Loc, str]] = []
    for loc, spec in _specs(scenario):
        try:
            cls = load_tool_class(spec.tool)
        except TinyTroupeError as exc:
            problems.append(((*loc, "tool"), str(exc)))
            continue
        problem = arguments_problem(cls, spec.args)
        if problem is not None:
            problems.append(((*loc, "args"), problem))
    return problems


def _build(loc: Loc, spec: ToolSpec) -> TinyTool:
    field = ".".join(map(str, loc))
    try:
        return build_tool(spec.tool, spec.args)
    except TinyTroupeError as exc:
        raise ScenarioError(f"{field}: {exc}", field=field) from None
    except Exception as exc:  # the tool's constructor refused its arguments: say where, not a traceback
        raise ScenarioError(f"{field}: building {spec.tool} failed ({type(exc).__name__}: {exc})",
                            field=field) from exc


def give_tools(scenario: Scenario, agents: Sequence[TinyPerson]) -> None:
    """Build the scenario's tools and give them to ``agents`` (in :func:`build_agents` order: the
    scenario's ``agents`` entries first) through the ``TinyToolUse`` faculty.

    Raises:
        ScenarioError: a tool cannot be built, or the faculty is missing (the field is named).
    """
    if not _specs(scenario):
        return
    shared = [_build(("tools", j), spec) for j, spec in enumerate(scenario.tools)]
    try:
        tool_use = load_object(TOOL_USE_REF)
    except TinyTroupeError as exc:
        raise ScenarioError(f"tools: agents use tools through TinyToolUse, which this installation lacks ({exc})",
                            field="tools") from None
    for i, agent in enumerate(agents):
        own = [_build(("agents", i, "tools", j), spec) for j, spec in enumerate(scenario.agents[i].tools)] \
            if i < len(scenario.agents) else []
        if shared or own:
            agent.add_mental_faculty(tool_use(tools=[*shared, *own]))


__all__ = ["StrictModel", "ToolEntry", "ToolSpec", "WithTools", "give_tools", "tool_problems"]
