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
from typing import Any

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


@dataclass(frozen=True)
class ExtraRows:
    """Candidates outside the index, scored together with its rows (the cold tier's memories).

    One entry each: ``sims`` is the cosine with the query, ``access_h`` the simulated hour of the last
    access (NaN: unknown), ``seq`` the touch order used by rank recency (below every index row's, so
    they count as older), ``congruence`` their mood congruence (None: 0).
    """

    keys: list[str]
    sims: npt.NDArray[np.float32]
    importance: npt.NDArray[np.float64]
    access_h: npt.NDArray[np.float64]
    access_count: npt.NDArray[np.float64]
    seq: npt.NDArray[np.int64]
    congruence: npt.NDArray[np.float64] | None = None


def _mask_of(index: VectorIndex, exclude: set[str] | frozenset[str]) -> npt.NDArray[np.bool_]:
    mask: npt.NDArray[np.bool_] = index.alive[: index.used].copy()
    for excluded in exclude:
        row = index.row_of(excluded)
        if row is not None:
            mask[row] = False
    return mask


_Columns = tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[Any],
                 npt.NDArray[Any]]


def _columns(index: VectorIndex | None, n: int, extra: ExtraRows | None,
             exclude: set[str] | frozenset[str]) -> _Columns:
    """(candidate mask, last access, touch sequence, importance, retrievals): the index's rows, then the extras.

    Without extras these are views of the index's arrays (no copy, as the scoring of a large index needs)."""
    if index is not None and n:
        mask = _mask_of(index, exclude)
        columns = (index.access_h[:n], index.seq[:n], index.importance[:n], index.access_count[:n])
    else:
        mask = np.zeros(0, np.bool_)
        columns = (np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0, np.int32))
    if extra is None or not extra.keys:
        return mask, *columns
    more = (extra.access_h, extra.seq, extra.importance, extra.access_count)
    access_h, seq, importance, count = (np.concatenate([a, b]) for a, b in zip(columns, more, strict=True))
    return np.concatenate([mask, np.ones(len(extra.keys), np.bool_)]), access_h, seq, importance, count


def score_index(index: VectorIndex | None, query: npt.NDArray[np.float32], params: RetrievalParams, *,
                now_h: float = math.nan, exclude: set[str] | frozenset[str] = frozenset(),
                forgetting: ForgettingCurve | None = None, congruence: npt.NDArray[np.float64] | None = None,
                congruence_weight: float = 0.0, extra: ExtraRows | None = None) -> list[Hit]:
    """The ``params.top_k`` best live rows of ``index`` for ``query`` (a unit vector), best first.

    ``exclude`` keys (e.g. memories the prompt already shows) and rows under the forgetting curve's
    retention floor are not candidates. ``congruence`` (one value per row of the index, in [0, 1])
    adds ``congruence_weight`` times itself to each score. ``extra`` candidates are scored with the
    rows, every component normalised over both (an extra's hit has its key from ``extra.keys``).
    """
    n = index.used if index is not None else 0
    m = len(extra.keys) if extra is not None else 0
    if n + m == 0 or params.top_k <= 0:
        return []
    has_time = not math.isnan(now_h)
    mask, access_h, seq_all, importance_all, count_all = _columns(index, n, extra, exclude)
    age = now_h - access_h if has_time else np.full(n + m, math.nan)
    if forgetting is not None and forgetting.enabled and has_time:
        mask &= forgetting.retained(age, importance_all, count_all)
    # With every row a candidate (the common case) slices replace fancy indexing: at 100k rows the
    # copies it makes cost as much as the similarity product itself.
    rows: npt.NDArray[np.intp] | slice = slice(0, n + m) if mask.all() else np.flatnonzero(mask)
    count = n + m if isinstance(rows, slice) else rows.size
    if count == 0:
        return []
    # One product over the contiguous block, then pick: indexing the matrix first would copy it.
    sims_all = index.similarities(query) if index is not None and n else np.zeros(0, np.float32)
    if extra is not None and m:
        sims_all = np.concatenate([sims_all, extra.sims.astype(np.float32)])
    sims = sims_all[rows]
    if params.recency_mode == "hours" and has_time and not np.isnan(age[rows]).all():
        ages = age[rows]
        ages = np.where(np.isnan(ages), np.nanmax(ages), np.maximum(ages, 0.0))
        recency_raw = np.power(params.recency_decay, ages)
    else:
        seq = seq_all[rows]
        rank = np.empty(count, dtype=np.float64)
        rank[np.argsort(-seq, kind="stable")] = np.arange(count, dtype=np.float64)
        recency_raw = np.power(params.recency_decay, rank)
    recency = minmax(recency_raw)
    importance = minmax(importance_all[rows].astype(np.float64))
    relevance = minmax(sims.astype(np.float64))
    total = (params.recency_weight * recency + params.importance_weight * importance
             + params.relevance_weight * relevance)
    mood = _mood(congruence, extra, n, congruence_weight)[rows] if congruence_weight else np.zeros(count)
    total = total + congruence_weight * mood
    k = min(params.top_k, count)
    top = np.argpartition(-total, k - 1)[:k] if k < count else np.arange(count)
    row_of = (lambda i: i) if isinstance(rows, slice) else (lambda i: int(rows[i]))
    # Ties go to the newer memory (higher touch sequence) so results are deterministic.
    order = sorted(top.tolist(), key=lambda i: (-total[i], -int(seq_all[row_of(i)])))
    hits = []
    for i in order:
        row = row_of(i)
        key = index.key_at(row) if index is not None and row < n else extra.keys[row - n] if extra else None
        assert key is not None  # live rows (and extras) have keys
        hits.append(Hit(key=key, score=float(total[i]), recency=float(recency[i]), importance=float(importance[i]),
                        relevance=float(relevance[i]), similarity=float(sims[i]), congruence=float(mood[i])))
    return hits


def _mood(congruence: npt.NDArray[np.float64] | None, extra: ExtraRows | None, n: int,
          weight: float) -> npt.NDArray[np.float64]:
    """Mood congruence of every candidate, index rows then extras (zeros where none is given)."""
    rows = congruence[:n] if congruence is not None and weight else np.zeros(n)
    if extra is None or not extra.keys:
        return rows
    more = extra.congruence if extra.congruence is not None else np.zeros(len(extra.keys))
    return np.concatenate([rows, more])


__all__ = ["ExtraRows", "Hit", "RetrievalParams", "minmax", "score_index"]
