"""Reading a PDF: damaged files are a clear error naming the file; an empty user password opens."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfWriter
from test_tinytroupe_signatures import make_pdf

from tinytroupe.agent.memory.documents import read_document
from tinytroupe.errors import InvalidArgument


@pytest.mark.parametrize("filter_name", ["Foo", "JBIG2Decode"])
def test_a_damaged_pdf_is_invalid_argument_naming_the_file(tmp_path: Path, filter_name: str) -> None:
    good = make_pdf(tmp_path / "good.pdf", ["Hello world"]).read_bytes()
    damaged = tmp_path / "damaged.pdf"  # a content stream with a filter pypdf cannot decode
    damaged.write_bytes(good.replace(b"<< /Length", b"<< /Filter /%s /Length" % filter_name.encode()))
    with pytest.raises(InvalidArgument, match=r"damaged\.pdf: not a readable PDF"):
        read_document(damaged)


def test_an_encrypted_pdf_with_an_empty_user_password_is_read(tmp_path: Path) -> None:
    plain = make_pdf(tmp_path / "plain.pdf", ["Soup of the day: leek."])
    for password, name in [("", "open.pdf"), ("secret", "locked.pdf")]:
        writer = PdfWriter(clone_from=str(plain))
        writer.encrypt(user_password=password, owner_password="owner", algorithm="RC4-128")
        writer.write(str(tmp_path / name))
    assert "leek" in read_document(tmp_path / "open.pdf").text
    with pytest.raises(InvalidArgument, match=r"locked\.pdf: the PDF is encrypted with a password"):
        read_document(tmp_path / "locked.pdf")
