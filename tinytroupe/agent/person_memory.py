"""TinyTroupe's memory API on a :class:`~tinytroupe.agent.person.TinyPerson`, and its history display.

Everything here goes through the agent's :class:`~tinytroupe.agent.memory.AgentMemory`
(``agent.memories``): stats, relevance retrieval, TinyTroupe's ``first_n``/``last_n`` windows and
memory dicts, consolidation on demand, and ``pp_current_interactions``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rich.console import Console

from tinytroupe.agent.memory import MemoryItem, RetrievedMemory
from tinytroupe.agent.person_prompt import PromptMethods
from tinytroupe.aio import run_sync
from tinytroupe.compat import ignored_argument
from tinytroupe.errors import InvalidArgument
from tinytroupe.terminal import print_plain


class MemoryMethods(PromptMethods):
    """The memory part of :class:`~tinytroupe.agent.person.TinyPerson`."""

    def get_memory_stats(self) -> dict[str, Any]:
        """Memory sizes, usage ratio, age of the oldest item, consolidations, evictions, approaching-limit flag.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> TinyPerson("Lisa").get_memory_stats()["episodic_size"]
            0
        """
        return self.memories.get_stats()

    def retrieve_relevant_memories(self, query: str, top_k: int | None = None, *,
                                   include_cold: bool = False) -> list[RetrievedMemory]:
        """The memories (episodic and semantic) best scored for ``query``: recency, importance, relevance.

        With ``include_cold``, what left RAM for the run file counts too (``docs/memory.md``, the cold
        tier): the cold segments most likely to hold a match are read, within ``[Memory] COLD_*_SEGMENTS``.

        Raises:
            StorageError: with ``include_cold``, the run file cannot be read.
        """
        return self.memories.retrieve(query, top_k, include_cold=include_cold)

    async def aretrieve_relevant_memories(self, query: str, top_k: int | None = None, *,
                                          include_cold: bool = False) -> list[RetrievedMemory]:
        """Async twin of :meth:`retrieve_relevant_memories`."""
        return await self.memories.aretrieve(query, top_k, include_cold=include_cold)

    def retrieve_relevant_memories_for_current_context(self, top_k: int | None = None, *,
                                                       include_cold: bool = False) -> list[RetrievedMemory]:
        """Memories relevant to the agent's goals, attention, context, emotions and latest events."""
        return self.memories.retrieve(self._memory_query(self.memory.recent(5)), top_k, include_cold=include_cold)

    def _select(self, first_n: int | None, last_n: int | None,
                include_cold: bool = False) -> tuple[list[MemoryItem], list[MemoryItem], int]:
        """TinyTroupe's ``first_n``/``last_n`` window over episodic memory: (head, tail, items left out)."""
        for label, n in (("first_n", first_n), ("last_n", last_n)):
            if n is not None and (not isinstance(n, int) or n < 0):
                raise InvalidArgument(f"{label} must be a non-negative integer or None, got {n!r}")
        items = self.memories.retrieve_all(include_cold)
        if first_n is None and last_n is None:
            return items, [], 0
        head = items[:first_n] if first_n is not None else []
        tail = items[len(items) - last_n:] if last_n else []
        if len(head) + len(tail) >= len(items):
            return items, [], 0
        return head, tail, len(items) - len(head) - len(tail)

    def retrieve_memories(self, first_n: int | None, last_n: int | None, include_omission_info: bool = True,
                          max_content_length: int | None = None, *, include_cold: bool = False) -> list[dict[str, Any]]:
        """The first ``first_n`` and last ``last_n`` episodic memories in TinyTroupe's message shape.

        Each memory is a dict ``{"role", "type", "content", "simulation_timestamp"}`` as
        :meth:`store_in_memory` accepts it. With ``include_omission_info``, a
        ``{"role": "system", "type": "omission", ...}`` entry marks where memories were left out.
        ``max_content_length`` cuts long contents. With ``include_cold``, the memories that left RAM
        for the run file (``docs/memory.md``, the cold tier) count too, so ``first_n`` reaches back
        to the very first ones.

        Raises:
            InvalidArgument: ``first_n`` or ``last_n`` is not a non-negative integer or None.
            StorageError: with ``include_cold``, the run file cannot be read.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> lisa = TinyPerson("Lisa").listen("one").listen("two").listen("three")
            >>> [m["content"] for m in lisa.retrieve_memories(first_n=1, last_n=1)][1]
            '(1 memory omitted)'
        """
        head, tail, omitted = self._select(first_n, last_n, include_cold)
        out = [i.to_message(max_content_length) for i in head]
        if omitted and include_omission_info:
            noun = "memory" if omitted == 1 else "memories"
            out.append({"role": "system", "type": "omission", "content": f"({omitted} {noun} omitted)",
                        "simulation_timestamp": None})
        out += [i.to_message(max_content_length) for i in tail]
        return out

    def retrieve_recent_memories(self, max_content_length: int | None = None) -> list[dict[str, Any]]:
        """The last ``recent_window`` memories (the recent history the next prompt shows at least: its
        window grows by up to ``recent_window_step - 1`` more), as :meth:`retrieve_memories` gives them.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> TinyPerson("Lisa").listen("hi").retrieve_recent_memories()[0]["content"]["stimuli"][0]["content"]
            'hi'
        """
        return self.retrieve_memories(None, self.recent_window, max_content_length=max_content_length)

    def clear_episodic_memory(self, max_prefix_to_clear: int | None = None,
                              max_suffix_to_clear: int | None = None) -> None:
        """Forget episodic memories: all of them, or the first ``max_prefix_to_clear`` and/or the last
        ``max_suffix_to_clear``. Semantic memory (consolidated facts) stays.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> lisa = TinyPerson("Lisa").listen("one").listen("two").listen("three")
            >>> lisa.clear_episodic_memory(max_prefix_to_clear=1)
            >>> [i.content for i in lisa.memory.items()]
            ['two', 'three']
        """
        with self._lock:
            removed = self.memory.clear(max_prefix_to_clear, max_suffix_to_clear)
            index = self.memories.index
            if index is not None:
                for item in removed:
                    index.remove(f"E{item.id}")

    async def aconsolidate_memory(self) -> int:
        """Consolidate the unconsolidated episode now (manual); returns the number of facts written."""
        async with self._turn_lock():
            env = self.environment
            return len(await self.memories.aconsolidate(self.caller_client, automatic=False,
                                                        world=env.name if env is not None else None,
                                                        step=self._step()))

    def consolidate_memory(self) -> int:
        """Sync twin of :meth:`aconsolidate_memory`."""
        return run_sync(self.aconsolidate_memory())

    def should_consolidate(self) -> bool:
        """Whether automatic consolidation is due (thresholds of ``[Memory]``).

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> TinyPerson("Lisa").should_consolidate()
            False
        """
        return self.memories.should_consolidate()

    def get_consolidation_metrics(self) -> dict[str, Any]:
        """Consolidations (automatic and manual), items consolidated, mean size, facts, last duration.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> m = TinyPerson("Lisa").get_consolidation_metrics()
            >>> m["count"], m["automatic"], m["manual"], m["mean_size"]
            (0, 0, 0, 0.0)
        """
        return self.memories.metrics.report()

    def store_in_memory(self, value: Mapping[str, Any]) -> list[MemoryItem]:
        """Write a memory in TinyTroupe's dict shape straight into episodic memory; returns the items written.

        ``{"role": ..., "content": ..., "type": "stimulus" | "action" | "feedback", "simulation_timestamp": ...}``
        (see :meth:`AgentMemory.store`). As in TinyTroupe, nothing is displayed or published as a stimulus
        or action; eviction and the near-limit warning work as for any memory. Consolidation is not run
        here (it needs an LLM call): the next turn runs it when :meth:`should_consolidate` says so, or call
        :meth:`consolidate_episode_memories`. The simulated time defaults to the world's clock.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> lisa = TinyPerson("Lisa")
            >>> items = lisa.store_in_memory({"role": "user", "type": "stimulus",
            ...     "content": {"stimuli": [{"type": "CONVERSATION", "content": "Hi Lisa", "source": "Ben"}]},
            ...     "simulation_timestamp": "2025-01-06T09:00:00"})
            >>> items[0].describe("Lisa")
            '[2025-01-06 09:00] Ben said: "Hi Lisa"'
        """
        with self._lock:
            return self.memories.store(value, now=self._now(), step=self._step())

    async def aconsolidate_episode_memories(self) -> bool:
        """Async twin of :meth:`consolidate_episode_memories`.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> import asyncio
            >>> asyncio.run(TinyPerson("Lisa").aconsolidate_episode_memories())
            False
        """
        if self.memories.unconsolidated() == 0:
            return False
        await self.aconsolidate_memory()
        return True

    def consolidate_episode_memories(self) -> bool:
        """TinyTroupe's name: consolidate the unconsolidated episode now; False when there was nothing to do.

        Unlike :meth:`consolidate_memory` (which returns the number of facts written) it makes no LLM call
        when every memory is already consolidated.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> TinyPerson("Lisa").consolidate_episode_memories()
            False
        """
        return run_sync(self.aconsolidate_episode_memories())

    # ------------------------------------------------------------------ display

    def pretty_current_interactions(self, simplified: bool = True, skip_system: bool = True,
                                    max_content_length: int | None = None, first_n: int | None = None,
                                    last_n: int | None = None, include_omission_info: bool = True) -> str:
        """The agent's history as text, one event per line (TinyTroupe's signature).

        ``first_n``/``last_n`` keep the first and last events (a line says how many were left out,
        unless ``include_omission_info=False``); ``max_content_length`` cuts long contents (None: no
        cut). ``simplified=False`` shows each event in TinyTroupe's message shape instead of a sentence.
        Memory holds no system messages, so ``skip_system=False`` shows nothing more (and warns).
        DONE actions are counted in the window but not shown.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> TinyPerson("Lisa").listen("Hi", source="Ben").pretty_current_interactions().splitlines()[1]
            'Ben said: "Hi"'
        """
        if not skip_system:
            ignored_argument("TinyPerson.pretty_current_interactions", "skip_system",
                             "agent memory holds no system messages, so there are none to show")

        def line(item: MemoryItem) -> str:
            if simplified:
                return item.describe(self.name, max_content_length)
            message = item.to_message(max_content_length)
            when = f"[{message['simulation_timestamp']}] " if message["simulation_timestamp"] else ""
            return f"{when}{message['role']}: {json.dumps(message['content'], ensure_ascii=False)}"

        head, tail, omitted = self._select(first_n, last_n)
        lines = [f">>>>>>>> Interactions of {self.name}"]
        lines += [line(item) for item in head if item.type != "DONE"]
        if omitted and include_omission_info:
            lines.append(f"(... {omitted} {'event' if omitted == 1 else 'events'} omitted ...)")
        lines += [line(item) for item in tail if item.type != "DONE"]
        return "\n".join(lines)

    def pp_current_interactions(self, simplified: bool = True, skip_system: bool = True,
                                max_content_length: int | None = None, first_n: int | None = None,
                                last_n: int | None = None, include_omission_info: bool = True, *,
                                console: Console | None = None) -> None:
        """Print :meth:`pretty_current_interactions` (to ``console``, default a new rich Console)."""
        text = self.pretty_current_interactions(simplified, skip_system, max_content_length, first_n, last_n,
                                                include_omission_info)
        print_plain(text, console)

    def pp_last_interactions(self, n: int = 3, simplified: bool = True, skip_system: bool = True,
                             max_content_length: int | None = None, include_omission_info: bool = True, *,
                             console: Console | None = None) -> None:
        """Print the last ``n`` events (DONE actions count but are not shown), e.g. to see how a run ended."""
        self.pp_current_interactions(simplified, skip_system, max_content_length, None, n, include_omission_info,
                                     console=console)


__all__ = ["MemoryMethods"]
