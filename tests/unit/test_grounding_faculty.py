"""Agents grounded in documents: LIST_DOCUMENTS, CONSULT, citations in the trace, the run file,
TinyTroupe's reading calls, shared retrievers (a world's store, a llama-index retriever), web pages."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from grounding_files import make_docx, make_pdf_pages

from tinytroupe import control
from tinytroupe.agent import FilesAndWebGroundingFaculty, TinyPerson
from tinytroupe.embeddings import HashingEmbedder
from tinytroupe.errors import DocumentError
from tinytroupe.events import Event
from tinytroupe.grounding import DocumentStore, LlamaIndexRetriever
from tinytroupe.llm import LLMClient, ScriptedBackend
from tinytroupe.storage.document_chunks import DocumentTables
from tinytroupe.storage.trace_store import Trace

pytest.importorskip("bm25s", reason="document retrieval ranks with the tools extra (pip install 'tinytroupe[tools]')")
pytest.importorskip("docx", reason="DOCX reading needs the tools extra")

ASK = {"actions": [{"type": "CONSULT", "content": "When is the canteen open?"}, {"type": "DONE"}]}
ANSWER = {"actions": [{"type": "TALK", "content": "It opens at eight [memo.docx#1]."},
                      {"type": "DONE"}]}


def _folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    make_docx(docs / "memo.docx", ["The canteen is open from eight to three."])
    make_pdf_pages(docs / "zoo.pdf", [["Penguins are fed at ten."], ["Walruses sleep at noon."]])
    (docs / "notes.md").write_text("# Notes\n\nThe printer on floor two is broken.", encoding="utf-8")
    (docs / "bad.pdf").write_bytes(b"%PDF-1.4 broken")
    return docs


def _events(agent: TinyPerson) -> list[Event]:
    seen: list[Event] = []
    agent.context.bus.subscribe(seen.append, kinds=["document", "warning"])
    return seen


def test_consult_shows_cited_chunks_and_the_answer_cites_them_in_the_trace(tmp_path: Path) -> None:
    lisa = TinyPerson("Lisa", client=LLMClient(ScriptedBackend([ASK, ANSWER])))
    lisa.add_mental_faculty(FilesAndWebGroundingFaculty([_folder(tmp_path)], embedder=HashingEmbedder(dim=128)))
    seen = _events(lisa)
    lisa.listen_and_act("Hi Lisa")
    shown = lisa.memory.items()[-1]
    assert shown.type == "DOCUMENT" and "[memo.docx#1] (memo.docx) The canteen is open from eight" in shown.content
    lisa.listen_and_act("So when?", "Ben")
    ingest, consult, cite = [e for e in seen if e.kind == "document"]
    assert ingest.operation == "ingest" and ingest.documents == ["memo.docx", "notes.md", "zoo.pdf"]
    assert [name for name, _ in ingest.skipped] == ["bad.pdf"]
    assert consult.operation == "consult" and consult.chunk_ids[0] == "memo.docx#1"
    assert consult.query == "When is the canteen open?" and consult.collection == "agent:Lisa"
    assert (cite.operation, cite.chunk_ids, cite.action, cite.agent) == ("cite", ["memo.docx#1"], "TALK", "Lisa")


def test_list_documents_consult_by_name_and_an_unknown_citation(tmp_path: Path) -> None:
    turns = [{"actions": [{"type": "LIST_DOCUMENTS", "content": ""}, {"type": "DONE"}]},
             {"actions": [{"type": "CONSULT", "content": "zoo.pdf"}, {"type": "DONE"}]},
             {"actions": [{"type": "THINK", "content": "Walruses nap [zoo.pdf#2], or [zoo.pdf#9]?"}, {"type": "DONE"}]}]
    ben = TinyPerson("Ben", client=LLMClient(ScriptedBackend(turns)))
    ben.add_mental_faculty(FilesAndWebGroundingFaculty([_folder(tmp_path)], embedder=False))
    seen = _events(ben)
    ben.listen_and_act("What do you have?")
    listing = ben.memory.items()[-1].content
    assert "- zoo.pdf (pdf, 2 pages," in listing and "- memo.docx (docx," in listing and "bad.pdf" not in listing
    ben.listen_and_act("Read the zoo one")
    whole = ben.memory.items()[-1].content
    assert whole.startswith("the beginning of zoo.pdf") and "[zoo.pdf#2] (zoo.pdf, page 2) Walruses" in whole
    ben.listen_and_act("Well?")
    cite = next(e for e in seen if getattr(e, "operation", None) == "cite")
    warning = next(e for e in seen if e.kind == "warning")
    assert cite.chunk_ids == ["zoo.pdf#2"] and "zoo.pdf#9" in warning.message  # type: ignore[attr-defined]


def test_documents_persist_in_the_run_file_and_reopen_without_embedding_again(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    sim = control.begin(path, backend=ScriptedBackend([ASK, ANSWER]), quiet=True)
    lisa = TinyPerson("Lisa")
    faculty = FilesAndWebGroundingFaculty([_folder(tmp_path)], embedder=HashingEmbedder(dim=64))
    lisa.add_mental_faculty(faculty)
    lisa.listen_and_act("Hi")
    lisa.listen_and_act("When?", "Ben")
    assert faculty.store_for(lisa).tables is sim.document_tables
    control.end()

    with Trace(path) as trace:
        kinds = [(e["operation"], e["chunk_ids"][:1]) for e in trace.events(kinds=["document"])]
    assert kinds[0][0] == "ingest" and ("cite", ["memo.docx#1"]) in kinds

    class Counting(HashingEmbedder):
        texts = 0

        def _embed(self, texts: list[str]):  # type: ignore[no-untyped-def]
            Counting.texts += len(texts)
            return super()._embed(texts)

    tables = DocumentTables(path, "default")
    assert tables.collections() == ["agent:Lisa"]
    again = DocumentStore("agent:Lisa", embedder=Counting(dim=64), tables=tables)
    assert [d.doc_id for d in again.documents()] == ["memo.docx", "notes.md", "zoo.pdf"]
    assert again.retrieve("printer broken", 1)[0].chunk.chunk_id == "notes.md#1"
    assert Counting.texts == 1  # the query only: chunks' vectors came from the file
    other = DocumentStore("agent:Lisa", embedder=HashingEmbedder(dim=32), tables=tables)
    assert other.retrieve("penguins fed", 1)[0].chunk.chunk_id == "zoo.pdf#1"  # another embedder: embedded again
    assert tables.chunks("agent:Lisa").vectors.shape[1] == 32  # type: ignore[union-attr]
    tables.close()


def test_tinytroupe_reading_calls_fill_memory_and_the_document_store(tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    docs = _folder(tmp_path)
    lisa = TinyPerson("Lisa")
    faculty = FilesAndWebGroundingFaculty(embedder=False)
    lisa.add_mental_faculty(faculty)
    with caplog.at_level("WARNING"):
        assert lisa.read_documents_from_folder(docs) is lisa
    assert "bad.pdf" in caplog.text
    assert {d.doc_id for d in faculty.store_for(lisa).documents()} == {"memo.docx", "notes.md", "zoo.pdf"}
    assert any("canteen" in f.content for f in lisa.memories.semantic.active() if f.kind == "document")
    plain = TinyPerson("Ana")  # no faculty: semantic memory only, as before
    plain.read_document_from_file(docs / "memo.docx")
    assert plain.memory.items()[-1].content.startswith("memo.docx (")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "x.jpg").write_bytes(b"\xff")
    with pytest.raises(DocumentError, match="nothing readable") as err:
        plain.read_documents_from_folder(empty)
    assert err.value.skipped[0][0] == "x.jpg"


class FakeLlamaRetriever:
    """llama-index's retriever shape: retrieve(query) -> nodes with score."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def retrieve(self, query: str) -> list[SimpleNamespace]:
        self.queries.append(query)
        node = SimpleNamespace(node_id="node-7", get_content=lambda: "The board meets on Fridays.",
                               metadata={"file_name": "minutes.pdf", "page_label": "3"})
        return [SimpleNamespace(node=node, score=0.91)]


class FakeLlamaIndex:
    def __init__(self) -> None:
        self.asked_k: list[int] = []

    def as_retriever(self, similarity_top_k: int) -> FakeLlamaRetriever:
        self.asked_k.append(similarity_top_k)
        return FakeLlamaRetriever()


def test_shared_world_store_and_a_llama_index_retriever_are_consulted_too() -> None:
    world_docs = DocumentStore("world:Office", embedder=HashingEmbedder(dim=64))
    world_docs.ingest_text("handbook.md", "Holidays must be requested two weeks ahead.")
    index = FakeLlamaIndex()
    turns = [{"actions": [{"type": "CONSULT", "content": "holidays board"}, {"type": "DONE"}]},
             {"actions": [{"type": "TALK", "content": "Ask early [handbook.md#1]; board on Fridays [node-7].",
                           }, {"type": "DONE"}]}]
    ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend(turns)))
    ana.add_mental_faculty(FilesAndWebGroundingFaculty(
        embedder=False, top_k=3, retrievers=[world_docs, LlamaIndexRetriever(index, name="wiki")]))
    seen = _events(ana)
    ana.listen_and_act("Hi")
    shown = ana.memory.items()[-1].content
    assert "[handbook.md#1] (handbook.md) Holidays" in shown and "[node-7] (minutes.pdf, page 3) The board" in shown
    assert index.asked_k == [3]
    ana.listen_and_act("So?", "Ben")
    cite = next(e for e in seen if getattr(e, "operation", None) == "cite")
    assert cite.chunk_ids == ["handbook.md#1", "node-7"]  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="llama-index retriever"):
        LlamaIndexRetriever(object())


def test_real_llama_index_when_installed() -> None:
    core = pytest.importorskip("llama_index.core")
    from llama_index.core.retrievers import BaseRetriever
    from llama_index.core.schema import NodeWithScore, TextNode

    class Fixed(BaseRetriever):  # type: ignore[misc]
        def _retrieve(self, query_bundle: object) -> list[NodeWithScore]:
            return [NodeWithScore(node=TextNode(id_="n1", text="Real node.", metadata={"file_name": "a.txt"}),
                                  score=0.5)]

    hit = LlamaIndexRetriever(Fixed()).retrieve("anything")[0]
    assert (hit.chunk.chunk_id, hit.chunk.text, hit.chunk.document) == ("n1", "Real node.", "a.txt")
    assert core is not None


@pytest.fixture
def web_server(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "page.html").write_text("<html><head><title>Ferry</title></head><body><p>The ferry leaves at "
                                        "noon.</p><script>x()</script></body></html>", encoding="utf-8")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_web_urls_are_fetched_from_a_real_local_server(web_server: str) -> None:
    carl = TinyPerson("Carl")
    faculty = FilesAndWebGroundingFaculty(web_urls=[f"{web_server}/page.html"], embedder=False)
    carl.add_mental_faculty(faculty)
    hit = faculty.store_for(carl).retrieve("ferry noon", 1)[0]
    assert hit.chunk.text == "The ferry leaves at noon." and hit.chunk.doc_id == f"{web_server}/page.html"
    broken = FilesAndWebGroundingFaculty(web_urls=[f"{web_server}/missing.html"], embedder=False)
    dora = TinyPerson("Dora")
    dora.add_mental_faculty(broken)
    with pytest.raises(DocumentError, match=r"missing\.html: could not fetch the page .*404"):
        broken.store_for(dora)
