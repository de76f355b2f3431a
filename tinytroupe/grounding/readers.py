"""Reading files into pages of text: plain text, Markdown, HTML, PDF (``pypdf``) and Word ``.docx``.

:func:`read_file` returns a :class:`SourceFile`: the file's pages (a PDF's numbered pages; one page
without a number for the other formats) within two bounds, :data:`MAX_FILE_BYTES` on disk (a bigger
file is refused before it is opened) and a caller's ``max_chars`` of text (the rest is left out and
counted in ``truncated_chars``). Every refusal is a :class:`~tinytroupe.errors.DocumentError`
naming the file. ``.docx`` needs ``python-docx`` (the ``tools`` extra), imported on first use.

Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "menu.html")
    >>> _ = open(path, "w").write("<title>Menu</title><p>Soup: <b>leek</b></p><script>x()</script>")
    >>> src = read_file(path)
    >>> src.kind, src.title, src.text, src.pages[0].number
    ('html', 'Menu', 'Soup: leek', None)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tinytroupe.errors import ConfigError, DocumentError
from tinytroupe.grounding.text import html_to_text

#: largest file read (bytes on disk); a bigger one is refused before it is opened
MAX_FILE_BYTES = 20 * 1024 * 1024
#: most characters of text kept from one file by default (about 500,000 tokens)
MAX_TEXT_CHARS = 2_000_000
#: suffixes read as UTF-8 text, by kind
TEXT_KINDS: dict[str, str] = {
    **dict.fromkeys((".txt", ".text", ".rst", ".csv", ".json", ".yaml", ".yml", ".xml", ".log", ""), "text"),
    ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html"}
#: every suffix :func:`read_file` reads
SUPPORTED_SUFFIXES = frozenset({*TEXT_KINDS, ".pdf", ".docx"} - {""})

Kind = Literal["text", "markdown", "html", "pdf", "docx"]


@dataclass(frozen=True)
class Page:
    """One page of a file: ``number`` is a PDF's 1-based page number, None for unpaged formats."""

    number: int | None
    text: str


@dataclass(frozen=True)
class SourceFile:
    """What :func:`read_file` read: the pages (together at most ``max_chars`` long) and how much was cut."""

    name: str
    path: str
    kind: Kind
    title: str
    pages: tuple[Page, ...]
    page_count: int | None  # a PDF's pages (all of them, read or not); None for other formats
    truncated_chars: int

    @property
    def text(self) -> str:
        """The pages' text, joined by blank lines."""
        return "\n\n".join(p.text for p in self.pages)


def _pdf_pages(path: Path, max_chars: int) -> tuple[list[Page], int]:
    from pypdf import PdfReader  # imported here: only PDF reading pays for it

    try:
        reader = PdfReader(str(path))
        # Many PDFs are encrypted only to set permissions, with an empty user password: those open.
        if reader.is_encrypted and not reader.decrypt(""):  # PasswordType.NOT_DECRYPTED is 0
            raise DocumentError("the PDF is encrypted with a password; save a decrypted copy and read that",
                                path=str(path))
        pages, used = [], 0
        for number, page in enumerate(reader.pages, start=1):
            if used > max_chars:  # enough text: later pages would only be cut off
                break
            text = page.extract_text() or ""
            pages.append(Page(number, text))
            used += len(text)
        return pages, len(reader.pages)
    except (DocumentError, MemoryError):
        raise
    except Exception as exc:
        # A damaged file fails in many ways inside pypdf (PdfReadError, but also ValueError, KeyError,
        # NotImplementedError for an unknown filter, DependencyError for a missing decoder ...).
        raise DocumentError(f"not a readable PDF ({type(exc).__name__}: {exc})", path=str(path)) from exc


def _docx_module() -> Any:
    try:
        import docx
    except ImportError as exc:
        raise ConfigError("reading .docx files needs the package 'python-docx'; install it with "
                          "pip install 'tinytroupe[tools]' (or pip install python-docx)") from exc
    return docx


def _docx_text(path: Path) -> str:
    docx = _docx_module()
    try:
        document = docx.Document(str(path))
        blocks: list[str] = []
        for block in document.iter_inner_content():  # paragraphs and tables, in document order
            if hasattr(block, "rows"):
                for row in block.rows:
                    cells = [" ".join(c.text.split()) for c in row.cells]
                    blocks.append(" | ".join(dict.fromkeys(c for c in cells if c)))  # merged cells repeat
            else:
                blocks.append(block.text)
    except Exception as exc:  # a zip that is not a Word file, a missing part, a damaged XML part ...
        raise DocumentError(f"not a readable DOCX ({type(exc).__name__}: {exc})", path=str(path)) from exc
    return "\n\n".join(b for b in blocks if b.strip())


def _utf8(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=str(path)) from exc


def check_file(file_path: str | Path, max_bytes: int | None = None) -> Path:
    """``file_path`` as a path if it is an existing file of a readable kind within ``max_bytes``.

    Raises:
        DocumentError: missing, not a file, too large or of an unsupported kind (naming the file).
    """
    path = Path(file_path).expanduser()
    limit = MAX_FILE_BYTES if max_bytes is None else max_bytes
    if not path.exists():
        raise DocumentError("no such file to read", path=str(path))
    if not path.is_file():
        raise DocumentError("not a file; read a folder's files one by one", path=str(path))
    size = path.stat().st_size
    if size > limit:
        raise DocumentError(f"{size:,} bytes is more than the {limit:,} an agent reads; split it or keep "
                            "the relevant part", path=str(path))
    suffix = path.suffix.lower()
    if suffix not in TEXT_KINDS and suffix not in (".pdf", ".docx"):
        raise DocumentError(f"cannot read {suffix} files; use .pdf, .docx or a text format "
                            f"({', '.join(sorted(TEXT_KINDS.keys() - {''}))})", path=str(path))
    return path


def read_file(file_path: str | Path, *, max_chars: int = MAX_TEXT_CHARS, max_bytes: int | None = None,
              raw_html: bool = False) -> SourceFile:
    """The pages of a text, Markdown, HTML, PDF or DOCX file, bounded (see the module docstring).

    ``raw_html`` keeps an HTML file's markup (its title is still read).

    Raises:
        DocumentError: the file is missing, too large, of an unsupported kind, not UTF-8 text, an
            unreadable, encrypted or text-less PDF, or an unreadable DOCX. The message names the file.
        ConfigError: a ``.docx`` file and no ``python-docx`` (the ``tools`` extra).
    """
    path = check_file(file_path, max_bytes)
    suffix = path.suffix.lower()
    title = path.stem.replace("_", " ").replace("-", " ")
    page_count: int | None = None
    if suffix == ".pdf":
        kind: Kind = "pdf"
        pages, page_count = _pdf_pages(path, max_chars)
        if not any(p.text.strip() for p in pages):
            raise DocumentError("the PDF holds no extractable text (a scan needs OCR first)", path=str(path))
    else:
        kind = "docx" if suffix == ".docx" else TEXT_KINDS[suffix]  # type: ignore[assignment]
        text = _docx_text(path) if kind == "docx" else _utf8(path)
        if kind == "html":
            found, stripped = html_to_text(text)
            title = found or title
            text = text if raw_html else stripped
        elif kind == "markdown":
            title = next((line[2:].strip() for line in text.splitlines()[:20] if line.startswith("# ")), title)
        pages = [Page(None, text)]
    kept, total = _bounded(pages, max_chars)
    return SourceFile(name=path.name, path=str(path), kind=kind, title=title, pages=tuple(kept),
                      page_count=page_count, truncated_chars=total - sum(len(p.text) for p in kept))


def _bounded(pages: list[Page], max_chars: int) -> tuple[list[Page], int]:
    kept, used = [], 0
    for page in pages:
        room = max_chars - used
        if room <= 0:
            break
        kept.append(page if len(page.text) <= room else Page(page.number, page.text[:room]))
        used += len(kept[-1].text)
    return kept, sum(len(p.text) for p in pages)


__all__ = ["MAX_FILE_BYTES", "MAX_TEXT_CHARS", "SUPPORTED_SUFFIXES", "TEXT_KINDS", "Kind", "Page", "SourceFile",
           "check_file", "read_file"]
