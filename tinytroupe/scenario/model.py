"""The scenario file's model: a validated description of a study (agents or a sampled population, the
world, a script of steps, what to extract), checked field by field with messages that say how to fix
it. Reading a file into it is :mod:`tinytroupe.scenario.loader`'s job, carrying it out
:mod:`tinytroupe.scenario.runner`'s.
"""

# layout: each world kind (issue 16) adds its section to WorldSpec here; the registry of world kinds moves them out
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    Strict,
    field_validator,
    model_validator,
)

from tinytroupe.agent.persona import persona_problems
from tinytroupe.extraction.fields import FieldSpec, extraction_model, field_name_problem
from tinytroupe.scenario.design import ExperimentSpec, ValidationSpec, design_problems
from tinytroupe.scenario.emotions import EmotionsSpec
from tinytroupe.scenario.grounding import ConsultItems, WithDocuments, WithGrounding
from tinytroupe.scenario.market_spec import MarketSpec, market_kind_problem
from tinytroupe.scenario.model_base import (
    _MAX_REPORTED,
    MAX_EXTRACTION_FIELDS,
    MAX_MINUTES_PER_STEP,
    Loc,
    NonEmpty,
    SimDatetime,
    _a_url,
    _Located,
    _short,
    _Strict,
)
from tinytroupe.scenario.population_model import Population
from tinytroupe.scenario.schedule import ScheduleSpec, WithRoutine
from tinytroupe.scenario.tools import WithTools
from tinytroupe.scenario.workplace_classroom import ClassroomItems, WorldSections
from tinytroupe.scenario.world_kinds import world_problems


class AgentEntry(WithTools, WithDocuments, WithRoutine):
    """One agent: exactly one of ``example``, ``file`` or ``persona``; optional fragments, rename, tools,
    documents, routine.

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


class StoryStep(_Strict):
    """A story beat: the model proposes the next passage of the world's story (a
    :class:`~tinytroupe.steering.TinyStory` whose purpose is the scenario's description), and the
    Narrator tells it to everyone. The first story step starts the story, later ones continue it."""

    requirements: NonEmpty | None = Field(None, description="what the passage should do (default: TinyTroupe's)")
    number_of_words: int = Field(60, ge=1, le=2_000)
    plot_twist: bool = False


class ScriptItem(ClassroomItems, ConsultItems, _Strict):
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
                             f"internalize_goal, context, story, lesson, quiz, consult (found {given or 'none'})")
        return self


class WorldSpec(WorldSections, _Strict):
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
    market: MarketSpec | None = Field(None, description="products, wallets, inventory (kind: marketplace)")

    @model_validator(mode="after")
    def _known_kind_and_options(self) -> WorldSpec:
        if problems := world_problems(self.kind, self.options, bool(self.relations)):
            raise _Located(problems[:_MAX_REPORTED])
        if (problem := market_kind_problem(self.kind, self.market)) is not None:
            raise _Located([problem])
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


class Scenario(WithTools, WithGrounding):
    """A whole study (its ``tools`` and ``documents`` are shared by every agent, its ``images`` shown to all)."""

    name: NonEmpty
    description: str = ""
    seed: int | None = None
    backend: BackendSpec = Field(default_factory=lambda: BackendSpec())
    world: WorldSpec = Field(default_factory=lambda: WorldSpec())
    schedule: ScheduleSpec | None = Field(None, description="events on the world clock; everyone's routine")
    agents: list[AgentEntry] = Field(default_factory=list)
    population: Population | None = None
    script: list[ScriptItem] = Field(min_length=1)
    extraction: ExtractionSpec | None = None
    experiment: ExperimentSpec | None = None
    validation: ValidationSpec | None = None
    emotions: EmotionsSpec | None = None  # PAD emotional states (docs/emotions.md)
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

