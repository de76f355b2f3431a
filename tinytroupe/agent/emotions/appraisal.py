"""Appraisal: how new stimuli move an agent, in steps of -3..3 per PAD dimension.

Two sources, neither costing a model call of its own:

* **the turn** (``[Emotions] APPRAISAL = "turn"``): the turn's one answer carries
  ``pleasure_change``, ``arousal_change`` and ``dominance_change`` in its cognitive state (the
  schema offers them only to agents with an emotions component; see
  :data:`tinytroupe.agent.actions.APPRAISAL_FIELDS`); :func:`answer_steps` reads them;
* **the rule** (``"rule"``, for backends that cannot return them): :func:`rule_appraisal` scores the
  stimuli by a small table of cue phrases (:data:`CUES`) plus exclamation and shouting.

Example:
    >>> from tinytroupe.agent.memory import MemoryItem
    >>> insult = MemoryItem(id=1, kind="stimulus", type="CONVERSATION", content="You are an idiot!", source="Bo")
    >>> rule_appraisal([insult])
    (-3, 3, -1)
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tinytroupe.agent.actions import CognitiveState
from tinytroupe.agent.emotions.dynamics import STEPS
from tinytroupe.agent.memory import MemoryItem

Steps = tuple[int, int, int]

#: cue phrases (matched as whole words, case-insensitively) and the steps each adds
CUES: dict[Steps, tuple[str, ...]] = {
    (-3, 2, -1): ("idiot", "stupid", "useless", "incompetent", "pathetic", "liar", "shut up", "hate you",
                  "disgrace", "moron", "fool", "worthless"),
    (-2, 3, -2): ("fired", "threat", "threaten", "danger", "dangerous", "attack", "or else", "emergency",
                  "fire alarm", "lawsuit", "you will regret"),
    (-2, -1, -1): ("bad news", "passed away", "died", "rejected", "cancelled", "failed", "lost", "sorry to tell",
                   "unfortunately", "laid off"),
    (2, 1, 1): ("thank you", "thanks", "well done", "great job", "brilliant", "wonderful", "excellent",
                "proud of you", "congratulations", "love it", "amazing"),
    (2, 2, 1): ("good news", "promotion", "promoted", "bonus", "we won", "you won", "celebrate", "surprise party"),
    (1, -2, 0): ("calm down", "relax", "no rush", "take your time", "don't worry", "do not worry", "all is well"),
}
_PATTERNS: list[tuple[Steps, re.Pattern[str]]] = [
    (steps, re.compile(r"\b(" + "|".join(re.escape(c) for c in cues) + r")\b", re.IGNORECASE))
    for steps, cues in CUES.items()]
#: stimulus types the rule appraises (a location or a tool's answer moves nobody by its words)
APPRAISED_TYPES = frozenset({"CONVERSATION", "SOCIAL", "VISUAL", "THOUGHT", "DOCUMENT"})


def _bound(value: int) -> int:
    return max(-STEPS, min(STEPS, value))


def rule_appraisal(stimuli: Iterable[MemoryItem]) -> Steps:
    """The steps the rule gives ``stimuli`` together (each dimension within -3..3).

    Each group of :data:`CUES` adds its steps once per stimulus that has one of its phrases; an
    exclamation mark or a mostly upper-case
    message of several words adds one step of arousal.
    """
    p = a = d = 0
    for item in stimuli:
        if item.kind != "stimulus" or item.type not in APPRAISED_TYPES:
            continue
        text = item.content
        for (dp, da, dd), pattern in _PATTERNS:
            if pattern.search(text):
                p, a, d = p + dp, a + da, d + dd
        letters = [c for c in text if c.isalpha()]
        shouting = len(text.split()) >= 3 and letters and sum(c.isupper() for c in letters) > 0.7 * len(letters)
        if "!" in text or shouting:
            a += 1
    return (_bound(p), _bound(a), _bound(d))


def answer_steps(state: CognitiveState) -> Steps | None:
    """The appraisal the turn's answer carried in its cognitive state, or None when it carried none.

    Example:
        >>> answer_steps(CognitiveState(pleasure_change=-2, arousal_change=1))
        (-2, 1, 0)
        >>> answer_steps(CognitiveState()) is None
        True
    """
    values = (state.pleasure_change, state.arousal_change, state.dominance_change)
    if all(v is None for v in values):
        return None
    return tuple(_bound(v or 0) for v in values)  # type: ignore[return-value]


__all__ = ["APPRAISED_TYPES", "CUES", "Steps", "answer_steps", "rule_appraisal"]
