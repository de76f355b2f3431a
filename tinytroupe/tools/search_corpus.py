"""The documents :class:`~tinytroupe.tools.web_search.TinyWebSearch` searches: loading, tokens, snippets.

A collection comes from a folder (``.txt``, ``.md``, ``.rst``, ``.html``/``.htm`` with its tags
stripped, ``.pdf`` through ``pypdf``; files are read with
:func:`~tinytroupe.agent.memory.documents.read_document`, so the same size bounds apply) or from
``(title, text)`` pairs. Each document has a stable source id: its path relative to the folder, or
``doc-1``, ``doc-2`` ... for pairs. :func:`html_to_text` and :func:`tokenize` live in
:mod:`tinytroupe.grounding.text` (shared with document stores) and are re-exported here.

Example:
    >>> html_to_text("<html><head><title>Tea</title></head>"
    ...              "<body><p>Green <b>tea</b></p><script>x()</script></body></html>")
    ('Tea', 'Green tea')
    >>> tokenize("The cats and THE dog's bowl")
    ['cats', 'dog', 'bowl']
    >>> snippet("Coffee is grown in Brazil. Tea is grown in India and Kenya.", ["kenya"], width=30)
    '… is grown in India and Kenya.'
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tinytroupe.agent.memory.documents import read_document
from tinytroupe.errors import InvalidArgument
from tinytroupe.grounding.text import WORD as _WORD
from tinytroupe.grounding.text import html_to_text, tokenize

logger = logging.getLogger(__name__)

#: file suffixes a folder collection reads (others are left out, and counted)
SEARCH_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".rst", ".text", ".html", ".htm", ".pdf"})
#: most documents one collection holds (a bigger folder is refused: it would be slow to index)
MAX_DOCUMENTS = 5_000


@dataclass(frozen=True)
class SearchDocument:
    """One document of a collection: ``id`` is what results and ``OPEN_PAGE`` name it by."""

    id: str
    title: str
    text: str
    path: str | None = None


def _title_of(path: Path, text: str) -> str:
    if path.suffix.lower() in {".md", ".markdown"}:
        for line in text.splitlines()[:20]:
            if line.startswith("# "):
                return line[2:].strip()
    return path.stem.replace("_", " ").replace("-", " ")


def load_folder(folder: str | Path) -> tuple[list[SearchDocument], list[tuple[str, str]]]:
    """The documents of ``folder`` (and its subfolders, in path order) and the files left out with why.

    Hidden files and suffixes other than :data:`SEARCH_SUFFIXES` are skipped without a note; a file
    that cannot be read (a damaged PDF, not UTF-8) is left out and listed with its reason.

    Raises:
        InvalidArgument: the folder does not exist, is not a folder, or holds more than
            :data:`MAX_DOCUMENTS` readable files.
    """
    root = check_folder(folder)
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SEARCH_SUFFIXES
                   and not any(part.startswith(".") for part in p.relative_to(root).parts))
    if len(files) > MAX_DOCUMENTS:
        raise InvalidArgument(f"{root}: {len(files)} files is more than the {MAX_DOCUMENTS} one search collection "
                              "holds; point it at a smaller folder")
    docs: list[SearchDocument] = []
    skipped: list[tuple[str, str]] = []
    for path in files:
        source = path.relative_to(root).as_posix()
        try:
            doc = read_document(path)
        except InvalidArgument as exc:  # one bad file must not hide the rest; it is reported, not dropped silently
            skipped.append((source, str(exc)))
            logger.warning("web search: left out %s: %s", path, exc)
            continue
        text, title = doc.text, ""
        if path.suffix.lower() in {".html", ".htm"}:
            title, text = html_to_text(text)
        if text.strip():
            docs.append(SearchDocument(source, title or _title_of(path, text), text, str(path)))
    return docs, skipped


def check_folder(folder: str | Path) -> Path:
    """``folder`` as a path, if it is an existing folder (:class:`InvalidArgument` naming it otherwise)."""
    root = Path(folder).expanduser()
    if not root.exists():
        raise InvalidArgument(f"{root}: no such folder of documents to search")
    if not root.is_dir():
        raise InvalidArgument(f"{root}: not a folder; give the folder that holds the documents")
    return root


def from_pairs(pairs: Iterable[tuple[str, str]]) -> list[SearchDocument]:
    """Documents from ``(title, text)`` pairs, with the ids ``doc-1``, ``doc-2`` ..."""
    docs = []
    for i, pair in enumerate(pairs, start=1):
        if not (isinstance(pair, tuple | list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
            raise InvalidArgument(f"document {i} must be a (title, text) pair of strings, got {pair!r:.80}")
        docs.append(SearchDocument(f"doc-{i}", pair[0].strip() or f"doc-{i}", pair[1]))
    if len(docs) > MAX_DOCUMENTS:
        raise InvalidArgument(f"{len(docs)} documents is more than the {MAX_DOCUMENTS} one search collection holds")
    return docs


def snippet(text: str, terms: Iterable[str], width: int = 240) -> str:
    """The ``width``-character window of ``text`` holding the most distinct ``terms`` (the earliest
    such window), cut at word boundaries, with ``…`` where text was left out."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    wanted = set(terms)
    hits = [(m.start(), m.group().lower()) for m in _WORD.finditer(text) if m.group().lower() in wanted]
    best_start, best = 0, 0
    for i, (start, _) in enumerate(hits):
        found = {term for pos, term in hits[i:] if pos < start + width - 20}
        if len(found) > best:
            best_start, best = start, len(found)
    # some context before the first hit, but never past where the window still holds the hits
    start = max(0, min(best_start - width // 4, len(text) - width))
    if start > 0:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < best_start else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    return ("… " if start > 0 else "") + text[start:end] + (" …" if end < len(text) else "")


__all__ = ["MAX_DOCUMENTS", "SEARCH_SUFFIXES", "SearchDocument", "check_folder", "from_pairs", "html_to_text",
           "load_folder", "snippet", "tokenize"]
