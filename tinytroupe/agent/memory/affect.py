"""Emotional memory: the PAD state each episodic memory was encoded in, and what it does to recall.

An agent with an emotions component tags each new memory with its PAD state at encoding (after the
turn's appraisal: the feeling the event left). Two effects follow, both off while nothing is tagged:

* **importance**: a tagged memory earns ``bonus = importance_boost · intensity`` (intensity =
  ``|PAD| / √3`` in [0, 1]) on top of its 1-10 rating (capped at 10), so strong feelings are
  evicted later, fade later on the forgetting curve, and weigh more in reflection;
* **mood-congruent recall**: with a :class:`Mood`, retrieval adds ``weight · congruence`` to each
  candidate's score, ``congruence = 1 - |mood - PAD_encoded| / (2·√3)`` in [0, 1]; memories not
  tagged (facts, memories from before emotions were on) count as encoded in the neutral state.

Example:
    >>> tags = AffectTags()
    >>> tags.tag(7, (-0.6, 0.6, 0.0), emotional_bonus((-0.6, 0.6, 0.0), 3.0))
    >>> tags.get(7), round(tags.bonus(7), 2)
    ((-0.6, 0.6, 0.0), 1.47)
    >>> congruence((-0.6, 0.6, 0.0), np.array([[-0.6, 0.6, 0.0], [0.6, -0.6, 0.0]])).round(2).tolist()
    [1.0, 0.51]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Pad = tuple[float, float, float]
#: the largest distance between two PAD states (opposite corners of the cube)
MAX_DISTANCE = 2.0 * math.sqrt(3.0)


@dataclass(frozen=True)
class Mood:
    """The agent's PAD state now, and how much mood congruence weighs in recall (0: not at all)."""

    pad: Pad
    weight: float = 1.0


def intensity(pad: Pad) -> float:
    """``|PAD| / √3``: 0 in the neutral state, 1 in a corner of the cube."""
    return min(1.0, math.hypot(*pad) / math.sqrt(3.0))


def emotional_bonus(pad: Pad, boost: float) -> float:
    """The importance a memory encoded in ``pad`` earns: ``boost · intensity(pad)``."""
    return boost * intensity(pad)


def congruence(mood: Pad, pads: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``1 - |mood - pad| / (2·√3)`` for each row of ``pads`` (shape ``(n, 3)``)."""
    if pads.size == 0:
        return np.zeros(0)
    distances = np.linalg.norm(pads - np.asarray(mood, dtype=np.float64), axis=1)
    return np.asarray(1.0 - distances / MAX_DISTANCE, dtype=np.float64)


class AffectTags:
    """PAD at encoding of episodic memories, by memory id, with the importance bonus each earned."""

    def __init__(self) -> None:
        self._tags: dict[int, tuple[float, float, float, float]] = {}

    def tag(self, item_id: int, pad: Pad, bonus: float = 0.0) -> None:
        p, a, d = pad
        self._tags[int(item_id)] = (float(p), float(a), float(d), float(bonus))

    def get(self, item_id: int) -> Pad | None:
        found = self._tags.get(item_id)
        return None if found is None else (found[0], found[1], found[2])

    def bonus(self, item_id: int) -> float:
        found = self._tags.get(item_id)
        return 0.0 if found is None else found[3]

    def items(self) -> Iterator[tuple[int, Pad]]:
        for item_id, (p, a, d, _) in self._tags.items():
            yield item_id, (p, a, d)

    def remove(self, item_ids: Iterable[int]) -> None:
        for item_id in item_ids:
            self._tags.pop(item_id, None)

    def retain(self, keep: Callable[[int], bool]) -> None:
        """Drop the tags of memories ``keep`` says are gone."""
        self._tags = {i: t for i, t in self._tags.items() if keep(i)}

    def clear(self) -> None:
        self._tags = {}

    def rows(self) -> list[tuple[int, float, float, float, float]]:
        """The tags as data: ``(id, pleasure, arousal, dominance, bonus)``, by id."""
        return [(i, *t) for i, t in sorted(self._tags.items())]

    @classmethod
    def from_rows(cls, rows: Iterable[Iterable[float]]) -> AffectTags:
        tags = cls()
        for item_id, p, a, d, bonus in rows:
            tags.tag(int(item_id), (p, a, d), bonus)
        return tags

    def __len__(self) -> int:
        return len(self._tags)


__all__ = ["MAX_DISTANCE", "AffectTags", "Mood", "Pad", "congruence", "emotional_bonus", "intensity"]
