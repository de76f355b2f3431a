"""Distances between two answer distributions over the same options.

* total variation distance: ½ Σ |p − q|, from 0 (same) to 1 (no overlap);
* Wasserstein-1 (earth mover's) over ordered options, ``scipy.stats.wasserstein_distance`` on the
  options' values (1, 2, ... by default): how far, in option steps, answers must move;
* Jensen-Shannon: ``scipy.spatial.distance.jensenshannon`` with base 2 returns the *distance*, from 0
  to 1; its square is the *divergence*, in bits. Both are reported, each under its own name.

Example:
    >>> d = distances([1.0, 0.0, 0.0], [0.0, 0.0, 1.0], values=[1, 2, 3])
    >>> d.tvd, d.wasserstein_1, d.js_distance, d.js_divergence
    (1.0, 2.0, 1.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict
from scipy import stats
from scipy.spatial import distance

from tinytroupe.errors import InvalidArgument

Shares = Sequence[float] | npt.NDArray[np.float64]


class DistributionDistance(BaseModel):
    """How far one distribution is from a reference. ``wasserstein_1`` is None for unordered options."""

    model_config = ConfigDict(frozen=True)
    tvd: float
    wasserstein_1: float | None
    js_distance: float
    js_divergence: float

    def get(self, metric: str) -> float | None:
        """The distance named ``metric`` (``tvd``, ``wasserstein_1``, ``js_distance``, ``js_divergence``)."""
        value: float | None = getattr(self, metric)
        return value


#: the distances compared with the baselines, in report order
METRICS = ("tvd", "wasserstein_1", "js_divergence")


def _probabilities(p: Shares, what: str) -> npt.NDArray[np.float64]:
    arr = np.asarray(p, dtype=float)
    if arr.ndim != 1 or arr.size < 2 or (arr < 0).any() or not np.isfinite(arr).all() or arr.sum() <= 0:
        raise InvalidArgument(f"{what} must be two or more non-negative shares with a positive sum, got {p!r}")
    return arr / arr.sum()


def total_variation_distance(p: Shares, q: Shares) -> float:
    """½ Σ |p − q| of two distributions over the same options.

    Example:
        >>> total_variation_distance([0.5, 0.5], [1.0, 0.0])
        0.5
    """
    a, b = _probabilities(p, "p"), _probabilities(q, "q")
    _same_size(a, b)
    return float(0.5 * np.abs(a - b).sum())


def wasserstein_1(p: Shares, q: Shares, values: Sequence[float] | npt.NDArray[np.float64]) -> float:
    """The earth mover's distance between two distributions over ordered options with these values.

    Example:
        >>> wasserstein_1([0.5, 0.5, 0.0], [0.0, 0.5, 0.5], values=[1, 2, 3])
        1.0
    """
    a, b = _probabilities(p, "p"), _probabilities(q, "q")
    _same_size(a, b)
    v = np.asarray(values, dtype=float)
    if v.shape != a.shape:
        raise InvalidArgument(f"values needs one number per option ({a.size}), got {len(v)}")
    return float(stats.wasserstein_distance(v, v, a, b))


def jensen_shannon(p: Shares, q: Shares) -> tuple[float, float]:
    """The Jensen-Shannon distance (base 2, 0..1) and divergence (its square, in bits).

    Example:
        >>> jensen_shannon([0.5, 0.5], [0.5, 0.5])
        (0.0, 0.0)
    """
    a, b = _probabilities(p, "p"), _probabilities(q, "q")
    _same_size(a, b)
    d = float(distance.jensenshannon(a, b, base=2))
    d = 0.0 if d < 1e-12 or np.isnan(d) else d  # rounding makes identical inputs give tiny or NaN values
    return d, d * d


def distances(reference: Shares, other: Shares, *, values: Sequence[float] | npt.NDArray[np.float64] | None = None
              ) -> DistributionDistance:
    """Every distance of ``other`` from ``reference``; no Wasserstein without ``values`` (unordered options)."""
    js_d, js_div = jensen_shannon(reference, other)
    return DistributionDistance(tvd=total_variation_distance(reference, other),
                                wasserstein_1=None if values is None else wasserstein_1(reference, other, values),
                                js_distance=js_d, js_divergence=js_div)


def _same_size(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> None:
    if a.shape != b.shape:
        raise InvalidArgument(f"the two distributions cover different numbers of options: {a.size} and {b.size}")


__all__ = ["METRICS", "DistributionDistance", "distances", "jensen_shannon", "total_variation_distance",
           "wasserstein_1"]
