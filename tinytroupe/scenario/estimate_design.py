"""The parts of a scenario's estimate that its study design adds: experiment runs, validation calls and
action quality checks (see :mod:`tinytroupe.scenario.estimate` for the rest).

* **experiment**: every replication runs the script again; with ``randomisation: worlds`` every arm
  runs it in a world of its own with all the agents, so the per-run calls (actions, memory upkeep,
  quality checks, story steps, extraction) are multiplied by ``replications`` (times the arms for
  ``worlds``). A generated population is written once and shared.
* **validation** in ``distribution`` mode: one call per agent (with log-probabilities; a backend
  without them samples instead, ``[Distribution]`` samples per agent), plus, with
  ``no_persona_baseline``, one call about the population and one per cell of the data.
* **quality checks** (``[ActionGenerator] ENABLE_QUALITY_CHECKS``): one judge call per turn for each
  enabled check that asks the model; regenerations of poor actions are not foreseen.

Example:
    >>> from tinytroupe.scenario.model import Scenario
    >>> s = Scenario.model_validate({"name": "x", "agents": [{"example": "lisa"}], "script": [{"run": 1}],
    ...     "extraction": {"fields": {"r": {"type": "int"}}},
    ...     "experiment": {"arms": {"a": {}, "b": {}}, "randomisation": "worlds", "replications": 3}})
    >>> experiment_runs(s), run_seeds(s.model_copy(update={"seed": 5}))
    (6, [5, 5, 6, 6, 7, 7])
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from tinytroupe.config import Settings
from tinytroupe.scenario.model import Scenario

#: a judge's verdict (justification, value, confidence), and one option label read from log-probabilities
JUDGE_COMPLETION = 90
DISTRIBUTION_COMPLETION = 5
#: a no-persona baseline's prompt: instructions, the question and its options
BASELINE_PROMPT = 250
#: the judge's prompt beyond the agent's persona: instructions, the claim and 15 events of trajectory
JUDGE_EXTRA_PROMPT = 15 * 40 + 300


class EstimateLine(BaseModel):
    """The calls and tokens of one purpose (action, extraction, importance, consolidation, reflection, ...)."""

    purpose: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None = None


def line(purpose: str, calls: int, prompt: int, completion: int) -> EstimateLine:
    """One purpose's line."""
    return EstimateLine(purpose=purpose, calls=calls, prompt_tokens=prompt, completion_tokens=completion)


def experiment_runs(scenario: Scenario) -> int:
    """How many times the script runs (1 without an experiment)."""
    exp = scenario.experiment
    if exp is None:
        return 1
    return len(run_seeds(scenario))


def run_seeds(scenario: Scenario) -> list[int | None]:
    """Each run's seed, in the order they run: the scenario's without an experiment, else each
    replication's (once per arm with ``randomisation: worlds``: every arm's world has it)."""
    exp = scenario.experiment
    if exp is None:
        return [scenario.seed]
    worlds = len(exp.arms) if exp.randomisation == "worlds" else 1
    return [exp.seed_of(r, scenario_seed=scenario.seed) for r in range(exp.replications) for _ in range(worlds)]


def quality_checks_per_turn(settings: Settings) -> int:
    """The judge calls one turn's quality checks make (0 when they are off)."""
    ag = settings.actiongenerator
    if not ag.enable_quality_checks:
        return 0
    return sum((ag.enable_quality_check_for_persona_adherence, ag.enable_quality_check_for_selfconsistency,
                ag.enable_quality_check_for_fluency, ag.enable_quality_check_for_suitability))


def validation_calls(scenario: Scenario, base_dir: Path, agents: int, backend: str = "openai") -> tuple[int, int]:
    """``(calls for the simulated agents, baseline calls)`` of the scenario's validation (distribution
    mode asks each agent once where the backend gives log-probabilities, and draws
    :data:`~tinytroupe.agent.distribution.DEFAULT_SAMPLES` answers on the scripted backend, which has
    none; ``answers`` mode uses the extraction and asks nothing more)."""
    v = scenario.validation
    if v is None:
        return 0, 0
    from tinytroupe.agent.distribution import DEFAULT_SAMPLES

    each = DEFAULT_SAMPLES if backend == "scripted" else 1
    per_agent = agents * each if v.mode == "distribution" else 0
    if not v.no_persona_baseline:
        return per_agent, 0
    cells = 0
    if v.cell_column is not None:
        from tinytroupe.validation.data_files import read_csv  # only a scenario with validation pays for it

        cells = len(read_csv(base_dir / v.data, **v.read_arguments()).cells())
    return per_agent, (1 + cells) * each


def quality_lines(settings: Settings, turns: int, mean_first: float, cap: int) -> list[EstimateLine]:
    """The judge calls of the action quality checks (one per enabled check per turn)."""
    calls = turns * quality_checks_per_turn(settings)
    if not calls:
        return []
    return [line("quality_check", calls, int(calls * (mean_first + JUDGE_EXTRA_PROMPT)),
                 calls * min(cap, JUDGE_COMPLETION))]


def validation_lines(scenario: Scenario, base_dir: Path | None, n: int, agent_prompt: int, cap: int,
                     backend: str = "openai") -> list[EstimateLine]:
    """The validation's distribution questions (one per agent) and no-persona baselines."""
    per_agent, baseline = validation_calls(scenario, base_dir or Path.cwd(), n, backend)
    lines = []
    if per_agent:
        lines.append(line("distribution", per_agent, per_agent * agent_prompt,
                          per_agent * min(cap, DISTRIBUTION_COMPLETION)))
    if baseline:
        lines.append(line("baseline", baseline, baseline * BASELINE_PROMPT,
                          baseline * min(cap, DISTRIBUTION_COMPLETION)))
    return lines


__all__ = ["BASELINE_PROMPT", "DISTRIBUTION_COMPLETION", "JUDGE_COMPLETION", "JUDGE_EXTRA_PROMPT", "EstimateLine",
           "experiment_runs", "line", "quality_checks_per_turn", "quality_lines", "run_seeds", "validation_calls",
           "validation_lines"]
