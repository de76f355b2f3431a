"""Memory benchmark: bounded growth, retrieval latency and recall.

(a) one agent over many events, and a world of many agents, with the scripted backend and the
    hashing embedder: process RSS and prompt tokens per turn, from when the episodic bound is
    reached to the end (growth in %);
(b) retrieval latency p95 (scoring + top-k over a per-agent index of random unit vectors, 512-d)
    at 10,000 and 100,000 memories (query embedding excluded; it is one embedder call);
(c) recall: facts planted among distractor events, then one question per fact; recall@5 with the
    bundled USE embedder, beside recency-only and relevance-only retrieval;
(d) memory at scale: RSS per agent of a ring world (``benchmarks/world_throughput.py``: each agent
    TALKs to its neighbour, scripted backend, hashing embedder) of 10,000 agents after 50 steps each,
    measured in a child process so the RSS is its own: (final RSS after the run - RSS before the
    agents were made) / agents, reported as ``rss_mb_per_agent_10k`` (goal: <= 0.3 MB). With
    ``--breakdown`` a smaller run of the same world says, with ``tracemalloc``, which allocation
    sites hold the memory (KB per agent). The same world then runs with the cold tier: inside
    ``control.begin`` (a run file in a temporary folder), episodic memory bounded at 20 items
    (evicted 5 at a time; consolidation before eviction off, so the figure is the tier's own), each
    evicted batch written to the run file as a cold segment: ``rss_mb_per_agent_10k_cold``, with
    ``cold_segments_written``, their compressed size (``cold_segments_mb``) and the run file's size
    (trace included, ``cold_run_file_mb``). ``--cold-compare`` also runs the small bound without a
    run file (``rss_mb_per_agent_10k_small_bound``: evicted items simply dropped).
(e) ``--cold-query`` runs only this part (``benchmarks/memory_cold.py``): relevance retrieval over
    cold segments, p95 of a query with ``include_cold`` over a run file of 10,000 agents' segments
    and over one agent's long history, and the per-turn cost of ``COLD_RECALL_IN_PROMPT``.

Usage::

    python benchmarks/memory.py [--quick] [--breakdown] [--cold-compare]
    python benchmarks/memory.py --cold-query [--quick]

``--quick`` uses smaller sizes (printed); (d) then runs 400 agents, not 10,000, which the output
says (fixed costs, such as the world's bounded communication log, are spread over fewer agents, so
the figure is an upper bound of the 10,000-agent one). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("tinytroupe") is None:
    sys.path.insert(0, str(ROOT))

from tinytroupe.agent import TinyPerson  # noqa: E402
from tinytroupe.agent.memory import AgentMemory, EpisodicMemory  # noqa: E402
from tinytroupe.agent.memory.index import VectorIndex  # noqa: E402
from tinytroupe.agent.memory.retrieval import RetrievalParams, score_index  # noqa: E402
from tinytroupe.config import MemorySettings, Settings, using_settings  # noqa: E402
from tinytroupe.environment import TinyWorld  # noqa: E402
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend  # noqa: E402
from tinytroupe.llm.tokens import tokens_for_chars  # noqa: E402

START = datetime(2025, 1, 6, 9, 0)


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def reply(request: LLMRequest) -> Any:
    name = request.schema_name
    if name == "ConsolidatedFacts":
        n = len(request.messages[0].content)
        return {"facts": [{"content": f"a summarised fact {n % 97}", "importance": 5}]}
    if name == "ReconcileDecisions":
        count = request.messages[0].content.count("New fact:")
        return {"decisions": [{"operation": "NOOP"}] * count}
    return {"actions": [{"type": "TALK", "content": "I see, tell me more about that please"}, {"type": "DONE"}],
            "cognitive_state": {"goals": "chat", "context": [], "attention": "the talk", "emotions": "calm"}}


WARM_UP_FRACTION = 0.2


def turn_prompt_tokens(agent: TinyPerson) -> float:
    """Estimated tokens of the prompt the agent's next turn sends (not consolidation or importance prompts)."""
    return float(tokens_for_chars(sum(len(m.content) for m in agent.build_prompt())))


def growth(series: list[float]) -> float:
    """Growth (%) from the start to the end of ``series``, sampled once memory reached its bound.

    The first ``WARM_UP_FRACTION`` of the samples is skipped: right after the episodic bound is
    reached the prompt's other sections (recalled memories, consolidated facts) are still filling up
    to their own budgets, which is growth towards a bound, not growth past it.
    """
    steady = series[int(len(series) * WARM_UP_FRACTION):] or series
    n = max(1, len(steady) // 10)
    first, last = np.mean(steady[:n]), np.mean(steady[-n:])
    return float((last - first) / first * 100.0)


def bench_one_agent(events: int, bound: int) -> tuple[float, float]:
    settings = Settings(memory={"max_episodic_memory_size": bound, "auto_consolidation_threshold": bound // 2,
                                "embedder": "hash"})
    backend = ScriptedBackend(reply, record_limit=64)  # a real backend keeps no request log
    with using_settings(settings):
        ana = TinyPerson("Ana", client=LLMClient(backend))
    world = TinyWorld("Room", [ana], initial_datetime=START, communication_display=False)
    rss, tokens = [], []
    n = 0
    while n < events:
        ana.listen(f"Event {n}: Ben mentions detail {n % 173} about topic {n % 31}", source="Ben")
        ana.act()
        n += 3
        world.skip(1, timedelta(minutes=3))  # simulated time passes, so recency and forgetting work
        if len(ana.memory) >= bound * 0.9:
            rss.append(rss_mb())
            tokens.append(turn_prompt_tokens(ana))
    return growth(rss), growth(tokens)


def bench_world(agents: int, steps: int, bound: int) -> tuple[float, float]:
    settings = Settings(memory={"max_episodic_memory_size": bound, "auto_consolidation_threshold": bound // 2,
                                "embedder": "hash"})
    backend = ScriptedBackend(reply, record_limit=64)  # a real backend keeps no request log
    with using_settings(settings):
        people = [TinyPerson(f"P{i}") for i in range(agents)]
        world = TinyWorld("Hall", people, initial_datetime=START, client=LLMClient(backend),
                          communication_display=False)
    rss, tokens = [], []
    for step in range(steps):
        for p in people:
            p.listen(f"step {step}: the host says item {step % 17}", source="Host")
        world.run(1)
        if len(people[0].memory) >= bound * 0.9:
            rss.append(rss_mb())
            tokens.append(turn_prompt_tokens(people[0]))
    return growth(rss), growth(tokens)


def bench_latency(size: int, queries: int = 200) -> float:
    rng = np.random.default_rng(0)
    idx = VectorIndex(512, capacity=size)
    vecs = rng.standard_normal((size, 512)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    for i in range(size):
        idx.add(f"E{i}", vecs[i], importance=float(rng.integers(1, 11)), created_h=float(i))
    times = []
    for _ in range(queries):
        q = rng.standard_normal(512).astype(np.float32)
        q /= np.linalg.norm(q)
        t = time.perf_counter()
        score_index(idx, q, RetrievalParams(top_k=5), now_h=float(size))
        times.append((time.perf_counter() - t) * 1000)
    return float(np.percentile(times, 95))


NAMES = ["Ana", "Ben", "Carla", "Dmitri", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jonas"]
THINGS = ["favourite fruit", "car", "home town", "sister's job", "dog's name"]
VALUES = ["mango", "a green van", "Porto", "a pilot", "Biscuit", "kiwi", "a red bike", "Oslo", "a chef", "Rex"]


def bench_recall(facts: int, distractors: int) -> dict[str, float]:
    rng = random.Random(1)
    planted = []
    for i in range(facts):
        name, thing = NAMES[i % len(NAMES)], THINGS[(i // len(NAMES)) % len(THINGS)]
        planted.append((f"{name}'s {thing} is {VALUES[(i * 7) % len(VALUES)]}.", f"What is {name}'s {thing}?"))
    topics = ["the weather was grey", "the bus came late", "someone laughed in the hall", "coffee was cold",
              "the meeting ran long", "a phone rang twice", "the printer jammed", "lunch was soup"]
    stream: list[str] = [f"On day {d}, {rng.choice(NAMES)} noted that {rng.choice(topics)}."
                         for d in range(distractors)]
    positions = sorted(rng.sample(range(len(stream) + facts), facts))
    for (fact, _), pos in zip(planted, positions, strict=True):
        stream.insert(pos, fact)
    results = {}
    for label, weights in (("full", (1.0, 1.0, 3.0)), ("recency_only", (1.0, 0.0, 0.0)),
                           ("relevance_only", (0.0, 0.0, 1.0))):
        settings = MemorySettings(max_episodic_memory_size=len(stream) + 10, recency_weight=weights[0],
                                  importance_weight=weights[1], relevance_weight=weights[2], forgetting=False)
        memory = AgentMemory("Ana", episodic=EpisodicMemory(max_size=len(stream) + 10), settings=settings,
                             now=lambda: START + timedelta(hours=len(stream)))
        if label == "full":
            for j, text in enumerate(stream):
                memory.episodic.add(kind="stimulus", type="CONVERSATION", content=text, source="Ben",
                                    sim_time=START + timedelta(hours=j))
            memory.episodic.set_importance({i.id: 5.0 for i in memory.episodic.items()})
            memory.sync_index()
            shared = memory
        else:
            memory.load_state(shared.to_state())
        hits = 0
        for fact, question in planted:
            found = [m.content for m in memory.retrieve(question, top_k=5, rehearse=False)]
            hits += fact in found
        results[label] = hits / len(planted)
    return results


#: (d) with the cold tier: a bound small enough that 50 steps evict (each agent adds 3 items a step),
#: evicted a quarter at a time (5 items a segment; the default 5 % of 20 would be one item a segment)
COLD_MEMORY = {"max_episodic_memory_size": 20, "eviction_batch_fraction": 0.25, "consolidate_before_eviction": False}


class MemoryScript:
    """The ring's replies, plus answers to the consolidation of what a small bound evicts."""

    def __init__(self, names: list[str]) -> None:
        from world_throughput import RingScript

        self.ring = RingScript(names)

    def __call__(self, request: LLMRequest) -> Any:
        if request.schema_name in ("ConsolidatedFacts", "ReconcileDecisions"):
            return reply(request)
        return self.ring(request)


def rss_child(agents: int, steps: int, breakdown: bool, small_bound: bool = False, run_file: bool = False) -> None:
    """(d), in this (child) process: a ring world of ``agents`` run ``steps`` steps; prints one JSON line.

    ``small_bound``: episodic memory bounded by :data:`COLD_MEMORY`, so the run evicts. ``run_file``:
    inside a simulation with a run file (``control.begin``), so evicted batches go there as cold
    segments (both: the cold tier).
    """
    import gc
    import tempfile
    import tracemalloc

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from world_throughput import MINUTE, ring_world

    from tinytroupe import control
    from tinytroupe.llm.factory import build_client

    names = [f"Agent{i:04d}" for i in range(agents)]
    settings = Settings(memory={"embedder": "hash", **(COLD_MEMORY if small_bound else {})})

    def client(who: list[str]) -> LLMClient:
        return build_client(Settings(), backend=ScriptedBackend(MemoryScript(who), record_limit=8))

    path = Path(tempfile.mkdtemp(prefix="tinytroupe-bench-")) / "run.sqlite" if run_file else Path()
    sim = control.begin(path, settings=settings, backend=ScriptedBackend(MemoryScript(names)), quiet=True) \
        if run_file else None
    with using_settings(settings):  # warm-up: templates, embedder and caches exist before the baseline
        ring_world(2, client(["Agent0000", "Agent0001"])).run(3, timedelta_per_step=MINUTE)
    gc.collect()
    if breakdown:
        tracemalloc.start(1)
        before = tracemalloc.take_snapshot()
    base = rss_mb()
    with using_settings(settings):
        world = ring_world(agents, client(names))
        created = rss_mb()
        world.run(steps, timedelta_per_step=MINUTE)
    gc.collect()
    final = rss_mb()
    out: dict[str, Any] = {"created_mb_per_agent": (created - base) / agents, "mb_per_agent": (final - base) / agents,
                           "episodic_items": len(world.agents[0].memory),
                           "index_rows": len(world.agents[0].memories.index or ())}
    if sim is not None:
        sim.flush()  # the trace writer's queue drained: what the run keeps, not what is still on its way out
        gc.collect()
        out["mb_per_agent_flushed"] = (rss_mb() - base) / agents
        out["cold_segments_written"] = sim.memory_store.written
        out["cold_segments_per_agent"] = len(world.agents[0].memories.cold_segments())
        control.reset()  # no final checkpoint of every agent: only the segments and the trace are measured
        conn = sqlite3.connect(path)
        out["cold_segments_mb"] = conn.execute("SELECT SUM(length(data)) FROM memory_segments").fetchone()[0] / 2**20
        conn.close()
        out["run_file_mb"] = sum(p.stat().st_size for p in path.parent.iterdir()) / 2**20
        shutil.rmtree(path.parent)
    if breakdown:
        stats = tracemalloc.take_snapshot().compare_to(before, "lineno")
        out["top_kb_per_agent"] = [[f"{Path(s.traceback[0].filename).name}:{s.traceback[0].lineno}",
                                    round(s.size_diff / agents / 1024, 2)] for s in stats[:12]]
    print(json.dumps(out))


def bench_rss_per_agent(agents: int, steps: int, breakdown: bool = False, small_bound: bool = False,
                        run_file: bool = False) -> dict[str, Any]:
    """(d) in a child process (its RSS is the world's alone); the child's JSON line as a dict."""
    flags = {"--breakdown": breakdown, "--small-bound": small_bound, "--run-file": run_file}
    cmd = [sys.executable, __file__, "--rss-child", str(agents), str(steps), *(f for f, on in flags.items() if on)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, under a minute")
    parser.add_argument("--breakdown", action="store_true", help="(d): also where the memory goes (tracemalloc)")
    parser.add_argument("--rss-child", nargs=2, type=int, metavar=("AGENTS", "STEPS"), help=argparse.SUPPRESS)
    parser.add_argument("--cold-compare", action="store_true",
                        help="(d): also the small bound without a run file (what the cold tier itself costs)")
    parser.add_argument("--cold-query", action="store_true",
                        help="(e) only: relevance retrieval over cold segments (query p95, prompt setting per turn)")
    parser.add_argument("--small-bound", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--run-file", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(*args.rss_child, breakdown=args.breakdown, small_bound=args.small_bound, run_file=args.run_file)
        return
    if args.cold_query:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from memory_cold import run

        print(json.dumps({"quick": args.quick, **run(args.quick, COLD_MEMORY)}))
        return
    if args.quick:
        sizes = {"events": 1500, "bound": 150, "agents": 20, "steps": 40, "world_bound": 30, "lat_small": 10_000,
                 "lat_large": 100_000, "facts": 20, "distractors": 400, "scale_agents": 400, "scale_steps": 50}
    else:
        sizes = {"events": 10_000, "bound": 1000, "agents": 200, "steps": 200, "world_bound": 100,
                 "lat_small": 10_000, "lat_large": 100_000, "facts": 50, "distractors": 5000,
                 "scale_agents": 10_000, "scale_steps": 50}
    print(f"sizes: {sizes}{' (--quick: smaller than the full run)' if args.quick else ''}")
    print(f"growth is measured on samples taken once episodic memory reached its bound, after skipping the "
          f"first {WARM_UP_FRACTION:.0%} of them (the other prompt sections are still filling to their budgets)")
    rss_one, tok_one = bench_one_agent(sizes["events"], sizes["bound"])
    print(f"(a) one agent, {sizes['events']} events, bound {sizes['bound']}: RSS growth {rss_one:.1f}%, "
          f"prompt tokens growth {tok_one:.1f}%")
    rss_w, tok_w = bench_world(sizes["agents"], sizes["steps"], sizes["world_bound"])
    print(f"(a) {sizes['agents']} agents x {sizes['steps']} steps, bound {sizes['world_bound']}: RSS growth "
          f"{rss_w:.1f}%, prompt tokens growth {tok_w:.1f}%")
    p95_small, p95_large = bench_latency(sizes["lat_small"]), bench_latency(sizes["lat_large"])
    print(f"(b) retrieval p95: {p95_small:.2f} ms at {sizes['lat_small']}, {p95_large:.2f} ms at {sizes['lat_large']}")
    recall = bench_recall(sizes["facts"], sizes["distractors"])
    print(f"(c) recall@5 ({sizes['facts']} facts among {sizes['distractors']} distractors, USE embedder)")
    print(f"    {'retrieval':<16} recall@5")
    for label, value in recall.items():
        print(f"    {label:<16} {value:.2f}")
    scale = bench_rss_per_agent(sizes["scale_agents"], sizes["scale_steps"])
    scaled = " (--quick: 400 agents stand for 10,000; an upper bound)" if args.quick else ""
    print(f"(d) ring world of {sizes['scale_agents']} agents x {sizes['scale_steps']} steps: "
          f"{scale['mb_per_agent']:.3f} MB RSS per agent{scaled} ({scale['created_mb_per_agent']:.3f} MB when "
          f"created; {scale['episodic_items']} episodic items and {scale['index_rows']} index rows each)")
    cold = bench_rss_per_agent(sizes["scale_agents"], sizes["scale_steps"], small_bound=True, run_file=True)
    bound = COLD_MEMORY["max_episodic_memory_size"]
    print(f"(d) the same with a run file (control.begin) and the cold tier, bound {bound}: "
          f"{cold['mb_per_agent']:.3f} MB RSS per agent ({cold['mb_per_agent_flushed']:.3f} MB once the trace "
          f"writer drained); {cold['cold_segments_written']} cold segments written "
          f"({cold['cold_segments_per_agent']} per agent, {cold['cold_segments_mb']:.1f} MB compressed), run file "
          f"{cold['run_file_mb']:.1f} MB (trace included); {cold['episodic_items']} episodic items in RAM each")
    plain = bench_rss_per_agent(sizes["scale_agents"], sizes["scale_steps"], small_bound=True) \
        if args.cold_compare else None
    if plain is not None:
        print(f"    the same bound without a run file (evicted items dropped): {plain['mb_per_agent']:.3f} MB RSS "
              "per agent")
    if args.breakdown:
        detail = bench_rss_per_agent(200, sizes["scale_steps"], breakdown=True)
        print(f"    where it goes (tracemalloc, 200 agents x {sizes['scale_steps']} steps, KB per agent):")
        for site, kb in detail["top_kb_per_agent"]:
            print(f"    {kb:8.2f}  {site}")
    print(json.dumps({
        "quick": args.quick,
        "rss_growth_pct": round(max(rss_one, rss_w), 2),
        "prompt_tokens_growth_pct": round(max(tok_one, tok_w), 2),
        "retrieval_p95_ms_10k": round(p95_small, 3),
        "retrieval_p95_ms_100k": round(p95_large, 3),
        "recall_at_5": recall["full"],
        "recall_at_5_recency_only": recall["recency_only"],
        "recall_at_5_relevance_only": recall["relevance_only"],
        "rss_mb_per_agent_10k": round(scale["mb_per_agent"], 4),
        "rss_scale_agents": sizes["scale_agents"],
        "rss_mb_per_agent_10k_cold": round(cold["mb_per_agent"], 4),
        "cold_bound": COLD_MEMORY["max_episodic_memory_size"],
        "cold_segments_written": cold["cold_segments_written"],
        "cold_segments_mb": round(cold["cold_segments_mb"], 2),
        "cold_run_file_mb": round(cold["run_file_mb"], 1),
        **({"rss_mb_per_agent_10k_small_bound": round(plain["mb_per_agent"], 4)} if plain is not None else {}),
    }))


if __name__ == "__main__":
    main()
