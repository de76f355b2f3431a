"""Drawing people's characteristics from a sampling plan, by code, with the run's seeded generator.

Categorical dimensions and joint cells are drawn as *quotas*: each value (or cell) gets
``n x share`` people rounded down or up, never further off, by systematic sampling over the values
in a random order (one uniform draw places ``n`` equally spaced points on the cumulated shares). So
a population of 1,000 matches its targets to a thousandth per value, and even a batch of one is
unbiased (each value is drawn with its share's probability). The quotas are then shuffled onto
people, each dimension on its own (independent dimensions are independent across people), the joint
cells as whole combinations. Numeric dimensions are stratified the same way: one value in each of
``n`` equal slices of the range, shuffled.

The same generator state and plan always give the same people, which is what lets a seeded run be
replayed from its run file.

Example:
    >>> import numpy as np
    >>> from tinytroupe.factory.plan import SamplingPlan
    >>> plan = SamplingPlan.from_marginals({"sex": {"female": 0.5, "male": 0.5}})
    >>> people = draw_characteristics(plan, 10, np.random.default_rng(1))
    >>> sorted(p["sex"] for p in people).count("female")
    5
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tinytroupe.errors import InvalidArgument
from tinytroupe.factory.plan import NumericRange, SamplingPlan


def quota_counts(shares: Sequence[float], n: int, rng: np.random.Generator) -> np.ndarray:
    """How many of ``n`` people get each share's value: ``floor`` or ``ceil`` of ``n x share`` each,
    summing to ``n``, with expectation exactly ``n x share`` (systematic sampling in a random order).

    Example:
        >>> quota_counts([0.5, 0.3, 0.2], 10, np.random.default_rng(0)).tolist()
        [5, 3, 2]
    """
    p = np.asarray(shares, dtype=float)
    if n < 0 or p.size == 0 or (p < 0).any() or p.sum() <= 0:
        raise InvalidArgument(f"quota_counts needs n >= 0 and non-negative shares with a positive sum, "
                              f"got n={n} and {len(p)} shares")
    if n == 0:
        return np.zeros(p.size, dtype=int)
    order = rng.permutation(p.size)
    expected = n * p[order] / p.sum()
    edges = np.concatenate(([0.0], np.cumsum(expected)))
    edges[-1] = n  # rounding in the cumulated sum must not drop the last point
    points = rng.random() + np.arange(n)
    counts_in_order = np.bincount(np.searchsorted(edges, points, side="right") - 1, minlength=p.size)[: p.size]
    counts = np.empty(p.size, dtype=int)
    counts[order] = counts_in_order
    return counts


def _spread(values: Sequence[Any], counts: np.ndarray, rng: np.random.Generator) -> list[Any]:
    """``values`` repeated by ``counts``, in a random order."""
    pool = [v for v, c in zip(values, counts.tolist(), strict=True) for _ in range(c)]
    return [pool[i] for i in rng.permutation(len(pool))]


def _numeric(span: NumericRange, n: int, rng: np.random.Generator) -> list[Any]:
    positions = (rng.permutation(n) + rng.random(n)) / n  # one point in each of n equal slices
    if span.integer:
        low, high = math.ceil(span.min), math.floor(span.max)
        return [int(v) for v in np.minimum(low + np.floor(positions * (high - low + 1)), high)]
    return [float(v) for v in span.min + positions * (span.max - span.min)]


def draw_characteristics(plan: SamplingPlan, n: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """``n`` people's characteristics (``{dimension: value}``, dimensions in the plan's order).

    Raises:
        InvalidArgument: ``n`` is negative.
    """
    if n < 0:
        raise InvalidArgument(f"the number of people to draw cannot be negative, got {n}")
    people: list[dict[str, Any]] = [{} for _ in range(n)]
    if plan.joint is not None:
        shares = plan.joint.shares()
        cells = list(shares)
        drawn = _spread(cells, quota_counts(list(shares.values()), n, rng), rng) if n else []
        for person, cell in zip(people, drawn, strict=True):
            person.update(zip(plan.joint.dimensions, cell, strict=True))
    for dim in plan.dimensions:
        if n == 0:
            break
        if dim.values is not None:
            options = dim.shares()
            column = _spread(list(options), quota_counts(list(options.values()), n, rng), rng)
        else:
            assert dim.range is not None
            column = _numeric(dim.range, n, rng)
        for person, value in zip(people, column, strict=True):
            person[dim.name] = value
    return people


__all__ = ["draw_characteristics", "quota_counts"]
