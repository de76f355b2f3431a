"""Carrying out a scenario's ``experiment:``: its arms (split in one world, or a world each), its
replications with their seeds, one results row per agent, arm and replication, and each treatment
compared with the control on the extracted fields (:class:`~tinytroupe.experimentation.StatisticalTester`:
Welch's t for numbers, chi-square for categories).

A generated population is written once, before the first replication: every arm and replication
meets the same people (fresh agents, no memories carried over).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel

from tinytroupe.agent.person import TinyPerson
from tinytroupe.errors import InvalidArgument
from tinytroupe.experimentation.hypothesis_tests import StatisticalTestResult
from tinytroupe.experimentation.statistical_tests import StatisticalTester
from tinytroupe.extraction.fields import FieldSpec
from tinytroupe.llm.client import LLMClient
from tinytroupe.scenario.design import ArmSpec, ExperimentSpec, comparable
from tinytroupe.scenario.model import Scenario, ScriptItem
from tinytroupe.scenario.populations import agenerate_personas
from tinytroupe.scenario.runner import ScenarioResult, arun_scenario, check_inputs


class ArmComparison(BaseModel):
    """One extracted field, one treatment against the control (``test`` None: ``skipped`` says why)."""

    field: str
    kind: Literal["numeric", "categorical"]
    control: str
    treatment: str
    control_values: list[Any]
    treatment_values: list[Any]
    test: StatisticalTestResult | None = None
    skipped: str | None = None


class ExperimentSummary(BaseModel):
    """How the experiment ran (agents per arm over all replications, the seeds) and its comparisons."""

    control: str
    randomisation: str
    replications: int
    seeds: list[int | None]
    arm_sizes: dict[str, int]
    comparisons: list[ArmComparison]


def split_agents(names: Sequence[str], arms: Sequence[str], seed: int | None) -> dict[str, str]:
    """Each agent's arm: a seeded random order dealt round the arms, so arm sizes differ by at most one.

    Example:
        >>> split = split_agents(["Ana", "Rui", "Eva", "Tom"], ["control", "treatment"], seed=3)
        >>> sorted(split.values())
        ['control', 'control', 'treatment', 'treatment']
    """
    order = np.random.default_rng(seed).permutation(len(names))
    return {names[int(i)]: arms[k % len(arms)] for k, i in enumerate(order)}


def _with_arm(scenario: Scenario, agents: list[TinyPerson], arms: Mapping[str, ArmSpec],
              arm_of: Mapping[str, str]) -> Scenario:
    """``scenario`` with each arm's message heard first by the arm's agents, whose personas take the arm's fields."""
    first: list[ScriptItem] = []
    for arm, spec in arms.items():
        members = [a for a in agents if arm_of[a.name] == arm]
        if spec.persona:
            for agent in members:
                agent.include_persona_definitions(spec.persona)
        if spec.broadcast and members:
            first.append(ScriptItem(listen={a.name: spec.broadcast for a in members}))
    return scenario.model_copy(update={"script": [*first, *scenario.script]}) if first else scenario


def _comparable_fields(scenario: Scenario, spec: ExperimentSpec) -> dict[str, FieldSpec]:
    fields = scenario.extraction.fields if scenario.extraction is not None else {}
    names = spec.compare if spec.compare is not None else [n for n, f in fields.items() if comparable(f)]
    return {n: fields[n] for n in names}


def compare_arms(rows: Mapping[str, Mapping[str, Any]], fields: Mapping[str, FieldSpec], spec: ExperimentSpec,
                 seed: int | None = None) -> list[ArmComparison]:
    """Each treatment against the control on each field, from rows carrying ``arm`` (failed rows left out).

    Example:
        >>> spec = ExperimentSpec.model_validate({"arms": {"a": {}, "b": {}}})
        >>> rows = {f"p{i}": {"status": "ok", "arm": "ab"[i % 2], "score": v} for i, v in enumerate([1, 5, 2, 6, 1, 7])}
        >>> c = compare_arms(rows, {"score": FieldSpec(type="int")}, spec)[0]
        >>> c.test.test_type, c.control_values, c.test.significant
        ('welch_t_test', [1, 2, 1], True)
    """
    out = []
    for name, field in fields.items():
        kind = comparable(field)
        assert kind is not None  # only comparable fields are asked for
        values = {arm: [r[name] for r in rows.values() if r.get("arm") == arm and r.get("status") == "ok"
                        and r.get(name) is not None] for arm in spec.arms}
        control = spec.control_arm
        for treatment in (a for a in spec.arms if a != control):
            got = ArmComparison(field=name, kind=kind, control=control, treatment=treatment,
                                control_values=values[control], treatment_values=values[treatment])
            try:
                tester = StatisticalTester({control: {name: values[control]}}, {treatment: {name: values[treatment]}})
                test_type = "welch_t_test" if kind == "numeric" else "chi_square"
                extra = {} if kind == "numeric" else {"data": "raw", "seed": seed or 0}
                tested = tester.run_test(test_type, alpha=spec.alpha, **extra)[treatment]
                if name in tested:
                    got.test = tested[name]
                else:
                    got.skipped = tester.skipped.get(treatment, {}).get(name, "not tested")
            except (InvalidArgument, ValueError) as exc:  # too few answers, a single category: say so
                got.skipped = str(exc).splitlines()[0]
            out.append(got)
    return out


def _merge(scenario: Scenario, runs: list[tuple[str | None, int, int | None, ScenarioResult]],
           arm_of: Mapping[tuple[int, str], str]) -> ScenarioResult:
    """One result of every run: rows keyed ``name (arm, rep r)``; the cost is the client's running total."""
    last = runs[-1][3]
    rows: dict[str, dict[str, Any]] = {}
    errors: list[dict[str, Any]] = []
    for arm, rep, seed, result in runs:
        for name, row in result.results.items():
            where = arm or arm_of[(rep, name)]
            rows[f"{name} ({where}, rep {rep + 1})"] = {"arm": where, "replication": rep + 1, "seed": seed, **row}
        errors += [{**e, "arm": arm, "replication": rep + 1} for e in result.errors]
    return last.model_copy(update={
        "results": rows, "errors": errors, "failed": sum(r[3].failed for r in runs),
        "steps": sum(r[3].steps for r in runs), "result_count": sum(r[3].result_count for r in runs),
        "wall_s": sum(r[3].wall_s for r in runs),
        "stopped": next((r[3].stopped for r in runs if r[3].stopped is not None), None),
        "cost_per_result_usd": None})


async def arun_experiment(scenario: Scenario, *, client: LLMClient | None = None, base_dir: Path | None = None,
                          population_client: LLMClient | None = None,
                          **run_kwargs: Any) -> tuple[ScenarioResult, ExperimentSummary]:
    """Every replication of ``scenario.experiment``, one :func:`arun_scenario` per world, merged.

    ``run_kwargs`` go to each :func:`arun_scenario` (executor, batch, prices, on_step). A run stopped
    by the budget stops the experiment; what ran is kept and compared.
    """
    spec = scenario.experiment
    assert spec is not None
    base = base_dir or Path.cwd()
    check_inputs(scenario, base, run_kwargs.get("executor"))  # before the population is paid for
    personas = await agenerate_personas(scenario, base, population_client or client)
    runs: list[tuple[str | None, int, int | None, ScenarioResult]] = []
    arm_of: dict[tuple[int, str], str] = {}
    seeds = [spec.seed_of(r, scenario_seed=scenario.seed) for r in range(spec.replications)]
    arms = list(spec.arms)
    for rep, seed in enumerate(seeds):
        copy = scenario.model_copy(update={"seed": seed})
        plans: list[str | None] = [None] if spec.randomisation == "split" else list(arms)
        for arm in plans:
            def prepare(agents: list[TinyPerson], arm: str | None = arm, rep: int = rep, seed: int | None = seed,
                        copy: Scenario = copy) -> Scenario:
                split = split_agents([a.name for a in agents], arms, seed) if arm is None else \
                    dict.fromkeys((a.name for a in agents), arm)
                arm_of.update({(rep, name): a for name, a in split.items()})
                return _with_arm(copy, agents, spec.arms, split)

            _, result = await arun_scenario(copy, client=client, base_dir=base, personas=personas, prepare=prepare,
                                            **run_kwargs)
            runs.append((arm, rep, seed, result))
            if result.stopped is not None:
                break
        if runs[-1][3].stopped is not None:
            break
    merged = _merge(scenario, runs, arm_of)
    sizes = {arm: sum(1 for r in merged.results.values() if r["arm"] == arm) for arm in arms}
    summary = ExperimentSummary(control=spec.control_arm, randomisation=spec.randomisation, replications=len(seeds),
                                seeds=seeds, arm_sizes=sizes,
                                comparisons=compare_arms(merged.results, _comparable_fields(scenario, spec), spec,
                                                         scenario.seed))
    return merged, summary


__all__ = ["ArmComparison", "ExperimentSummary", "arun_experiment", "compare_arms", "split_agents"]
