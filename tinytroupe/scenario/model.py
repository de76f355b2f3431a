"""The scenario file's model: a validated description of a study (agents or a sampled population, the
world, a script of steps, what to extract), checked field by field with messages that say how to fix
it. Reading a file into it is :mod:`tinytroupe.scenario.loader`'s job, carrying it out
:mod:`tinytroupe.scenario.runner`'s.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    Strict,
    field_validator,
    model_validator,
)

from tinytroupe.agent.persona import persona_problems
from tinytroupe.extraction.fields import FieldSpec, extraction_model, field_name_problem
from tinytroupe.scenario.design import ExperimentSpec, ValidationSpec, design_problems
from tinytroupe.scenario.tools import StrictModel, WithTools
from tinytroupe.scenario.world_kinds import world_problems


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _not_a_number(value: Any) -> Any:
    # pydantic would read 0 as 1970-01-01 UTC (seconds since the epoch) and true as 1 second: nobody
    # writes a start time that way on purpose.
    if isinstance(value, bool | int | float):
        raise ValueError("write a date and time such as 2025-01-06T10:00:00, not a number")
    return value


def _a_url(value: str) -> str:
    # The OpenAI client refuses a base URL without a scheme only when the first call is made.
    if not value.startswith(("http://", "https://")):
        raise ValueError("write a URL that starts with http:// or https://, e.g. http://127.0.0.1:8000/v1")
    return value


#: text that must say something: names, references, broadcasts (an empty one is never meant)
NonEmpty = Annotated[str, AfterValidator(_not_blank)]
#: a start time: a YAML timestamp or an ISO text, never a number
SimDatetime = Annotated[datetime, BeforeValidator(_not_a_number), Strict(False)]

#: one simulated step may stand for at most a century (timedelta itself overflows near 2.7 million years)
MAX_MINUTES_PER_STEP = 100 * 366 * 24 * 60
#: fields one extraction may ask for
MAX_EXTRACTION_FIELDS = 100
# Problems reported at once; past that, the rest are counted, not listed (a 10,000-item list of bad
# values would otherwise make a 10,000-line message).
_MAX_REPORTED = 20

Loc = tuple[int | str, ...]


class _Located(ValueError):
    """Problems a model's own check found, each at a location below the model, so that the loader
    can point at the exact line. pydantic keeps the exception in the error's ``ctx``."""

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        loc, first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__((f"{'.'.join(map(str, loc))}: " if loc else "") + first + more)
        self.problems = problems


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


class _Strict(StrictModel):
    """Every scenario model: strict, no unknown fields, no Infinity or NaN."""


class AgentEntry(WithTools):
    """One agent: exactly one of ``example``, ``file`` or ``persona``; optional fragments, rename, tools.

    An inline ``persona`` is validated as a persona file's would be (``name`` required).
    """

    example: NonEmpty | None = None
    file: NonEmpty | None = None
    persona: dict[str, Any] | None = None
    name: NonEmpty | None = Field(None, description="rename the agent")
    fragments: list[NonEmpty] = Field(default_factory=list, description="example fragment names or file paths")

    @model_validator(mode="after")
    def _one_source(self) -> AgentEntry:
        given = [k for k in ("example", "file", "persona") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'example', 'file' or 'persona' for each agent"
                             + (f" (found {', '.join(given)})" if given else ""))
        if self.persona is not None:
            problems = persona_problems(self.persona)
            if problems:
                raise _Located([(("persona", *loc), message) for loc, message in problems])
        return self


class FactorySpec(_Strict):
    """A population described in words: one plan call turns ``description`` into dimensions, then
    one call writes each person (:class:`~tinytroupe.factory.TinyPersonFactory`)."""

    description: NonEmpty = Field(description="the sampling space, e.g. 'Adults in Porto who commute by bus'")
    size: int | None = Field(None, ge=1, le=10_000)


class Population(_Strict):
    """A population, in one of three forms:

    * hand-made: ``size`` people built from ``base`` with attributes drawn from ``sample``, named from
      ``names``; checked when loaded, as the people it makes would be (``base`` and every option in
      ``sample`` must give a valid persona, each sampled path must lead through objects in ``base``);
    * ``from_demographics``: a census file (CSV of joint cells or marginals, or YAML/JSON) next to
      the scenario, ``size`` people drawn to match it and written by the factory;
    * ``factory``: ``{description, size}``, a sampling space in words (one plan call, one per person).

    ``context``, ``seed`` (default: the scenario's) and ``detail`` apply to the two generated forms.
    """

    size: int | None = Field(None, ge=1, le=100_000)
    names: list[NonEmpty] | None = Field(None, min_length=1, description="first names; numbered when reused")
    base: dict[str, Any] = Field(default_factory=dict, description="persona fields everyone shares")
    sample: dict[str, list[Any]] = Field(default_factory=dict, description="field path -> options drawn per person")
    from_demographics: NonEmpty | None = Field(None, description="census shares file, relative to the scenario")
    factory: FactorySpec | None = None
    context: str | None = Field(None, description="what the generated people are for (generated forms)")
    seed: int | None = Field(None, description="the draws' seed (generated forms; default the scenario's)")
    detail: Literal["full", "brief"] | None = Field(None, description="persona schema: full, or brief for small models")

    @model_validator(mode="after")
    def _makes_valid_people(self) -> Population:
        problems = _form_problems(self) or (_population_problems(self) if not self.generated else [])
        if problems:
            raise _Located(problems)
        return self

    @property
    def generated(self) -> bool:
        """Whether the factory writes the people (``from_demographics`` or ``factory``)."""
        return self.from_demographics is not None or self.factory is not None

    @property
    def people(self) -> int:
        """How many people the population has."""
        size = self.size if self.size is not None else self.factory.size if self.factory is not None else None
        assert size is not None  # checked when validated
        return size

    def possible_names(self) -> set[str]:
        """Every name a member can get: each first name, and its numbered repeats (none known in
        advance for a generated population)."""
        if self.names is None:
            return set()
        rounds = -(-self.people // len(self.names))
        return {name if r == 1 else f"{name} {r}" for name in self.names for r in range(1, rounds + 1)}


def _form_problems(pop: Population) -> list[tuple[Loc, str]]:
    """One form of population at a time, with the fields that form needs."""
    forms = [k for k in ("from_demographics", "factory") if getattr(pop, k) is not None]
    if len(forms) > 1:
        return [(("factory",), "give either 'from_demographics' or 'factory', not both")]
    if not forms:
        problems: list[tuple[Loc, str]] = [((key,), "applies to a generated population only ('from_demographics' "
                                                   "or 'factory')") for key in ("context", "seed", "detail")
                                           if getattr(pop, key) is not None]
        if pop.names is None:
            problems.append(((), "a population needs 'names' (hand-made), 'from_demographics: <file>' or "
                                 "'factory: {description: ..., size: ...}'"))
        if pop.size is None:
            problems.append(((), "a hand-made population needs 'size'"))
        return problems
    problems = [((key,), f"does not apply with '{forms[0]}': the factory writes each person")
                for key in ("names", "base", "sample") if getattr(pop, key)]
    if pop.factory is not None and pop.factory.size is not None and pop.size is not None:
        problems.append((("factory", "size"), "give the size once: here or as population.size"))
    elif pop.size is None and (pop.factory is None or pop.factory.size is None):
        problems.append(((), "a generated population needs 'size' (how many people)"))
    return problems


def _population_problems(pop: Population) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    first_at: dict[str, int] = {}
    assert pop.names is not None  # a hand-made population, checked by _form_problems
    for j, name in enumerate(pop.names):
        if name in first_at:
            problems.append((("names", j), f"{_short(name)} is listed twice (also item {first_at[name]}); two "
                                           "people would get the same name"))
        first_at.setdefault(name, j)
    if "name" in pop.base:
        problems.append((("base", "name"), "each member is named from population.names; remove this"))
    paths: dict[str, list[str]] = {}
    for path, options in pop.sample.items():
        parts = path.split(".")
        if any(not part.strip() for part in parts):
            problems.append((("sample", path), "not a field path; write one like 'age' or 'occupation.title'"))
        elif parts[0] == "name":
            problems.append((("sample", path), "each member is named from population.names; remove this"))
        elif not options:
            problems.append((("sample", path), "no options to draw from; list at least one"))
        else:
            paths[path] = parts
    for path in paths:
        whole = next((other for other in paths if path.startswith(other + ".")), None)
        if whole is not None:
            problems.append((("sample", path), f"{whole!r} is sampled as a whole too; keep one of the two"))
    if problems:
        return problems
    # Every sampled path must lead through mappings of the base, as build_agents walks it.
    for path, parts in paths.items():
        node = pop.base
        for depth, part in enumerate(parts[:-1]):
            if part not in node:
                break
            if not isinstance(node[part], dict):
                where = ".".join(parts[: depth + 1])
                problems.append((("sample", path), f"population.base.{where} is {_short(node[part])}, not a "
                                                   f"mapping, so it has no field {parts[depth + 1]!r}"))
                break
            node = node[part]
    # The base on its own, and each option on its own at its path: persona fields are checked
    # independently, so this covers every member the draws can make, and stays linear in the file.
    problems += [(("base", *loc), message) for loc, message in persona_problems({**pop.base, "name": pop.names[0]})]
    for path, parts in paths.items():
        for i, option in enumerate(pop.sample[path]):
            single: dict[str, Any] = {"name": pop.names[0]}
            node = single
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = option
            problems += [(("sample", path, i, *loc[len(parts):]), message)
                         for loc, message in persona_problems(single)]
            if len(problems) > _MAX_REPORTED:
                return problems
    return problems


class StoryStep(_Strict):
    """A story beat: the model proposes the next passage of the world's story (a
    :class:`~tinytroupe.steering.TinyStory` whose purpose is the scenario's description), and the
    Narrator tells it to everyone. The first story step starts the story, later ones continue it."""

    requirements: NonEmpty | None = Field(None, description="what the passage should do (default: TinyTroupe's)")
    number_of_words: int = Field(60, ge=1, le=2_000)
    plot_twist: bool = False


class ScriptItem(_Strict):
    """One step of the script: exactly one field set."""

    broadcast: NonEmpty | None = None
    run: int | None = Field(None, ge=1, le=10_000)
    listen: dict[NonEmpty, str] | None = Field(None, min_length=1, description="{agent name: speech}")
    think: dict[NonEmpty, str] | None = Field(None, min_length=1, description="{agent name or '*': thought}")
    see: dict[NonEmpty, str] | None = Field(None, min_length=1)
    internalize_goal: dict[NonEmpty, str] | None = Field(None, min_length=1)
    context: list[str] | None = Field(None, min_length=1)
    story: StoryStep | None = None

    @model_validator(mode="after")
    def _one_action(self) -> ScriptItem:
        given = [k for k, v in self.__dict__.items() if v is not None]
        if len(given) != 1:
            raise ValueError("each script item has exactly one of: broadcast, run, listen, think, see, "
                             f"internalize_goal, context, story (found {given or 'none'})")
        return self


class WorldSpec(_Strict):
    kind: NonEmpty = Field("world", description="a kind in tinytroupe.scenario.world_kinds.WORLD_KINDS")
    options: dict[str, Any] = Field(default_factory=dict, description="what this kind of world takes")
    name: NonEmpty = "Focus room"
    initial_datetime: SimDatetime = datetime(2025, 1, 6, 10, 0)
    minutes_per_step: int = Field(10, ge=0, le=MAX_MINUTES_PER_STEP)
    broadcast_if_no_target: bool = True
    parallelize: bool = True
    everyone_accessible: bool = True
    relations: list[Annotated[tuple[NonEmpty, NonEmpty, NonEmpty], Strict(False)]] = Field(
        default_factory=list, description="[agent, agent, relation] (social networks)")

    @model_validator(mode="after")
    def _known_kind_and_options(self) -> WorldSpec:
        if problems := world_problems(self.kind, self.options, bool(self.relations)):
            raise _Located(problems[:_MAX_REPORTED])
        return self


class ExtractionSpec(_Strict):
    question: str | None = Field(None, description="asked to every agent before extraction")
    objective: str = "Each person's answer to the question."
    situation: str = ""
    fields: dict[str, FieldSpec] = Field(default_factory=lambda: {"response": FieldSpec()},
                                         max_length=MAX_EXTRACTION_FIELDS)
    segment_by: list[NonEmpty] = Field(default_factory=list, max_length=3,
                                       description="persona fields (dot paths) the results summary is broken down by")

    @field_validator("fields")
    @classmethod
    def _usable_names(cls, fields: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        # Checked now: the results model is built only after the study has run and been paid for.
        problems: list[tuple[Loc, str]] = [((name,), problem) for name in fields
                                           if (problem := field_name_problem(name)) is not None]
        if problems:
            raise _Located(problems)
        try:  # the whole model and the JSON schema the model is asked to follow
            extraction_model(fields).model_json_schema()
        except Exception as exc:  # pydantic raises several types here; each means "cannot extract this"
            raise ValueError(f"these fields cannot be extracted together: {exc}") from None
        return fields


class BackendSpec(_Strict):
    api_type: Literal["auto", "openai", "azure", "ollama", "local", "scripted"] | None = None
    model: NonEmpty | None = None
    base_url: Annotated[str, AfterValidator(_a_url)] | None = None
    temperature: float | None = Field(None, ge=0, le=2)


class Scenario(WithTools):
    """A whole study (its ``tools`` are shared by every agent)."""

    name: NonEmpty
    description: str = ""
    seed: int | None = None
    backend: BackendSpec = Field(default_factory=lambda: BackendSpec())
    world: WorldSpec = Field(default_factory=lambda: WorldSpec())
    agents: list[AgentEntry] = Field(default_factory=list)
    population: Population | None = None
    script: list[ScriptItem] = Field(min_length=1)
    extraction: ExtractionSpec | None = None
    experiment: ExperimentSpec | None = None
    validation: ValidationSpec | None = None
    max_actions_per_turn: int = Field(4, ge=1, le=15)

    @field_validator("script")
    @classmethod
    def _has_run(cls, script: list[ScriptItem]) -> list[ScriptItem]:
        if not any(item.run for item in script):
            raise ValueError("the script never runs the world; add an item like '- run: 2'")
        return script

    @model_validator(mode="after")
    def _has_agents(self) -> Scenario:
        if not self.agents and self.population is None:
            raise ValueError("a scenario needs 'agents' or a 'population'")
        return self

    @model_validator(mode="after")
    def _segments_are_drawn(self) -> Scenario:
        # A population's members differ only in what is sampled: a segment of anything else is everyone.
        if (pop := self.population) is None or (ex := self.extraction) is None or self.agents or pop.generated:
            return self
        problems: list[tuple[Loc, str]] = [
            (("extraction", "segment_by", i), f"{_short(path)} is not drawn in population.sample, so every member "
                                              f"has the same; use one of: {', '.join(pop.sample) or '(none sampled)'}")
            for i, path in enumerate(ex.segment_by) if path not in pop.sample]
        if problems:
            raise _Located(problems)
        return self

    @model_validator(mode="after")
    def _design_fits(self) -> Scenario:
        problems = design_problems(self.extraction.fields if self.extraction is not None else None,
                                   self.experiment, self.validation)
        if problems:
            raise _Located(problems)
        return self

    @model_validator(mode="after")
    def _clock_stays_in_range(self) -> Scenario:
        # The clock moves minutes_per_step per step; past year 9999 datetime overflows mid-run.
        world = self.world
        steps = self.total_steps + (1 if self.extraction is not None and self.extraction.question else 0)
        try:
            world.initial_datetime + timedelta(minutes=world.minutes_per_step * steps)
        except OverflowError:
            raise _Located([(("world", "minutes_per_step"), (
                f"the simulated clock would pass the year 9999 (the latest date Python can hold): it starts at "
                f"{world.initial_datetime:%Y-%m-%d %H:%M} and moves {world.minutes_per_step:,} minutes in each of "
                f"{steps:,} steps; use an earlier world.initial_datetime, fewer minutes per step or fewer steps"))
            ]) from None
        return self

    @property
    def total_steps(self) -> int:
        return sum(item.run or 0 for item in self.script)

