"""Relevance retrieval: which memories to recall, scored as in Generative Agents.

``score = w_recency * recency + w_importance * importance + w_relevance * relevance``, each
component min-max normalised over the candidates:

* **recency**: ``decay ** hours`` since the memory was last retrieved or formed (``recency_mode
  = "hours"``), or ``decay ** rank`` with rank 0 for the most recently touched (``"rank"``, also
  used when there is no simulated time);
* **importance**: 1-10 (rule or LLM rated);
* **relevance**: cosine similarity of the memory's vector with the query's;
* with an agent's mood (emotions on), ``+ w_congruence * congruence``: how close the PAD state the
  memory was encoded in is to the mood now, in [0, 1] and not normalised (see :mod:`.affect`).

Example:
    >>> import numpy as np
    >>> from tinytroupe.agent.memory.index import VectorIndex
    >>> idx = VectorIndex(dim=2)
    >>> idx.add("E1", np.array([1.0, 0.0]), importance=1.0)
    >>> idx.add("E2", np.array([0.0, 1.0]), importance=1.0)
    >>> [h.key for h in score_index(idx, np.array([0.0, 1.0], dtype=np.float32), RetrievalParams(top_k=1))]
    ['E2']
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tinytroupe.agent.memory.forgetting import ForgettingCurve
from tinytroupe.agent.memory.index import VectorIndex


@dataclass(frozen=True)
class RetrievalParams:
    """Weights, recency decay and top-k (``[Memory] *_WEIGHT``, ``RECENCY_*``, ``RETRIEVAL_TOP_K``)."""

    top_k: int = 5
    recency_weight: float = 1.0
    importance_weight: float = 1.0
    relevance_weight: float = 3.0
    recency_mode: str = "hours"
    recency_decay: float = 0.995


@dataclass(frozen=True)
class Hit:
    """One scored candidate: its index key and the components of its score (normalised)."""

    key: str
    score: float
    recency: float
    importance: float
    relevance: float
    similarity: float  # the raw cosine
    congruence: float = 0.0  # mood congruence (0 without a mood)


def minmax(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Scale to [0, 1]; a constant vector becomes all zeros (it cannot rank anything)."""
    if values.size == 0:
        return values
    lo, hi = float(values.min()), float(values.max())
    if hi - lo <= 1e-12:
        return np.zeros_like(values)
    return (values - lo) / (hi - lo)


def score_index(index: VectorIndex, query: npt.NDArray[np.float32], params: RetrievalParams, *,
                now_h: float = math.nan, exclude: set[str] | frozenset[str] = frozenset(),
                forgetting: ForgettingCurve | None = None, congruence: npt.NDArray[np.float64] | None = None,
                congruence_weight: float = 0.0) -> list[Hit]:
    """The ``params.top_k`` best live rows of ``index`` for ``query`` (a unit vector), best first.

    ``exclude`` keys (e.g. memories the prompt already shows) and rows under the forgetting curve's
    retention floor are not candidates. ``congruence`` (one value per row of the index, in [0, 1])
    adds ``congruence_weight`` times itself to each score.
    """
    n = index.used
    if n == 0 or params.top_k <= 0:
        return []
    mask = index.alive[:n].copy()
    for excluded in exclude:
        row = index.row_of(excluded)
        if row is not None:
            mask[row] = False
    has_time = not math.isnan(now_h)
    access_h = index.access_h[:n]
    age = now_h - access_h if has_time else np.full(n, math.nan)
    if forgetting is not None and forgetting.enabled and has_time:
        mask &= forgetting.retained(age, index.importance[:n], index.access_count[:n])
    # With every row a candidate (the common case) slices replace fancy indexing: at 100k rows the
    # copies it makes cost as much as the similarity product itself.
    rows: npt.NDArray[np.intp] | slice = slice(0, n) if mask.all() else np.flatnonzero(mask)
    count = n if isinstance(rows, slice) else rows.size
    if count == 0:
        return []
    # One product over the contiguous block, then pick: indexing the matrix first would copy it.
    sims = index.similarities(query)[rows]
    if params.recency_mode == "hours" and has_time and not np.isnan(age[rows]).all():
        ages = age[rows]
        ages = np.where(np.isnan(ages), np.nanmax(ages), np.maximum(ages, 0.0))
        recency_raw = np.power(params.recency_decay, ages)
    else:
        seq = index.seq[rows]
        rank = np.empty(count, dtype=np.float64)
        rank[np.argsort(-seq, kind="stable")] = np.arange(count, dtype=np.float64)
        recency_raw = np.power(params.recency_decay, rank)
    recency = minmax(recency_raw)
    importance = minmax(index.importance[rows].astype(np.float64))
    relevance = minmax(sims.astype(np.float64))
    total = (params.recency_weight * recency + params.importance_weight * importance
             + params.relevance_weight * relevance)
    mood = congruence[:n][rows] if congruence is not None and congruence_weight else np.zeros(count)
    total = total + congruence_weight * mood
    k = min(params.top_k, count)
    top = np.argpartition(-total, k - 1)[:k] if k < count else np.arange(count)
    row_of = (lambda i: i) if isinstance(rows, slice) else (lambda i: int(rows[i]))
    # Ties go to the newer memory (higher touch sequence) so results are deterministic.
    order = sorted(top.tolist(), key=lambda i: (-total[i], -int(index.seq[row_of(i)])))
    hits = []
    for i in order:
        key = index.key_at(row_of(i))
        assert key is not None  # live rows have keys
        hits.append(Hit(key=key, score=float(total[i]), recency=float(recency[i]), importance=float(importance[i]),
                        relevance=float(relevance[i]), similarity=float(sims[i]), congruence=float(mood[i])))
    return hits


__all__ = ["Hit", "RetrievalParams", "minmax", "score_index"]
