"""Cutting pages into chunks by tokens, with overlap, keeping where each chunk came from.

A chunk holds at most ``chunk_tokens`` tokens (the one estimate of :mod:`tinytroupe.llm.tokens`),
cut between words; the next chunk starts ``overlap_tokens`` tokens before the previous one ended,
so a fact that straddles a cut is whole in one of the two. Chunks never span pages: a PDF chunk
names one page. ``start`` and ``end`` are character offsets into the page's text, so
``page.text[start:end]`` is the chunk (before whitespace is tidied). A single word longer than a
chunk is cut.

Example:
    >>> from tinytroupe.grounding.readers import Page
    >>> spans = chunk_pages([Page(2, "one two three four five six seven eight")], chunk_tokens=4,
    ...                     overlap_tokens=2)
    >>> [(s.page, s.text) for s in spans]
    [(2, 'one two three'), (2, 'three four five'), (2, 'five six seven'), (2, 'seven eight')]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from tinytroupe.errors import InvalidArgument
from tinytroupe.grounding.readers import Page
from tinytroupe.llm.tokens import chars_for_tokens, estimate_tokens

#: default chunk size in tokens (about a paragraph or two: small enough to cite, big enough to answer)
CHUNK_TOKENS = 200
#: default overlap between consecutive chunks, in tokens
OVERLAP_TOKENS = 40

_NON_SPACE = re.compile(r"\S+")


@dataclass(frozen=True)
class ChunkSpan:
    """One chunk: its page (None for unpaged formats), its offsets in that page's text, and its text."""

    page: int | None
    start: int
    end: int
    text: str

    @property
    def tokens(self) -> int:
        """Tokens the chunk's text is estimated to take."""
        return estimate_tokens(self.text)


def _words(text: str, max_chars: int) -> list[tuple[int, int]]:
    """Word spans of ``text``; a word longer than ``max_chars`` is cut into pieces of that length."""
    spans: list[tuple[int, int]] = []
    for m in _NON_SPACE.finditer(text):
        start, end = m.span()
        while end - start > max_chars:
            spans.append((start, start + max_chars))
            start += max_chars
        spans.append((start, end))
    return spans


def _page_chunks(page: Page, max_chars: int, overlap_chars: int) -> list[ChunkSpan]:
    words = _words(page.text, max_chars)
    out: list[ChunkSpan] = []
    first = 0
    while first < len(words):
        last = first
        # grow while the chunk (from its first word's start to the next word's end) still fits
        while last + 1 < len(words) and words[last + 1][1] - words[first][0] <= max_chars:
            last += 1
        start, end = words[first][0], words[last][1]
        out.append(ChunkSpan(page.number, start, end, " ".join(page.text[start:end].split())))
        if last + 1 >= len(words):
            break
        # the next chunk starts at the first word ending within the overlap, but always moves on
        nxt = last + 1
        while nxt - 1 > first and end - words[nxt - 1][0] <= overlap_chars:
            nxt -= 1
        first = nxt
    return out


def chunk_pages(pages: Sequence[Page], chunk_tokens: int = CHUNK_TOKENS,
                overlap_tokens: int = OVERLAP_TOKENS) -> list[ChunkSpan]:
    """The chunks of ``pages``, in order (a page without words gives none).

    Raises:
        InvalidArgument: ``chunk_tokens`` below 1, or ``overlap_tokens`` negative or not below ``chunk_tokens``.
    """
    if chunk_tokens < 1:
        raise InvalidArgument(f"chunk_tokens must be at least 1, got {chunk_tokens}")
    if not 0 <= overlap_tokens < chunk_tokens:
        raise InvalidArgument(f"overlap_tokens must be at least 0 and below chunk_tokens ({chunk_tokens}), "
                              f"got {overlap_tokens}")
    max_chars, overlap_chars = chars_for_tokens(chunk_tokens), chars_for_tokens(overlap_tokens)
    return [span for page in pages for span in _page_chunks(page, max_chars, overlap_chars)]


__all__ = ["CHUNK_TOKENS", "OVERLAP_TOKENS", "ChunkSpan", "chunk_pages"]
