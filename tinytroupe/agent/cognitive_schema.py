"""The cognitive state a turn's answer carries, as the model must fill it: goals, context, attention and
emotions, and, for an agent with emotions, the appraisal fields (``docs/emotions.md``).

Example:
    >>> sorted(_cognitive_state_model(True).model_fields)[:3]
    ['arousal_change', 'attention', 'context']
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, create_model

#: the cognitive state's appraisal fields (only with ``appraisal=True``): how this turn's events moved
#: the agent, an integer step each, -3..3 (a number beyond is clipped, not re-asked); see docs/emotions.md
APPRAISAL_FIELDS = {"pleasure_change": "-3 much less pleasant .. 0 no change .. 3 much more pleasant",
                    "arousal_change": "-3 much calmer .. 0 no change .. 3 much more stirred up",
                    "dominance_change": "-3 much less in control .. 0 no change .. 3 much more in control"}


def _appraisal_step(value: Any) -> Any:
    return max(-3, min(3, round(value))) if isinstance(value, int | float) and not isinstance(value, bool) else value


@lru_cache(maxsize=2)
def _cognitive_state_model(appraisal: bool = False) -> type[BaseModel]:
    step = Annotated[int, BeforeValidator(_appraisal_step)]
    extra: dict[str, Any] = {name: (step, Field(0, description=text, json_schema_extra={"minimum": -3, "maximum": 3}))
                             for name, text in APPRAISAL_FIELDS.items()} if appraisal else {}
    return create_model(
        "LLMCognitiveState",
        # Defaults keep a turn usable when a model leaves a field out; the schema still lists them all.
        goals=(str, Field("", max_length=200, description="your current goals")),
        context=(list[str], Field(default_factory=list, json_schema_extra={"maxItems": 5},
                                  description="short facts about your situation")),
        attention=(str, Field("", max_length=200, description="what you pay attention to")),
        emotions=(str, Field("", max_length=120, description="how you feel")),
        **extra,
    )


__all__ = ["APPRAISAL_FIELDS"]
