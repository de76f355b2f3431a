"""TinyWebSearch: ranking on a known corpus, snippets, paging, folders with HTML and PDF, bounds, errors."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from test_tinytroupe_signatures import make_pdf

from tinytroupe.embeddings import HashingEmbedder
from tinytroupe.errors import InvalidArgument, ToolArgumentError
from tinytroupe.tools import TinyWebSearch
from tinytroupe.tools.search_corpus import snippet

pytest.importorskip("bm25s", reason="TinyWebSearch needs the tools extra (pip install 'tinytroupe[tools]')")

CORPUS = [
    ("Espresso basics", "Espresso is brewed by forcing hot water through finely ground coffee beans. "
                        "A good espresso has a thick crema. Baristas tamp the grounds firmly."),
    ("Cycling in Lisbon", "Lisbon opened new bicycle lanes along the river. Cyclists ride from Belem to the "
                          "city centre; electric bikes help on the steep hills."),
    ("Kenyan tea", "Kenya is one of the largest exporters of black tea. Tea estates in Kericho grow the leaves "
                   "at high altitude, where cool nights slow the growth."),
    ("Sourdough", "Sourdough bread rises with a starter of wild yeast and lactic bacteria; the dough ferments "
                  "overnight before baking."),
    ("Volcanoes", "Volcanic eruptions eject ash and lava. Iceland sits on the Mid-Atlantic Ridge and has many "
                  "active volcanoes."),
]


def _search(**kwargs: object) -> TinyWebSearch:
    return TinyWebSearch(documents=CORPUS, embedder=HashingEmbedder(dim=128), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("query", "expected"), [
    ("espresso crema", "doc-1"),
    ("bicycle lanes Lisbon", "doc-2"),
    ("black tea exporters Kenya", "doc-3"),
    ("wild yeast starter bread", "doc-4"),
    ("Iceland volcano eruptions lava", "doc-5"),
])
def test_the_right_document_ranks_first(query: str, expected: str) -> None:
    results = _search().call("WEB_SEARCH", {"query": query, "top_k": 3}).results
    assert results[0].id == expected
    assert [r.rank for r in results] == list(range(1, len(results) + 1))
    assert all(a.score >= b.score for a, b in itertools.pairwise(results))


def test_results_are_deterministic_and_bm25_alone_works() -> None:
    first = _search().call("WEB_SEARCH", "tea altitude").model_dump()
    assert _search().call("WEB_SEARCH", "tea altitude").model_dump() == first
    lexical = TinyWebSearch(documents=CORPUS, embedder=False).call("WEB_SEARCH", "tea altitude").results
    assert [r.id for r in lexical] == ["doc-3"]  # BM25 alone: only documents with a query word


def test_top_k_is_bounded() -> None:
    search = _search()
    assert len(search.call("WEB_SEARCH", {"query": "the coffee tea bread lava bikes", "top_k": 2}).results) == 2
    with pytest.raises(ToolArgumentError, match="top_k"):
        search.call("WEB_SEARCH", {"query": "tea", "top_k": 500})
    with pytest.raises(ToolArgumentError, match="query"):
        search.call("WEB_SEARCH", {"query": ""})


def test_a_snippet_is_cut_around_the_matching_words() -> None:
    long_text = ("Filler sentence about nothing in particular. " * 20 + "The lighthouse keeper counted seagulls "
                 "every morning. " + "More filler text follows here. " * 20)
    search = TinyWebSearch(documents=[("Keeper", long_text), ("Other", "Bread and butter.")], embedder=False,
                           passage_chars=2000)
    hit = search.call("WEB_SEARCH", "lighthouse seagulls").results[0]
    assert "lighthouse keeper counted seagulls" in hit.snippet
    assert hit.snippet.startswith("… ") and hit.snippet.endswith(" …")
    assert len(hit.snippet) <= 240 + 4
    assert snippet("short text", ["text"]) == "short text"


def test_open_page_pages_through_a_document_with_offsets() -> None:
    text = " ".join(f"word{i}" for i in range(400))  # about 3,000 characters
    search = TinyWebSearch(documents=[("Long", text)], embedder=False)
    pages, offset = [], 0
    while True:
        page = search.call("OPEN_PAGE", {"id": "doc-1", "offset": offset, "max_chars": 1000})
        assert len(page.text) <= 1000 and page.total_chars == len(text)
        pages.append(page.text)
        if page.next_offset is None:
            break
        assert page.text.endswith(" ")  # cut between words
        offset = page.next_offset
    assert "".join(pages) == text and len(pages) == 4
    with pytest.raises(ToolArgumentError, match="past the end"):
        search.call("OPEN_PAGE", {"id": "doc-1", "offset": len(text)})
    with pytest.raises(ToolArgumentError, match=r"no page with id 'doc-9'.*doc-1"):
        search.call("OPEN_PAGE", {"id": "doc-9"})
    with pytest.raises(ToolArgumentError, match="max_chars"):
        search.call("OPEN_PAGE", {"id": "doc-1", "max_chars": 100_000})


def test_a_folder_of_text_markdown_html_and_pdf(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("Meeting notes: the budget for the harbour bridge was approved.")
    (tmp_path / "guides").mkdir()
    (tmp_path / "guides" / "garden.md").write_text("# Growing tomatoes\n\nTomatoes need sun and regular water.")
    (tmp_path / "page.html").write_text("<html><head><title>Museum hours</title><style>p {color: red}</style>"
                                        "</head><body><p>The <b>museum</b> opens at nine.</p>"
                                        "<script>var secret = 'zebra';</script></body></html>")
    make_pdf(tmp_path / "report.pdf", ["Quarterly report: penguin population grew by ten percent."])
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (tmp_path / ".hidden.txt").write_text("penguin penguin penguin")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    search = TinyWebSearch(folder=tmp_path, embedder=HashingEmbedder(dim=128))
    assert search.call("WEB_SEARCH", "penguin population").results[0].id == "report.pdf"
    top = search.call("WEB_SEARCH", "tomatoes sun").results[0]
    assert (top.id, top.title) == ("guides/garden.md", "Growing tomatoes")
    museum = search.call("WEB_SEARCH", "museum opens").results[0]
    assert (museum.id, museum.title) == ("page.html", "Museum hours")
    page = search.call("OPEN_PAGE", {"id": "page.html"}).text
    assert page == "The museum opens at nine."  # tags, style and script gone
    assert search.call("WEB_SEARCH", "zebra").results == []
    report = search.index_report()
    assert report.documents == 4
    assert [name for name, _ in report.skipped] == ["broken.pdf"]
    assert "not a readable PDF" in report.skipped[0][1]


def test_a_missing_folder_is_an_error_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-docs"
    with pytest.raises(InvalidArgument, match="no-such-docs: no such folder"):
        TinyWebSearch(folder=missing)
    with pytest.raises(InvalidArgument, match=r"either folder= .* or documents="):
        TinyWebSearch()
    with pytest.raises(InvalidArgument, match="document 2 must be a \\(title, text\\) pair"):
        TinyWebSearch(documents=[("a", "b"), ("only a title",)])  # type: ignore[list-item]


def test_the_index_is_built_once_on_the_first_search() -> None:
    search = _search()
    assert search._index is None  # nothing read or embedded at construction
    search.call("WEB_SEARCH", "tea")
    built = search._index
    search.call("WEB_SEARCH", "bread")
    assert search._index is built and built is not None
    assert search.index_report().passages == len(CORPUS)
