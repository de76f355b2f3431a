"""Documents for grounding: each reader on real files, bad input, chunking, hybrid ranking, the store."""

from __future__ import annotations

import itertools
import logging
import sys
from pathlib import Path

import numpy as np
import pytest
from grounding_files import make_docx, make_pdf_pages

from tinytroupe.embeddings import HashingEmbedder
from tinytroupe.errors import ConfigError, DocumentError, InvalidArgument, NotFound
from tinytroupe.grounding import DocumentStore, HybridRanker, Page, chunk_pages, read_file
from tinytroupe.grounding.ranking import RRF_K
from tinytroupe.grounding.text import tokenize
from tinytroupe.llm.tokens import estimate_tokens

pytest.importorskip("bm25s", reason="document retrieval ranks with the tools extra (pip install 'tinytroupe[tools]')")
pytest.importorskip("docx", reason="DOCX reading needs the tools extra")


def _store(**options: int) -> DocumentStore:
    return DocumentStore("test", embedder=HashingEmbedder(dim=128), **options)


# ------------------------------------------------------------------------------ readers


def test_each_reader_on_real_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("Plain notes: the harbour bridge budget was approved.", encoding="utf-8")
    (tmp_path / "guide.md").write_text("# Growing tomatoes\n\nTomatoes need sun.", encoding="utf-8")
    (tmp_path / "page.html").write_text("<html><head><title>Museum</title><style>p{}</style></head><body>"
                                        "<p>Opens at <b>nine</b>.</p><script>var zebra=1</script></body></html>")
    pdf = make_pdf_pages(tmp_path / "report.pdf", [["Page one: penguins."], ["Page two: walruses."]])
    docx = make_docx(tmp_path / "memo.docx", ["Memo: the canteen moves.", "It opens on Monday."],
                     table=[["Dish", "Price"], ["Soup", "4 euros"]])

    txt = read_file(tmp_path / "notes.txt")
    assert (txt.kind, txt.title, txt.page_count, txt.pages[0].number) == ("text", "notes", None, None)
    md = read_file(tmp_path / "guide.md")
    assert (md.kind, md.title) == ("markdown", "Growing tomatoes") and "Tomatoes need sun." in md.text
    html = read_file(tmp_path / "page.html")
    assert (html.kind, html.title, html.text) == ("html", "Museum", "Opens at nine.")
    assert "<b>" in read_file(tmp_path / "page.html", raw_html=True).text
    paged = read_file(pdf)
    assert paged.kind == "pdf" and paged.page_count == 2
    assert [(p.number, p.text.strip()) for p in paged.pages] == [(1, "Page one: penguins."), (2, "Page two: walruses.")]
    word = read_file(docx)
    assert word.kind == "docx"
    assert word.text == "Memo: the canteen moves.\n\nIt opens on Monday.\n\nDish | Price\n\nSoup | 4 euros"


def test_bad_files_are_document_errors_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    with pytest.raises(DocumentError, match=r"broken\.pdf: not a readable PDF") as err:
        read_file(tmp_path / "broken.pdf")
    assert err.value.path.endswith("broken.pdf") and isinstance(err.value, ValueError)
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(DocumentError, match=r"broken\.docx: not a readable DOCX"):
        read_file(tmp_path / "broken.docx")
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    with pytest.raises(DocumentError, match=r"photo\.jpg: cannot read \.jpg files"):
        read_file(tmp_path / "photo.jpg")
    (tmp_path / "big.txt").write_text("word " * 400, encoding="utf-8")
    with pytest.raises(DocumentError, match=r"big\.txt: 2,000 bytes is more than the 1,000"):
        read_file(tmp_path / "big.txt", max_bytes=1000)
    cut = read_file(tmp_path / "big.txt", max_chars=600)
    assert (len(cut.text), cut.truncated_chars) == (600, 1400)
    with pytest.raises(DocumentError, match=r"missing\.md: no such file"):
        read_file(tmp_path / "missing.md")
    make_docx(tmp_path / "ok.docx", ["fine"])
    monkeypatch.setitem(sys.modules, "docx", None)  # python-docx not installed
    with pytest.raises(ConfigError, match=r"python-docx.*tinytroupe\[tools\]"):
        read_file(tmp_path / "ok.docx")


# ------------------------------------------------------------------------------ chunking


def test_chunks_fit_their_budget_overlap_and_cover_every_word() -> None:
    words = [f"w{i:03d}" for i in range(300)]
    text = " ".join(words)
    spans = chunk_pages([Page(4, text)], chunk_tokens=25, overlap_tokens=5)
    assert all(s.tokens <= 25 and s.page == 4 for s in spans)
    assert all(text[s.start:s.end] == s.text for s in spans)  # offsets point at the chunk in the page
    seen = [w for s in spans for w in s.text.split()]
    assert set(seen) == set(words) and seen[0] == "w000" and seen[-1] == "w299"
    for a, b in itertools.pairwise(spans):
        overlap = set(a.text.split()) & set(b.text.split())
        assert overlap and estimate_tokens(" ".join(sorted(overlap))) <= 5  # some overlap, within its budget
        assert b.start > a.start  # always moves on


def test_chunking_boundaries_pages_long_words_and_bad_sizes() -> None:
    spans = chunk_pages([Page(1, "alpha beta"), Page(2, ""), Page(3, "gamma")], chunk_tokens=10, overlap_tokens=2)
    assert [(s.page, s.text) for s in spans] == [(1, "alpha beta"), (3, "gamma")]  # never across pages
    long = chunk_pages([Page(None, "x" * 50)], chunk_tokens=4, overlap_tokens=0)
    assert [len(s.text) for s in long] == [16, 16, 16, 2]  # a word longer than a chunk is cut
    exact = chunk_pages([Page(None, "abcd efgh")], chunk_tokens=2, overlap_tokens=0)
    assert [s.text for s in exact] == ["abcd", "efgh"]  # "abcd efgh" is 9 chars: over 8, split
    with pytest.raises(InvalidArgument, match="overlap_tokens"):
        chunk_pages([], chunk_tokens=10, overlap_tokens=10)
    with pytest.raises(InvalidArgument, match="chunk_tokens"):
        DocumentStore("x", chunk_tokens=0)


# ------------------------------------------------------------------------------ ranking


def test_hybrid_ranking_fuses_words_and_meaning_by_reciprocal_rank() -> None:
    texts = ["The ferry to the island leaves at noon.",  # words and meaning
             "Island ferry timetable: noon departures daily.",
             "Bananas are rich in potassium.",
             "The noon bell rings in the old tower."]
    emb = HashingEmbedder(dim=256)
    ranker = HybridRanker()
    ranker.add([tokenize(t) for t in texts], emb.embed(texts))
    query = "when does the island ferry leave"
    top = ranker.top(tokenize(query), emb.embed([query])[0], 4)
    assert [i for i, _ in top][:2] == [0, 1] and 2 not in [i for i, _ in top]
    assert top[0][1] == pytest.approx(2 / (RRF_K + 1), abs=1e-6)  # first in both rankings
    # a bounded depth gives the same head as fusing everything
    full = ranker.fused(tokenize(query), emb.embed([query])[0], depth=None)
    assert int(np.argmax(full)) == top[0][0]
    bm25_only = HybridRanker()
    bm25_only.add([tokenize(t) for t in texts])
    assert [i for i, _ in bm25_only.top(tokenize("potassium"), None, 3)] == [2]
    with pytest.raises(InvalidArgument, match="must have vectors"):
        ranker.add([["x"]])


# ------------------------------------------------------------------------------ the store


def test_store_ingests_retrieves_with_pages_and_replaces_changed_files(tmp_path: Path) -> None:
    store = _store(chunk_tokens=30, overlap_tokens=5)
    pdf = make_pdf_pages(tmp_path / "zoo.pdf", [["The penguins are fed at ten."], ["The walruses sleep at noon."]])
    report = store.ingest_file(pdf)
    assert report.added == ["zoo.pdf"] and report.pages == 2 and report.chunks == 2
    hit = store.retrieve("when do the walruses sleep?", top_k=1)[0]
    assert (hit.chunk.chunk_id, hit.chunk.page, hit.chunk.label()) == ("zoo.pdf#2", 2, "[zoo.pdf#2] (zoo.pdf, page 2)")
    assert store.ingest_file(pdf).unchanged == ["zoo.pdf"]  # same content: left alone
    notes = tmp_path / "notes.md"
    notes.write_text("Lunch is at one.", encoding="utf-8")
    store.ingest_file(notes)
    notes.write_text("Lunch moved to half past one. Bring a fork.", encoding="utf-8")
    assert store.ingest_file(notes).added == ["notes.md"]
    assert [c.text for c in store.chunks("notes.md")] == ["Lunch moved to half past one. Bring a fork."]
    assert [d.doc_id for d in store.documents()] == ["zoo.pdf", "notes.md"] and len(store) == 3
    assert store.chunk("notes.md#1").document == "notes.md"
    with pytest.raises(NotFound, match=r"no document 'x\.md'.*zoo\.pdf"):
        store.document("x.md")
    with pytest.raises(InvalidArgument, match="top_k"):
        store.retrieve("lunch", top_k=0)
    assert store.retrieve("   ") == []


def test_a_folder_skips_what_it_cannot_read_and_keeps_what_it_read(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "a.txt").write_text("Apples are red.", encoding="utf-8")
    (docs / "sub" / "b.md").write_text("# Bees\n\nBees make honey.", encoding="utf-8")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 nope")
    (docs / "c.jpg").write_bytes(b"\xff\xd8")
    (docs / ".hidden.txt").write_text("secret", encoding="utf-8")
    store = _store()
    with caplog.at_level(logging.WARNING):
        report = store.ingest_folder(docs)
    assert report.added == ["a.txt", "sub/b.md"]
    assert [name for name, _ in report.skipped] == ["broken.pdf", "c.jpg"]
    assert "broken.pdf" in caplog.text and "c.jpg" in caplog.text
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "x.pdf").write_bytes(b"garbage")
    with pytest.raises(DocumentError, match=r"junk: nothing readable") as err:
        store.ingest_folder(junk)
    assert [name for name, _ in err.value.skipped] == ["x.pdf"]
    assert [d.doc_id for d in store.documents()] == ["a.txt", "sub/b.md"]  # what was ingested stays
    with pytest.raises(DocumentError, match="no such folder"):
        store.ingest_folder(tmp_path / "nope")
    big = _store(max_file_bytes=10)
    with pytest.raises(DocumentError, match=r"a\.txt: 15 bytes is more than the 10"):
        big.ingest_file(docs / "a.txt")
