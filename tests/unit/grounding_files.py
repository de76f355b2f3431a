"""Real small files for the grounding tests: PDFs of several pages (pypdf) and Word documents (python-docx)."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader, PdfWriter
from test_tinytroupe_signatures import make_pdf


def make_pdf_pages(path: Path, pages: list[list[str]]) -> Path:
    """A PDF with one page per entry of ``pages`` (each a list of lines), joined with pypdf's writer."""
    writer = PdfWriter()
    for i, lines in enumerate(pages):
        single = make_pdf(path.with_name(f".page{i}.pdf"), lines)
        writer.append(PdfReader(str(single)))
        single.unlink()
    with path.open("wb") as out:
        writer.write(out)
    return path


def make_docx(path: Path, paragraphs: list[str], table: list[list[str]] | None = None) -> Path:
    """A Word document with ``paragraphs`` and then a ``table`` (rows of cells), written by python-docx."""
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, cell in enumerate(row):
                grid.cell(r, c).text = cell
    document.save(str(path))
    return path
