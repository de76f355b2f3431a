"""Emotions in scenario files: an ``emotions:`` key gives every agent a PAD emotional state
(``docs/emotions.md``), with the scenario's overrides of ``[Emotions]``, explicit baselines per agent
and, optionally, contagion in the world.

Example:
    >>> spec = EmotionsSpec.model_validate({"contagion": 0.1, "baselines": {"Ana": {"pleasure": -0.2}}})
    >>> spec.enabled, spec.contagion, spec.baselines["Ana"].pleasure
    (True, 0.1, -0.2)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from tinytroupe.agent.emotions import PAD, EmotionComponent
from tinytroupe.environment.contagion import EmotionalContagion
from tinytroupe.errors import ScenarioError
from tinytroupe.scenario.tools import StrictModel

if TYPE_CHECKING:
    from tinytroupe.environment.world import TinyWorld


class BaselineSpec(StrictModel):
    """A resting PAD state; each coordinate from -1 to 1 (missing ones 0)."""

    pleasure: float = Field(0.0, ge=-1.0, le=1.0)
    arousal: float = Field(0.0, ge=-1.0, le=1.0)
    dominance: float = Field(0.0, ge=-1.0, le=1.0)


class EmotionsSpec(StrictModel):
    """A scenario's ``emotions:``. Fields left out keep ``[Emotions]``'s values."""

    enabled: bool = True
    appraisal: Literal["turn", "rule"] | None = Field(None, description="turn (no extra call) or rule")
    half_life_minutes: float | None = Field(None, ge=0.0, description="simulated minutes to halve a feeling")
    render_in_prompt: bool | None = None
    shape_generation: bool | None = None
    contagion: float | None = Field(None, gt=0.0, le=0.5, description="drift per step towards those perceived")
    baselines: dict[str, BaselineSpec] = Field(default_factory=dict, description="{agent name: PAD}")


def give_emotions(spec: EmotionsSpec | None, world: TinyWorld) -> None:
    """Give ``world``'s agents the emotions ``spec`` describes (nothing when it is None or disabled).

    An agent that already has an emotions component (``[Emotions] ENABLED``) gets the scenario's instead.

    Raises:
        ScenarioError: a baseline names someone who is not among the agents.
    """
    if spec is None or not spec.enabled:
        return
    names = {a.name for a in world.agents}
    unknown = sorted(set(spec.baselines) - names)
    if unknown:
        raise ScenarioError(f"emotions.baselines names {', '.join(map(repr, unknown))}, not among the agents "
                            f"({', '.join(sorted(names))})", field="emotions.baselines")
    overrides = {k: v for k, v in spec.model_dump(include={"appraisal", "half_life_minutes", "render_in_prompt",
                                                           "shape_generation"}).items() if v is not None}
    settings = world.context.settings.emotions.model_copy(update=overrides)
    for agent in world.agents:
        if agent.get_component(EmotionComponent.name) is not None:
            agent.remove_component(EmotionComponent.name)
        given = spec.baselines.get(agent.name)
        baseline = PAD(**given.model_dump()) if given is not None else None
        agent.add_component(EmotionComponent(baseline=baseline, settings=settings))
    if spec.contagion is not None:
        world.add_intervention(EmotionalContagion(spec.contagion))


__all__ = ["BaselineSpec", "EmotionsSpec", "give_emotions"]
