"""How the PAD state shapes a turn: one line in the prompt, and (optionally) the sampling temperature.

* **Prompt** (``[Emotions] RENDER_IN_PROMPT``): a "How you feel" section of one line, e.g.
  ``anxious: pleasure -0.40, arousal +0.60, dominance -0.20 (each -1..1); usually slightly relaxed``
  (about 30 tokens, within the sections' budget).
* **Generation** (``SHAPE_GENERATION``, off by default): ``temperature = clip(base_temperature +
  arousal_temperature · arousal, 0, 2)``, rounded to 2 decimals (so a replay's cache keys repeat):
  an agitated person answers less predictably, a drowsy one more.

Example:
    >>> from tinytroupe.agent.emotions.pad import PAD
    >>> feeling_line(PAD(pleasure=-0.4, arousal=0.6, dominance=-0.2), PAD(pleasure=0.3, arousal=-0.1, dominance=0.1))
    'anxious: pleasure -0.40, arousal +0.60, dominance -0.20 (each -1..1); usually slightly relaxed'
    >>> temperature_for(PAD(arousal=0.5), base=0.7, per_arousal=0.3)
    0.85
"""

from __future__ import annotations

from tinytroupe.agent.emotions.pad import PAD, clip

#: the title of the prompt section the state is shown in
SECTION_TITLE = "How you feel"
#: the system prompt's rule asking for the appraisal fields (only when the turn asks for them)
APPRAISAL_RULE = ("In cognitive_state also give pleasure_change, arousal_change and dominance_change: how what "
                  "happened since your last turn moved your feelings, each an integer from -3 to 3 (0: no change).")


def feeling_line(current: PAD, baseline: PAD) -> str:
    """The prompt's one line about the state (see the module docstring)."""
    return (f"{current.describe()}: pleasure {current.pleasure:+.2f}, arousal {current.arousal:+.2f}, "
            f"dominance {current.dominance:+.2f} (each -1..1); usually {baseline.describe()}")


def temperature_for(current: PAD, *, base: float, per_arousal: float) -> float:
    """The sampling temperature for a state (see the module docstring)."""
    return round(clip(base + per_arousal * current.arousal, 0.0, 2.0), 2)


__all__ = ["APPRAISAL_RULE", "SECTION_TITLE", "feeling_line", "temperature_for"]
