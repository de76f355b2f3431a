"""The hypothesis tests behind :class:`~tinytroupe.experimentation.StatisticalTester`, each on scipy.stats.

One function per test, each comparing a control sample with a treatment sample and returning a
:class:`StatisticalTestResult`. Signs follow *treatment minus control* throughout: the t statistic,
the mean difference, its interval and the effect size all point the same way (TinyTroupe's t had the
opposite sign of its mean difference).

Example:
    >>> r = welch_t_test([1.0, 2.0, 3.0, 4.0], [3.0, 4.0, 5.0, 7.0])
    >>> r.statistic_name, r.mean_difference, r.significant
    ('t', 2.25, False)
    >>> r["p_value"] == r.p_value  # TinyTroupe's dict-style access works too
    True
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict
from scipy import stats

from tinytroupe.errors import InvalidArgument, NotFound
from tinytroupe.experimentation.effect_sizes import (
    DEFAULT_RESAMPLES,
    EffectSize,
    cohen_d_ci,
    cramers_v,
    eta_squared,
    paired_cohen_d,
    rank_biserial,
)

Values = Sequence[Any] | npt.NDArray[Any]
#: TinyTroupe's result keys for the statistic, by test
_STAT_KEYS = {"t": "t_statistic", "U": "u_statistic", "F": "f_statistic", "chi2": "chi2_statistic",
              "D": "ks_statistic"}


class StatisticalTestResult(BaseModel):
    """One test of one metric: a treatment against the control.

    ``statistic`` is named by ``statistic_name`` (t, U, F, chi2 or D); ``confidence_interval`` is the
    interval of ``mean_difference`` (t tests) and None for the others; ``effect_size`` carries its own
    interval. Indexing (``result["p_value"]``, ``result["t_statistic"]``, ``result["effect_size"]``)
    gives TinyTroupe's dict keys; ``result["effect_size"]`` is the effect's value as a float.
    """

    model_config = ConfigDict(frozen=True)

    test_type: str
    test_name: str
    statistic_name: str
    statistic: float
    p_value: float
    significant: bool
    alpha: float
    confidence_level: float
    degrees_of_freedom: float | None = None
    control_sample_size: int
    treatment_sample_size: int
    control_mean: float | None = None
    treatment_mean: float | None = None
    control_std: float | None = None
    treatment_std: float | None = None
    control_median: float | None = None
    treatment_median: float | None = None
    mean_difference: float | None = None
    percent_change: float | None = None
    confidence_interval: tuple[float, float] | None = None
    effect_size: EffectSize | None = None
    notes: list[str] = []

    def __getitem__(self, key: str) -> Any:
        if key == _STAT_KEYS.get(self.statistic_name):
            return self.statistic
        if key == "effect_size":
            return None if self.effect_size is None else self.effect_size.value
        if key == "effect_size_type":
            return None if self.effect_size is None else self.effect_size.name
        if key in type(self).model_fields:
            return getattr(self, key)
        raise NotFound(f"no result field {key!r}; fields: {', '.join(type(self).model_fields)}")


def numbers(values: Values, what: str) -> npt.NDArray[np.float64]:
    """``values`` as floats, missing ones (None, NaN) dropped; an error names the first non-number."""
    kept: list[float] = []
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
            raise InvalidArgument(f"{what}[{i}] is {v!r}, not a number; give numbers (None for a missing value)")
        kept.append(float(v))
    return np.asarray(kept, dtype=float)


def _need(arr: npt.NDArray[np.float64], at_least: int, what: str, test: str) -> None:
    if arr.size < at_least:
        raise InvalidArgument(f"{test} needs at least {at_least} values in {what}, got {arr.size}")


def _describe(control: npt.NDArray[np.float64], treatment: npt.NDArray[np.float64]) -> dict[str, Any]:
    cm, tm = float(control.mean()), float(treatment.mean())
    return {"control_sample_size": control.size, "treatment_sample_size": treatment.size,
            "control_mean": cm, "treatment_mean": tm,
            "control_std": float(control.std(ddof=1)) if control.size > 1 else None,
            "treatment_std": float(treatment.std(ddof=1)) if treatment.size > 1 else None,
            "control_median": float(np.median(control)), "treatment_median": float(np.median(treatment)),
            "mean_difference": tm - cm, "percent_change": (tm - cm) / cm * 100 if cm else None}


def _t_test(control: Values, treatment: Values, alpha: float, *, kind: str) -> StatisticalTestResult:
    names = {"t_test": "Student t-test (equal variances)", "welch_t_test": "Welch t-test (unequal variances)",
             "paired_t_test": "paired t-test"}
    c, t = numbers(control, "control"), numbers(treatment, "treatment")
    _need(c, 2, "control", names[kind])
    _need(t, 2, "treatment", names[kind])
    if kind == "paired_t_test" and c.size != t.size:
        raise InvalidArgument(f"a paired t-test needs as many control as treatment values, got {c.size} "
                              f"and {t.size} (after dropping missing ones)")
    notes = [f"no spread in the {side} values (all equal): the t statistic is unreliable"
             for side, arr in (("control", c), ("treatment", t)) if np.ptp(arr) == 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy's precision warning is said in the notes
        if kind == "paired_t_test":
            res = stats.ttest_rel(t, c)
            effect = paired_cohen_d(c, t, confidence_level=1 - alpha)
        else:
            res = stats.ttest_ind(t, c, equal_var=kind == "t_test")
            effect = cohen_d_ci(c, t, confidence_level=1 - alpha)
        ci = res.confidence_interval(confidence_level=1 - alpha)
    return StatisticalTestResult(
        test_type=kind, test_name=names[kind], statistic_name="t", statistic=float(res.statistic),
        p_value=float(res.pvalue), significant=bool(res.pvalue < alpha), alpha=alpha, confidence_level=1 - alpha,
        degrees_of_freedom=float(res.df), confidence_interval=(float(ci.low), float(ci.high)), effect_size=effect,
        notes=notes, **_describe(c, t))


def t_test(control: Values, treatment: Values, alpha: float = 0.05) -> StatisticalTestResult:
    """Student's t-test of two independent samples (equal variances assumed): ``scipy.stats.ttest_ind``."""
    return _t_test(control, treatment, alpha, kind="t_test")


def welch_t_test(control: Values, treatment: Values, alpha: float = 0.05) -> StatisticalTestResult:
    """Welch's t-test (``ttest_ind(equal_var=False)``) with the interval of the mean difference and Cohen's d."""
    return _t_test(control, treatment, alpha, kind="welch_t_test")


def paired_t_test(control: Values, treatment: Values, alpha: float = 0.05) -> StatisticalTestResult:
    """The paired t-test (``scipy.stats.ttest_rel``): value i of the control pairs with value i of the treatment.

    Example:
        >>> r = paired_t_test([1, 2, 3, 4], [2, 4, 4, 6])
        >>> r.degrees_of_freedom, r.effect_size.name
        (3.0, 'cohen_dz')
    """
    return _t_test(control, treatment, alpha, kind="paired_t_test")


def mann_whitney(control: Values, treatment: Values, alpha: float = 0.05, *,
                 n_resamples: int = DEFAULT_RESAMPLES, seed: int | np.random.Generator = 0) -> StatisticalTestResult:
    """The Mann-Whitney U test (two-sided); U is the treatment's, the effect the rank-biserial correlation.

    Example:
        >>> r = mann_whitney([1, 2, 3], [4, 5, 6])
        >>> r.statistic, round(r.p_value, 6), r.effect_size.value
        (9.0, 0.1, 1.0)
    """
    c, t = numbers(control, "control"), numbers(treatment, "treatment")
    _need(c, 1, "control", "the Mann-Whitney U test")
    _need(t, 1, "treatment", "the Mann-Whitney U test")
    res = stats.mannwhitneyu(t, c, alternative="two-sided")
    effect = rank_biserial(c, t, confidence_level=1 - alpha, n_resamples=n_resamples, seed=seed)
    return StatisticalTestResult(
        test_type="mann_whitney", test_name="Mann-Whitney U test", statistic_name="U",
        statistic=float(res.statistic), p_value=float(res.pvalue), significant=bool(res.pvalue < alpha),
        alpha=alpha, confidence_level=1 - alpha, effect_size=effect, **_describe(c, t))


def anova(groups: Mapping[str, Values], alpha: float = 0.05, *, n_resamples: int = DEFAULT_RESAMPLES,
          seed: int | np.random.Generator = 0) -> StatisticalTestResult:
    """One-way ANOVA (``scipy.stats.f_oneway``) over two or more named groups, with eta².

    The first group is reported as the control, the second as the treatment (sizes, means), the rest
    only count in F and eta².

    Example:
        >>> r = anova({"a": [1, 2, 3], "b": [4, 5, 6], "c": [7, 8, 9]})
        >>> r.statistic, r.degrees_of_freedom, round(r.effect_size.value, 6)
        (27.0, 2.0, 0.9)
    """
    arrays = {name: numbers(values, name) for name, values in groups.items()}
    if len(arrays) < 2:
        raise InvalidArgument(f"ANOVA needs at least two groups, got {len(arrays)}")
    for name, arr in arrays.items():
        _need(arr, 2, repr(name), "ANOVA")
    res = stats.f_oneway(*arrays.values())
    effect = eta_squared(*arrays.values(), confidence_level=1 - alpha, n_resamples=n_resamples, seed=seed)
    first, second = list(arrays.values())[:2]
    return StatisticalTestResult(
        test_type="anova", test_name=f"one-way ANOVA ({len(arrays)} groups: {', '.join(arrays)})",
        statistic_name="F", statistic=float(res.statistic), p_value=float(res.pvalue),
        significant=bool(res.pvalue < alpha), alpha=alpha, confidence_level=1 - alpha,
        degrees_of_freedom=float(len(arrays) - 1), effect_size=effect, **_describe(first, second),
        notes=[f"within-groups degrees of freedom: {sum(a.size for a in arrays.values()) - len(arrays)}"])


def _contingency(control: Values, treatment: Values, data: str) -> tuple[npt.NDArray[Any], list[str]]:
    if data == "counts":
        c, t = numbers(control, "control"), numbers(treatment, "treatment")
        if c.size != t.size:
            raise InvalidArgument(f"chi-square on counts needs one count per category in both groups, got "
                                  f"{c.size} and {t.size} categories; pass data='raw' for lists of answers")
        return np.vstack([c, t]), [str(i) for i in range(c.size)]
    if data == "raw":
        cats = sorted({str(v) for v in [*control, *treatment] if v is not None}, key=str)
        table = np.array([[sum(str(v) == k for v in group) for k in cats] for group in (control, treatment)])
        return table.astype(float), cats
    raise InvalidArgument(f"data must be 'counts' or 'raw', got {data!r}")


def chi_square(control: Values, treatment: Values, alpha: float = 0.05, *, data: str = "counts",
               correction: bool = True, n_resamples: int = DEFAULT_RESAMPLES,
               seed: int | np.random.Generator = 0) -> StatisticalTestResult:
    """Chi-square test of independence (``scipy.stats.chi2_contingency``) of a 2×k table, with Cramér's V.

    ``data="counts"`` (TinyTroupe's): each list holds one count per category; ``data="raw"``: each holds
    answers, counted here. ``correction`` is scipy's Yates correction (2×2 tables only); Cramér's V
    uses the uncorrected χ².

    Example:
        >>> r = chi_square([20, 30], [30, 20], correction=False)
        >>> r.statistic, round(r.p_value, 4), r.effect_size.value
        (4.0, 0.0455, 0.2)
    """
    table, cats = _contingency(control, treatment, data)
    empty = [cats[i] for i in np.flatnonzero(table.sum(axis=0) == 0)]
    if empty:
        raise InvalidArgument(f"chi-square: no answers at all in categories {empty}; drop them first")
    res = stats.chi2_contingency(table, correction=correction)
    effect = cramers_v(table, confidence_level=1 - alpha, n_resamples=n_resamples, seed=seed)
    return StatisticalTestResult(
        test_type="chi_square", test_name="chi-square test of independence", statistic_name="chi2",
        statistic=float(res.statistic), p_value=float(res.pvalue), significant=bool(res.pvalue < alpha),
        alpha=alpha, confidence_level=1 - alpha, degrees_of_freedom=float(res.dof),
        control_sample_size=int(table[0].sum()), treatment_sample_size=int(table[1].sum()), effect_size=effect,
        notes=[f"categories: {', '.join(cats)}"])


def ks_test(control: Values, treatment: Values, alpha: float = 0.05) -> StatisticalTestResult:
    """The two-sample Kolmogorov-Smirnov test (``scipy.stats.ks_2samp``); D doubles as the effect size.

    Example:
        >>> r = ks_test([1, 2, 3], [4, 5, 6])
        >>> r.statistic, round(r.p_value, 6)
        (1.0, 0.1)
    """
    c, t = numbers(control, "control"), numbers(treatment, "treatment")
    _need(c, 1, "control", "the KS test")
    _need(t, 1, "treatment", "the KS test")
    res = stats.ks_2samp(t, c)
    effect = EffectSize(name="ks_d", value=float(res.statistic), confidence_level=1 - alpha,
                        ci_method="none: D is the test statistic itself")
    return StatisticalTestResult(
        test_type="ks_test", test_name="two-sample Kolmogorov-Smirnov test", statistic_name="D",
        statistic=float(res.statistic), p_value=float(res.pvalue), significant=bool(res.pvalue < alpha),
        alpha=alpha, confidence_level=1 - alpha, effect_size=effect, **_describe(c, t))


__all__ = ["StatisticalTestResult", "anova", "chi_square", "ks_test", "mann_whitney", "numbers", "paired_t_test",
           "t_test", "welch_t_test"]
