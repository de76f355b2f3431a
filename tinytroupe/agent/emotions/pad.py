"""The Pleasure-Arousal-Dominance state: three numbers in [-1, 1], the octant names, and the state an
emotions component keeps (:class:`EmotionalState`).

* **pleasure**: how pleasant the person feels (-1 miserable, +1 delighted);
* **arousal**: how stirred up (-1 drowsy, +1 agitated or excited);
* **dominance**: how much in control (-1 helpless, +1 in charge).

Each octant of the PAD cube has a name (Mehrabian's temperament types), used for display and in
prompts; a state within :data:`NEUTRAL_ZONE` of the origin on every axis is ``neutral``.

Example:
    >>> PAD(pleasure=-0.4, arousal=0.6, dominance=-0.2).label
    'anxious'
    >>> PAD.clipped(1.7, 0.0, -3).as_tuple()
    (1.0, 0.0, -1.0)
"""

from __future__ import annotations

import math
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from tinytroupe.state import StateModel

#: a state within this distance of 0 on every axis is labelled ``neutral``
NEUTRAL_ZONE = 0.1

#: (sign of pleasure, arousal, dominance) -> the octant's name; a zero counts as positive
OCTANTS: dict[tuple[bool, bool, bool], str] = {
    (True, True, True): "exuberant", (False, False, False): "bored",
    (True, True, False): "dependent", (False, False, True): "disdainful",
    (True, False, True): "relaxed", (False, True, False): "anxious",
    (True, False, False): "docile", (False, True, True): "hostile",
}

def clip(value: float, low: float = -1.0, high: float = 1.0) -> float:
    """``value`` within [low, high] (NaN is refused by the models, never produced here)."""
    return low if value < low else high if value > high else value


class PAD(BaseModel):
    """A point of the PAD cube (frozen; each coordinate in [-1, 1])."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    pleasure: float = Field(0.0, ge=-1.0, le=1.0)
    arousal: float = Field(0.0, ge=-1.0, le=1.0)
    dominance: float = Field(0.0, ge=-1.0, le=1.0)

    @classmethod
    def clipped(cls, pleasure: float, arousal: float, dominance: float) -> PAD:
        """A state with each coordinate clipped into [-1, 1]."""
        return cls(pleasure=clip(float(pleasure)), arousal=clip(float(arousal)), dominance=clip(float(dominance)))

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.pleasure, self.arousal, self.dominance)

    def distance(self, other: PAD) -> float:
        """Euclidean distance to ``other`` (at most 2·√3)."""
        return math.dist(self.as_tuple(), other.as_tuple())

    @property
    def intensity(self) -> float:
        """Distance from the neutral origin, scaled to [0, 1] (``|PAD| / √3``)."""
        return min(1.0, math.hypot(*self.as_tuple()) / math.sqrt(3.0))

    @property
    def label(self) -> str:
        """The octant's name, or ``neutral`` near the origin (see :data:`OCTANTS`)."""
        return octant_label(self)

    def describe(self) -> str:
        """The label with a degree word: ``slightly anxious``, ``anxious``, ``very anxious``.

        Example:
            >>> PAD(pleasure=0.8, arousal=0.8, dominance=0.9).describe()
            'very exuberant'
        """
        label = self.label
        strongest = max(abs(v) for v in self.as_tuple())
        if label == "neutral":
            return label
        return ("slightly " if strongest < 0.35 else "very " if strongest > 0.7 else "") + label

    def short(self) -> str:
        """``P-0.40 A+0.60 D-0.20``: the numbers, compactly."""
        return f"P{self.pleasure:+.2f} A{self.arousal:+.2f} D{self.dominance:+.2f}"


def octant_label(pad: PAD) -> str:
    """The name of ``pad``'s octant (see :data:`OCTANTS`), ``neutral`` within :data:`NEUTRAL_ZONE`.

    Example:
        >>> octant_label(PAD(pleasure=0.5, arousal=-0.3, dominance=0.2))
        'relaxed'
        >>> octant_label(PAD(pleasure=0.05, arousal=-0.02, dominance=0.0))
        'neutral'
    """
    p, a, d = pad.as_tuple()
    if max(abs(p), abs(a), abs(d)) < NEUTRAL_ZONE:
        return "neutral"
    return OCTANTS[(p >= 0, a >= 0, d >= 0)]


class EmotionalState(StateModel):
    """What an emotions component keeps, saved with the agent (``AgentState.components["emotions"]``).

    ``current`` is the state now, ``baseline`` the one it decays towards; ``updated_at`` is the
    simulated time ``current`` was last brought up to date (None without a clock); ``tagged_upto``
    the newest episodic memory id tagged with a state, ``contagion_upto`` the newest one contagion
    has looked at.

    Example:
        >>> state = EmotionalState(baseline=PAD(pleasure=0.2))
        >>> EmotionalState.parse(state.to_dict()) == state
        True
    """

    current: PAD = Field(default_factory=PAD)
    baseline: PAD = Field(default_factory=PAD)
    updated_at: datetime | None = None
    turns: int = 0
    tagged_upto: int = 0
    contagion_upto: int = 0

    @property
    def label(self) -> str:
        return self.current.label


__all__ = ["NEUTRAL_ZONE", "OCTANTS", "PAD", "EmotionalState", "clip", "octant_label"]
