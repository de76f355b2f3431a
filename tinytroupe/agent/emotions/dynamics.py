"""How the PAD state moves: an appraised change (clipped, smoothed) and decay towards the baseline.

**Update.** An appraisal gives a raw change ``Δ`` per dimension (from the turn's answer: a step
``s`` in -3..3 times ``delta_scale``; or from the rule). With ``m = max_delta`` and ``α =
responsiveness``::

    Δc     = clip(Δ, -m, m)
    target = clip(x + Δc, -1, 1)
    x'     = x + α · (target - x)

so one appraisal moves a dimension by at most ``α·m``, never out of [-1, 1], and ``α < 1`` smooths
(part of the change is taken at once; the rest never arrives, as the next turn appraises anew).

**Decay.** Between updates the state relaxes exponentially towards the baseline ``b``, with a
half-life ``h`` in simulated minutes (``half_life_minutes``; in turns, ``half_life_turns``, when
there is no simulated clock)::

    x(t + Δt) = b + (x(t) - b) · 2^(-Δt / h)

After ``k`` half-lives a deviation is ``2^-k`` of what it was: back within 10 % after
``log2(10) ≈ 3.32`` half-lives (:func:`time_to_recover`).

Example:
    >>> p = EmotionParams()
    >>> apply_change(PAD(), (-0.45, 0.45, 0.0), p).short()
    'P-0.36 A+0.36 D+0.00'
    >>> decay(PAD(arousal=0.8), PAD(), 60.0, 60.0).arousal
    0.4
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tinytroupe.agent.emotions.pad import PAD, clip
from tinytroupe.config import EmotionsSettings
from tinytroupe.errors import InvalidArgument

#: the appraisal scale the turn's answer uses: an integer step from -STEPS to +STEPS
STEPS = 3


@dataclass(frozen=True)
class EmotionParams:
    """The dynamics' parameters (``[Emotions]``; see the module docstring for the equations)."""

    delta_scale: float = 0.15
    max_delta: float = 0.5
    responsiveness: float = 0.8
    half_life_minutes: float = 60.0
    half_life_turns: float = 3.0

    def __post_init__(self) -> None:
        for name in ("delta_scale", "max_delta", "responsiveness"):
            if not getattr(self, name) > 0:
                raise InvalidArgument(f"EmotionParams.{name} must be positive, got {getattr(self, name)!r}")
        if self.responsiveness > 1:
            raise InvalidArgument(f"EmotionParams.responsiveness must be at most 1, got {self.responsiveness!r}")
        for name in ("half_life_minutes", "half_life_turns"):
            if not getattr(self, name) >= 0:
                raise InvalidArgument(f"EmotionParams.{name} must be 0 (no decay) or more, got {getattr(self, name)!r}")

    @classmethod
    def from_settings(cls, s: EmotionsSettings) -> EmotionParams:
        return cls(delta_scale=s.delta_scale, max_delta=s.max_delta, responsiveness=s.responsiveness,
                   half_life_minutes=s.half_life_minutes, half_life_turns=s.half_life_turns)


def steps_to_change(steps: tuple[int, int, int], params: EmotionParams) -> tuple[float, float, float]:
    """The raw change of an appraisal given in steps (-3..3 each; beyond is clipped)."""
    return tuple(clip(float(s), -STEPS, STEPS) * params.delta_scale for s in steps)  # type: ignore[return-value]


def apply_change(state: PAD, change: tuple[float, float, float], params: EmotionParams) -> PAD:
    """``state`` after an appraised ``change`` (clipped and smoothed; see the module docstring)."""
    out = []
    for x, delta in zip(state.as_tuple(), change, strict=True):
        target = clip(x + clip(delta, -params.max_delta, params.max_delta))
        out.append(x + params.responsiveness * (target - x))
    return PAD.clipped(*out)


def decay(state: PAD, baseline: PAD, elapsed: float, half_life: float) -> PAD:
    """``state`` after ``elapsed`` units of time (minutes or turns) relaxing towards ``baseline``.

    ``half_life`` 0 means no decay; a negative ``elapsed`` (a clock set back) decays nothing.
    """
    if half_life <= 0 or elapsed <= 0:
        return state
    factor = 2.0 ** (-elapsed / half_life)
    return PAD.clipped(*(b + (x - b) * factor for x, b in zip(state.as_tuple(), baseline.as_tuple(), strict=True)))


def time_to_recover(fraction: float, half_life: float) -> float:
    """How long (same unit as ``half_life``) until a deviation is ``fraction`` of what it was.

    Example:
        >>> round(time_to_recover(0.1, 60.0), 1)
        199.3
    """
    if not 0 < fraction < 1:
        raise InvalidArgument(f"fraction must be between 0 and 1, got {fraction!r}")
    return half_life * math.log2(1.0 / fraction)


__all__ = ["STEPS", "EmotionParams", "apply_change", "decay", "steps_to_change", "time_to_recover"]
