"""Topic clusters: what a run's utterances are about, grouped by their embeddings.

Utterances are embedded with the project's embedder (the one memory uses unless another is given),
then clustered by average-linkage agglomerative clustering on cosine distance (scipy). Without a
given ``k`` the number of topics is the one from 2 to :data:`MAX_TOPICS` with the best mean silhouette
(one topic when no split scores above :data:`MIN_SILHOUETTE`: the run talked about one thing). Each topic is
named by its most distinctive words (frequent in it, rarer elsewhere).

Example:
    >>> import numpy as np
    >>> vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], dtype=np.float32)
    >>> cluster_vectors(vectors).tolist()
    [0, 0, 1, 1]
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tinytroupe.embeddings.port import normalize_rows
from tinytroupe.errors import InvalidArgument

if TYPE_CHECKING:
    import pandas as pd

#: the most topics searched for when ``k`` is not given
MAX_TOPICS = 8
#: a split whose mean silhouette is below this is no split: one topic
MIN_SILHOUETTE = 0.1
_STOP_WORDS = """
a an the and or but if so of to in on at by for with from as is are was were be been being it its this that these
those i you he she we they me him her us them my your his our their what which who whom how why when where not no
do does did have has had will would can could should may might must just also very really too than then there here
about into over after before up down out more most some any all each much many such own same other only
yes well oh okay ok think know like said say says im it's i'm don't dont that's let let's get got one
"""
_STOP = frozenset(_STOP_WORDS.split())
_WORD = re.compile(r"[a-z][a-z']+")


def cluster_vectors(vectors: npt.NDArray[np.floating[Any]], k: int | None = None) -> npt.NDArray[np.int_]:
    """Topic numbers (0 first, by order of first appearance) for the rows of ``vectors``.

    Raises:
        InvalidArgument: ``k`` is below 1 or above the number of rows.
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist, squareform

    n = len(vectors)
    if k is not None and not 1 <= k <= max(n, 1):
        raise InvalidArgument(f"k (topics) must be between 1 and the number of utterances ({n}), got {k}")
    if k == n:
        return np.arange(n, dtype=int)
    if k == 1 or (k is None and n < 3):  # too few utterances to split by silhouette
        return np.zeros(n, dtype=int)
    unit = normalize_rows(np.asarray(vectors, dtype=np.float32))
    distances = np.clip(pdist(unit, metric="cosine"), 0.0, 2.0)
    tree = linkage(distances, method="average")
    if k is not None:
        return _ordered(fcluster(tree, t=k, criterion="maxclust") - 1)
    square = squareform(distances)
    best, best_score = np.zeros(n, dtype=int), MIN_SILHOUETTE
    for candidate in range(2, min(MAX_TOPICS, n - 1) + 1):
        labels = fcluster(tree, t=candidate, criterion="maxclust") - 1
        score = silhouette(square, labels)
        if score > best_score + 1e-9:
            best, best_score = labels, score
    return _ordered(best)


def silhouette(distances: npt.NDArray[np.floating[Any]], labels: npt.NDArray[np.int_]) -> float:
    """The mean silhouette of ``labels`` over a square distance matrix (-1 .. 1; 0 for one cluster).

    Example:
        >>> d = np.array([[0, 0.1, 1, 1], [0.1, 0, 1, 1], [1, 1, 0, 0.1], [1, 1, 0.1, 0]])
        >>> round(silhouette(d, np.array([0, 0, 1, 1])), 2)
        0.9
    """
    clusters = np.unique(labels)
    if len(clusters) < 2:
        return 0.0
    scores = np.zeros(len(labels))
    for i in range(len(labels)):
        own = labels == labels[i]
        if own.sum() <= 1:
            continue  # a point alone in its cluster scores 0 (the usual convention)
        a = distances[i, own].sum() / (own.sum() - 1)
        b = min(distances[i, labels == c].mean() for c in clusters if c != labels[i])
        scores[i] = (b - a) / max(a, b) if max(a, b) > 0 else 0.0
    return float(scores.mean())


def _ordered(labels: npt.NDArray[np.int_]) -> npt.NDArray[np.int_]:
    order: dict[int, int] = {}
    for label in labels:
        order.setdefault(int(label), len(order))
    return np.array([order[int(label)] for label in labels], dtype=int)


def topic_keywords(texts: Sequence[str], labels: Sequence[int], top: int = 4) -> dict[int, list[str]]:
    """Per topic, its most distinctive words: count in the topic times log(topics / topics using the word).

    Example:
        >>> topic_keywords(["cheap price", "price too high", "tasty coffee", "coffee smell"], [0, 0, 1, 1], top=1)
        {0: ['price'], 1: ['coffee']}
    """
    counts: dict[int, Counter[str]] = {}
    for text, label in zip(texts, labels, strict=True):
        counts.setdefault(int(label), Counter()).update(w for w in _WORD.findall(text.lower()) if w not in _STOP)
    spread = Counter(w for c in counts.values() for w in c)
    n = len(counts)
    out: dict[int, list[str]] = {}
    for label, counter in counts.items():
        weight = {w: c * (np.log((n + 1) / spread[w]) + 0.1) for w, c in counter.items()}
        out[label] = sorted(weight, key=lambda w: (-weight[w], w))[:top]
    return out


def topic_table(utterances: pd.DataFrame, labels: npt.NDArray[np.int_]) -> pd.DataFrame:
    """One row per topic: ``topic``, ``keywords``, ``size``, ``agents``, ``first_step``, ``last_step``,
    ``example`` (its first utterance), ``ids`` (its utterances' event ids)."""
    import pandas as pd

    frame = utterances.assign(topic=labels)
    words = topic_keywords(list(frame["content"].astype(str)), list(labels))
    rows = []
    for topic, group in frame.groupby("topic", sort=True):
        steps = [s for s in group["step"] if s is not None and s == s]
        rows.append({"topic": int(str(topic)), "keywords": ", ".join(words.get(int(str(topic)), [])),
                     "size": len(group), "agents": ", ".join(sorted(set(group["agent"]))),
                     "first_step": min(steps) if steps else None, "last_step": max(steps) if steps else None,
                     "example": str(group["content"].iloc[0]), "ids": list(group["id"])})
    return pd.DataFrame(rows, columns=["topic", "keywords", "size", "agents", "first_step", "last_step", "example",
                                       "ids"])


__all__ = ["MAX_TOPICS", "MIN_SILHOUETTE", "cluster_vectors", "silhouette", "topic_keywords", "topic_table"]
