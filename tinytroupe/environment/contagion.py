"""Emotional contagion in a world: agents who perceive each other drift towards each other's state.

:class:`EmotionalContagion` is a world intervention (``world.add_intervention(EmotionalContagion(0.1))``,
or a scenario's ``emotions: {contagion: 0.1}``). At the start of each step, every agent with an
emotions component that perceived others with one since the last application (a stimulus whose
source is such an agent: what they said to it, showed it ...) moves towards their mean state ``m``::

    x' = x + r · (m - x)

all agents from the same snapshot, in the world's agent order (so the outcome does not depend on
it). Two agents who perceive each other every step close the distance between them by the factor
``1 - 2r`` per step. States are first decayed to the world's time. Each move is an
:class:`~tinytroupe.events.EmotionEvent` with ``cause="contagion"``.

Example:
    >>> EmotionalContagion(0.2).rate
    0.2
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinytroupe.agent.emotions.component import EmotionComponent, emotions_of
from tinytroupe.agent.emotions.pad import PAD
from tinytroupe.agent.person import TinyPerson
from tinytroupe.errors import InvalidArgument

if TYPE_CHECKING:
    from tinytroupe.environment.world import TinyWorld


class EmotionalContagion:
    """Drift of agents' PAD states towards those they perceived, at ``rate`` per step (0 < rate <= 0.5).

    ``rate`` None takes ``[Emotions] CONTAGION_RATE`` from the world's run context at each step.

    Raises:
        InvalidArgument: ``rate`` is outside (0, 0.5].
    """

    def __init__(self, rate: float | None = None) -> None:
        if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= 0.5):
            raise InvalidArgument(f"the contagion rate must be a number above 0 and at most 0.5, got {rate!r}")
        self.rate = float(rate) if rate is not None else None

    def __call__(self, world: TinyWorld) -> None:
        rate = self.rate if self.rate is not None else world.context.settings.emotions.contagion_rate
        holders: list[tuple[TinyPerson, EmotionComponent]] = [
            (agent, comp) for agent in world.agents if (comp := emotions_of(agent)) is not None]
        snapshot = {agent.name: comp.decayed(agent, turns=0) for agent, comp in holders}
        moves: list[tuple[TinyPerson, EmotionComponent, PAD]] = []
        for agent, comp in holders:
            new = agent.memory.after(comp.state.contagion_upto)
            if not new:
                continue
            comp.state = comp.state.model_copy(update={"contagion_upto": new[-1].id})
            sources = sorted({i.source for i in new
                              if i.kind == "stimulus" and i.source in snapshot and i.source != agent.name})
            if not sources or rate == 0:
                continue
            mean = [sum(snapshot[s].as_tuple()[k] for s in sources) / len(sources) for k in range(3)]
            before = snapshot[agent.name]
            moved = PAD.clipped(*(x + rate * (m - x) for x, m in zip(before.as_tuple(), mean, strict=True)))
            moves.append((agent, comp, moved))
        for agent, comp, moved in moves:
            comp.move_to(agent, moved, cause="contagion", before=comp.state.current, step=world.current_step,
                         world=world.name)


__all__ = ["EmotionalContagion"]
