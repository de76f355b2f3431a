"""``StatisticalTester``: one control against one or more treatments, metric by metric, on scipy.stats.

The data shapes are TinyTroupe's: the control is ``{control_name: {metric: [values]}}`` (exactly one
entry), the treatments ``{treatment_name: {metric: [values]}}``; with ``results_key`` each entry holds
its metrics one level down (``{name: {"results": {metric: [values]}}}``, as
:class:`~tinytroupe.experimentation.InPlaceExperimentRunner` stores them).

Where we differ on purpose: results are :class:`~tinytroupe.experimentation.StatisticalTestResult`
models (indexable like TinyTroupe's dicts), signs are treatment minus control everywhere, effect
sizes carry confidence intervals, a zero-variance Cohen's d is NaN (not 0), missing values (None)
are dropped and counted in the result's notes, and a value that is not a number is an error naming
the experiment, metric and position. ``paired_t_test`` is added to TinyTroupe's tests, and
:meth:`StatisticalTester.anova` runs one ANOVA over the control and every treatment together.

Example:
    >>> tester = StatisticalTester({"control": {"rating": [5, 6, 7, 6, 5]}},
    ...                            {"treatment": {"rating": [7, 8, 9, 8, 7]}})
    >>> r = tester.run_test("welch_t_test")["treatment"]["rating"]
    >>> r.mean_difference, r.significant, round(r.effect_size.value, 3)
    (2.0, True, 2.39)
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict
from scipy import stats

from tinytroupe.errors import InvalidArgument, InvalidArgumentType, NotFound
from tinytroupe.experimentation import hypothesis_tests as ht
from tinytroupe.experimentation.hypothesis_tests import StatisticalTestResult

logger = logging.getLogger(__name__)

TEST_TYPES = ("t_test", "welch_t_test", "paired_t_test", "mann_whitney", "anova", "chi_square", "ks_test")
ExperimentData = Mapping[str, Mapping[str, Any]]


class NormalityCheck(BaseModel):
    """The Shapiro-Wilk test of one sample (None where the sample is too small, under 3 values)."""

    model_config = ConfigDict(frozen=True)
    test: str = "Shapiro-Wilk"
    statistic: float | None
    p_value: float | None
    normal: bool | None


class AssumptionCheck(BaseModel):
    """Normality of both samples, equality of their variances (Levene), and the test they suggest."""

    model_config = ConfigDict(frozen=True)
    control_normality: NormalityCheck
    treatment_normality: NormalityCheck
    levene_statistic: float
    levene_p_value: float
    equal_variance: bool
    recommended_test: str


def _unwrap(data: ExperimentData, results_key: str | None, what: str) -> dict[str, dict[str, list[Any]]]:
    if not isinstance(data, Mapping):
        raise InvalidArgumentType(f"{what} must be a dict of experiment name to {{metric: [values]}}, "
                                  f"got {type(data).__name__}")
    out: dict[str, dict[str, list[Any]]] = {}
    for name, entry in data.items():
        if results_key is not None:
            if not isinstance(entry, Mapping) or results_key not in entry:
                raise InvalidArgument(f"{what}: experiment {name!r} has no {results_key!r} entry "
                                      f"(results_key={results_key!r})")
            entry = entry[results_key]
        if not isinstance(entry, Mapping) or not entry:
            raise InvalidArgument(f"{what}: experiment {name!r} must map metric names to lists of values, "
                                  f"got {entry!r}")
        metrics: dict[str, list[Any]] = {}
        for metric, values in entry.items():
            if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray):
                raise InvalidArgumentType(f"{what}: values of metric {metric!r} in experiment {name!r} must be "
                                          f"a list, got {type(values).__name__}")
            metrics[str(metric)] = list(values)
        out[str(name)] = metrics
    return out


class StatisticalTester:
    """Tests of a control against treatments, metric by metric.

    Args:
        control_experiment_data: ``{control_name: {metric: [values]}}``, exactly one experiment.
        treatments_experiment_data: ``{treatment_name: {metric: [values]}}``, one or more.
        results_key: the key under which each experiment keeps its metrics, if one level down.

    Raises:
        InvalidArgument: no control, more than one, no treatments, or an experiment without metrics.
        InvalidArgumentType: data that are not dicts of lists.
    """

    def __init__(self, control_experiment_data: ExperimentData, treatments_experiment_data: ExperimentData,
                 results_key: str | None = None) -> None:
        control = _unwrap(control_experiment_data, results_key, "control_experiment_data")
        treatments = _unwrap(treatments_experiment_data, results_key, "treatments_experiment_data")
        if len(control) != 1:
            raise InvalidArgument(f"control_experiment_data must hold exactly one experiment, got {len(control)}: "
                                  f"{list(control)}")
        if not treatments:
            raise InvalidArgument("treatments_experiment_data holds no experiment; give at least one treatment")
        self.control_experiment_data = control
        self.treatments_experiment_data = treatments
        self.control_name, self.control_metrics = next(iter(control.items()))
        #: metrics skipped by the last run_test, per treatment, with why
        self.skipped: dict[str, dict[str, str]] = {}
        for name, metrics in treatments.items():
            if not set(metrics) & set(self.control_metrics):
                logger.warning("treatment %r has no metric in common with control %r", name, self.control_name)

    def run_test(self, test_type: str = "welch_t_test", alpha: float = 0.05,
                 **kwargs: Any) -> dict[str, dict[str, StatisticalTestResult]]:
        """Run ``test_type`` on every metric the control and each treatment share.

        Args:
            test_type: one of ``t_test``, ``welch_t_test``, ``paired_t_test``, ``mann_whitney``, ``anova``
                (control against each treatment), ``chi_square``, ``ks_test``.
            alpha: the significance level; intervals are at ``1 - alpha``.
            **kwargs: passed to the test: ``seed`` and ``n_resamples`` for bootstrap intervals,
                ``data`` (``"counts"`` or ``"raw"``) and ``correction`` for chi-square.

        Returns:
            ``{treatment: {metric: StatisticalTestResult}}``. A metric missing from a treatment, or
            with no values on one side, is left out and listed in :attr:`skipped` with the reason.

        Raises:
            InvalidArgument: an unknown test, ``alpha`` outside (0, 1), or data the test cannot use
                (a paired test of unequal lengths, a non-number, too few values), naming the metric.
        """
        test = self._test(test_type, alpha)
        kwargs = _accepted(ht.anova if test_type == "anova" else test, kwargs, test_type)
        results: dict[str, dict[str, StatisticalTestResult]] = {}
        self.skipped = {}
        for treatment, metrics in self.treatments_experiment_data.items():
            results[treatment] = {}
            for metric, control_values in self.control_metrics.items():
                why = self._skip_reason(metric, control_values, metrics)
                if why:
                    self.skipped.setdefault(treatment, {})[metric] = why
                    logger.warning("treatment %r, metric %r skipped: %s", treatment, metric, why)
                    continue
                results[treatment][metric] = self._one(test, control_values, metrics[metric], alpha, kwargs,
                                                       where=f"treatment {treatment!r}, metric {metric!r}")
        return results

    def anova(self, metric: str, alpha: float = 0.05, **kwargs: Any) -> StatisticalTestResult:
        """One ANOVA over the control and every treatment that has ``metric`` (TinyTroupe's runs one per pair).

        Raises:
            NotFound: the control has no such metric.
        """
        if metric not in self.control_metrics:
            raise NotFound(f"metric {metric!r} not in control {self.control_name!r}: {list(self.control_metrics)}")
        groups = {self.control_name: self.control_metrics[metric]}
        groups.update({name: m[metric] for name, m in self.treatments_experiment_data.items() if metric in m})
        return ht.anova(groups, self._alpha(alpha), **_accepted(ht.anova, kwargs, "anova"))

    def check_assumptions(self, metric: str) -> dict[str, AssumptionCheck]:
        """Shapiro-Wilk normality of each sample and Levene's equal variances, per treatment, and the
        test they recommend (t_test, welch_t_test or mann_whitney).

        Raises:
            NotFound: the control has no such metric.
        """
        if metric not in self.control_metrics:
            raise NotFound(f"metric {metric!r} not in control {self.control_name!r}: {list(self.control_metrics)}")
        control = ht.numbers(self.control_metrics[metric], f"{self.control_name}.{metric}")
        control_normal = _normality(control)
        checks: dict[str, AssumptionCheck] = {}
        for name, metrics in self.treatments_experiment_data.items():
            if metric not in metrics:
                continue
            treatment = ht.numbers(metrics[metric], f"{name}.{metric}")
            treatment_normal = _normality(treatment)
            levene = stats.levene(control, treatment)
            equal = bool(levene.pvalue >= 0.05)
            both_normal = bool(control_normal.normal) and bool(treatment_normal.normal)
            recommended = ("t_test" if equal else "welch_t_test") if both_normal else "mann_whitney"
            checks[name] = AssumptionCheck(control_normality=control_normal, treatment_normality=treatment_normal,
                                           levene_statistic=float(levene.statistic),
                                           levene_p_value=float(levene.pvalue), equal_variance=equal,
                                           recommended_test=recommended)
        return checks

    # -- helpers ----------------------------------------------------------------------------------

    @staticmethod
    def _alpha(alpha: float) -> float:
        if not 0 < alpha < 1:
            raise InvalidArgument(f"alpha must be between 0 and 1, got {alpha}")
        return alpha

    def _test(self, test_type: str, alpha: float) -> Callable[..., StatisticalTestResult]:
        self._alpha(alpha)
        if test_type not in TEST_TYPES:
            raise InvalidArgument(f"unknown test_type {test_type!r}; use one of {', '.join(TEST_TYPES)}")
        if test_type == "anova":
            return lambda c, t, a, **kw: ht.anova({self.control_name: c, "treatment": t}, a, **kw)
        fn: Callable[..., StatisticalTestResult] = getattr(ht, test_type)
        return fn

    @staticmethod
    def _skip_reason(metric: str, control_values: list[Any], metrics: Mapping[str, list[Any]]) -> str | None:
        if metric not in metrics:
            return "not measured in this treatment"
        if not any(v is not None for v in control_values):
            return "no control values"
        if not any(v is not None for v in metrics[metric]):
            return "no treatment values"
        return None

    @staticmethod
    def _one(test: Callable[..., StatisticalTestResult], control: list[Any], treatment: list[Any], alpha: float,
             kwargs: dict[str, Any], *, where: str) -> StatisticalTestResult:
        try:
            result = test(control, treatment, alpha, **kwargs)
        except InvalidArgument as exc:
            raise InvalidArgument(f"{where}: {exc}") from exc
        missing = sum(v is None for v in control) + sum(v is None for v in treatment)
        if missing:
            result = result.model_copy(update={"notes": [*result.notes, f"{missing} missing values (None) dropped"]})
        return result


#: keyword arguments some test takes; a test is given only those it takes
_TEST_OPTIONS = ("seed", "n_resamples", "data", "correction")


def _accepted(fn: Callable[..., Any], kwargs: dict[str, Any], test_type: str) -> dict[str, Any]:
    unknown = sorted(set(kwargs) - set(_TEST_OPTIONS))
    if unknown:
        raise InvalidArgument(f"unknown test options {unknown}; tests take {', '.join(_TEST_OPTIONS)}")
    params = inspect.signature(fn).parameters
    ignored = sorted(k for k in kwargs if k not in params)
    if ignored:
        logger.info("%s does not use %s", test_type, ", ".join(ignored))
    return {k: v for k, v in kwargs.items() if k in params}


def _normality(values: np.ndarray) -> NormalityCheck:
    if values.size < 3 or np.ptp(values) == 0:
        return NormalityCheck(statistic=None, p_value=None, normal=None)
    res = stats.shapiro(values)
    return NormalityCheck(statistic=float(res.statistic), p_value=float(res.pvalue), normal=bool(res.pvalue >= 0.05))


__all__ = ["TEST_TYPES", "AssumptionCheck", "NormalityCheck", "StatisticalTester"]
