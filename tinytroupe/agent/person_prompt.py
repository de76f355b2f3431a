"""What one turn of a :class:`~tinytroupe.agent.person.TinyPerson` shows the model.

The turn view (persona, recent and new events, situation) is gathered in the turn's ``perceive``
phase, its recent events a window that slides in blocks (:func:`slide_window`) from where the
agent's last turn started it; in ``retrieve`` the components add to it (the memory component the
long-term memory section, recalled with what the agent has in mind now as the query); then
:func:`~tinytroupe.agent.cognition.build_action_messages` renders it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from operator import attrgetter

from tinytroupe.agent.cognition import TurnView, build_action_messages
from tinytroupe.agent.memory import EpisodicMemory, MemoryItem
from tinytroupe.agent.person_core import PersonCore
from tinytroupe.agent.turn import Turn, TurnPhase, run_hooks
from tinytroupe.agent.vision import turn_images
from tinytroupe.aio import run_sync
from tinytroupe.context import RunContext
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.types import Message

#: an item's id (the order of a memory's items), without a Python call per item compared
_ID = attrgetter("id")


class PromptMethods(PersonCore):
    """The prompt part of :class:`~tinytroupe.agent.person.TinyPerson`."""

    def build_prompt(self) -> list[Message]:
        """The messages the next turn would send (marks nothing as seen, and rehearses nothing).

        A preview (``turn.preview``): the components' ``retrieve`` hooks run, their ``perceive``
        hooks (which appraise new stimuli and may change state) do not.

        Raises:
            InvalidState: called from a coroutine on tinytroupe's event loop (await :meth:`abuild_prompt`).
        """
        return run_sync(self.abuild_prompt())

    async def abuild_prompt(self) -> list[Message]:
        """Async twin of :meth:`build_prompt` (for faculties and components, which run inside a turn)."""
        return (await self._aprepare_turn(self.client, preview=True)).messages

    async def _aprepare_turn(self, client: LLMClient, *, preview: bool = False,
                             context: RunContext | None = None) -> Turn:
        """A new turn through ``perceive`` and ``retrieve``, with the prompt built.

        ``context``: the agent's run context, when the caller has it at hand (one lookup per turn).
        """
        env, context, budget = self.environment, context if context is not None else self.context, self.prompt_budget
        turn = Turn(agent=self, client=client, world=env.name if env is not None else None,  # type: ignore[arg-type]
                    step=self._step(), preview=preview, context=context, budget=budget)
        turn.view, turn.seen_upto, turn.recent_from = self._turn_view()
        components = self._components  # never changed in place (add/remove assign a new list): no copy
        if not preview:
            await run_hooks(components, TurnPhase.PERCEIVE, turn)
        await run_hooks(components, TurnPhase.RETRIEVE, turn)
        turn.messages = build_action_messages(turn.view, budget)
        turn_images(turn, context.settings)  # a vision model sees the new images themselves
        return turn

    def _memory_query(self, new: Iterable[MemoryItem] = ()) -> str:
        """What the agent has in mind now: goals, attention, context, emotions and what just happened."""
        state = self.cognitive_state
        parts = [state.goals, state.attention, *state.context, state.emotions or ""]
        parts += [i.content for i in new][-5:]
        kept = [p for p in parts if p and p.strip()]  # a list, not generators: this runs on every turn
        if not kept:
            kept = [p for p in (i.content for i in self.memory.recent(3)) if p and p.strip()]
        return "\n".join(kept)

    def _turn_view(self) -> tuple[TurnView, int, int]:
        """The turn's view, the newest memory id it includes, and the id its recent window starts at."""
        with self._lock:
            seen, memory = self._seen_upto, self.memory
            last_id = memory.last_id
            # The new stimuli among the last `pool` items (all of them when more than those are new and
            # the oldest of those is one): what is unseen, when it fits the pool, as it mostly does.
            pool, unseen = self.recent_window + 50, memory.after(seen)
            if len(unseen) > pool:
                unseen = unseen[-pool:]
                new = [i for i in unseen if i.kind == "stimulus"]
                if new and new[0].id == unseen[0].id and seen < new[0].id - 1:
                    # more new stimuli than the pool holds: fetch them all
                    new = [i for i in memory.after(seen) if i.kind == "stimulus"]
            else:
                new = [i for i in unseen if i.kind == "stimulus"]
            new_ids = {i.id for i in new}
            recent = self._recent_events(new_ids, memory)
            view = TurnView(
                name=self.name,
                persona_text=self.persona.render(),
                action_types=self.actions_registry.descriptions(),
                state=self.cognitive_state,
                recent=recent,
                new=new,
                now=self._now(),
                location=self.location,
                accessible=[f"{n} ({d})" if d else n for n, (_, d) in self._accessible.items()],
                max_actions=self.max_actions_per_turn,
            )
        return view, last_id, recent[0].id if recent else self._recent_from

    def _recent_events(self, new_ids: set[int], memory: EpisodicMemory) -> list[MemoryItem]:
        # Called under the lock, with the agent's memory. DONE lines carry no information for the model;
        # leaving them out saves prompt tokens. New stimuli are shown once, in their own section.
        size, anchor = self.recent_window, self._recent_from
        items = memory.after(anchor - 1)  # ids only grow: everything from the anchor on
        events = [i for i in items if i.id not in new_ids and i.type != "DONE"]
        if len(events) < size:  # a short history, or the anchor was forgotten: the last `size` events
            pool = size + 50 + len(new_ids)
            # The last `pool` items are those just scanned when that was the whole memory, no longer
            # than the pool (a short history): no second scan then.
            if len(items) > pool or len(items) != len(memory):
                events = [i for i in memory.recent(pool) if i.id not in new_ids and i.type != "DONE"]
        return slide_window(events, anchor, size, self.recent_window_step)


def slide_window(events: Sequence[MemoryItem], start_id: int, size: int, step: int) -> list[MemoryItem]:
    """The recent events a prompt shows: from the event ``start_id`` (where the last turn's window
    began) while that leaves ``size`` to ``size + step - 1`` of ``events`` (oldest first), else moved on
    by whole ``step`` s into that range; the last ``size`` when fewer than ``size`` follow ``start_id``.

    With ``step`` 1 this is the last ``size`` events, a window sliding by one event per new event. A
    larger step keeps the window's start for ``step - 1`` new events, so consecutive prompts of an
    agent share their recent events too, a prefix a provider's cache can reuse (``docs/performance.md``).

    Example:
        >>> from tinytroupe.agent.memory import MemoryItem
        >>> events = [MemoryItem(id=i, kind="stimulus", type="CONVERSATION", content="") for i in range(1, 10)]
        >>> [e.id for e in slide_window(events[:7], 1, 4, 3)]   # 7 = 4 + 3 events: drop 3 at once
        [4, 5, 6, 7]
        >>> [e.id for e in slide_window(events[:9], 4, 4, 3)]   # 6 events from 4 on: keep the start
        [4, 5, 6, 7, 8, 9]
        >>> [e.id for e in slide_window(events[:9], 4, 4, 1)]   # step 1: the last 4
        [6, 7, 8, 9]
    """
    first = bisect.bisect_left(events, start_id, key=_ID)
    following = len(events) - first
    if following < size:
        first = max(0, len(events) - size)
    elif following >= size + step:
        first += (following - size) // step * step
    return list(events[first:])


__all__ = ["PromptMethods", "slide_window"]
