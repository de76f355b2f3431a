"""A scenario with its study design: a plain run, or an ``experiment:``'s arms and replications, then
its ``validation:`` against real data. :func:`arun_designed` is what ``tinytroupe run`` calls;
:func:`save_design_outputs` writes what the design adds next to the results files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from tinytroupe.llm.client import LLMClient
from tinytroupe.scenario.experiment import ExperimentSummary, arun_experiment
from tinytroupe.scenario.model import Scenario
from tinytroupe.scenario.runner import ScenarioResult, arun_scenario, with_cost_so_far
from tinytroupe.scenario.validate import ScenarioValidation, avalidate_scenario, save_validation_reports


class DesignedRun(BaseModel):
    """A run's result, with the experiment's comparison and the validation when the scenario has them."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    result: ScenarioResult
    experiment: ExperimentSummary | None = None
    validation: ScenarioValidation | None = None


async def arun_designed(scenario: Scenario, *, client: LLMClient | None = None, base_dir: Path | None = None,
                        population_client: LLMClient | None = None, **run_kwargs: Any) -> DesignedRun:
    """Run ``scenario`` (see :func:`~tinytroupe.scenario.runner.arun_scenario` for ``run_kwargs``): every
    arm and replication of its experiment, or the one world; then its validation, unless the budget
    stopped the run (the result's cost counts its calls too). ``population_client`` writes a generated
    population (default ``client``).

    Example (the scripted demo model):
        >>> from tinytroupe.aio import run_sync
        >>> from tinytroupe.config import load_settings, using_settings
        >>> from tinytroupe.llm import LLMClient
        >>> from tinytroupe.llm.demo import demo_backend
        >>> s = Scenario.model_validate({"name": "ab", "seed": 1, "agents": [{"example": "lisa"}, {"example": "oscar"}],
        ...     "script": [{"run": 1}], "extraction": {"fields": {"rating": {"type": "int"}}},
        ...     "experiment": {"arms": {"control": {}, "treatment": {"broadcast": "It is free today."}}}})
        >>> with using_settings(load_settings(None, simulation__communication_display=False)):
        ...     run = run_sync(arun_designed(s, client=LLMClient(demo_backend(seed=1))))
        >>> sorted(row["arm"] for row in run.result.results.values())
        ['control', 'treatment']
    """
    base = base_dir or Path.cwd()
    if scenario.experiment is not None:
        result, summary = await arun_experiment(scenario, client=client, base_dir=base,
                                                population_client=population_client, **run_kwargs)
        return DesignedRun(result=result, experiment=summary)
    world, result = await arun_scenario(scenario, client=client, base_dir=base, population_client=population_client,
                                        **run_kwargs)
    validation = None
    if scenario.validation is not None and result.stopped is None:
        validation = await avalidate_scenario(scenario.validation, list(world.agents), result.results,
                                              client=world.client, base_dir=base, seed=scenario.seed)
        result = with_cost_so_far(result, world.client, run_kwargs.get("prices"))
    return DesignedRun(result=result, validation=validation)


def save_design_outputs(run: DesignedRun, out: Path) -> list[Path]:
    """Write ``comparison.json`` (an experiment's arms and tests) and ``validation.md`` /
    ``validation.html`` / ``validation.json`` (a validation's report) into ``out``; the paths written."""
    written: list[Path] = []
    if run.experiment is not None:
        path = out / "comparison.json"
        path.write_text(json.dumps(run.experiment.model_dump(mode="json"), indent=2, ensure_ascii=False),
                        encoding="utf-8")
        written.append(path)
    if run.validation is not None:
        written += save_validation_reports(run.validation, out)
        path = out / "validation.json"
        path.write_text(json.dumps(run.validation.model_dump(mode="json"), indent=2, ensure_ascii=False),
                        encoding="utf-8")
        written.append(path)
    return written


__all__ = ["DesignedRun", "arun_designed", "save_design_outputs"]
