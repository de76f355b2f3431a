"""The components every agent starts with: memory, the action quality checks, the repetition filter and
its mental faculties.

They are what :class:`~tinytroupe.agent.person.TinyPerson` used to do inline in its turn, now in the
phases of the turn protocol (:mod:`tinytroupe.agent.turn`), so other components can run before,
between or after them.
"""

from __future__ import annotations

import logging

from tinytroupe.agent.action_quality import ActionQualityCheck
from tinytroupe.agent.turn import Turn, TurnComponent
from tinytroupe.events import WarningEvent

logger = logging.getLogger("tinytroupe.agent.person")

#: the key of ``Turn.notes`` where an emotions component leaves the agent's mood for recall (a
#: :class:`~tinytroupe.agent.memory.affect.Mood`: mood-congruent retrieval)
MOOD_NOTE = "mood"


class MemoryComponent(TurnComponent):
    """Recalls what is relevant to the turn (``retrieve``) and keeps memory in shape afterwards (``maintain``).

    Recall uses what the agent has in mind now (goals, attention, context, emotions and the new
    stimuli) as the query, leaves out what the prompt shows anyway, and rehearses what it recalls
    (unless the turn is a preview). With a mood in ``turn.notes[MOOD_NOTE]`` (an emotions component's)
    recall weighs mood congruence too. Upkeep is :meth:`~tinytroupe.agent.memory.AgentMemory.aafter_turn`:
    rating, consolidation, forgetting and reflection at their thresholds; its failures are warnings
    that back off, never a failed turn whose actions nonetheless took place.
    """

    name = "memory"
    portable = True

    async def retrieve(self, turn: Turn) -> None:
        agent, view = turn.agent, turn.view
        assert view is not None  # set in perceive
        shown = {i.id for items in (view.recent, view.new) for i in items}
        budget = turn.budget if turn.budget is not None else agent.prompt_budget
        new = view.new
        # the query is built only when there is something to recall (mostly not, in a short history)
        view.long_term_memory = await agent.memories.arecall_text(
            lambda: agent._memory_query(new), shown, budget.long_term_memory, rehearse=not turn.preview,
            mood=turn.notes.get(MOOD_NOTE))

    async def maintain(self, turn: Turn) -> None:
        await turn.agent.memories.aafter_turn(turn.client, world=turn.world, step=turn.step)


class RepetitionFilter(TurnComponent):
    """Leaves out, within a turn, actions repeating an earlier one nearly word for word (``decide``).

    Active while the agent's ``enable_basic_action_repetition_prevention`` is on (TinyTroupe's switch);
    see ``MAX_ACTION_SIMILARITY``. What it leaves out is published as an ``action_repeated`` warning.
    """

    name = "repetition_filter"
    portable = True

    async def decide(self, turn: Turn) -> None:
        agent = turn.agent
        if turn.batch is None or not agent.enable_basic_action_repetition_prevention:
            return
        turn.batch, repeated = turn.batch.without_repetitions(agent.MAX_ACTION_SIMILARITY)
        if repeated:
            # Models caught in a loop emit the same thought or line several times in one turn; only the
            # first is an action the person took. The rest leave a trace, not a memory.
            message = (f"{agent.name}: left out {len(repeated)} action(s) repeating an earlier one of the same "
                       f"turn ({', '.join(sorted({a.type for a in repeated}))})")
            logger.info("%s", message)
            agent._publish(WarningEvent(code="action_repeated", message=message, agent=agent.name,
                                        world=turn.world, step=turn.step,
                                        data={"actions": [a.model_dump() for a in repeated]}))


class FacultyComponent(TurnComponent):
    """Hands every committed action to every mental faculty, as TinyTroupe does (``act``).

    A faculty that is a turn component itself (``TinyToolUse``) is left out: it runs in its own hooks.
    """

    name = "mental_faculties"
    portable = True

    async def act(self, turn: Turn) -> None:
        faculties = [f for f in turn.agent.mental_faculties if not isinstance(f, TurnComponent)]
        for action in turn.actions if faculties else ():
            for faculty in faculties:
                faculty.process_action(turn.agent, action)


def default_components() -> list[TurnComponent]:
    """A new agent's components, in the order their hooks run within a phase.

    The quality checks (off unless ``[ActionGenerator] ENABLE_QUALITY_CHECKS``) come before the
    repetition filter, so that whichever attempt they keep is filtered too.
    """
    return [MemoryComponent(), ActionQualityCheck(), RepetitionFilter(), FacultyComponent()]


__all__ = ["MOOD_NOTE", "ActionQualityCheck", "FacultyComponent", "MemoryComponent", "RepetitionFilter",
           "default_components"]
