"""Documents an agent reads: a text, Markdown or PDF file turned into bounded text and passages.

:func:`read_document` extracts the text (PDF pages through ``pypdf``), within
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

from tinytroupe.errors import InvalidArgument

#: largest file read (bytes on disk); a bigger one is refused before it is opened
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
#: most characters of text kept from one document; the rest is left out (and said so)
MAX_DOCUMENT_CHARS = 100_000
#: target length of one passage (about what the embedder reads of a memory)
PASSAGE_CHARS = 300
#: suffixes read as plain text (anything else but .pdf is refused)
TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".rst", ".text", ".csv", ".json", ".yaml", ".yml", ".html",
                           ".htm", ".xml", ".log"})


@dataclass(frozen=True)
class Document:
    """The text read from one file: ``text`` is at most :data:`MAX_DOCUMENT_CHARS` long."""

    name: str
    path: str
    text: str
    pages: int | None  # PDF pages; None for text files
    truncated_chars: int  # characters left out past the bound


def _pdf_text(path: Path) -> tuple[str, int]:
    from pypdf import PdfReader  # imported here: only PDF reading pays for it

    try:
        reader = PdfReader(str(path))
        # Many PDFs are encrypted only to set permissions, with an empty user password: those open.
        if reader.is_encrypted and not reader.decrypt(""):  # PasswordType.NOT_DECRYPTED is 0
            raise InvalidArgument(f"{path}: the PDF is encrypted with a password; save a decrypted copy "
                                  "and read that")
        pages, used = [], 0
        for page in reader.pages:
            if used > MAX_DOCUMENT_CHARS:  # enough text: later pages would only be cut off
                break
            text = page.extract_text() or ""
            pages.append(text)
            used += len(text)
        return "\n\n".join(pages), len(reader.pages)
    except (InvalidArgument, MemoryError):
        raise
    except Exception as exc:
        # A damaged file fails in many ways inside pypdf (PdfReadError, but also ValueError, KeyError,
        # NotImplementedError for an unknown filter, DependencyError for a missing decoder ...).
        raise InvalidArgument(f"{path}: not a readable PDF ({type(exc).__name__}: {exc})") from exc


def read_document(file_path: str | Path) -> Document:
    """The text of a text, Markdown or PDF file, bounded (see the module docstring).

    Raises:
        InvalidArgument: the file does not exist, is not a file, is larger than
            :data:`MAX_DOCUMENT_BYTES`, has a suffix other than .pdf and :data:`TEXT_SUFFIXES`, is
            not UTF-8 text, or is a PDF that cannot be read or holds no text. The message names the file.
    """
    path = Path(file_path)
    if not path.exists():
        raise InvalidArgument(f"{path}: no such file to read")
    if not path.is_file():
        raise InvalidArgument(f"{path}: not a file; read a folder's files one by one")
    size = path.stat().st_size
    if size > MAX_DOCUMENT_BYTES:
        raise InvalidArgument(f"{path}: {size:,} bytes is more than the {MAX_DOCUMENT_BYTES:,} an agent reads; "
                              "split it or keep the relevant part")
    suffix = path.suffix.lower()
    pages: int | None = None
    if suffix == ".pdf":
        text, pages = _pdf_text(path)
        if not text.strip():
            raise InvalidArgument(f"{path}: the PDF holds no extractable text (a scan needs OCR first)")
    elif suffix in TEXT_SUFFIXES or suffix == "":
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidArgument(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    else:
        raise InvalidArgument(f"{path}: cannot read {suffix} files; use .pdf or a text format "
                              f"({', '.join(sorted(TEXT_SUFFIXES))})")
    cut = max(0, len(text) - MAX_DOCUMENT_CHARS)
    return Document(name=path.name, path=str(path), text=text[:MAX_DOCUMENT_CHARS], pages=pages, truncated_chars=cut)


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
