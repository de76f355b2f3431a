"""Documents an agent reads: a text, Markdown, HTML, PDF or DOCX file turned into bounded text and passages.

:func:`read_document` extracts the text (through :mod:`tinytroupe.grounding.readers`), within
:data:`MAX_DOCUMENT_BYTES` on disk and :data:`MAX_DOCUMENT_CHARS` of text; :func:`passages` cuts it
into passages of about :data:`PASSAGE_CHARS` characters at paragraph, then sentence, then word
boundaries, so that each passage is embedded whole (see ``indexing.EMBED_CHARS``) and retrieved by
relevance on its own.

Example:
    >>> passages("First paragraph.\\n\\nSecond one, a little longer.", max_chars=20)
    ['First paragraph.', 'Second one, a little', 'longer.']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tinytroupe.grounding.readers import read_file

#: largest file read (bytes on disk); a bigger one is refused before it is opened
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
#: most characters of text kept from one document; the rest is left out (and said so)
MAX_DOCUMENT_CHARS = 100_000
#: target length of one passage (about what the embedder reads of a memory)
PASSAGE_CHARS = 300
#: suffixes read as plain text (besides these, .pdf and .docx are read; anything else is refused)
TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".rst", ".text", ".csv", ".json", ".yaml", ".yml", ".html",
                           ".htm", ".xml", ".log"})


@dataclass(frozen=True)
class Document:
    """The text read from one file: ``text`` is at most :data:`MAX_DOCUMENT_CHARS` long."""

    name: str
    path: str
    text: str
    pages: int | None  # PDF pages; None for other files
    truncated_chars: int  # characters left out past the bound


def read_document(file_path: str | Path) -> Document:
    """The text of a text, Markdown, HTML (markup kept), PDF or DOCX file, bounded (see the module docstring).

    The reading is :func:`tinytroupe.grounding.readers.read_file`'s, within this module's
    :data:`MAX_DOCUMENT_BYTES` and :data:`MAX_DOCUMENT_CHARS`.

    Raises:
        DocumentError: (an :class:`InvalidArgument`) the file does not exist, is not a file, is larger
            than :data:`MAX_DOCUMENT_BYTES`, has an unsupported suffix, is not UTF-8 text, or is a PDF
            or DOCX that cannot be read or holds no text. The message names the file.
        ConfigError: a ``.docx`` file and no ``python-docx`` (the ``tools`` extra).
    """
    source = read_file(file_path, max_chars=MAX_DOCUMENT_CHARS, max_bytes=MAX_DOCUMENT_BYTES, raw_html=True)
    return Document(name=source.name, path=source.path, text=source.text, pages=source.page_count,
                    truncated_chars=source.truncated_chars)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _pieces(text: str, max_chars: int) -> list[str]:
    """Paragraphs, with any longer than ``max_chars`` split into sentences, then words."""
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        if not paragraph:
            continue
        if len(paragraph) <= max_chars:
            out.append(paragraph)
            continue
        for sentence in _SENTENCE_END.split(paragraph):
            if len(sentence) <= max_chars:
                out.append(sentence)
            else:
                out.extend(sentence.split(" "))
    return out


def passages(text: str, max_chars: int = PASSAGE_CHARS) -> list[str]:
    """``text`` cut into passages of at most ``max_chars`` characters (a longer single word is cut),
    joining paragraphs, sentences or words while they fit."""
    out: list[str] = []
    current = ""
    for piece in _pieces(text, max_chars):
        while len(piece) > max_chars:  # one enormous "word" (a URL, a table row without spaces)
            if current:
                out.append(current)
                current = ""
            out.append(piece[:max_chars])
            piece = piece[max_chars:]
        if current and len(current) + 1 + len(piece) > max_chars:
            out.append(current)
            current = piece
        else:
            current = f"{current} {piece}" if current else piece
    if current:
        out.append(current)
    return out


__all__ = ["MAX_DOCUMENT_BYTES", "MAX_DOCUMENT_CHARS", "PASSAGE_CHARS", "TEXT_SUFFIXES", "Document", "passages",
           "read_document"]
