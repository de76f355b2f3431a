"""Real small files for the grounding tests: a two-file handbook folder, PDFs built by hand (one page of
lines, or numbered objects of any layout), PDFs of several pages (pypdf) and Word documents (python-docx).

``benchmarks/grounding.py`` writes its PDFs with :func:`write_pdf` too (it imports this module as
``tests.grounding_files``).
"""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader, PdfWriter


def handbook(tmp_path: Path) -> Path:
    """A folder ``handbook`` in ``tmp_path`` with ``canteen.md`` (when the canteen is open) and
    ``parking.txt`` (where visitors park)."""
    docs = tmp_path / "handbook"
    docs.mkdir()
    (docs / "canteen.md").write_text("# Canteen\n\nThe canteen is open from eight to three on weekdays.")
    (docs / "parking.txt").write_text("Parking spaces are in the basement; visitors park on level minus two.")
    return docs


def write_pdf(path: Path, objects: list[bytes]) -> Path:
    """Write ``objects`` (the bodies of objects 1, 2, ...: object 1 the catalog) as a PDF file with its
    cross-reference table and trailer."""
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(out)
    return path


def make_pdf(path: Path, lines: list[str]) -> Path:
    """A one-page PDF with ``lines`` of text in Helvetica (hand-built: no PDF writer needed)."""
    text = " ".join(f"({line}) Tj 0 -16 Td" for line in lines)
    content = f"BT /F1 12 Tf 72 720 Td {text} ET".encode()
    return write_pdf(path, [
        b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"])


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
