"""An agent's emotional baseline: set explicitly, or derived from its persona's Big Five.

The Big Five give a temperament by Mehrabian's (1996) regression of PAD temperament on the five
factors, with each trait ``O, C, E, A`` and emotional stability ``S = -N`` on [-1, 1]::

    P = 0.21·E + 0.59·A + 0.19·S
    A = 0.15·O + 0.30·A - 0.57·S
    D = 0.25·O + 0.17·C + 0.60·E - 0.32·A

each then clipped to [-1, 1] and multiplied by ``baseline_scale`` (``[Emotions]``, default 0.5:
temperament colours a person's resting state, it does not fill it). A trait is read from the
persona's free text by its leading level words ("Very high", "Medium-low", "Low to medium" ...) or
a number (0-1, 1-5 with ``/5``, or a percentage); a trait that is missing or unreadable counts as
average (0). A persona with an ``emotional_baseline`` mapping (``pleasure``, ``arousal``,
``dominance``) uses it as is.

Example:
    >>> trait_level("Medium-high. Worries about her visa paperwork.")
    0.25
    >>> from tinytroupe.agent.persona import Persona
    >>> calm = Persona.from_dict({"name": "Ana", "personality": {"big_five": {
    ...     "extraversion": "High.", "agreeableness": "High.", "neuroticism": "Low."}}})
    >>> baseline_from_persona(calm).label
    'relaxed'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tinytroupe.agent.emotions.pad import PAD, clip
from tinytroupe.agent.persona import Persona
from tinytroupe.errors import InvalidArgument

#: level words, longest first so "very high" wins over "high"
_LEVELS: list[tuple[str, float]] = [
    ("extremely high", 1.0), ("very high", 0.85), ("medium-high", 0.25), ("medium high", 0.25),
    ("moderately high", 0.25), ("high to very high", 0.7), ("low to medium", -0.25), ("medium to high", 0.25),
    ("medium-low", -0.25), ("medium low", -0.25), ("moderately low", -0.25), ("very low", -0.85),
    ("extremely low", -1.0), ("high", 0.6), ("low", -0.6), ("medium", 0.0), ("moderate", 0.0),
    ("average", 0.0), ("balanced", 0.0),
]
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%|/\s*(\d+))?")
TRAITS = ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism")


def trait_level(text: Any) -> float | None:
    """A Big Five trait's level on [-1, 1] from its text or number, or None when unreadable.

    Example:
        >>> trait_level("Very low."), trait_level("4/5"), trait_level(0.5), trait_level("curious")
        (-0.85, 0.5, 0.0, None)
    """
    if isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        return _from_number(float(text), None)
    if not isinstance(text, str):
        return None
    lowered = text.strip().lower()
    match = _NUMBER.match(lowered)
    if match:
        scale = "%" if match.group(2) == "%" else match.group(3)
        return _from_number(float(match.group(1)), scale)
    head = re.split(r"[.;:,(]", lowered, maxsplit=1)[0].strip()
    for words, level in _LEVELS:
        if head.startswith(words):
            return level
    return None


def _from_number(value: float, scale: str | None) -> float | None:
    if scale == "%":
        top = 100.0
    elif scale is not None:
        top = float(scale)
        if top <= 1:
            return None
        return clip(2.0 * (value - 1.0) / (top - 1.0) - 1.0)
    elif value <= 1.0:
        top = 1.0
    elif value <= 100.0:
        top = 100.0
    else:
        return None
    return clip(2.0 * value / top - 1.0)


def temperament(o: float, c: float, e: float, a: float, n: float) -> PAD:
    """Mehrabian's PAD temperament of Big Five levels on [-1, 1] (unscaled; see the module docstring)."""
    s = -n
    return PAD.clipped(0.21 * e + 0.59 * a + 0.19 * s,
                       0.15 * o + 0.30 * a - 0.57 * s,
                       0.25 * o + 0.17 * c + 0.60 * e - 0.32 * a)


def explicit_baseline(value: Any, where: str = "emotional_baseline") -> PAD:
    """A baseline given as a mapping of ``pleasure``, ``arousal``, ``dominance`` (missing ones 0), or a PAD.

    Raises:
        InvalidArgument: not such a mapping, or a value is not a number in [-1, 1] (named).
    """
    if isinstance(value, PAD):
        return value
    if not isinstance(value, Mapping):
        raise InvalidArgument(f"{where} must be a mapping of pleasure, arousal, dominance, got {type(value).__name__}")
    unknown = set(value) - {"pleasure", "arousal", "dominance"}
    if unknown:
        raise InvalidArgument(f"{where} has unknown keys {sorted(unknown)}; use pleasure, arousal, dominance")
    for key, number in value.items():
        if isinstance(number, bool) or not isinstance(number, int | float) or not -1.0 <= number <= 1.0:
            raise InvalidArgument(f"{where}.{key} must be a number from -1 to 1, got {number!r}")
    return PAD(**{k: float(v) for k, v in value.items()})


def baseline_from_persona(persona: Persona, scale: float = 0.5) -> PAD:
    """The persona's ``emotional_baseline`` if it has one, else its Big Five temperament times ``scale``.

    Raises:
        InvalidArgument: the persona's ``emotional_baseline`` is malformed.
    """
    given = persona.get("emotional_baseline")
    if given is not None:
        return explicit_baseline(given)
    big_five = persona.get("personality.big_five") or {}
    levels = [trait_level(big_five.get(t)) if isinstance(big_five, Mapping) else None for t in TRAITS]
    if all(level is None for level in levels):
        return PAD()
    o, c, e, a, n = (level or 0.0 for level in levels)
    raw = temperament(o, c, e, a, n)
    return PAD.clipped(*(scale * v for v in raw.as_tuple()))


__all__ = ["TRAITS", "baseline_from_persona", "explicit_baseline", "temperament", "trait_level"]
