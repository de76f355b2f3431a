"""TinyTroupe's memory upkeep on a :class:`~tinytroupe.agent.person.TinyPerson`: a summary of what the
agent remembers about something, read over its whole memory, and ``optimize_memory``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field

from tinytroupe.agent.memory import MemoryItem, SemanticFact
from tinytroupe.agent.person_memory import MemoryMethods
from tinytroupe.agent.prompts import template
from tinytroupe.aio import run_sync
from tinytroupe.errors import InvalidArgument
from tinytroupe.llm.tokens import chars_for_tokens

#: ``item_type`` values of :meth:`MemoryToolMethods.summarize_relevant_memories_via_full_scan`:
#: episodic kinds, then semantic kinds
SUMMARY_ITEM_TYPES = ("stimulus", "action", "fact", "insight", "document")


class MemorySummary(BaseModel):
    """The model's answer to the summary prompt."""

    summary: str = Field(max_length=4000)


def _fit(lines: list[str], indices: Iterable[int], room: int, kept: set[int]) -> int:
    """Add to ``kept`` the lines at ``indices``, in that order, that fit in ``room`` characters (one
    that does not fit is skipped, not the end); the room left."""
    for i in indices:
        if i not in kept and len(lines[i]) + 1 <= room:
            kept.add(i)
            room -= len(lines[i]) + 1
    return room


def summary_within_budget(semantic: list[str], episodic: list[str], budget: int) -> list[str]:
    """The lines a full-scan summary reads within ``budget`` characters, semantic first, then episodic,
    each in its own order.

    Semantic lines (facts, insights, documents) and episodic ones have half the budget each at first
    (what one leaves unused goes to the other): a long history does not push out what the agent
    knows, nor the other way round. Episodes are left out oldest first, semantic lines last first; a
    line too long for the room left is skipped and shorter ones still come in.

    Example:
        >>> summary_within_budget(["(fact) A", "(fact) B"], ["old", "x" * 50, "new"], 30)
        ['(fact) A', '(fact) B', 'old', 'new']
    """
    lines = [*semantic, *episodic]
    facts, episodes = range(len(semantic)), range(len(lines) - 1, len(semantic) - 1, -1)
    kept: set[int] = set()
    room = _fit(lines, facts, budget // 2, kept) + budget - budget // 2
    room = _fit(lines, episodes, room, kept)
    _fit(lines, facts, room, kept)
    return [lines[i] for i in sorted(kept)]


class MemoryToolMethods(MemoryMethods):
    """The memory upkeep part of :class:`~tinytroupe.agent.person.TinyPerson`."""

    def _summary_lines(self, item_type: str | None) -> tuple[list[str], list[str]]:
        """The semantic lines (facts, insights, documents) and the episodic ones, oldest first."""
        with self._lock:
            facts: list[SemanticFact] = self.memories.semantic.active()
            items: list[MemoryItem] = self.memory.items()
        semantic = [f"({'from ' + (f.source or 'a document') if f.kind == 'document' else f.kind}) {f.content}"
                    for f in facts if item_type is None or f.kind == item_type]
        episodic = [i.describe(self.name, 400) for i in items
                    if i.type != "DONE" and (item_type is None or i.kind == item_type)]
        return semantic, episodic

    async def asummarize_relevant_memories_via_full_scan(self, relevance_target: str,
                                                         item_type: str | None = None) -> str:
        """Async twin of :meth:`summarize_relevant_memories_via_full_scan`.

        Raises:
            InvalidArgument: ``relevance_target`` is empty, or ``item_type`` is not one of
                :data:`SUMMARY_ITEM_TYPES`.
        """
        if not isinstance(relevance_target, str) or not relevance_target.strip():
            raise InvalidArgument("relevance_target must be non-empty text: what the summary is about")
        if item_type is not None and item_type not in SUMMARY_ITEM_TYPES:
            raise InvalidArgument(f"item_type must be None or one of {', '.join(SUMMARY_ITEM_TYPES)}; "
                                  f"got {item_type!r}")
        semantic, episodic = self._summary_lines(item_type)
        if not semantic and not episodic:
            return ""
        hint = self.client.prompt_token_hint
        budget = chars_for_tokens(min(self.prompt_token_budget, hint) if hint is not None else self.prompt_token_budget)
        kept = summary_within_budget(semantic, episodic, budget)
        prompt = template("memory_summary.j2").render(name=self.name, item_type=item_type, target=relevance_target,
                                                      memories=kept,
                                                      left_out=len(semantic) + len(episodic) - len(kept))
        env = self.environment
        result = await self.caller_client.acomplete([{"role": "user", "content": prompt}], response_model=MemorySummary,
                                             purpose="memory_summary", agent=self.name,
                                             world=env.name if env is not None else None, step=self._step())
        return str(result.value.summary)

    def summarize_relevant_memories_via_full_scan(self, relevance_target: str, item_type: str | None = None) -> str:
        """What the agent remembers about ``relevance_target``, summarised by one LLM call that reads its
        whole memory (TinyTroupe's signature; ``purpose="memory_summary"``).

        Unlike relevance retrieval (:meth:`retrieve_relevant_memories`, the top few by score), the
        model sees every active semantic fact, insight and document passage, then every episodic
        memory, oldest first, as far as the agent's prompt token budget allows (see
        :func:`summary_within_budget`; the prompt says how many were left out). ``item_type`` keeps
        one kind: ``"stimulus"`` or ``"action"`` (episodic), ``"fact"``, ``"insight"`` or
        ``"document"`` (semantic). With nothing to read it returns ``""`` without a call.

        Raises:
            InvalidArgument: ``relevance_target`` is empty, or ``item_type`` is not one of those.
            LLMError: as for any call of the agent's client.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> from tinytroupe.llm import LLMClient, ScriptedBackend
            >>> client = LLMClient(ScriptedBackend([{"summary": "Ben wants tea at five."}]))
            >>> lisa = TinyPerson("Lisa", client=client).listen("Tea at five?", source="Ben")
            >>> lisa.summarize_relevant_memories_via_full_scan("plans with Ben")
            'Ben wants tea at five.'
        """
        return run_sync(self.asummarize_relevant_memories_via_full_scan(relevance_target, item_type))

    async def aoptimize_memory(self) -> dict[str, Any]:
        """Async twin of :meth:`optimize_memory`."""
        async with self._turn_lock():
            env = self.environment
            consolidated = self.memories.unconsolidated()
            written = []
            if consolidated:
                written = await self.memories.aconsolidate(self.caller_client, automatic=False,
                                                           world=env.name if env is not None else None,
                                                           step=self._step())
            forgotten = self.memories.forget_faded()
        return {"consolidated": consolidated, "facts_written": len(written), "forgotten": forgotten}

    def optimize_memory(self) -> dict[str, Any]:
        """Tidy the agent's memory now: consolidate the episode not yet consolidated (LLM calls, as
        :meth:`consolidate_memory`), then apply forgetting (facts under the retention floor, and the
        least important past ``[Memory] MAX_SEMANTIC_MEMORY_SIZE``). TinyTroupe 0.6.0's method does
        nothing; ours returns what was done: ``{"consolidated": episodic items read,
        "facts_written": ..., "forgotten": ...}``. With nothing to consolidate no LLM call is made.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> TinyPerson("Lisa").optimize_memory()
            {'consolidated': 0, 'facts_written': 0, 'forgotten': 0}
        """
        return run_sync(self.aoptimize_memory())


__all__ = ["SUMMARY_ITEM_TYPES", "MemorySummary", "MemoryToolMethods", "summary_within_budget"]
