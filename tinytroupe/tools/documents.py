"""Writing documents to files for :class:`~tinytroupe.tools.word_processor.TinyWordProcessor`: safe
file names, the export folder, and Markdown rendered as text, JSON or a Word (``.docx``) file.

A file name comes from the document's title (and author), never from a path the agent wrote: every
character outside letters, digits, ``-``, ``_`` and space becomes ``_``, so ``../../etc/passwd`` is
``etc_passwd``, and the final path is checked to lie inside the folder. Files are written to a
temporary name and renamed, so a reader never sees half a document.

Example:
    >>> safe_file_name("../../etc/passwd")
    'etc_passwd'
    >>> safe_file_name("Q3 plan: costs & risks", "Lisa Carter")
    'Q3 plan_ costs _ risks.Lisa Carter'
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Literal

from tinytroupe.errors import InvalidArgument, InvalidArgumentType

#: the formats a document can be exported to
ExportFormat = Literal["md", "txt", "json", "docx"]
EXPORT_FORMATS: tuple[str, ...] = ("md", "txt", "json", "docx")
#: longest file name stem (before the extension): well under every file system's 255 bytes
MAX_STEM_CHARS = 120

_UNSAFE = re.compile(r"[^\w\- ]+")
_RUNS = re.compile(r"_{2,}")
_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                       *(f"LPT{i}" for i in range(1, 10))})


def _clean(part: str) -> str:
    text = _RUNS.sub("_", _UNSAFE.sub("_", part)).strip(" _")
    return text[:MAX_STEM_CHARS].rstrip(" _")


def safe_file_name(title: str, author: str | None = None) -> str:
    """A file name stem for a document: TinyTroupe's ``<title>.<author>``, made safe for any file system.

    Raises:
        InvalidArgument: nothing usable is left of the title (e.g. it was only punctuation).
    """
    stem = _clean(title)
    if stem.split(".")[0].upper() in _RESERVED:
        stem = f"_{stem}"  # names Windows keeps for devices
    if not stem:
        raise InvalidArgument(f"the title {title!r} has no letters or digits to name a file after")
    who = _clean(author) if author else ""
    return f"{stem}.{who}"[:MAX_STEM_CHARS] if who else stem


def export_folder(exporter: Any, output_folder: str | os.PathLike[str] | None) -> Path | None:
    """Where exports go: the ``exporter`` (a folder path, or an object with ``base_output_folder``
    such as TinyTroupe's ``ArtifactExporter``), else ``output_folder``; None when neither is given.

    Raises:
        InvalidArgumentType: ``exporter`` is neither a path nor has ``base_output_folder``.
    """
    if exporter is not None:
        if isinstance(exporter, (str, os.PathLike)):
            return Path(exporter)
        base = getattr(exporter, "base_output_folder", None)
        if not isinstance(base, (str, os.PathLike)):
            raise InvalidArgumentType("exporter must be a folder path or an object with a base_output_folder "
                                      f"path (TinyTroupe's ArtifactExporter), got {type(exporter).__name__}")
        return Path(base)
    return Path(output_folder) if output_folder is not None else None


def target_path(folder: Path, stem: str, fmt: str) -> Path:
    """``folder/stem.fmt``, refused if it would resolve outside ``folder`` (a last line of defence)."""
    root = folder.resolve()
    path = (root / f"{stem}.{fmt}").resolve()
    if path.parent != root:
        raise InvalidArgument(f"refusing to write {path}: it is outside the export folder {root}")
    return path


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_bytes(fmt: str, title: str, content: str, meta: dict[str, Any]) -> bytes:
    """The bytes of a document in ``fmt`` (``md``/``txt`` keep the Markdown; ``json`` adds ``meta``)."""
    if fmt in ("md", "txt"):
        return content.encode("utf-8")
    if fmt == "json":
        return json.dumps({"title": title, "content": content, **meta}, ensure_ascii=False, indent=2).encode("utf-8")
    if fmt == "docx":
        return markdown_to_docx(title, content, meta.get("author"))
    raise InvalidArgument(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")


def write_document(folder: Path, stem: str, fmt: str, title: str, content: str, meta: dict[str, Any]) -> Path:
    """Write one document in ``fmt`` to ``folder/stem.fmt`` (atomically); the path written."""
    path = target_path(folder, stem, fmt)
    _write_atomic(path, render_bytes(fmt, title, content, meta))
    return path


# -- Markdown to Word ------------------------------------------------------------------------------

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
_INLINE = re.compile(r"(\*\*[^*]+\*\*|__[^_]+__|\*[^*]+\*|_[^_]+_|`[^`]+`)")


def _add_runs(paragraph: Any, text: str) -> None:
    for piece in _INLINE.split(text):
        if not piece:
            continue
        if piece[:2] in ("**", "__") and piece[-2:] == piece[:2] and len(piece) > 4:
            paragraph.add_run(piece[2:-2]).bold = True
        elif piece[0] in "*_" and piece[-1] == piece[0] and len(piece) > 2:
            paragraph.add_run(piece[1:-1]).italic = True
        elif piece[0] == "`" and piece[-1] == "`" and len(piece) > 2:
            paragraph.add_run(piece[1:-1]).font.name = "Courier New"
        else:
            paragraph.add_run(piece)


def markdown_to_docx(title: str, content: str, author: str | None = None) -> bytes:
    """A Word document of Markdown ``content``: headings, bullet and numbered lists, paragraphs, and
    bold, italic and code spans (tables and images stay as their text).

    Raises:
        InvalidState: python-docx is not installed (``pip install 'tinytroupe[tools]'``).
    """
    try:
        import docx  # the optional 'tools' extra; only exports to .docx need it
    except ImportError as exc:
        from tinytroupe.errors import InvalidState

        raise InvalidState("exporting to docx needs python-docx: pip install 'tinytroupe[tools]'") from exc
    import io

    document = docx.Document()
    document.core_properties.title = title
    if author:
        document.core_properties.author = author
    paragraph_lines: list[str] = []

    def flush() -> None:
        if paragraph_lines:
            _add_runs(document.add_paragraph(), " ".join(line.strip() for line in paragraph_lines))
            paragraph_lines.clear()

    for line in content.splitlines():
        heading, bullet, numbered = _HEADING.match(line), _BULLET.match(line), _NUMBERED.match(line)
        if heading or bullet or numbered or not line.strip():
            flush()
        if heading:
            _add_runs(document.add_heading(level=len(heading.group(1))), heading.group(2).strip())
        elif bullet:
            _add_runs(document.add_paragraph(style="List Bullet"), bullet.group(1))
        elif numbered:
            _add_runs(document.add_paragraph(style="List Number"), numbered.group(1))
        elif line.strip():
            paragraph_lines.append(line)
    flush()
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


__all__ = ["EXPORT_FORMATS", "ExportFormat", "export_folder", "markdown_to_docx", "render_bytes", "safe_file_name",
           "target_path", "write_document"]
