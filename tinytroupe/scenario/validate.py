"""Carrying out a scenario's ``validation:``: the simulated people's answers to the question (their
probabilities, or an extracted choice), per cell of the real data, compared with the real answers
beside the uniform and (optionally) the no-persona baselines; the report is written as Markdown and
HTML next to the results.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from tinytroupe.agent.person import TinyPerson
from tinytroupe.errors import InvalidArgument
from tinytroupe.extraction.distribution import aask_distribution_baseline, aask_population_distribution
from tinytroupe.llm.client import LLMClient
from tinytroupe.scenario.design import ValidationSpec
from tinytroupe.validation.data_files import read_csv
from tinytroupe.validation.dataset import SimulationExperimentDataset
from tinytroupe.validation.empirical import (
    SimulationExperimentEmpiricalValidationResult,
    SimulationExperimentEmpiricalValidator,
)


class ScenarioValidation(BaseModel):
    """A validation's outcome: the report (``result.distribution_results`` holds every cell), the
    metrics the scenario asked to show, the agents left out (no cell, no answer) and why."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    result: SimulationExperimentEmpiricalValidationResult
    metrics: list[str]
    left_out: dict[str, str] = {}


def _cell(agent: TinyPerson, spec: ValidationSpec) -> str | None:
    if spec.cell_field is None:
        return None
    value = agent.get(spec.cell_field)
    return None if value is None else str(value)


def simulated_from_probabilities(probabilities: Mapping[str, Mapping[str, float]], cells: Mapping[str, str | None],
                                 options: Sequence[str]) -> SimulationExperimentDataset:
    """The simulated dataset of agents' probabilities: each cell's mean, with its number of agents as n.

    Example:
        >>> ds = simulated_from_probabilities({"Ana": {"Yes": 1.0, "No": 0.0}, "Rui": {"Yes": 0.5, "No": 0.5}},
        ...                                   {"Ana": None, "Rui": None}, ["Yes", "No"])
        >>> ds.cell_data(None).shares.tolist(), ds.cell_data(None).n
        ([0.75, 0.25], 2)
    """
    groups: dict[str | None, list[list[float]]] = defaultdict(list)
    for name, probs in probabilities.items():
        groups[cells.get(name)].append([float(probs[o]) for o in options])
    shares = {cell: dict(zip(options, np.mean(rows, axis=0).tolist(), strict=True)) for cell, rows in groups.items()}
    n = {cell: len(rows) for cell, rows in groups.items()}
    if list(shares) == [None]:
        return SimulationExperimentDataset.from_shares(shares[None], options=options, n=n[None], name="simulated")
    return SimulationExperimentDataset.from_shares(shares, options=options, n=n, name="simulated")


async def _simulated(spec: ValidationSpec, agents: list[TinyPerson], results: Mapping[str, Mapping[str, Any]],
                     left_out: dict[str, str]) -> SimulationExperimentDataset:
    cells = {a.name: _cell(a, spec) for a in agents}
    if spec.cell_field is not None:
        left_out.update({name: f"no {spec.cell_field} in its persona" for name, c in cells.items() if c is None})
    people = [a for a in agents if a.name not in left_out]
    if not people:
        raise InvalidArgument(f"validation: no agent has a {spec.cell_field} to place it in a cell of the data")
    if spec.mode == "distribution":
        dist = await aask_population_distribution(people, spec.question, spec.options)
        left_out.update(dist.failures)
        by_name = {a.name: dist.answers[a.name].probabilities for a in people if a.name in dist.answers}
        return simulated_from_probabilities(by_name, cells, spec.options)
    assert spec.field is not None
    rows = [(a.name, results[a.name]) for a in people if a.name in results]
    left_out.update({name: row.get("error", "no answer") for name, row in rows if row.get("status") != "ok"})
    ok = [(name, row[spec.field]) for name, row in rows if row.get("status") == "ok"]
    if not ok:
        raise InvalidArgument(f"validation: no agent has an extracted {spec.field!r} to compare")
    return SimulationExperimentDataset.from_responses([answer for _, answer in ok], options=spec.options,
                                                      cells=[cells[name] for name, _ in ok] if spec.cell_field
                                                      else None, agents=[name for name, _ in ok], name="simulated")


async def _no_persona(spec: ValidationSpec, cells: Sequence[str], client: LLMClient,
                      seed: int | None) -> dict[str | None, dict[str, float]]:
    """The model asked without a persona, about the whole population and about each cell's members."""
    who = spec.population_description or "people"
    described: dict[str | None, str] = {None: who, **{c: f"{who} whose {spec.cell_column} is {c}" for c in cells}}
    shares: dict[str | None, dict[str, float]] = {}
    for cell, description in described.items():
        answer = await aask_distribution_baseline(client, spec.question, spec.options,
                                                  population_description=description, seed=seed)
        shares[cell] = dict(answer.probabilities)
    return shares


async def avalidate_scenario(spec: ValidationSpec, agents: list[TinyPerson], results: Mapping[str, Mapping[str, Any]],
                             *, client: LLMClient, base_dir: Path, seed: int | None = None) -> ScenarioValidation:
    """Compare ``agents``' answers (asked now, or their extracted ``results``) with ``spec.data``.

    With ``no_persona_baseline``, the model is asked once about the population and once about each
    cell's members (``<population_description> whose <cell_column> is <cell>``).

    Raises:
        DataFileError: the data file changed since the scenario was loaded and no longer reads.
        InvalidArgument: no agent could be placed in a cell or gave an answer.
        ExtractionError: no agent answered the distribution question.
    """
    real = read_csv(base_dir / spec.data, name=f"real data ({spec.data})", **spec.read_arguments())
    left_out: dict[str, str] = {}
    simulated = await _simulated(spec, agents, results, left_out)
    simulated = simulated.model_copy(update={"question": spec.question})
    baseline = await _no_persona(spec, real.cells(), client, seed) if spec.no_persona_baseline else None
    result = SimulationExperimentEmpiricalValidator().validate(real, simulated, validation_types=["statistical"],
                                                               no_persona_baseline=baseline)
    assert isinstance(result, SimulationExperimentEmpiricalValidationResult)
    return ScenarioValidation(result=result, metrics=list(spec.metrics), left_out=left_out)


def save_validation_reports(validation: ScenarioValidation, out: Path) -> tuple[Path, Path]:
    """Write ``validation.md`` and ``validation.html`` into ``out``."""
    report = validation.result
    return report.save_report(out / "validation.md"), report.save_report(out / "validation.html")


__all__ = ["ScenarioValidation", "avalidate_scenario", "save_validation_reports", "simulated_from_probabilities"]
