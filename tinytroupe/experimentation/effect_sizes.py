"""Effect sizes with confidence intervals: Cohen's d, Hedges' g, paired d, rank-biserial r, eta², Cramér's V.

Every effect is a :class:`EffectSize` (value, interval, the interval's method). Differences are
*treatment minus control*: ``cohen_d(control, treatment)`` is positive when the treatment's mean is
higher, as in TinyTroupe. Intervals are analytic where a standard formula exists (d, g, paired d: the
normal approximation of Hedges & Olkin, 1985) and a percentile bootstrap otherwise, drawn from a
numpy ``Generator`` seeded by ``seed`` so the same data give the same interval.

Example:
    >>> round(cohen_d([1, 2, 3], [3, 4, 5]), 6)
    2.0
    >>> g = hedges_g([1, 2, 3], [3, 4, 5])
    >>> round(g.value, 6), g.ci_low < g.value < g.ci_high
    (1.6, True)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict
from scipy import special, stats

from tinytroupe.errors import InvalidArgument

Samples = Sequence[float] | npt.NDArray[Any]
DEFAULT_RESAMPLES = 2000


class EffectSize(BaseModel):
    """An effect size and its confidence interval.

    ``ci_method`` says how the interval was made (``"analytic: ..."`` or ``"bootstrap: ..."``, with the
    resamples and seed); ``ci_low``/``ci_high`` are None only where no interval exists (a single
    observation) and NaN where the data leave it undefined (every value equal).
    """

    model_config = ConfigDict(frozen=True)

    name: str
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    confidence_level: float = 0.95
    ci_method: str = ""

    def __float__(self) -> float:
        return self.value


def _array(values: Samples, what: str) -> npt.NDArray[np.float64]:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidArgument(f"{what} must be a non-empty list of numbers, got shape {arr.shape}")
    return arr


def _check_level(confidence_level: float) -> float:
    if not 0 < confidence_level < 1:
        raise InvalidArgument(f"confidence_level must be between 0 and 1, got {confidence_level}")
    return confidence_level


def _pooled_sd(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> float:
    nx, ny = x.size, y.size
    if nx + ny < 3:
        return math.nan
    return math.sqrt(((nx - 1) * x.var(ddof=1 if nx > 1 else 0) + (ny - 1) * y.var(ddof=1 if ny > 1 else 0))
                     / (nx + ny - 2))


def cohen_d(x: Samples, y: Samples) -> float:
    """Cohen's d of two independent samples: ``(mean(y) - mean(x)) / pooled sd`` (TinyTroupe's sign).

    NaN when the pooled standard deviation is zero (every value equal): the effect is undefined, not 0.

    Example:
        >>> cohen_d([1, 2, 3], [4, 5, 6])
        3.0
    """
    xa, ya = _array(x, "x"), _array(y, "y")
    sd = _pooled_sd(xa, ya)
    if not sd:  # 0 or NaN
        return math.nan
    return float((ya.mean() - xa.mean()) / sd)


def _normal_ci(value: float, se: float, level: float) -> tuple[float, float]:
    z = float(special.ndtri(0.5 + level / 2))  # the standard normal quantile
    return value - z * se, value + z * se


def cohen_d_ci(x: Samples, y: Samples, *, confidence_level: float = 0.95) -> EffectSize:
    """Cohen's d with its analytic interval (se² = (n₁+n₂)/(n₁n₂) + d²/(2(n₁+n₂)), Hedges & Olkin 1985).

    Example:
        >>> d = cohen_d_ci([1, 2, 3], [3, 4, 5])
        >>> d.value, round(d.ci_low, 3), round(d.ci_high, 3)
        (2.0, 0.04, 3.96)
    """
    level = _check_level(confidence_level)
    xa, ya = _array(x, "x"), _array(y, "y")
    d = cohen_d(xa, ya)
    n1, n2 = xa.size, ya.size
    se = math.sqrt((n1 + n2) / (n1 * n2) + d * d / (2 * (n1 + n2))) if math.isfinite(d) else math.nan
    low, high = _normal_ci(d, se, level)
    return EffectSize(name="cohen_d", value=d, ci_low=low, ci_high=high, confidence_level=level,
                      ci_method="analytic: normal approximation (Hedges & Olkin 1985)")


def hedges_g(x: Samples, y: Samples, *, confidence_level: float = 0.95) -> EffectSize:
    """Hedges' g: Cohen's d times the small-sample correction J = 1 − 3/(4(n₁+n₂) − 9); interval J × d's.

    Example:
        >>> round(hedges_g([1, 2, 3], [3, 4, 5]).value, 6)
        1.6
    """
    d = cohen_d_ci(x, y, confidence_level=confidence_level)
    n = _array(x, "x").size + _array(y, "y").size
    j = 1 - 3 / (4 * n - 9) if n > 2 else math.nan
    return EffectSize(name="hedges_g", value=j * d.value, ci_low=j * (d.ci_low or math.nan),
                      ci_high=j * (d.ci_high or math.nan), confidence_level=d.confidence_level,
                      ci_method="analytic: Cohen's d interval times the correction J (Hedges & Olkin 1985)")


def paired_cohen_d(x: Samples, y: Samples, *, confidence_level: float = 0.95) -> EffectSize:
    """Cohen's d_z of paired samples: mean(y − x) / sd(y − x); interval se² = 1/n + d²/(2n).

    Example:
        >>> paired_cohen_d([1, 2, 3], [2, 4, 6]).value
        2.0
    """
    level = _check_level(confidence_level)
    xa, ya = _array(x, "x"), _array(y, "y")
    if xa.size != ya.size:
        raise InvalidArgument(f"paired samples need the same length, got {xa.size} and {ya.size}")
    diff = ya - xa
    n = diff.size
    sd = float(diff.std(ddof=1)) if n > 1 else math.nan
    dz = float(diff.mean() / sd) if sd else math.nan
    se = math.sqrt(1 / n + dz * dz / (2 * n)) if math.isfinite(dz) else math.nan
    low, high = _normal_ci(dz, se, level)
    return EffectSize(name="cohen_dz", value=dz, ci_low=low, ci_high=high, confidence_level=level,
                      ci_method="analytic: normal approximation for paired d")


def _generator(seed: int | np.random.Generator) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _bootstrap(statistic: Callable[..., Any], samples: tuple[npt.NDArray[np.float64], ...], level: float,
               n_resamples: int, seed: int | np.random.Generator) -> tuple[float, float]:
    if min(s.size for s in samples) < 2:
        return math.nan, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # degenerate resamples give NaN bounds, which we report as such
        res = stats.bootstrap(samples, statistic, vectorized=True, n_resamples=n_resamples,
                              confidence_level=level, method="percentile", rng=_generator(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def _boot_method(n_resamples: int, seed: int | np.random.Generator) -> str:
    which = f"seed {seed}" if isinstance(seed, int) else "the given Generator"
    return f"bootstrap: percentile, {n_resamples} resamples, {which}"


def _rank_biserial_stat(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], axis: int = -1) -> Any:
    u = stats.mannwhitneyu(y, x, axis=axis, alternative="two-sided").statistic
    return 2 * u / (x.shape[axis] * y.shape[axis]) - 1


def rank_biserial(x: Samples, y: Samples, *, confidence_level: float = 0.95, n_resamples: int = DEFAULT_RESAMPLES,
                  seed: int | np.random.Generator = 0) -> EffectSize:
    """The rank-biserial correlation of a Mann-Whitney U test: 2·U_y/(n₁n₂) − 1, from −1 to 1.

    Positive when values of ``y`` (the treatment) tend to be larger: P(y > x) − P(y < x).

    Example:
        >>> rank_biserial([1, 2, 3], [4, 5, 6]).value
        1.0
    """
    level = _check_level(confidence_level)
    xa, ya = _array(x, "x"), _array(y, "y")
    value = float(_rank_biserial_stat(xa, ya))
    low, high = _bootstrap(_rank_biserial_stat, (xa, ya), level, n_resamples, seed)
    return EffectSize(name="rank_biserial", value=value, ci_low=low, ci_high=high, confidence_level=level,
                      ci_method=_boot_method(n_resamples, seed))


def _eta_squared_stat(*groups: npt.NDArray[np.float64], axis: int = -1) -> Any:
    every = np.concatenate(groups, axis=axis)
    grand = every.mean(axis=axis, keepdims=True)
    ss_total = ((every - grand) ** 2).sum(axis=axis)
    ss_between = sum(g.shape[axis] * (g.mean(axis=axis) - grand.squeeze(axis)) ** 2 for g in groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ss_between / ss_total


def eta_squared(*groups: Samples, confidence_level: float = 0.95, n_resamples: int = DEFAULT_RESAMPLES,
                seed: int | np.random.Generator = 0) -> EffectSize:
    """Eta squared of a one-way ANOVA: SS_between / SS_total (each group resampled on its own for the interval).

    Example:
        >>> round(eta_squared([1, 2, 3], [4, 5, 6], [7, 8, 9]).value, 6)
        0.9
    """
    level = _check_level(confidence_level)
    if len(groups) < 2:
        raise InvalidArgument(f"eta squared needs at least two groups, got {len(groups)}")
    arrays = tuple(_array(g, f"group {i + 1}") for i, g in enumerate(groups))
    value = float(_eta_squared_stat(*arrays))
    low, high = _bootstrap(_eta_squared_stat, arrays, level, n_resamples, seed)
    return EffectSize(name="eta_squared", value=value, ci_low=low, ci_high=high, confidence_level=level,
                      ci_method=_boot_method(n_resamples, seed))


def _cramers_v_many(tables: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Cramér's V (no continuity correction) of each table in a stack of shape (k, rows, cols)."""
    n = tables.sum(axis=(1, 2))
    expected = tables.sum(axis=2, keepdims=True) * tables.sum(axis=1, keepdims=True) / n[:, None, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        # a row or column left empty by a resample adds nothing (0/0): nansum skips it
        chi2 = np.nansum(np.where(expected > 0, (tables - expected) ** 2 / expected, np.nan), axis=(1, 2))
        return np.asarray(np.sqrt(chi2 / (n * (min(tables.shape[1:]) - 1))), dtype=float)


def cramers_v(table: Sequence[Sequence[float]] | npt.NDArray[Any], *, confidence_level: float = 0.95,
              n_resamples: int = DEFAULT_RESAMPLES, seed: int | np.random.Generator = 0) -> EffectSize:
    """Cramér's V of a contingency table: √(χ² / (n·(min(rows, cols) − 1))), χ² without continuity correction.

    The interval resamples the table's n answers from its observed cell shares (multinomial).

    Example:
        >>> cramers_v([[20, 30], [30, 20]]).value
        0.2
    """
    level = _check_level(confidence_level)
    counts = np.asarray(table, dtype=float)
    if counts.ndim != 2 or min(counts.shape) < 2 or (counts < 0).any() or counts.sum() <= 0:
        raise InvalidArgument(f"Cramér's V needs a table of non-negative counts, at least 2×2, got {counts.shape}")
    value = float(_cramers_v_many(counts[None, :, :])[0])
    rng = _generator(seed)
    n = round(counts.sum())
    draws = rng.multinomial(n, (counts / counts.sum()).ravel(), size=n_resamples).reshape(-1, *counts.shape)
    boot = _cramers_v_many(draws.astype(float))
    tail = (1 - level) / 2
    low, high = (float(q) for q in np.nanquantile(boot, [tail, 1 - tail]))
    return EffectSize(name="cramers_v", value=value, ci_low=low, ci_high=high, confidence_level=level,
                      ci_method=_boot_method(n_resamples, seed).replace("percentile", "percentile (multinomial)"))


__all__ = ["DEFAULT_RESAMPLES", "EffectSize", "cohen_d", "cohen_d_ci", "cramers_v", "eta_squared", "hedges_g",
           "paired_cohen_d", "rank_biserial"]
