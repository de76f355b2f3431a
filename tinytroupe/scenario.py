"""YAML scenario files: a validated description of a study, and the runner that carries it out.

A scenario names its agents (example personas, persona files, inline personas, or a sampled
population), the world, a script of steps (broadcasts, stimuli, ``run``), and what to extract at the
end. Errors name the file, the line and the field.

Example (YAML)::

    name: Smart bottle focus group
    seed: 7
    agents:
      - example: lisa
      - example: oscar
    script:
      - broadcast: "What do you think of a bottle that reminds you to drink?"
      - run: 2
    extraction:
      question: "On a scale of 1 to 10, how likely would you buy it, and why?"
      fields:
        rating: {type: int, minimum: 1, maximum: 10}
        reason: {type: str}
"""

from __future__ import annotations

import difflib
import json
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tinytroupe.agent.person import TinyPerson
from tinytroupe.agent.persona import Fragment, Persona, load_persona_file
from tinytroupe.environment.executors import Executor
from tinytroupe.environment.social_network import TinySocialNetwork
from tinytroupe.environment.world import TinyWorld
from tinytroupe.errors import ScenarioError
from tinytroupe.examples import (
    list_example_fragments,
    list_example_personas,
    load_example_fragment,
    load_example_persona,
)
from tinytroupe.extraction.fields import FieldSpec
from tinytroupe.extraction.results_extractor import ResultsExtractor
from tinytroupe.llm.client import LLMClient


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentEntry(_Strict):
    """One agent: exactly one of ``example``, ``file`` or ``persona``; optional fragments and rename."""

    example: str | None = None
    file: str | None = None
    persona: dict[str, Any] | None = None
    name: str | None = Field(None, description="rename the agent")
    fragments: list[str] = Field(default_factory=list, description="example fragment names or file paths")

    @model_validator(mode="after")
    def _one_source(self) -> AgentEntry:
        given = [k for k in ("example", "file", "persona") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'example', 'file' or 'persona' for each agent"
                             + (f" (found {', '.join(given)})" if given else ""))
        return self


class Population(_Strict):
    """A sampled population: ``size`` people built from ``base`` with attributes drawn from ``sample``."""

    size: int = Field(ge=1, le=100_000)
    names: list[str] = Field(min_length=1, description="first names; numbered when reused")
    base: dict[str, Any] = Field(default_factory=dict, description="persona fields everyone shares")
    sample: dict[str, list[Any]] = Field(default_factory=dict, description="field path -> options drawn per person")


class ScriptItem(_Strict):
    """One step of the script: exactly one field set."""

    broadcast: str | None = None
    run: int | None = Field(None, ge=1, le=10_000)
    listen: dict[str, str] | None = Field(None, description="{agent name: speech}")
    think: dict[str, str] | None = Field(None, description="{agent name or '*': thought}")
    see: dict[str, str] | None = None
    internalize_goal: dict[str, str] | None = None
    context: list[str] | None = None

    @model_validator(mode="after")
    def _one_action(self) -> ScriptItem:
        given = [k for k, v in self.__dict__.items() if v is not None]
        if len(given) != 1:
            raise ValueError("each script item has exactly one of: broadcast, run, listen, think, see, "
                             f"internalize_goal, context (found {given or 'none'})")
        return self


class WorldSpec(_Strict):
    kind: Literal["world", "social_network"] = "world"
    name: str = "Focus room"
    initial_datetime: datetime = datetime(2025, 1, 6, 10, 0)
    minutes_per_step: int = Field(10, ge=0)
    broadcast_if_no_target: bool = True
    parallelize: bool = True
    everyone_accessible: bool = True
    relations: list[tuple[str, str, str]] = Field(default_factory=list,
                                                  description="[agent, agent, relation] (social networks)")


class ExtractionSpec(_Strict):
    question: str | None = Field(None, description="asked to every agent before extraction")
    objective: str = "Each person's answer to the question."
    situation: str = ""
    fields: dict[str, FieldSpec] = Field(default_factory=lambda: {"response": FieldSpec()})


class BackendSpec(_Strict):
    api_type: Literal["auto", "openai", "azure", "ollama", "local", "scripted"] | None = None
    model: str | None = None
    base_url: str | None = None
    temperature: float | None = Field(None, ge=0, le=2)


class Scenario(_Strict):
    """A whole study."""

    name: str
    description: str = ""
    seed: int | None = None
    backend: BackendSpec = Field(default_factory=lambda: BackendSpec())
    world: WorldSpec = Field(default_factory=lambda: WorldSpec())
    agents: list[AgentEntry] = Field(default_factory=list)
    population: Population | None = None
    script: list[ScriptItem] = Field(min_length=1)
    extraction: ExtractionSpec | None = None
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

    @property
    def total_steps(self) -> int:
        return sum(item.run or 0 for item in self.script)


# ---------------------------------------------------------------------------------------- loading

def _node_line(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the YAML node at ``loc`` (or of its nearest existing parent).

    A mapping entry is located by its key, not its value: a nested value starts on the line after
    ``key:``, and the key is what the user has to fix (a misspelt field, a wrong value).
    """
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            entry = next(((k, v) for k, v in node.value if getattr(k, "value", None) == str(part)), None)
            if entry is None:
                break
            line = entry[0].start_mark.line + 1
            node = entry[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


_FIELD_NAMES = sorted({name for model in (Scenario, AgentEntry, Population, ScriptItem, WorldSpec, ExtractionSpec,
                                         BackendSpec, FieldSpec) for name in model.model_fields})


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; errors name the file, line and field."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"scenario file {p} does not exist; check the path", path=str(p)) from None
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ScenarioError(f"{p}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}", path=str(p),
                            line=line) from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"{p}: a scenario is a YAML mapping with keys such as name, agents, script",
                            path=str(p), line=1)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        lines = []
        first_line: int | None = None
        first_field: str | None = None
        for err in exc.errors():
            loc = tuple(p_ for p_ in err["loc"])
            field = ".".join(str(x) for x in loc) or "(top level)"
            line = _node_line(root, loc)
            first_line = first_line or line
            first_field = first_field or field
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                near = difflib.get_close_matches(str(loc[-1]), _FIELD_NAMES, n=1)
                msg = "unknown field" + (f"; did you mean {near[0]!r}?" if near else "") + (
                    " (see the scenario format in the README)")
            lines.append(f"{p}:{line}: {field}: {msg}")
        raise ScenarioError("invalid scenario:\n" + "\n".join(lines), path=str(p), line=first_line,
                            field=first_field) from None
    _check_references(scenario, p, root)
    return scenario


def _check_references(scenario: Scenario, path: Path, root: yaml.Node | None) -> None:
    """Example names and persona/fragment files must exist: say so now, with the line, not mid-run."""
    problems: list[str] = []
    first: tuple[int | None, str] | None = None
    personas, fragments = set(list_example_personas()), set(list_example_fragments())
    for i, entry in enumerate(scenario.agents):
        checks: list[tuple[tuple[Any, ...], str | None]] = []
        if entry.example is not None and entry.example not in personas:
            near = difflib.get_close_matches(entry.example, sorted(personas), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            checks.append((("agents", i, "example"), f"no example persona {entry.example!r}{hint} "
                                                     f"(examples: {', '.join(sorted(personas))})"))
        if entry.file is not None and not (path.parent / entry.file).is_file():
            checks.append((("agents", i, "file"), f"persona file {entry.file!r} not found next to {path.name}"))
        for j, ref in enumerate(entry.fragments):
            if ref not in fragments and not (path.parent / ref).is_file():
                checks.append((("agents", i, "fragments", j),
                               f"{ref!r} is neither an example fragment ({', '.join(sorted(fragments))}) "
                               "nor a fragment file next to the scenario"))
        for loc, message in checks:
            line = _node_line(root, loc)
            field = ".".join(str(x) for x in loc)
            first = first or (line, field)
            problems.append(f"{path}:{line}: {field}: {message}")
    if problems:
        assert first is not None
        raise ScenarioError("invalid scenario:\n" + "\n".join(problems), path=str(path), line=first[0],
                            field=first[1])


# ---------------------------------------------------------------------------------------- building

def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        data = data.setdefault(part, {})
    data[parts[-1]] = value


def _fragment(ref: str, base_dir: Path) -> Fragment:
    candidate = base_dir / ref
    if candidate.suffix == ".json" or candidate.exists():
        loaded = load_persona_file(candidate)
        if not isinstance(loaded, Fragment):
            raise ScenarioError(f"{candidate}: expected a Fragment file", path=str(candidate))
        return loaded
    return load_example_fragment(ref)


def build_agents(scenario: Scenario, base_dir: Path, **agent_kwargs: Any) -> list[TinyPerson]:
    """The scenario's agents (population members are sampled with the scenario's seed)."""
    agents: list[TinyPerson] = []
    for entry in scenario.agents:
        if entry.example is not None:
            persona = load_example_persona(entry.example)
        elif entry.file is not None:
            loaded = load_persona_file(base_dir / entry.file)
            if not isinstance(loaded, Persona):
                raise ScenarioError(f"{entry.file}: agents need a TinyPerson file, not a Fragment",
                                    path=entry.file)
            persona = loaded
        else:
            persona = Persona.from_spec({"type": "TinyPerson", "persona": entry.persona or {}})
        for ref in entry.fragments:
            persona = persona.merge(_fragment(ref, base_dir).persona_dict)
        name = entry.name or persona.name
        agents.append(TinyPerson(name, persona=persona, **agent_kwargs))
    if scenario.population is not None:
        pop = scenario.population
        rng = random.Random(scenario.seed)
        # Every name is used once (in a seeded order) before any is reused with a number.
        order = list(pop.names)
        rng.shuffle(order)
        for i in range(pop.size):
            first = order[i % len(order)]
            round_ = i // len(order) + 1
            name = first if round_ == 1 else f"{first} {round_}"
            data: dict[str, Any] = json.loads(json.dumps(pop.base))
            for path, options in pop.sample.items():
                _set_path(data, path, rng.choice(options))
            data["name"] = name
            agents.append(TinyPerson(name, persona=Persona.from_spec({"type": "TinyPerson", "persona": data}),
                                     **agent_kwargs))
    names = [a.name for a in agents]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ScenarioError(f"agent names must be unique; repeated: {', '.join(dupes)} (use 'name:' to rename)",
                            field="agents")
    return agents


def build_world(scenario: Scenario, agents: list[TinyPerson], client: LLMClient | None,
                executor: Executor | None = None) -> TinyWorld:
    """The scenario's world holding ``agents``; ``executor`` says where turns run (default: locally)."""
    spec = scenario.world
    kwargs: dict[str, Any] = {"client": client, "seed": scenario.seed, "parallelize": spec.parallelize,
                              "executor": executor}
    world: TinyWorld
    if spec.kind == "social_network":
        world = TinySocialNetwork(spec.name, broadcast_if_no_target=spec.broadcast_if_no_target, **kwargs)
        world._datetime = spec.initial_datetime
        world.add_agents(agents)
        for a, b, relation in spec.relations:
            left, right = world.get_agent_by_name(a), world.get_agent_by_name(b)
            if left is None or right is None:
                missing = a if left is None else b
                raise ScenarioError(f"world.relations names {missing!r}, who is not among the agents",
                                    field="world.relations")
            world.add_relation(left, right, relation)
    else:
        world = TinyWorld(spec.name, agents, initial_datetime=spec.initial_datetime,
                          broadcast_if_no_target=spec.broadcast_if_no_target, **kwargs)
        if spec.everyone_accessible and len(agents) <= 200:
            world.make_everyone_accessible()
    return world


def _targets(world: TinyWorld, mapping: dict[str, str]) -> list[tuple[TinyPerson, str]]:
    out = []
    for name, text in mapping.items():
        if name == "*":
            out += [(a, text) for a in world.agents]
            continue
        agent = world.get_agent_by_name(name)
        if agent is None:
            raise ScenarioError(f"the script names agent {name!r}, who is not in the scenario; known: "
                                f"{', '.join(a.name for a in world.agents[:20])}", field="script")
        out.append((agent, text))
    return out


class ScenarioResult(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    scenario: str
    results: dict[str, dict[str, Any]] = Field(default_factory=dict)
    steps: int = 0
    errors: list[dict[str, Any]] = Field(default_factory=list)
    cost: dict[str, Any] = Field(default_factory=dict)
    wall_s: float = 0.0


async def arun_scenario(scenario: Scenario, *, client: LLMClient | None = None, base_dir: Path | None = None,
                        on_step: Callable[[int, int], None] | None = None,
                        executor: Executor | None = None) -> tuple[TinyWorld, ScenarioResult]:
    """Carry out ``scenario``: build agents and world, play the script, extract results.

    ``executor`` runs the agents' turns (default: :class:`~tinytroupe.environment.LocalExecutor`).
    """
    start = time.perf_counter()
    agents = build_agents(scenario, base_dir or Path.cwd(), max_actions_per_turn=scenario.max_actions_per_turn)
    world = build_world(scenario, agents, client, executor)
    step_delta = timedelta(minutes=scenario.world.minutes_per_step) if scenario.world.minutes_per_step else None
    done_steps = 0
    for item in scenario.script:
        if item.broadcast is not None:
            world.broadcast(item.broadcast, source="Moderator")
        elif item.run is not None:
            for _ in range(item.run):
                await world.arun(1, timedelta_per_step=step_delta)
                done_steps += 1
                if on_step:
                    on_step(done_steps, scenario.total_steps)
        elif item.listen is not None:
            for agent, text in _targets(world, item.listen):
                agent.listen(text, source="Moderator")
        elif item.think is not None:
            for agent, text in _targets(world, item.think):
                agent.think(text)
        elif item.see is not None:
            for agent, text in _targets(world, item.see):
                agent.see(text)
        elif item.internalize_goal is not None:
            for agent, text in _targets(world, item.internalize_goal):
                agent.internalize_goal(text)
        elif item.context is not None:
            world.broadcast_context_change(item.context)
    results: dict[str, dict[str, Any]] = {}
    if scenario.extraction is not None:
        ex = scenario.extraction
        if ex.question:
            world.broadcast(ex.question, source="Moderator")
            await world.arun(1, timedelta_per_step=step_delta)
            done_steps += 1
        extractor = ResultsExtractor(ex.objective, ex.situation, fields=ex.fields, client=client)
        await extractor.aextract_results_from_agents(world.agents)
        results = extractor.agent_extraction
    return world, ScenarioResult(
        scenario=scenario.name, results=results, steps=done_steps,
        errors=[e.as_dict() for e in world.errors], cost=world.client.get_cost_stats()["total"],
        wall_s=time.perf_counter() - start,
    )


__all__ = [
    "AgentEntry",
    "BackendSpec",
    "ExtractionSpec",
    "Population",
    "Scenario",
    "ScenarioResult",
    "ScriptItem",
    "WorldSpec",
    "arun_scenario",
    "build_agents",
    "build_world",
    "load_scenario",
]
