"""Repetition: near-duplicate utterances, by one agent (saying the same again) or across agents (echoing).

Two utterances are near-duplicates when their embeddings' cosine similarity is at least ``threshold``
(default :data:`DUPLICATE_SIMILARITY`), or when their texts are equal once case, punctuation and spaces
are set aside (whatever the embedder). Each later utterance is paired with the earlier ones it repeats.

Example:
    >>> normalise("Well, I THINK  so!")
    'well i think so'
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tinytroupe.errors import InvalidArgument

if TYPE_CHECKING:
    import pandas as pd

#: cosine similarity from which two utterances count as the same thing said again
DUPLICATE_SIMILARITY = 0.9
_NON_WORD = re.compile(r"[^\w]+")


def normalise(text: str) -> str:
    """``text`` lower-cased, punctuation and runs of spaces made one space."""
    return _NON_WORD.sub(" ", text.lower()).strip()


def duplicate_pairs(utterances: pd.DataFrame, vectors: npt.NDArray[np.floating[Any]], *,
                    threshold: float = DUPLICATE_SIMILARITY) -> pd.DataFrame:
    """Each near-duplicate pair (earlier, later): ``id``, ``repeats`` (the earlier id), ``agent``,
    ``repeated_agent``, ``same_agent``, ``similarity``, ``content``.

    Raises:
        InvalidArgument: ``threshold`` is not within 0 .. 1.
    """
    import pandas as pd

    if not 0.0 < threshold <= 1.0:
        raise InvalidArgument(f"threshold (cosine similarity) must be within (0, 1], got {threshold}")
    columns = ["id", "repeats", "agent", "repeated_agent", "same_agent", "similarity", "content"]
    n = len(utterances)
    if n < 2:
        return pd.DataFrame(columns=columns)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms == 0, 1.0, norms)
    texts = [normalise(str(t)) for t in utterances["content"]]
    ids, agents, contents = list(utterances["id"]), list(utterances["agent"]), list(utterances["content"])
    rows = []
    for later in range(1, n):
        sims = unit[:later] @ unit[later]
        for earlier in range(later):
            similarity = float(sims[earlier])
            if similarity >= threshold or (texts[earlier] and texts[earlier] == texts[later]):
                rows.append({"id": ids[later], "repeats": ids[earlier], "agent": agents[later],
                             "repeated_agent": agents[earlier], "same_agent": agents[later] == agents[earlier],
                             "similarity": round(max(similarity, 1.0 if texts[earlier] == texts[later] else 0.0), 4),
                             "content": contents[later]})
    return pd.DataFrame(rows, columns=columns)


def repetition_by_agent(utterances: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Per agent: ``utterances``, ``self_repeats`` (its utterances repeating one of its own earlier ones),
    ``echoes`` (repeating another agent's), ``repetition_rate`` (self repeats / utterances)."""
    import pandas as pd

    rows = []
    for agent, group in utterances.groupby("agent", sort=True):
        mine = pairs[pairs["agent"] == agent] if not pairs.empty else pairs
        own = set(mine[mine["same_agent"]]["id"]) if not mine.empty else set()
        echoed = set(mine[~mine["same_agent"].astype(bool)]["id"]) if not mine.empty else set()
        rows.append({"agent": agent, "utterances": len(group), "self_repeats": len(own), "echoes": len(echoed),
                     "repetition_rate": round(len(own) / len(group), 4)})
    return pd.DataFrame(rows, columns=["agent", "utterances", "self_repeats", "echoes", "repetition_rate"])


__all__ = ["DUPLICATE_SIMILARITY", "duplicate_pairs", "normalise", "repetition_by_agent"]
