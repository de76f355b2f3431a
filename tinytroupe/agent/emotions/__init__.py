"""Emotions: an agent's Pleasure-Arousal-Dominance state, appraised without extra model calls, decaying
towards a baseline in simulated time, shaping prompts (and optionally sampling), tagging memories,
and spreading between agents who perceive each other. Opt-in: ``[Emotions] ENABLED``, or add an
:class:`EmotionComponent` to an agent. See ``docs/emotions.md``.

One room per concept::

    pad.py         PAD, EmotionalState, octant labels
    dynamics.py    the update rule (clipped, smoothed) and decay (half-life)
    baseline.py    the baseline: explicit, or from the persona's Big Five
    appraisal.py   the turn's appraisal fields, and the rule for backends without them
    influence.py   the prompt line and the temperature mapping
    component.py   EmotionComponent, the turn component tying them together

Contagion between agents is a world's: :class:`tinytroupe.environment.contagion.EmotionalContagion`.

Public names: PAD, EmotionalState, EmotionComponent, EmotionParams, emotions_of, octant_label,
baseline_from_persona, rule_appraisal.
"""

from tinytroupe.agent.emotions.appraisal import rule_appraisal
from tinytroupe.agent.emotions.baseline import baseline_from_persona
from tinytroupe.agent.emotions.component import EmotionComponent, emotions_of
from tinytroupe.agent.emotions.dynamics import EmotionParams
from tinytroupe.agent.emotions.pad import PAD, EmotionalState, octant_label

__all__ = ["PAD", "EmotionComponent", "EmotionParams", "EmotionalState", "baseline_from_persona", "emotions_of",
           "octant_label", "rule_appraisal"]
