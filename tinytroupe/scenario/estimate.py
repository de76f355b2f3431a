"""What a scenario will cost before it runs: calls, tokens and dollars, with no model call.

:func:`estimate_scenario` builds the scenario's agents and world exactly as a run would (with a client
that refuses every call), plays the script up to the first ``run`` and renders each agent's first
action prompt (:meth:`~tinytroupe.agent.TinyPerson.abuild_prompt`, the preview path). From there:

* **calls** follow from what the engine does: each ``run`` step is one action call per agent who
  acts (everyone, unless an activity schedule lets only some act: the estimate replays it, see
  :mod:`tinytroupe.scenario.estimate_world`, as it does a classroom's quiz grading); a
  question before extraction is one more step; extraction is one call per agent; memory upkeep adds
  one importance call per turn with ``[Memory] IMPORTANCE_SCORING = llm``, the summarising calls of
  each automatic consolidation (every ``AUTO_CONSOLIDATION_THRESHOLD`` memories, in chunks of
  ``CONSOLIDATION_CHUNK_SIZE``) and two calls per reflection (``ENABLE_REFLECTION``, every
  ``REFLECTION_THRESHOLD`` of summed importance); each ``story`` step is one call; documents and
  images make none (reading, embedding and ``CONSULT`` are local work, and a description stands in
  for an image on a text-only model). Experiments,
  validations and quality checks: :mod:`tinytroupe.scenario.estimate_design`. Re-asks of
  invalid answers and retries are not foreseen (a model that follows the schema needs none).
* **prompt tokens**: the rendered first prompt of each agent, growing each step by what it hears and
  does (:data:`LINE_TOKENS` per line: its own :data:`OWN_LINES_PER_TURN` lines plus one line from each
  other agent when everyone can hear everyone), up to the prompt's recent-events budget; script items
  between runs add their text (a story step its passage's length, a ``consult`` step its ``top_k``
  passages at full chunk length, within a consultation's cap). Extraction prompts are rendered
  from each agent's history so far plus the same growth.
* **completion tokens**: a typical answer per purpose (:data:`TYPICAL_COMPLETION`), never more than
  ``[OpenAI] MAX_COMPLETION_TOKENS``.
* **cost**: the tokens priced with the price table; a model the table does not know gives
  ``cost_usd=None`` ("unknown"), never a guessed price.

The call count is what the engine will do, so it is exact for a seeded run without failures or re-asks
(re-asks of invalid tool arguments included), with bounds that depend on the model's answers: a
classroom's rubric judge calls assume every student answers (an empty answer is not judged), quality
checks assume every turn has a TALK or THINK to judge, and calendar events the agents book may wake
agents an activity schedule left idle. On the examples the
worst relative error of the call count on the scripted backend is 0 (``docs/performance.md``). The
tokens are an estimate (±30% is typical: answers vary in length). With ``api_type = scripted`` a
generated population is written by the offline population model, which is no model call.

Example (the scripted demo model costs nothing):
    >>> import tempfile
    >>> from pathlib import Path
    >>> f = Path(tempfile.mkdtemp()) / "tea.yaml"
    >>> _ = f.write_text('''
    ... name: Tea or coffee
    ... backend: {api_type: scripted}
    ... agents: [{example: lisa}, {example: oscar}]
    ... script: [{broadcast: "Tea or coffee?"}, {run: 2}]
    ... extraction: {question: "Which do you prefer?", fields: {drink: {type: str}}}
    ... ''')
    >>> est = estimate_scenario(f)
    >>> est.calls, est.steps, {line.purpose: line.calls for line in est.by_purpose}
    (8, 3, {'action': 6, 'extraction': 2})
    >>> est.cost_usd
    0.0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field
from rich.console import Console
from rich.table import Table

from tinytroupe.agent.cognition import PromptBudget
from tinytroupe.agent.person import TinyPerson
from tinytroupe.agent.persona import Persona
from tinytroupe.aio import run_sync
from tinytroupe.config import Settings, resolved_api_type, using_settings
from tinytroupe.context import RunContext, using_context
from tinytroupe.environment.world import TinyWorld
from tinytroupe.extraction.results_extractor import ResultsExtractor
from tinytroupe.factory.persona_schema import example_persona
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.prices import DEFAULT_PRICES, ModelPrice, PriceTable
from tinytroupe.llm.scripted import ScriptedBackend
from tinytroupe.llm.tokens import estimate_tokens
from tinytroupe.scenario.estimate_design import (
    EstimateLine,
    quality_checks_per_turn,
    quality_lines,
    run_seeds,
    validation_lines,
)
from tinytroupe.scenario.estimate_design import line as _line
from tinytroupe.scenario.estimate_parts import (
    LINE_TOKENS,
    OWN_LINES_PER_TURN,
    TYPICAL_COMPLETION,
    memory_lines,
    population_lines,
    story_lines,
)
from tinytroupe.scenario.estimate_script import later_script_tokens
from tinytroupe.scenario.estimate_world import quiz_lines, quiz_prompts, turns_of_runs
from tinytroupe.scenario.grounding import consult_tokens, show_images
from tinytroupe.scenario.loader import check_agent_references, load_scenario
from tinytroupe.scenario.model import Scenario
from tinytroupe.scenario.runner import _apply, build_agents, build_world
from tinytroupe.terminal import show


class Estimate(BaseModel):
    """What a scenario is expected to use. ``cost_usd`` is None when the model has no known price."""

    scenario: str
    backend: str
    model: str
    agents: int
    steps: int = Field(description="world steps, the extraction question's included")
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    cost_note: str = Field(description="where the price came from, or why the cost is unknown")
    by_purpose: list[EstimateLine]
    first_prompt_tokens: dict[str, int] = Field(description="each agent's rendered first action prompt")
    assumptions: list[str]

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class _Refuse(ScriptedBackend):
    """A backend that must not be called: an estimate makes no LLM call."""

    def __init__(self) -> None:
        super().__init__([])


def estimate_model(settings: Settings) -> tuple[str, str]:
    """The backend kind and the model name a run with ``settings`` will be billed under.

    Example:
        >>> estimate_model(Settings(openai={"api_type": "openai", "model": "gpt-4o"}))
        ('openai', 'gpt-4o')
    """
    api = resolved_api_type(settings)
    if api == "scripted":
        return api, "demo"
    if api == "local":
        return api, "local"
    return api, settings.openai.model


def estimate_scenario(scenario: str | Path | Scenario, *, settings: Settings | None = None,
                      prices: PriceTable | None = None, base_dir: Path | None = None) -> Estimate:
    """Predict the calls, tokens and cost of running ``scenario`` (a file or a loaded model); no LLM call.

    ``settings`` default to what ``tinytroupe run`` would use (config file, environment, then the
    scenario's backend section); ``prices`` to the built-in table (the embedded local model is free).

    Raises:
        ScenarioError: the file is missing or invalid (file, line and field named).
        ConfigError: the settings are invalid.
    """
    from tinytroupe.scenario.study import study_settings  # the same settings a run would use

    if not isinstance(scenario, Scenario):
        path = Path(scenario)
        base_dir = base_dir or path.parent
        scenario = load_scenario(path)
    settings = settings if settings is not None else study_settings(scenario)
    prices = prices if prices is not None else DEFAULT_PRICES
    backend, model = estimate_model(settings)
    if backend == "local" and prices.price(model) is None:
        # the embedded model runs on this machine: nobody bills it
        prices = prices.merged(PriceTable(as_of=prices.as_of, source=prices.source,
                                          models={model: ModelPrice(input=0.0, output=0.0)}))
    client = LLMClient(_Refuse())
    # The agents are built in a context of their own: the default one would build the configured
    # client, which needs an API key that an estimate must not need.
    with using_settings(settings), using_context(RunContext.for_client(client, settings=settings,
                                                                       seed=scenario.seed)):
        rendered = run_sync(_render(scenario, base_dir or Path.cwd(), client))
    return _tally(scenario, settings, prices, backend, model, rendered, base_dir)


@dataclass
class _Rendered:
    """What the estimate's dry run of the scenario found: each agent's first action prompt and extraction
    prompt (tokens), how many agents each hears, the turns of each step of each run, and a classroom's
    quiz extraction prompts."""

    world: TinyWorld
    first: dict[str, int]
    extraction: dict[str, int]
    heard: int
    turns: list[list[int]] = field(default_factory=list)
    quiz: list[int] = field(default_factory=list)


async def _render(scenario: Scenario, base_dir: Path, client: LLMClient) -> _Rendered:
    """Build the scenario as a run would, play its script up to the first ``run`` and render the prompts;
    then replay each run's steps without turns (who an activity schedule lets act)."""
    pop = scenario.population
    # A generated population's people are unknown until written: stand-ins of a typical persona's size.
    stand_ins = [Persona.from_spec({"type": "TinyPerson", "persona": example_persona(f"Person {i + 1}")})
                 for i in range(pop.people)] if pop is not None and pop.generated else []
    agents = build_agents(scenario, base_dir, stand_ins, max_actions_per_turn=scenario.max_actions_per_turn)
    if not stand_ins:
        check_agent_references(scenario, agents)
    world = build_world(scenario, agents, client)
    world.communication_display = False
    await show_images(scenario, world, base_dir)
    consulted: dict[str, int] = {}  # consulting reads and embeds documents: its passages are estimated instead
    for item in scenario.script:
        if item.run is not None:
            break
        if item.consult is None:
            _apply(world, item)
        for name, tokens in consult_tokens(scenario, item, [a.name for a in agents]).items():
            consulted[name] = consulted.get(name, 0) + tokens
    first = {a.name: sum(estimate_tokens(m.content) for m in await a.abuild_prompt()) + consulted.get(a.name, 0)
             for a in agents}
    extraction: dict[str, int] = {}
    if scenario.extraction is not None:
        ex = scenario.extraction
        extractor = ResultsExtractor(ex.objective, ex.situation, fields=ex.fields, client=client)
        for a in agents:
            messages = extractor._messages(a.pretty_current_interactions(), ex.objective, ex.situation,
                                           extractor.fields, client)
            extraction[a.name] = sum(estimate_tokens(m.content) for m in messages)

    def world_for(copy: Scenario) -> TinyWorld:
        return build_world(copy, build_agents(copy, base_dir, stand_ins,
                                              max_actions_per_turn=copy.max_actions_per_turn), client)

    rendered = _Rendered(world, first, extraction, _heard_per_turn(world, len(agents)),
                         quiz=quiz_prompts(world, scenario, client))
    rendered.turns = turns_of_runs(scenario, world, run_seeds(scenario), world_for)
    return rendered


def _heard_per_turn(world: TinyWorld, n: int) -> int:
    """Lines from others an agent hears per step: those who can reach it, or everyone when an untargeted
    TALK is broadcast."""
    sample: TinyPerson | None = world.agents[0] if world.agents else None
    reachable = len(sample.accessible_agents) if sample is not None else 0
    return reachable if reachable else (n - 1 if world.broadcast_if_no_target else 0)


def _tally(scenario: Scenario, settings: Settings, prices: PriceTable, backend: str, model: str, r: _Rendered,
           base_dir: Path | None = None) -> Estimate:
    n = len(r.first)
    steps = len(r.turns[0]) if r.turns else 0
    cap = settings.openai.max_completion_tokens
    recent_cap = PromptBudget.from_total(settings.cognition.prompt_token_budget).recent
    mean_first = sum(r.first.values()) / n if n else 0
    per_run = [line for turns in r.turns for line in _run_lines(scenario, settings, r, turns)]
    growth = (r.heard + OWN_LINES_PER_TURN) * LINE_TOKENS
    lines = [*population_lines(scenario, base_dir, cap, backend), *_merged(per_run),
             *validation_lines(scenario, base_dir, n, int(mean_first) + steps * growth, cap, backend)]
    for line in lines:
        line.cost_usd = prices.cost(model, line.prompt_tokens, line.completion_tokens)
    prompt = sum(x.prompt_tokens for x in lines)
    completion = sum(x.completion_tokens for x in lines)
    cost = prices.cost(model, prompt, completion)
    note = (f"prices of {prices.source}, as of {prices.as_of}" if cost is not None else
            f"unknown: no price for model {model!r} in {prices.source}; give one with --prices FILE")
    return Estimate(
        scenario=scenario.name, backend=backend, model=model, agents=n, steps=steps,
        calls=sum(x.calls for x in lines), prompt_tokens=prompt, completion_tokens=completion,
        cost_usd=None if cost is None else round(cost, 6), cost_note=note, by_purpose=lines,
        first_prompt_tokens=r.first, assumptions=_assumptions(scenario, settings, r, recent_cap, cap, backend),
    )


def _run_lines(scenario: Scenario, settings: Settings, r: _Rendered, turns: list[int]) -> list[EstimateLine]:
    """One run's lines: ``turns[k]`` agents act in step ``k``; each step's history grows each prompt in
    proportion to the agents who spoke (up to the recent-events budget)."""
    n, cap = len(r.first), settings.openai.max_completion_tokens
    recent_cap = PromptBudget.from_total(settings.cognition.prompt_token_budget).recent
    later, pending = later_script_tokens(scenario, list(r.first))
    if scenario.extraction is not None and scenario.extraction.question:
        later.append(pending + estimate_tokens(scenario.extraction.question))
    mean_first = sum(r.first.values()) / n if n else 0
    line_growth = (r.heard + OWN_LINES_PER_TURN) * LINE_TOKENS
    action_prompt, history, told = 0, 0.0, 0
    for k, acting in enumerate(turns):
        action_prompt += int(acting * (mean_first + min(recent_cap, history) + told))
        history += line_growth * acting / n
        told += later[k] if k < len(later) else 0
    calls = sum(turns)
    lines = [_line("action", calls, action_prompt, calls * min(cap, TYPICAL_COMPLETION["action"]))]
    lines += quality_lines(settings, calls, mean_first, cap)
    lines += memory_lines(settings, n, calls, r.heard)
    lines += story_lines(scenario, n, cap)
    if scenario.extraction is not None:
        fields = len(scenario.extraction.fields)
        lines.append(_line("extraction", n, sum(r.extraction.values()) + int(n * history),
                           n * min(cap, TYPICAL_COMPLETION["extraction_base"]
                                   + fields * TYPICAL_COMPLETION["extraction_per_field"])))
    return lines + quiz_lines(r.world, scenario, r.quiz, int(history), cap)


def _merged(lines: list[EstimateLine]) -> list[EstimateLine]:
    """One line per purpose, in the order the purposes first appear."""
    out: dict[str, EstimateLine] = {}
    for x in lines:
        have = out.get(x.purpose)
        out[x.purpose] = x.model_copy() if have is None else _line(
            x.purpose, have.calls + x.calls, have.prompt_tokens + x.prompt_tokens,
            have.completion_tokens + x.completion_tokens)
    return list(out.values())


def _assumptions(scenario: Scenario, settings: Settings, r: _Rendered, recent_cap: int, cap: int,
                 backend: str) -> list[str]:
    """What the estimate takes for granted (printed under its table)."""
    n, steps, runs = len(r.first), len(r.turns[0]) if r.turns else 0, len(r.turns)
    scheduled = scenario.total_steps  # the extraction question's step is everyone's
    turns = sum(sum(t[:scheduled]) for t in r.turns)
    acting = (f"an activity schedule lets {turns} of {n * scheduled * runs} turns of the script's steps happen "
              "(its routines and seeded draws replayed; calendar events booked during the run may wake more)"
              if r.world.activity is not None else f"every agent acts once per step ({steps} steps)")
    return [
        f"{acting}; no failed turns, re-asks (tool arguments included) or retries",
        f"each step adds {OWN_LINES_PER_TURN} own lines and {r.heard} heard lines of ~{LINE_TOKENS} tokens "
        f"to each prompt, up to its recent-events budget of {recent_cap} tokens",
        "typical answers: " + ", ".join(f"{k} {v}" for k, v in TYPICAL_COMPLETION.items())
        + f" tokens (at most MAX_COMPLETION_TOKENS = {cap})",
        "no response cache hits",
        *(["documents: passages the agents CONSULT of their own accord are not counted (up to top_k chunks "
           "each time)"] if scenario.documents or any(e.documents for e in scenario.agents) else []),
        *([f"the script runs {runs} times (experiment arms and replications); the population is written "
           "once"] if runs > 1 else []),
        *(["the population is written by the offline population model: no model call"]
          if backend == "scripted" and scenario.population is not None and scenario.population.generated else []),
        *(["quiz grading: every student answers every rubric question (an upper bound: an empty answer is "
           "not judged)"] if r.quiz else []),
        *(["quality checks: one judge call per enabled check per turn (at most: a turn without TALK or THINK "
           "needs none); no regeneration"]
          if quality_checks_per_turn(settings) else []),
        *(["validation: one call per answer from log-probabilities (the scripted backend samples 10)"]
          if scenario.validation is not None and scenario.validation.mode == "distribution" else []),
    ]


def print_estimate(est: Estimate, console: Console) -> None:
    """Print the estimate's table, where its price came from, and what it assumed."""
    console.print(estimate_table(est))
    console.print(f"cost: {show(est.cost_note)}")
    for note in est.assumptions:
        console.print(f"[dim]assumed: {show(note)}[/]")


def estimate_table(est: Estimate) -> Table:
    """The estimate as a rich table: one row per purpose, then the total.

    Example:
        >>> line = EstimateLine(purpose="action", calls=2, prompt_tokens=10, completion_tokens=4, cost_usd=None)
        >>> est = Estimate(scenario="s", backend="openai", model="m", agents=1, steps=2, calls=2, prompt_tokens=10,
        ...                completion_tokens=4, cost_usd=None, cost_note="unknown", by_purpose=[line],
        ...                first_prompt_tokens={"Ana": 5}, assumptions=[])
        >>> estimate_table(est).row_count
        2
    """
    table = Table(title=f"Estimate · {show(est.scenario)} · {show(est.model)} ({show(est.backend)}) · "
                        f"{est.agents} agents · {est.steps} steps")
    for col in ("purpose", "calls", "prompt tok", "completion tok", "cost $"):
        table.add_column(col, justify="left" if col == "purpose" else "right")

    def dollars(value: float | None) -> str:
        return "unknown" if value is None else f"{value:.4f}"

    for line in est.by_purpose:
        table.add_row(line.purpose, f"{line.calls:,}", f"{line.prompt_tokens:,}", f"{line.completion_tokens:,}",
                      dollars(line.cost_usd))
    table.add_row("[bold]total[/]", f"[bold]{est.calls:,}[/]", f"{est.prompt_tokens:,}", f"{est.completion_tokens:,}",
                  f"[bold]{dollars(est.cost_usd)}[/]")
    return table


__all__ = ["LINE_TOKENS", "OWN_LINES_PER_TURN", "TYPICAL_COMPLETION", "Estimate", "EstimateLine",
           "estimate_model", "estimate_scenario", "estimate_table", "print_estimate"]
