"""Carrying out a scenario: build its agents (a population sampled with the scenario's seed) and
world, play the script, extract the results, and report what failed without inventing answers.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tinytroupe.agent.person import TinyPerson
from tinytroupe.agent.persona import Fragment, Persona, load_persona_file
from tinytroupe.environment.distributed.driver import ShardedExecutor
from tinytroupe.environment.engine import AgentTurnError
from tinytroupe.environment.executors import Executor
from tinytroupe.environment.world import TinyWorld
from tinytroupe.errors import BudgetExceeded, ExtractionError, ScenarioError
from tinytroupe.examples import load_example_fragment, load_example_persona
from tinytroupe.extraction.results_extractor import ResultsExtractor
from tinytroupe.llm.backend import BackendWrapper
from tinytroupe.llm.batch import find_batch_wrapper
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.prefix import PrefixMeter, PrefixReport
from tinytroupe.llm.prices import PriceTable
from tinytroupe.scenario.emotions import give_emotions
from tinytroupe.scenario.grounding import check_grounding, consult, give_documents, start_grounding
from tinytroupe.scenario.loader import check_agent_references
from tinytroupe.scenario.model import ExtractionSpec, Scenario, ScriptItem, StoryStep
from tinytroupe.scenario.populations import agenerate_personas
from tinytroupe.scenario.run_cost import budget_stop, run_cost
from tinytroupe.scenario.schedule import apply_schedule, everyone_acts
from tinytroupe.scenario.tools import give_tools
from tinytroupe.scenario.workplace_classroom import apply_classroom_item, grade_quizzes
from tinytroupe.scenario.world_kinds import build_kind
from tinytroupe.steering.tiny_story import (
    DEFAULT_CONTINUE_REQUIREMENTS,
    DEFAULT_PURPOSE,
    DEFAULT_START_REQUIREMENTS,
    TinyStory,
)


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


def build_agents(scenario: Scenario, base_dir: Path, personas: Sequence[Persona] = (),
                 **agent_kwargs: Any) -> list[TinyPerson]:
    """The scenario's agents (a hand-made population's members are sampled with the scenario's seed;
    a generated population's are ``personas``, see :mod:`tinytroupe.scenario.populations`), with
    their tools (:func:`~tinytroupe.scenario.tools.give_tools`) and documents
    (:func:`~tinytroupe.scenario.grounding.give_documents`, relative to ``base_dir``)."""
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
    agents += [TinyPerson(p.name, persona=p, **agent_kwargs) for p in personas]
    if scenario.population is not None and scenario.population.names is not None:
        pop = scenario.population
        rng = random.Random(scenario.seed)
        # Every name is used once (in a seeded order) before any is reused with a number.
        order = list(pop.names or [])
        rng.shuffle(order)
        for i in range(pop.people):
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
    give_tools(scenario, agents)
    give_documents(scenario, agents, base_dir)
    return agents


def build_world(scenario: Scenario, agents: list[TinyPerson], client: LLMClient | None,
                executor: Executor | None = None) -> TinyWorld:
    """The scenario's world holding ``agents``, of its ``world.kind`` (see
    :mod:`tinytroupe.scenario.world_kinds`); ``executor`` says where turns run (default: locally)."""
    spec = scenario.world
    kwargs: dict[str, Any] = {"client": client, "seed": scenario.seed, "parallelize": spec.parallelize,
                              "executor": executor, "initial_datetime": spec.initial_datetime}
    world = build_kind(spec, agents, kwargs)
    give_emotions(scenario.emotions, world)
    apply_schedule(scenario, agents, world)
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
    """What a scenario run produced.

    ``results`` has one row per agent, in the agents' order: ``{"status": "ok", **fields}`` for an
    agent that answered, ``{"status": "failed", "error": "ErrorType: message"}`` for one whose last
    turn or whose extraction failed (nothing is invented for it). ``failed`` counts the latter (or,
    without extraction, the agents whose last turn failed); ``errors`` lists every failed turn.

    Cost: ``cost`` holds the client's call and token counts; ``cost_usd`` prices them with the run's
    price table (None: a model has no price); ``result_count`` is the number of results, i.e. rows
    with status ``ok`` when the scenario extracts, else the agents whose last turn succeeded (they
    answered); ``cost_per_result_usd`` is ``cost_usd / result_count`` (None without a cost or a result).
    ``stopped`` says why the run ended early (its budget), ``prefix`` how much of each prompt repeated
    the previous one's beginning (when the client measured it). ``segments`` gives each agent's values
    of the extraction's ``segment_by`` fields (lists joined with ", "; missing: "(none)"); ``story``
    the story its ``story`` steps told; ``world_metrics`` a specialised world's tables (market prices,
    a store's customers and heat map, a workplace's tasks, a classroom's scores) as records.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    scenario: str
    results: dict[str, dict[str, Any]] = Field(default_factory=dict)
    failed: int = 0
    steps: int = 0
    errors: list[dict[str, Any]] = Field(default_factory=list)
    cost: dict[str, Any] = Field(default_factory=dict)
    cost_usd: float | None = None
    cost_note: str = ""
    result_count: int = 0
    cost_per_result_usd: float | None = None
    stopped: str | None = None
    prefix: PrefixReport | None = None
    wall_s: float = 0.0
    segments: dict[str, dict[str, str]] = Field(default_factory=dict)
    story: str = ""
    world_metrics: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)


def _counts(scenario: Scenario, world: TinyWorld, results: dict[str, dict[str, Any]]) -> tuple[int, int]:
    """Results had and agents failed."""
    if results:
        count = sum(1 for row in results.values() if row["status"] == "ok")
        return count, len(results) - count
    # no extraction (each agent's last turn is its answer), or a run stopped before it
    failed = len(_last_turn_failed(world))
    return (len(world.agents) - failed if scenario.extraction is None else 0), failed


def check_inputs(scenario: Scenario, base_dir: Path, executor: Executor | None) -> None:
    """Before anything is paid for (a generated population first): the documents and images
    (:func:`~tinytroupe.scenario.grounding.check_grounding`), and no shared ``documents`` with a worker
    executor, whose copies of the agents cannot consult them (it would refuse the first step).

    Raises:
        ScenarioError: with the field of the first problem.

    Example:
        >>> s = Scenario.model_validate({"name": "x", "agents": [{"persona": {"name": "Ana"}}],
        ...                              "script": [{"run": 1}]})
        >>> check_inputs(s, Path("."), None)
    """
    check_grounding(scenario, base_dir)
    if scenario.documents is not None and isinstance(executor, ShardedExecutor):
        raise ScenarioError(f"a shared 'documents:' cannot be consulted from the {executor.name} executor's workers "
                            "(they hold no copy of it): give each agent its own 'documents:', or run with the "
                            "local executor", field="documents")


async def arun_scenario(scenario: Scenario, *, client: LLMClient | None = None, base_dir: Path | None = None,
                        on_step: Callable[[int, int], None] | None = None,
                        executor: Executor | None = None, batch: bool = False,
                        prices: PriceTable | None = None, personas: Sequence[Persona] | None = None,
                        population_client: LLMClient | None = None,
                        prepare: Callable[[list[TinyPerson]], Scenario] | None = None
                        ) -> tuple[TinyWorld, ScenarioResult]:
    """Carry out ``scenario``: build agents and world, play the script, extract results.

    ``executor`` runs the agents' turns (default: :class:`~tinytroupe.environment.LocalExecutor`).
    ``batch`` sends each step's calls, and the extraction's, as provider batches (see
    :mod:`tinytroupe.llm.batch`). ``prices`` price the calls (default: the built-in table). When the
    client's budget (:class:`~tinytroupe.llm.budget.BudgetWrapper`) refuses a call, the run stops after
    that step (or after extraction) and the result says so in ``stopped``: nothing is raised.
    A generated population is written through ``population_client`` (default ``client``) unless its
    ``personas`` are given (an experiment generates them once for all its worlds). ``prepare(agents)``
    may change the agents (an arm's persona) and returns the scenario to play (an arm's messages).

    Raises:
        ConfigError: ``batch`` with a client whose backend has no batch API (before any call).
    """
    start = time.perf_counter()
    base = base_dir or Path.cwd()
    check_inputs(scenario, base, executor)  # before the population is paid for
    if personas is None:
        personas = await agenerate_personas(scenario, base, population_client or client)
    agents = build_agents(scenario, base, personas, max_actions_per_turn=scenario.max_actions_per_turn)
    if prepare is not None:
        scenario = prepare(agents)
    check_agent_references(scenario, agents)  # before the first step is paid for
    check_grounding(scenario, base, agents)
    world = build_world(scenario, agents, client, executor)
    await start_grounding(scenario, world, base)
    if batch:
        find_batch_wrapper(world.client)  # no batch API: say so before the first step is paid for
    step_delta = timedelta(minutes=scenario.world.minutes_per_step) if scenario.world.minutes_per_step else None
    progress = {"steps": 0}
    stopped: BudgetExceeded | None = None
    results: dict[str, dict[str, Any]] = {}
    story = TinyStory(world, purpose=scenario.description or DEFAULT_PURPOSE)
    try:
        results = await _play(world, scenario, client, step_delta, progress, on_step, batch, story)
    except BudgetExceeded as exc:
        stopped = exc
    stopped, results = budget_stop(world, scenario, results, stopped)
    count, failed = _counts(scenario, world, results)
    stats = world.client.get_cost_stats()
    cost_usd, note = run_cost(world.client, stats, prices)
    meter = world.client.backend.find(PrefixMeter) if isinstance(world.client.backend, BackendWrapper) else None
    return world, ScenarioResult(
        scenario=scenario.name, results=results, failed=failed, steps=progress["steps"],
        errors=[e.as_dict() for e in world.errors], cost=stats["total"], cost_usd=cost_usd, cost_note=note,
        result_count=count, cost_per_result_usd=round(cost_usd / count, 6) if cost_usd is not None and count else None,
        stopped=str(stopped) if stopped is not None else None,
        prefix=meter.report() if isinstance(meter, PrefixMeter) else None,
        wall_s=time.perf_counter() - start, segments=segment_values(scenario, world.agents),
        story=story.current_story.strip(), world_metrics=world_tables(world),
    )


def with_cost_so_far(result: ScenarioResult, client: LLMClient, prices: PriceTable | None) -> ScenarioResult:
    """``result`` with its cost brought up to ``client``'s running total: what was called after the run
    (a validation's questions) is the study's cost too."""
    stats = client.get_cost_stats()
    cost_usd, note = run_cost(client, stats, prices)
    count = result.result_count
    return result.model_copy(update={
        "cost": stats["total"], "cost_usd": cost_usd, "cost_note": note,
        "cost_per_result_usd": round(cost_usd / count, 6) if cost_usd is not None and count else None})


def world_tables(world: TinyWorld) -> dict[str, list[dict[str, Any]]]:
    """A specialised world's metrics tables (its ``metrics_tables()``), as JSON-ready records."""
    tables = getattr(world, "metrics_tables", None)
    if tables is None:
        return {}
    return {name: json.loads(frame.to_json(orient="records", date_format="iso")) for name, frame in tables().items()}


def segment_values(scenario: Scenario, agents: list[TinyPerson]) -> dict[str, dict[str, str]]:
    """Each agent's values of the extraction's ``segment_by`` persona fields, as text."""
    paths = scenario.extraction.segment_by if scenario.extraction is not None else []
    if not paths:
        return {}

    def text(value: Any) -> str:
        if value is None or value == "":
            return "(none)"
        return ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)

    return {a.name: {path: text(a.get(path)) for path in paths} for a in agents}


async def _play(world: TinyWorld, scenario: Scenario, client: LLMClient | None, step_delta: timedelta | None,
                progress: dict[str, int], on_step: Callable[[int, int], None] | None,
                batch: bool = False, story: TinyStory | None = None) -> dict[str, dict[str, Any]]:
    """The script, then the extraction question and the extraction; ``progress`` counts the steps done."""
    for item in scenario.script:
        if item.story is not None:
            await _tell_story(world, story or TinyStory(world), item.story)
            continue
        if item.lesson is not None or item.quiz is not None:
            apply_classroom_item(world, scenario.world.classroom, item.lesson, item.quiz)
            continue
        if item.run is None:
            _apply(world, item)
            continue
        for _ in range(item.run):
            await world.arun(1, timedelta_per_step=step_delta, batch=batch)
            progress["steps"] += 1
            if on_step:
                on_step(progress["steps"], scenario.total_steps)
    await grade_quizzes(world, client)
    if scenario.extraction is None:
        return {}
    if scenario.extraction.question:
        world.broadcast(scenario.extraction.question, source="Moderator")
        with everyone_acts(world):  # the question is for everyone, whatever their routine
            await world.arun(1, timedelta_per_step=step_delta, batch=batch)
        progress["steps"] += 1
    return await _extract(world, scenario.extraction, client, batch)


async def _tell_story(world: TinyWorld, story: TinyStory, step: StoryStep) -> str:
    """The story's next passage (its opening, the first time), told to everyone by the Narrator."""
    if story.current_story.strip():
        beat = await story.acontinue_story(step.requirements or DEFAULT_CONTINUE_REQUIREMENTS, step.number_of_words,
                                           step.plot_twist)
    else:
        beat = await story.astart_story(step.requirements or DEFAULT_START_REQUIREMENTS, step.number_of_words,
                                        step.plot_twist)
    world.broadcast(beat, source="Narrator")
    return beat


def _apply(world: TinyWorld, item: ScriptItem) -> None:
    """One script step other than ``run``: what the moderator says or the agents perceive."""
    if item.broadcast is not None:
        world.broadcast(item.broadcast, source="Moderator")
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
    elif item.consult is not None:
        for agent, question in _targets(world, item.consult):
            consult(agent, question)


async def _extract(world: TinyWorld, ex: ExtractionSpec, client: LLMClient | None,
                   batch: bool = False) -> dict[str, dict[str, Any]]:
    """Each agent's row, in the agents' order; an agent whose last turn failed gets a failed row."""
    extractor = ResultsExtractor(ex.objective, ex.situation, fields=ex.fields, client=client, batch=batch)
    silent = _last_turn_failed(world)
    for name, err in silent.items():
        # Extracting from its history would put words in its mouth: it never answered.
        extractor.mark_failed(name, f"{err.error_type}: {err.message} (its last turn failed, so it gave "
                                    "no answer)")
    # Each failure is in the extractor's rows; the others' answers are kept.
    with contextlib.suppress(ExtractionError):
        await extractor.aextract_results_from_agents([a for a in world.agents if a.name not in silent])
    rows = extractor.result_rows()
    return {a.name: rows[a.name] for a in world.agents if a.name in rows}


def _last_turn_failed(world: TinyWorld) -> dict[str, AgentTurnError]:
    """Agents whose turn in the world's last step failed (every agent acts in every step)."""
    return {e.agent: e for e in world.errors if e.step == world.current_step}

