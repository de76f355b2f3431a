"""Ingesting a folder of documents into a store: every readable file, the rest listed with why.

Files are taken in path order, subfolders included, hidden files and folders left out; each one's
id is its path relative to the folder (``guides/garden.md``). A file that cannot be read (damaged,
too large, not UTF-8, of an unsupported kind) is skipped and listed in the report with the reason,
and one warning names them all; what was read stays in the store. A folder with nothing readable is
a :class:`~tinytroupe.errors.DocumentError` naming the folder and carrying the skipped list.

Example:
    >>> import os, tempfile
    >>> from tinytroupe.grounding.store import DocumentStore
    >>> folder = tempfile.mkdtemp()
    >>> _ = open(os.path.join(folder, "a.md"), "w").write("Soup of the day: leek.")
    >>> _ = open(os.path.join(folder, "b.jpg"), "wb").write(b"\\xff\\xd8")
    >>> report = ingest_folder(DocumentStore("demo"), folder)
    >>> report.added, [name for name, _ in report.skipped]
    (['a.md'], ['b.jpg'])
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from tinytroupe.errors import ConfigError, DocumentError
from tinytroupe.grounding.models import IngestReport
from tinytroupe.grounding.readers import SUPPORTED_SUFFIXES

if TYPE_CHECKING:  # annotation only: the store calls this module
    from tinytroupe.grounding.store import DocumentStore

logger = logging.getLogger(__name__)

#: most files one folder ingestion looks at (a bigger folder is refused before anything is read)
MAX_FOLDER_FILES = 5_000


def folder_files(folder: str | Path) -> tuple[Path, list[Path]]:
    """The folder and its non-hidden files, in path order.

    Raises:
        DocumentError: the folder is missing, is not a folder, or holds more than :data:`MAX_FOLDER_FILES` files.
    """
    root = Path(folder).expanduser()
    if not root.exists():
        raise DocumentError("no such folder of documents", path=str(root))
    if not root.is_dir():
        raise DocumentError("not a folder; give the folder that holds the documents (or read the file alone)",
                            path=str(root))
    files = sorted(p for p in root.rglob("*") if p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(root).parts))
    if len(files) > MAX_FOLDER_FILES:
        raise DocumentError(f"{len(files):,} files is more than the {MAX_FOLDER_FILES:,} one ingestion reads; "
                            "point it at a smaller folder", path=str(root))
    return root, files


def ingest_folder(store: DocumentStore, folder: str | Path) -> IngestReport:
    """Ingest every readable file of ``folder`` into ``store`` (see the module docstring).

    Raises:
        DocumentError: the folder is missing or too big, or not one file in it could be read (the
            error's ``skipped`` lists each file and why).
    """
    root, files = folder_files(folder)
    report = IngestReport(collection=store.collection)
    for path in files:
        doc_id = path.relative_to(root).as_posix()
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            report.skipped.append((doc_id, f"cannot read {path.suffix or 'suffix-less'} files"))
            continue
        try:
            one = store.ingest_file(path, doc_id=doc_id)
        except (DocumentError, ConfigError) as exc:  # one bad file must not hide the rest: listed, not dropped
            report.skipped.append((doc_id, str(exc)))
            continue
        report.added += one.added
        report.unchanged += one.unchanged
        report.chunks += one.chunks
        report.pages += one.pages
    if report.skipped:
        logger.warning("%s: left out %d file(s) of %s: %s", store.collection, len(report.skipped), root,
                       "; ".join(f"{name} ({why})" for name, why in report.skipped))
    if not report.added and not report.unchanged:
        raise DocumentError(f"nothing readable in the folder ({len(files)} file(s), {len(report.skipped)} skipped)",
                            path=str(root), skipped=report.skipped)
    return report


__all__ = ["MAX_FOLDER_FILES", "folder_files", "ingest_folder"]
