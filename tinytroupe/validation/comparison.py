"""Simulated answers against real ones, per cell and overall, always beside two baselines.

For each cell (and for the whole sample) the real and the simulated distributions are summarised
(shares, mean, sd), tested (Welch's t and Kolmogorov-Smirnov on the answers' values) and compared
(total variation, Wasserstein-1, Jensen-Shannon). The same distances are computed for two baselines
that a simulation has to beat to be worth anything: the **uniform** distribution (every option
equally likely) and the **no-persona** answer (the model asked about the population directly, with
no simulated people). The no-persona distribution is an input here: an ``{option: share}`` mapping
(used for the whole sample), a ``{cell: {option: share}}`` mapping (``None`` as the key of the whole
sample), or a function ``f(cell) -> {option: share}`` called for each cell and for the whole sample
(``cell=None``).

Example:
    >>> from tinytroupe.validation.dataset import SimulationExperimentDataset as D
    >>> real = D.from_responses(["Yes"] * 6 + ["No"] * 4, options=["No", "Yes"])
    >>> sim = D.from_responses(["Yes"] * 7 + ["No"] * 3, options=["No", "Yes"])
    >>> v = compare_datasets(real, sim, no_persona_baseline={"Yes": 0.9, "No": 0.1})
    >>> round(v.overall.distance.tvd, 3), [(b.baseline, round(b.distance.tvd, 3)) for b in v.overall.baselines]
    (0.1, [('uniform', 0.1), ('no_persona', 0.3)])
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Any, Literal, cast

import numpy as np
from pydantic import BaseModel, ConfigDict

from tinytroupe.errors import InvalidArgument
from tinytroupe.experimentation.hypothesis_tests import StatisticalTestResult, ks_test, welch_t_test
from tinytroupe.validation.dataset import CellData, SimulationExperimentDataset, check_shares, match_option
from tinytroupe.validation.metrics import METRICS, DistributionDistance, distances

logger = logging.getLogger(__name__)

NoPersonaBaseline = (Mapping[str, float] | Mapping[str | None, Mapping[str, float]]
                     | Callable[[str | None], Mapping[str, float]])


class DistributionSummary(BaseModel):
    """One distribution: its shares, sample size (None for a baseline or shares without one), mean and sd."""

    model_config = ConfigDict(frozen=True)
    shares: dict[str, float]
    n: int | None = None
    mean: float | None = None
    sd: float | None = None
    counts_reconstructed: bool = False


class BaselineComparison(BaseModel):
    """A baseline's distance from the real answers, and whether the simulation came closer, per metric."""

    model_config = ConfigDict(frozen=True)
    baseline: Literal["uniform", "no_persona"]
    distribution: DistributionSummary
    distance: DistributionDistance
    simulated_closer: dict[str, bool]


class CellComparison(BaseModel):
    """Real against simulated answers in one cell (``cell`` None: the whole sample)."""

    model_config = ConfigDict(frozen=True)
    cell: str | None
    real: DistributionSummary
    simulated: DistributionSummary
    distance: DistributionDistance
    welch_t: StatisticalTestResult | None = None
    ks: StatisticalTestResult | None = None
    baselines: list[BaselineComparison]
    notes: list[str] = []

    def baseline(self, name: str) -> BaselineComparison | None:
        """The comparison with baseline ``name`` (``uniform`` or ``no_persona``), None when not given."""
        return next((b for b in self.baselines if b.baseline == name), None)


class DistributionValidation(BaseModel):
    """Every cell's comparison and the whole sample's, with what the numbers mean."""

    model_config = ConfigDict(frozen=True)
    question: str | None
    options: list[str]
    ordered: bool
    option_values: list[float]
    overall: CellComparison
    cells: list[CellComparison]
    no_persona_given: bool
    notes: list[str] = []


def _summary(data: CellData, options: list[str]) -> DistributionSummary:
    return DistributionSummary(shares=dict(zip(options, map(float, data.shares), strict=True)), n=data.n,
                               mean=data.mean, sd=data.sd, counts_reconstructed=data.reconstructed)


def _baseline_summary(shares: np.ndarray, ds: SimulationExperimentDataset) -> DistributionSummary:
    options = ds.options or []
    mean = sd = None
    if ds.ordered:
        mean = float(shares @ ds.values)
        sd = float(np.sqrt(shares @ (ds.values - mean) ** 2))
    return DistributionSummary(shares=dict(zip(options, map(float, shares), strict=True)), mean=mean, sd=sd)


def _no_persona_shares(baseline: NoPersonaBaseline | None, cell: str | None, options: list[str],
                       has_cells: bool) -> Mapping[str, float] | None:
    if baseline is None:
        return None
    if callable(baseline):
        got = baseline(cell)
        if inspect.isawaitable(got):
            raise InvalidArgument("no_persona_baseline returned an awaitable; give a sync function (or its shares)")
        return got
    flat = all(not isinstance(v, Mapping) for v in baseline.values())
    if flat:
        return cast(Mapping[str, float], baseline) if cell is None or not has_cells else None
    found = cast(Mapping[str | None, Any], baseline).get(cell)
    return found if isinstance(found, Mapping) else None


def _normalised(shares: Mapping[str, float], options: list[str], where: str) -> np.ndarray:
    matched: dict[str, float] = {}
    for option, share in shares.items():
        found = match_option(option, options)
        if found is None:
            raise InvalidArgument(f"{where}: {option!r} is not one of the options {options}")
        matched[found] = share
    checked = check_shares(matched, options, where)
    arr = np.array([checked.get(o, 0.0) for o in options], dtype=float)
    return arr / arr.sum()


def _against(name: Literal["uniform", "no_persona"], shares: np.ndarray, real: CellData, simulated_distance:
             DistributionDistance, ds: SimulationExperimentDataset) -> BaselineComparison:
    values = ds.values if ds.ordered else None
    d = distances(real.shares, shares, values=values)
    closer = {m: (simulated_distance.get(m) or 0.0) < (d.get(m) or 0.0)
              for m in METRICS if d.get(m) is not None}
    return BaselineComparison(baseline=name, distribution=_baseline_summary(shares, ds), distance=d,
                              simulated_closer=closer)


def _tests(real: CellData, sim: CellData, ds: SimulationExperimentDataset, alpha: float,
           notes: list[str]) -> tuple[StatisticalTestResult | None, StatisticalTestResult | None]:
    if not ds.ordered:
        notes.append("options are unordered: no mean, sd, t, KS or Wasserstein distance")
        return None, None
    a, b = real.samples(ds.values), sim.samples(ds.values)
    if a is None or b is None:
        notes.append("no sample size for the shares: t and KS tests need counts, so none were run")
        return None, None
    if real.reconstructed or sim.reconstructed:
        notes.append("tests on counts reconstructed from shares × sample size")
    if min(a.size, b.size) == 0:  # a small cell's shares × n can round to no answer at all
        notes.append("no answers on one side once shares × sample size are rounded: no t or KS test")
        return None, None
    welch = welch_t_test(a, b, alpha) if min(a.size, b.size) >= 2 else None
    if welch is None:
        notes.append("fewer than 2 answers on one side: no t-test")
    return welch, ks_test(a, b, alpha)


def compare_cell(real_ds: SimulationExperimentDataset, sim_ds: SimulationExperimentDataset, cell: str | None, *,
                 no_persona_baseline: NoPersonaBaseline | None = None, alpha: float = 0.05) -> CellComparison | None:
    """The comparison of one cell (None: the whole sample); None when either side has no answers there."""
    real, sim = real_ds.cell_data(cell), sim_ds.cell_data(cell)
    if real is None or sim is None:
        return None
    options = real_ds.options or []
    notes: list[str] = []
    d = distances(real.shares, sim.shares, values=real_ds.values if real_ds.ordered else None)
    welch, ks = _tests(real, sim, real_ds, alpha, notes)
    uniform = np.full(len(options), 1 / len(options))
    baselines = [_against("uniform", uniform, real, d, real_ds)]
    where = f"no-persona baseline of {'the whole sample' if cell is None else f'cell {cell!r}'}"
    try:
        shares = _no_persona_shares(no_persona_baseline, cell, options, bool(real_ds.cells()))
        if shares is not None:
            baselines.append(_against("no_persona", _normalised(shares, options, where), real, d, real_ds))
        else:
            notes.append(f"{where}: not given")
    except InvalidArgument:
        raise  # shares naming no option, or not summing to 1: the caller's input to fix, not a note
    except Exception as exc:  # the baseline's model call failing keeps the cell's other results
        logger.warning("%s failed: %s", where, exc)
        notes.append(f"{where} failed: {type(exc).__name__}: {exc}")
    return CellComparison(cell=cell, real=_summary(real, options), simulated=_summary(sim, options), distance=d,
                          welch_t=welch, ks=ks, baselines=baselines, notes=notes)


def check_same_question(real: SimulationExperimentDataset, simulated: SimulationExperimentDataset) -> None:
    """Both datasets answer the same question: the same options, in the same order.

    Raises:
        InvalidArgument: naming both datasets and how their options differ.
    """
    a, b = real.options or [], simulated.options or []
    if a != b:
        only_a, only_b = [o for o in a if o not in b], [o for o in b if o not in a]
        detail = f"only in {real.name!r}: {only_a}; only in {simulated.name!r}: {only_b}" if only_a or only_b \
            else "the same options in another order"
        raise InvalidArgument(f"datasets {real.name!r} and {simulated.name!r} answer different questions ({detail})")
    if real.ordered != simulated.ordered or list(real.values) != list(simulated.values):
        raise InvalidArgument(f"datasets {real.name!r} and {simulated.name!r} differ in ordered/option_values")


def compare_datasets(real: SimulationExperimentDataset, simulated: SimulationExperimentDataset, *,
                     no_persona_baseline: NoPersonaBaseline | None = None,
                     alpha: float = 0.05) -> DistributionValidation:
    """Compare the simulated answers with the real ones, per cell and for the whole sample.

    Raises:
        InvalidArgument: the datasets hold no answers, answer different questions, share no cell, or
            a no-persona baseline names an unknown option or does not sum to 1.
    """
    if not (real.has_distribution() and simulated.has_distribution()):
        raise InvalidArgument("both datasets need answers to the question (responses or option_shares)")
    check_same_question(real, simulated)
    overall = compare_cell(real, simulated, None, no_persona_baseline=no_persona_baseline, alpha=alpha)
    if overall is None:
        raise InvalidArgument(f"no whole-sample distribution in {real.name!r} or {simulated.name!r}: shares per "
                              f"cell need a sample size (n) each, or a row for the whole sample")
    real_cells, sim_cells = real.cells(), simulated.cells()
    notes = [f"cell {c!r} has no simulated answers" for c in real_cells if c not in sim_cells]
    notes += [f"cell {c!r} has no real answers" for c in sim_cells if c not in real_cells]
    cells = [c for c in (compare_cell(real, simulated, cell, no_persona_baseline=no_persona_baseline, alpha=alpha)
                         for cell in real_cells if cell in sim_cells) if c is not None]
    return DistributionValidation(question=real.question or simulated.question, options=list(real.options or []),
                                  ordered=real.ordered, option_values=[float(v) for v in real.values],
                                  overall=overall, cells=cells, no_persona_given=no_persona_baseline is not None,
                                  notes=notes)


__all__ = ["BaselineComparison", "CellComparison", "DistributionSummary", "DistributionValidation",
           "NoPersonaBaseline", "check_same_question", "compare_cell", "compare_datasets"]
