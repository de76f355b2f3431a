"""Recall: the memories best scored for a query, and the prompt's "What you remember" section.

Scoring itself (recency, importance, relevance) is :func:`~tinytroupe.agent.memory.retrieval.score_index`;
this layer embeds the query, resolves index keys back to memories, counts a retrieval as rehearsal,
and fits the hits into a token budget. With ``include_cold`` the cold tier's candidates
(:mod:`.cold_recall`) are scored with the index's rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

from tinytroupe.agent.memory.affect import Mood, congruence
from tinytroupe.agent.memory.cold_recall import ColdCandidates, MemoryColdRecall
from tinytroupe.agent.memory.episodic import TRIVIAL_TYPES
from tinytroupe.agent.memory.index import EMBED_CHARS, hours
from tinytroupe.agent.memory.retrieval import RetrievalParams, score_index
from tinytroupe.llm.tokens import chars_for_tokens


class RetrievedMemory(BaseModel):
    """One recalled memory: its id (``E12`` episodic, ``S3`` semantic), text and score components."""

    ref: str
    kind: str  # "episodic", "fact", "insight" or "document"
    content: str
    text: str  # as shown in prompts
    score: float
    recency: float
    importance: float
    relevance: float
    similarity: float
    #: read from the cold tier (the run file) for this query: it is not in RAM
    cold: bool = False


class MemoryRecall(MemoryColdRecall):
    """Retrieval over the index (a layer of :class:`~tinytroupe.agent.memory.facade.AgentMemory`)."""

    def _resolve(self, key: str) -> tuple[str, str, str] | None:
        """(kind, content, prompt text) of an index key, or None when it is gone."""
        if key.startswith("E"):
            item = self._episodic.get(int(key[1:]))
            if item is None:
                return None
            return "episodic", item.content, f"[{key}] " + item.describe(self.owner, 400)
        fact = self.semantic.get(int(key[1:]))
        if fact is None:
            return None
        when = f"[{fact.sim_time:%Y-%m-%d %H:%M}] " if fact.sim_time else ""
        label = {"insight": "insight", "document": f"from {fact.source or 'a document'}"}.get(fact.kind, "fact")
        return fact.kind, fact.content, f"[{key}] {when}({label}) {fact.content}"

    def _congruence(self, mood: Mood | None) -> npt.NDArray[np.float64] | None:
        """Mood congruence of each index row (untagged rows: as if encoded neutral), or None."""
        if mood is None or not mood.weight or not len(self.affect) or self.index is None:
            return None
        pads = np.zeros((self.index.used, 3))
        rows, values = [], []
        for item_id, pad in self.affect.items():
            row = self.index.row_of(f"E{item_id}")
            if row is not None:
                rows.append(row)
                values.append(pad)
        if rows:  # one assignment: row by row costs more than the scoring itself
            pads[rows] = values
        return congruence(mood.pad, pads)

    def _search(self, query_vec: np.ndarray, top_k: int | None, exclude: Iterable[str], rehearse: bool,
                now: datetime | None, mood: Mood | None = None,
                cold: ColdCandidates | None = None) -> list[RetrievedMemory]:
        cold_keys = cold.segment_of if cold is not None else {}
        with self._lock:
            if (self.index is None or len(self.index) == 0) and cold is None:
                return []
            params = self.params if top_k is None else RetrievalParams(**{**self.params.__dict__, "top_k": top_k})
            now_h = hours(now)
            hits = score_index(self.index, query_vec, params, now_h=now_h, exclude=set(exclude),
                               forgetting=self.forgetting, congruence=self._congruence(mood),
                               congruence_weight=mood.weight if mood is not None else 0.0,
                               extra=cold.rows if cold is not None else None)
            resolved = {h.key: self._resolve(h.key) for h in hits if h.key not in cold_keys}
            warm = [key for key, found in resolved.items() if found is not None]
            if rehearse and warm and self.index is not None:  # a cold memory stays as it left: not rehearsed
                self.index.touch(warm, now_h)
                self._episodic.note_retrieved(int(ref[1:]) for ref in warm if ref.startswith("E"))
        if cold is not None:  # read outside the lock: only the segments holding a hit
            items = self._cold_items(cold, [h.key for h in hits if h.key in cold_keys])
            resolved.update((k, ("episodic", i.content, f"[{k}] " + i.describe(self.owner, 400)))
                            for k, i in items.items())
        out = []
        for hit in hits:
            found = resolved.get(hit.key)
            if found is not None:
                kind, content, text = found
                out.append(RetrievedMemory(ref=hit.key, kind=kind, content=content, text=text, score=hit.score,
                                           recency=hit.recency, importance=hit.importance, relevance=hit.relevance,
                                           similarity=hit.similarity, cold=hit.key in cold_keys))
        return out

    def retrieve(self, query: str, top_k: int | None = None, *, exclude: Iterable[str] = (),
                 rehearse: bool = True, mood: Mood | None = None, include_cold: bool = False) -> list[RetrievedMemory]:
        """The ``top_k`` memories best scored for ``query`` (blocking; see :meth:`aretrieve`).

        ``mood``: weigh mood congruence too (see :mod:`.affect`). ``include_cold``: rank the cold
        tier's items too (evicted to the run file; :mod:`.cold_recall` says which are read, within
        ``[Memory] COLD_*_SEGMENTS``); :attr:`last_cold_recall` then holds the work it took.

        Raises:
            StorageError: with ``include_cold``, the run file cannot be read.
        """
        self.sync_index()
        if self.index is None and not (include_cold and self._visible_upto() > 0):
            return []
        query_vec = self.embedder.embed([query[:EMBED_CHARS]])[0]
        cold = self._cold_candidates(query_vec, exclude, mood) if include_cold else None
        return self._search(query_vec, top_k, exclude, rehearse, self.now(), mood, cold)

    async def aretrieve(self, query: str, top_k: int | None = None, *, exclude: Iterable[str] = (),
                        rehearse: bool = True, mood: Mood | None = None,
                        include_cold: bool = False) -> list[RetrievedMemory]:
        """Async twin of :meth:`retrieve`: embedding (and reading the cold tier) runs in a worker thread."""
        return await asyncio.to_thread(self.retrieve, query, top_k, exclude=exclude, rehearse=rehearse, mood=mood,
                                       include_cold=include_cold)

    def _has_unshown(self, shown: set[int], include_cold: bool = False) -> bool:
        # Retrieval (and so the embedder) is needed only when something is not on screen already.
        if self.semantic.active_count or (include_cold and self._visible_upto() > 0):
            return True
        ep = self._episodic
        window = len(shown) + 64
        if len(ep) > window:
            return True
        for i in ep.recent(window):  # noqa: SIM110 - a loop, not any() over a generator: no call per item
            if i.id not in shown and i.type not in TRIVIAL_TYPES:
                return True
        return False

    def _recall_query(self, query: str | Callable[[], str], shown: set[int], cold: bool) -> str:
        """The query to recall with, or "" when there is nothing to recall (then no embedding at all).

        A function giving the query is called only once the cheaper checks pass: on most turns of a
        short history everything the agent remembers is on screen already, and building the query
        (the agent's state and new stimuli joined) would be wasted.
        """
        if not self.settings.relevance_retrieval:
            return ""
        if isinstance(query, str):
            return query if query.strip() and self._has_unshown(shown, cold) else ""
        if not self._has_unshown(shown, cold):
            return ""  # everything the agent remembers is on screen already
        text = query()
        return text if text.strip() else ""

    def recall_text(self, query: str | Callable[[], str], shown_ids: Iterable[int], budget_tokens: int, *,
                    rehearse: bool = True, mood: Mood | None = None) -> str:
        """The prompt's memory section: retrieved memories not already shown, within ``budget_tokens``.

        ``query``: the text to recall with, or a function giving it, called only when there is
        something to recall. ``rehearse``: retrieving counts as remembering (as in :meth:`retrieve`);
        pass False to look without touching (a prompt preview). Cold items count with
        ``[Memory] COLD_RECALL_IN_PROMPT``.
        """
        shown, cold = set(shown_ids), self.settings.cold_recall_in_prompt
        text = self._recall_query(query, shown, cold)
        if not text:
            return ""
        hits = self.retrieve(text, exclude=[f"E{i}" for i in shown], rehearse=rehearse, mood=mood,
                             include_cold=cold)
        return self._fit(hits, budget_tokens)

    async def arecall_text(self, query: str | Callable[[], str], shown_ids: Iterable[int], budget_tokens: int, *,
                           rehearse: bool = True, mood: Mood | None = None) -> str:
        """Async twin of :meth:`recall_text` (used by the agent's turn; retrieval counts as rehearsal)."""
        shown, cold = set(shown_ids), self.settings.cold_recall_in_prompt
        text = self._recall_query(query, shown, cold)
        if not text:
            return ""
        hits = await self.aretrieve(text, exclude=[f"E{i}" for i in shown], rehearse=rehearse, mood=mood,
                                    include_cold=cold)
        return self._fit(hits, budget_tokens)

    @staticmethod
    def _fit(hits: Sequence[RetrievedMemory], budget_tokens: int) -> str:
        budget_chars, lines, used = chars_for_tokens(budget_tokens), [], 0
        for hit in hits:  # best first: the least relevant are the ones cut
            if used + len(hit.text) + 1 > budget_chars:
                break
            lines.append(hit.text)
            used += len(hit.text) + 1
        return "\n".join(lines)


__all__ = ["MemoryRecall", "RetrievedMemory"]
