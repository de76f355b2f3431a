"""Graph retrieval for prompts: what the graphs know about the entities a text mentions, within a budget.

:func:`knowledge_section` finds the entities named in the new stimuli (by name or alias, whole words;
:meth:`~tinytroupe.grounding.graph.store.GraphStore.mentioned`), takes each one's neighbourhood in
each graph (the agent's own beliefs first, then a shared world graph), and writes one sentence per
relation, nearest entities and first-mentioned first, until the token budget is spent. Nothing is
cut mid-sentence; a note says how many facts did not fit.

Example:
    >>> from tinytroupe.grounding.graph.store import InMemoryGraphStore
    >>> g = InMemoryGraphStore()
    >>> _ = g.add_relation("Ana", "works at", "Acme")
    >>> _ = g.add_relation("Acme", "is based in", "Lisbon")
    >>> print(knowledge_section([g], "Did you see Ana today?", budget_tokens=50, depth=2))
    Ana works at Acme.
    Acme is based in Lisbon.
"""

from __future__ import annotations

from collections.abc import Sequence

from tinytroupe.errors import InvalidArgument
from tinytroupe.grounding.graph.store import GraphStore
from tinytroupe.llm.tokens import chars_for_tokens

#: the title of the prompt section graph retrieval fills
SECTION_TITLE = "What you know"
#: entities looked up per text at most (a long message naming dozens would otherwise flood the section)
MAX_MENTIONS = 8


def knowledge_lines(graphs: Sequence[GraphStore], text: str, *, depth: int = 1,
                    max_mentions: int = MAX_MENTIONS) -> list[str]:
    """Every sentence the graphs hold about what ``text`` mentions, most relevant first, without repeats."""
    lines: dict[str, None] = {}
    for graph in graphs:
        for entity in graph.mentioned(text)[:max_mentions]:
            for line in graph.neighbourhood(entity.id, depth=depth).lines():
                lines.setdefault(line)
    return list(lines)


def knowledge_section(graphs: Sequence[GraphStore], text: str, *, budget_tokens: int, depth: int = 1,
                      max_mentions: int = MAX_MENTIONS) -> str:
    """The "What you know" text for ``text``: whole sentences within ``budget_tokens`` ("" when none apply).

    Raises:
        InvalidArgument: ``budget_tokens`` or ``depth`` is negative.
    """
    if budget_tokens < 0 or depth < 0:
        raise InvalidArgument(f"budget_tokens and depth must be >= 0, got {budget_tokens} and {depth}")
    lines = knowledge_lines(graphs, text, depth=depth, max_mentions=max_mentions)
    room = chars_for_tokens(budget_tokens)
    chosen: list[str] = []
    used = 0
    for line in lines:
        need = len(line) + (1 if chosen else 0)
        if used + need > room:
            break
        chosen.append(line)
        used += need
    if len(chosen) < len(lines):
        # say that facts were left out, giving up sentences until the note fits too
        while chosen and used + len(_note(len(lines) - len(chosen))) + 1 > room:
            used -= len(chosen.pop()) + (1 if chosen else 0)
        note = _note(len(lines) - len(chosen))
        if used + len(note) + (1 if chosen else 0) <= room:
            chosen.append(note)
    return "\n".join(chosen)


def _note(left: int) -> str:
    return f"({left} more not shown)"


__all__ = ["MAX_MENTIONS", "SECTION_TITLE", "knowledge_lines", "knowledge_section"]
