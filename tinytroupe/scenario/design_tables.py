"""What ``tinytroupe run`` prints for a scenario's design: the arms compared on each extracted field
(Welch's t or chi-square), and the validation's distances from the real answers, overall and per
cell, beside the uniform and no-persona baselines. Rendering only: the numbers come from
:mod:`tinytroupe.scenario.experiment` and :mod:`tinytroupe.scenario.validate`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from tinytroupe.scenario.design_run import DesignedRun
from tinytroupe.scenario.experiment import ArmComparison, ExperimentSummary
from tinytroupe.scenario.validate import ScenarioValidation
from tinytroupe.terminal import show

_LABELS = {"tvd": "TVD", "wasserstein_1": "Wasserstein-1", "js_divergence": "JS div."}


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def describe_values(values: list[object], numeric: bool) -> str:
    """A group's values in a few words: mean ± sd (numbers) or counts (categories), with n.

    Example:
        >>> describe_values([1, 2, 3], True), describe_values(["yes", "no", "yes"], False)
        ('2.00 ± 1.00 (n=3)', 'yes 2, no 1 (n=3)')
    """
    if not values:
        return "no answers"
    if numeric:
        arr = np.asarray(values, dtype=float)
        sd = float(arr.std(ddof=1)) if arr.size > 1 else float("nan")
        return f"{arr.mean():.2f} ± {_num(sd, 2)} (n={arr.size})"
    counts = Counter(str(v) for v in values)
    return ", ".join(f"{k} {n}" for k, n in counts.most_common()) + f" (n={len(values)})"


def _test_cells(c: ArmComparison) -> list[str]:
    if c.test is None:
        return ["–", "–", "–", show(c.skipped or "not tested")]
    t = c.test
    effect = f"{t.effect_size.name} {_num(t.effect_size.value, 2)}" if t.effect_size else "–"
    p = f"{t.p_value:.3g}" if not math.isnan(t.p_value) else "–"
    return [f"{'t' if c.kind == 'numeric' else 'χ²'} = {_num(t.statistic, 2)}", p, effect,
            "[bold green]yes[/]" if t.significant else "no"]


def experiment_table(summary: ExperimentSummary) -> Table:
    """One row per (field, treatment): both arms' answers, the test, p, effect size, significance."""
    seeds = ", ".join("none" if s is None else str(s) for s in summary.seeds)
    sizes = ", ".join(f"{show(arm)} {n}" for arm, n in summary.arm_sizes.items())
    table = Table(title=f"Arms compared · {summary.randomisation} · {summary.replications} replication"
                        f"{'s' if summary.replications != 1 else ''} (seeds {seeds}) · rows: {sizes}")
    for name in ("field", "control", "treatment", "test", "p", "effect size", "significant"):
        table.add_column(name)
    for c in summary.comparisons:
        numeric = c.kind == "numeric"
        table.add_row(show(c.field), f"{show(c.control)}: {show(describe_values(c.control_values, numeric))}",
                      f"{show(c.treatment)}: {show(describe_values(c.treatment_values, numeric))}", *_test_cells(c))
    return table


def validation_table(validation: ScenarioValidation) -> Table:
    """One row per cell (the whole sample first): sample sizes, and each metric's distance from the
    real answers for the simulation and the baselines (lower is closer)."""
    v = validation.result.distribution_results
    assert v is not None  # a scenario validation always compares distributions
    baselines = [b.baseline for b in v.overall.baselines]
    table = Table(title="Validation against the real answers (distance from them: lower is closer)")
    for name in ("cell", "n real", "n simulated"):
        table.add_column(name)
    for metric in validation.metrics:
        for who in ("simulated", *baselines):
            table.add_column(f"{_LABELS[metric]} {who.replace('_', '-')}")
    for c in (v.overall, *v.cells):
        row = ["whole sample" if c.cell is None else show(c.cell), str(c.real.n or "–"), str(c.simulated.n or "–")]
        for metric in validation.metrics:
            row.append(_num(c.distance.get(metric)))
            # a cell may lack a baseline the whole sample has (a no-persona answer asked once, for everyone)
            row += [_num(b.distance.get(metric)) if (b := c.baseline(name)) is not None else "–"
                    for name in baselines]
        table.add_row(*row)
    return table


def print_design(console: Console, run: DesignedRun | None, files: Sequence[Path] = ()) -> None:
    """Print a run's design tables (see :func:`design_tables`) and the files the design wrote."""
    if run is None:
        return
    for table in design_tables(run):
        console.print(table)
    if files:
        console.print(f"Wrote {', '.join(map(str, files))}")


def design_tables(run: DesignedRun) -> list[Table]:
    """The tables a run's design adds to ``tinytroupe run``'s output (none for a plain scenario)."""
    tables = []
    if run.experiment is not None:
        tables.append(experiment_table(run.experiment))
    if run.validation is not None and run.validation.result.distribution_results is not None:
        tables.append(validation_table(run.validation))
    return tables


__all__ = ["describe_values", "design_tables", "experiment_table", "print_design", "validation_table"]
