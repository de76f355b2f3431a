"""Opinion convergence or divergence over steps: do agents come to say alike things, or drift apart?

Each step, each agent's *position* is the mean embedding of what it said in that step (an agent silent
in a step keeps its last position); the step's ``spread`` is the mean cosine distance between every two
agents' positions, and ``sentiment_spread`` the standard deviation of the agents' latest mean sentiment.
The trend is the least-squares slope of the spread over the steps: ``converging`` when the spread falls
by more than :data:`TREND_THRESHOLD` of its first value across the run, ``diverging`` when it rises by
that much, ``stable`` otherwise (and ``unknown`` with fewer than two steps of two or more positions).

Example:
    >>> trend_of([0.8, 0.6, 0.4, 0.2], [1, 2, 3, 4])
    'converging'
    >>> trend_of([0.3, 0.31, 0.29], [1, 2, 3])
    'stable'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pandas as pd

#: the change of spread across the run, relative to the first spread, that counts as a trend
TREND_THRESHOLD = 0.2


def _pairwise_spread(vectors: list[npt.NDArray[np.floating[Any]]]) -> float:
    if len(vectors) < 2:
        return float("nan")
    matrix = np.stack(vectors)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit = matrix / np.where(norms == 0, 1.0, norms)
    sims = unit @ unit.T
    upper = sims[np.triu_indices(len(vectors), k=1)]
    return float(np.mean(1.0 - upper))


def trend_of(spreads: Sequence[float], steps: Sequence[float]) -> str:
    """``converging``, ``diverging``, ``stable`` or ``unknown`` from a spread per step (see the module)."""
    points = [(s, v) for s, v in zip(steps, spreads, strict=True) if v == v]  # NaN: fewer than two positions
    if len(points) < 2:
        return "unknown"
    xs = np.array([p[0] for p in points], dtype=float)
    ys = np.array([p[1] for p in points], dtype=float)
    if np.ptp(xs) == 0:
        return "unknown"
    slope = float(np.polyfit(xs, ys, 1)[0])
    change = slope * float(np.ptp(xs))
    scale = max(abs(ys[0]), 1e-6)
    if change <= -TREND_THRESHOLD * scale:
        return "converging"
    if change >= TREND_THRESHOLD * scale:
        return "diverging"
    return "stable"


def convergence_table(utterances: pd.DataFrame, vectors: npt.NDArray[np.floating[Any]]) -> pd.DataFrame:
    """Per step: ``agents`` (with a position), ``spread``, ``sentiment_spread``, ``ids`` (the step's
    utterances). ``utterances`` has ``id``, ``step``, ``agent`` and ``sentiment`` columns, one row per row
    of ``vectors``."""
    import pandas as pd

    columns = ["step", "agents", "spread", "sentiment_spread", "ids"]
    if utterances.empty:
        return pd.DataFrame(columns=columns)
    frame = utterances.assign(_row=range(len(utterances)), step=utterances["step"].fillna(0).astype(int))
    positions: dict[str, npt.NDArray[np.floating[Any]]] = {}
    feelings: dict[str, float] = {}
    rows = []
    for step, group in frame.groupby("step", sort=True):
        for agent, mine in group.groupby("agent", sort=True):
            positions[str(agent)] = vectors[list(mine["_row"])].mean(axis=0)
            feelings[str(agent)] = float(mine["sentiment"].mean())
        spread = _pairwise_spread(list(positions.values()))
        moods = list(feelings.values())
        rows.append({"step": int(str(step)), "agents": len(positions),
                     "spread": None if spread != spread else round(spread, 4),
                     "sentiment_spread": round(float(np.std(moods)), 4) if len(moods) > 1 else None,
                     "ids": list(group["id"])})
    return pd.DataFrame(rows, columns=columns)


__all__ = ["TREND_THRESHOLD", "convergence_table", "trend_of"]
