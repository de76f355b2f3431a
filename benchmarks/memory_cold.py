"""Relevance retrieval over cold memory segments: what a query costs, and what the prompt setting costs a turn.

Run through ``benchmarks/memory.py --cold-query [--quick]`` (part (e)) or on its own (``benchmarks/memory_cold.py
[--quick]``, as ``make bench`` does); the last line printed is one
JSON object.

(e1) a run file holding ``agents`` agents' cold segments, as the ring of part (d) leaves them (27
     segments of 5 items each per agent, 256-d vectors as the hashing embedder's), every segment
     with its vectors row; then one relevance query with ``include_cold`` for each of 200 agents
     (a memory per agent with 16 items in RAM): p50/p95 of ``retrieve`` with and without
     ``include_cold`` (the difference is the cold tier's part), and the query's work
     (``last_cold_recall``). Items are made-up sentences about a few topics; the queried agents'
     vectors are their embeddings (their questions find cold matches, whose segments are read),
     the other agents' random unit vectors (they only fill the file).
(e2) one agent with a long history at the default bound (1,000 items evicted 50 at a time): 2,000
     segments, 100,000 items; p95 at the default ``COLD_SCAN_SEGMENTS`` (1,000) and at 0 (all).
(e3) ``COLD_RECALL_IN_PROMPT``: a ring world (part (d)'s, bound 20 evicted 5 at a time, run file)
     run with the setting off, then on: wall time per agent turn (median of the steps after the
     first evictions), the mean CPU time of a turn's cold query itself (choosing and reading cold
     items, timed around those two methods with ``time.thread_time``: turns run side by side in
     worker threads, and their wall time would include waiting for the others), and the cold work
     of the last turn.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from tinytroupe.agent.memory import AgentMemory, EpisodicMemory, MemoryItem
from tinytroupe.agent.memory.cold import encode_items
from tinytroupe.agent.memory.cold_vectors import ColdVectors, embedder_tag
from tinytroupe.config import MemorySettings, Settings, using_settings
from tinytroupe.embeddings import HashingEmbedder
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.storage.memory_segments import MemorySegmentStore
from tinytroupe.storage.writer import BatchWriter

START_H = 480_000.0  # simulated hours of the made-up items (~2024)
TOPICS = ["the weather", "a book", "the bakery", "a bus ride", "the garden", "a phone call", "lunch", "the market"]


def _items(first_id: int, n: int, who: str, rng: np.random.Generator) -> list[MemoryItem]:
    return [MemoryItem(id=first_id + k, kind="stimulus", type="CONVERSATION", source=who,
                       content=f"{who} talks about {TOPICS[int(rng.integers(len(TOPICS)))]} ({first_id + k})")
            for k in range(n)]


def _write_agent(store: MemorySegmentStore, name: str, segments: int, per_segment: int, embedder: HashingEmbedder,
                 rng: np.random.Generator, *, embed: bool) -> None:
    """``name``'s segments with their vectors rows: the items' embeddings (``embed``), else random unit vectors."""
    batches = [_items(seg * per_segment + 1, per_segment, "Ben", rng) for seg in range(segments)]
    if embed:
        vectors = embedder.embed([i.content for batch in batches for i in batch])
    else:
        vectors = rng.standard_normal((segments * per_segment, embedder.dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    tag = embedder_tag(embedder)
    for seg, batch in enumerate(batches):
        first = seg * per_segment + 1
        store.write(name, seg + 1, first_id=first, last_id=first + per_segment - 1, first_time=None,
                    last_time=None, count=per_segment, payload=encode_items(batch))
        rows = slice(seg * per_segment, (seg + 1) * per_segment)
        cold = ColdVectors.of([i.id for i in batch], vectors[rows], importance=rng.uniform(1, 10, per_segment),
                              access_h=START_H + np.arange(first, first + per_segment, dtype=np.float64))
        store.write_vectors(name, seg + 1, first_id=first, last_id=first + per_segment - 1, make=cold.encode(tag))


def _memory(store: MemorySegmentStore, name: str, segments: int, per_segment: int, embedder: HashingEmbedder,
            **settings: Any) -> AgentMemory:
    mem = AgentMemory(name, episodic=EpisodicMemory(max_size=10_000), cold_store=lambda: store, embedder=embedder,
                      settings=MemorySettings(**settings))
    first = segments * per_segment + 1
    for item in _items(first, 16, "Ben", np.random.default_rng(first)):
        mem.episodic.add(kind=item.kind, type=item.type, content=item.content, source=item.source)
    mem.episodic.cleanups = segments  # the eviction count its state would hold
    mem.sync_index()
    return mem


def _time_queries(mems: list[AgentMemory], include_cold: bool) -> list[float]:
    times = []
    for n, mem in enumerate(mems):
        question = f"what did Ben say about {TOPICS[n % len(TOPICS)]}?"
        t = time.perf_counter()
        mem.retrieve(question, top_k=5, rehearse=False, include_cold=include_cold)
        times.append((time.perf_counter() - t) * 1000)
    return times


def bench_file(agents: int, segments: int = 27, per_segment: int = 5, queries: int = 200) -> dict[str, Any]:
    """(e1): a run file of ``agents`` agents' segments, then ``queries`` agents queried once each."""
    folder = Path(tempfile.mkdtemp(prefix="tinytroupe-cold-"))
    path = folder / "run.sqlite"
    embedder = HashingEmbedder(256)
    rng = np.random.default_rng(0)
    writer = BatchWriter(path)
    store = MemorySegmentStore(path, "bench", writer=writer)
    picked = [f"Agent{a:05d}" for a in np.random.default_rng(1).choice(agents, min(queries, agents), replace=False)]
    queried = set(picked)
    t = time.perf_counter()
    for a in range(agents):  # the queried agents' items embedded, so that their queries find cold matches
        name = f"Agent{a:05d}"
        _write_agent(store, name, segments, per_segment, embedder, rng, embed=name in queried)
    store.flush()
    write_s = time.perf_counter() - t
    mems = [_memory(store, name, segments, per_segment, embedder) for name in picked]
    warm = _time_queries(mems, include_cold=False)
    cold = _time_queries(mems, include_cold=True)  # each agent's segments read for the first time
    stats = mems[-1].last_cold_recall
    conn = writer.query("SELECT SUM(length(data)), SUM(length(sketch) + length(meta) + length(vectors)) "
                        "FROM memory_segments JOIN memory_segment_vectors USING (simulation_id, agent, segment)")[0]
    writer.close()
    store.close()
    out = {"agents": agents, "segments": agents * segments, "items": agents * segments * per_segment,
           "write_s": round(write_s, 1), "file_mb": round(path.stat().st_size / 2**20, 1),
           "payload_mb": round(conn[0] / 2**20, 1), "vectors_mb": round(conn[1] / 2**20, 1),
           "ram_only_p50_ms": _pct(warm, 50), "ram_only_p95_ms": _pct(warm, 95),
           "with_cold_p50_ms": _pct(cold, 50), "with_cold_p95_ms": _pct(cold, 95),
           "work": stats.__dict__ if stats is not None else None}
    shutil.rmtree(folder)
    return out


def bench_long_history(segments: int = 2000, per_segment: int = 50, queries: int = 50) -> dict[str, Any]:
    """(e2): one agent, ``segments`` segments of ``per_segment`` items; p95 at the default scan and at all."""
    folder = Path(tempfile.mkdtemp(prefix="tinytroupe-cold-"))
    embedder = HashingEmbedder(256)
    store = MemorySegmentStore(folder / "run.sqlite", "bench", writer=BatchWriter(folder / "run.sqlite"))
    _write_agent(store, "Ana", segments, per_segment, embedder, np.random.default_rng(2), embed=True)
    store.flush()
    out: dict[str, Any] = {"segments": segments, "items": segments * per_segment}
    for label, scan in (("default_scan", 1000), ("scan_all", 0)):
        mem = _memory(store, "Ana", segments, per_segment, embedder, cold_scan_segments=scan)
        times = _time_queries([mem] * queries, include_cold=True)
        out[f"{label}_p50_ms"], out[f"{label}_p95_ms"] = _pct(times, 50), _pct(times, 95)
        out[f"{label}_work"] = mem.last_cold_recall.__dict__ if mem.last_cold_recall else None
    assert store.writer is not None
    store.writer.close()
    store.close()
    shutil.rmtree(folder)
    return out


def bench_prompt(agents: int, steps: int, cold_memory: dict[str, Any]) -> dict[str, Any]:
    """(e3): ms per agent turn of a ring world with ``COLD_RECALL_IN_PROMPT`` off, then on."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from world_throughput import MINUTE, ring_world

    from tinytroupe import control

    names = [f"Agent{i:04d}" for i in range(agents)]
    out: dict[str, Any] = {"agents": agents, "steps": steps}
    spent = _time_cold_calls()
    for label, on in (("off", False), ("on", True)):
        settings = Settings(memory={"embedder": "hash", **cold_memory, "cold_vectors": True,
                                    "cold_recall_in_prompt": on})
        folder = Path(tempfile.mkdtemp(prefix="tinytroupe-cold-"))
        control.begin(folder / "run.sqlite", settings=settings, backend=ScriptedBackend(_Script(names)), quiet=True)
        with using_settings(settings):
            world = ring_world(agents, LLMClient(ScriptedBackend(_Script(names), record_limit=8)))
            per_step = []
            for step in range(steps):
                if step == steps // 3:
                    spent[0] = spent[1] = 0.0
                t = time.perf_counter()
                world.run(1, timedelta_per_step=MINUTE)
                per_step.append((time.perf_counter() - t) * 1000 / agents)
        first = world.agents[0]
        stats = first.memories.last_cold_recall  # type: ignore[attr-defined]
        evicting = [ms for k, ms in enumerate(per_step) if k >= steps // 3]  # past the first evictions
        out[f"{label}_ms_per_turn"] = round(float(np.median(evicting)), 3)
        out[f"{label}_cold_query_ms"] = round(spent[0] * 1000 / spent[1], 3) if spent[1] else None
        out[f"{label}_cold_work"] = stats.__dict__ if stats is not None else None
        control.reset()
        shutil.rmtree(folder)
    out["added_ms_per_turn"] = round(out["on_ms_per_turn"] - out["off_ms_per_turn"], 3)
    return out


def _time_cold_calls() -> list[float]:
    """CPU seconds spent choosing and reading cold items (the cold query itself) and the queries made, summed
    in the returned cells (CPU time: turns run in worker threads side by side, and wall time would count the
    waits for them)."""
    from tinytroupe.agent.memory.cold_recall import MemoryColdRecall

    spent = [0.0, 0.0]
    for name in ("_cold_candidates", "_cold_items"):
        original = getattr(MemoryColdRecall, name)

        def timed(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            t = time.thread_time()  # this thread's CPU: not the waits for the turns beside it
            try:
                return _original(self, *args, **kwargs)
            finally:
                spent[0] += time.thread_time() - t
                spent[1] += _original.__name__ == "_cold_candidates"

        setattr(MemoryColdRecall, name, timed)
    return spent


class _Script:
    """The simulation's backend for consolidation answers (the ring's turns use their own client)."""

    def __init__(self, names: list[str]) -> None:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from world_throughput import RingScript

        self.ring = RingScript(names)

    def __call__(self, request: LLMRequest) -> Any:
        if request.schema_name == "ConsolidatedFacts":
            return {"facts": [{"content": "a summarised fact", "importance": 5}]}
        if request.schema_name == "ReconcileDecisions":
            return {"decisions": [{"operation": "NOOP"}] * request.messages[0].content.count("New fact:")}
        return self.ring(request)


def _pct(values: list[float], q: int) -> float:
    return round(float(np.percentile(values, q)), 3)


def run(quick: bool, cold_memory: dict[str, Any]) -> dict[str, Any]:
    """(e1)-(e3) at the sizes of ``--quick`` (400 agents' file, a 100-agent world) or of the full run."""
    logging.getLogger("tinytroupe").setLevel(logging.ERROR)  # every ring agent warns as its memory fills
    agents = 400 if quick else 10_000
    file = bench_file(agents)
    print(f"(e1) run file of {file['agents']} agents' cold segments ({file['segments']} segments, {file['items']} "
          f"items; {file['file_mb']} MB: payloads {file['payload_mb']} MB, vectors rows {file['vectors_mb']} MB; "
          f"written in {file['write_s']} s): retrieve p95 {file['ram_only_p95_ms']} ms RAM only, "
          f"{file['with_cold_p95_ms']} ms with include_cold (p50 {file['ram_only_p50_ms']} / "
          f"{file['with_cold_p50_ms']}); work of a query {file['work']}")
    long = bench_long_history()
    print(f"(e2) one agent, {long['segments']} segments ({long['items']} items): p95 {long['default_scan_p95_ms']} ms "
          f"scanning the newest 1,000 (work {long['default_scan_work']}), {long['scan_all_p95_ms']} ms scanning all")
    prompt = bench_prompt(100 if quick else 400, 30, cold_memory)
    print(f"(e3) ring of {prompt['agents']} agents x {prompt['steps']} steps, bound 20: "
          f"{prompt['off_ms_per_turn']} ms per agent turn with COLD_RECALL_IN_PROMPT off, {prompt['on_ms_per_turn']} "
          f"on (+{prompt['added_ms_per_turn']}); a turn's cold query took {prompt['on_cold_query_ms']} ms of CPU on "
          f"average, work {prompt['on_cold_work']}")
    return {"cold_query": file, "cold_long_history": long, "cold_prompt": prompt}


__all__ = ["bench_file", "bench_long_history", "bench_prompt", "run"]


if __name__ == "__main__":  # the same as `benchmarks/memory.py --cold-query`, so the benchmark runner runs (e) too
    import argparse
    import json
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from memory import COLD_MEMORY

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="400 agents' file and a 100-agent world (about a minute)")
    args = parser.parse_args()
    print(json.dumps({"quick": args.quick, **run(args.quick, COLD_MEMORY)}))
