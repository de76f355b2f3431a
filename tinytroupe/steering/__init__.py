"""Steering: changing a running simulation from outside, as TinyTroupe's ``tinytroupe.steering`` does.

An :class:`Intervention` watches its targets (agents or worlds) and, when its preconditions hold,
applies an effect; a world given ``interventions=[...]`` checks each at the start of every step.
A :class:`TinyStory` proposes the next passage of a world's or an agent's story, for the caller to
tell the people in it. Both show the model the same rendering of recent trajectories
(:mod:`tinytroupe.steering.trajectory`).

Public names: Intervention, InterventionBatch, PreconditionCheck, TinyStory, StoryPassage,
DEFAULT_FIRST_N, DEFAULT_LAST_N.

Example (fires once: after its effect, Ana's memory is no longer empty):
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.steering import Intervention
    >>> ana = TinyPerson("Ana")
    >>> calm = (Intervention(ana, name="calm")
    ...         .set_functional_precondition(lambda agent: agent.get_memory_stats()["episodic_size"] == 0)
    ...         .set_effect(lambda agent: agent.think("Breathe.")))
    >>> calm.execute(), calm.execute()
    (True, False)
"""

from tinytroupe.steering.intervention import (
    DEFAULT_FIRST_N,
    DEFAULT_LAST_N,
    Intervention,
    InterventionBatch,
    PreconditionCheck,
)
from tinytroupe.steering.tiny_story import StoryPassage, TinyStory

__all__ = ["DEFAULT_FIRST_N", "DEFAULT_LAST_N", "Intervention", "InterventionBatch", "PreconditionCheck",
           "StoryPassage", "TinyStory"]
