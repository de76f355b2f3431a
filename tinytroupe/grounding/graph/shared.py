"""A graph several agents add to, in an order that does not depend on which model call returned first.

In a parallel step every agent's turn runs at once, so their extractions would reach a shared world
graph in the order their calls returned, and which of two names becomes an entity's canonical one
(and so its id) would change from run to run. :class:`SharedGraph` holds each submitted extraction
and merges them in the order ``(step, author, submission)``: a reader at step ``s`` first settles
everything submitted before ``s`` (what the same step submitted waits for the next), so every run
with the same answers builds the same graph.

Example:
    >>> from tinytroupe.grounding.graph.models import GraphExtraction
    >>> from tinytroupe.grounding.graph.store import InMemoryGraphStore
    >>> shared = SharedGraph(InMemoryGraphStore("world:Office"))
    >>> one = GraphExtraction.model_validate({"entities": [{"name": "Ana Lima"}], "relations": []})
    >>> two = GraphExtraction.model_validate({"entities": [{"name": "Ana Lima", "aliases": ["Ana"]}],
    ...                                       "relations": []})
    >>> shared.submit(two, author="Ben", step=1); shared.submit(one, author="Ana", step=1)
    >>> shared.settled(step=1).counts(), shared.settled(step=2).find("Ana").aliases
    ((0, 0), ['Ana'])
"""

from __future__ import annotations

import threading

from tinytroupe.grounding.graph.models import GraphExtraction
from tinytroupe.grounding.graph.store import GraphStore


class SharedGraph:
    """A :class:`~tinytroupe.grounding.graph.store.GraphStore` fed by several authors (see the module docstring)."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self._pending: list[tuple[int, str, int, GraphExtraction]] = []
        self._seq = 0
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.store.name

    def submit(self, extraction: GraphExtraction, *, author: str, step: int | None) -> None:
        """Queue ``author``'s extraction made at ``step`` (None: outside a world, merged at the next read)."""
        with self._lock:
            self._pending.append((-1 if step is None else step, author, self._seq, extraction))
            self._seq += 1

    def settled(self, step: int | None = None) -> GraphStore:
        """The graph with every extraction submitted before ``step`` merged (None: all of them)."""
        with self._lock:
            due = sorted((p for p in self._pending if step is None or p[0] < step), key=lambda p: p[:3])
            if due:
                self._pending = [p for p in self._pending if not (step is None or p[0] < step)]
            for at, _, _, extraction in due:
                self.store.merge(extraction, step=at if at >= 0 else None)
        return self.store

    def pending(self) -> int:
        """How many extractions wait to be merged."""
        return len(self._pending)


__all__ = ["SharedGraph"]
