"""Distributional answers of a population against a real HTTP server: calls per answer, and time.

A population of agents (three cells, weighted by cell share) is asked one question with
``ask_population_distribution``, against the devtools mock OpenAI-compatible server in its own
process (so it does not share our GIL), with ``MAX_CONCURRENT_MODEL_CALLS=64``:

- ``distribution_calls_per_answer``: LLM calls per agent answer when the server gives
  log-probabilities (the goal is 1: one call per agent per question), counted by the client's ledger.
- ``distribution_calls_per_answer_sampled``: the same when the server answers ``"logprobs": null``
  (``--no-logprobs``): every answer draws ``samples`` (10) sampled answers.
- ``distribution_wall_ratio``: the log-probability run's wall time divided by the server-bound limit
  ``ceil(agents / 64) x latency``.
- ``baseline_calls`` / ``baseline_calls_sampled``: calls of the one ``ask_distribution_baseline`` (no
  persona) asked first, as a study reports it beside the panel. On a fresh client it is also the
  call that finds out whether the server gives log-probabilities: without them it is 1 + 10.
- ``mass_on_options_mean``: the mean share of the first token's probability that fell on the option
  letters (the mock leaves up to 10 % elsewhere, as chat models do).

Usage::

    python benchmarks/distribution.py [--quick] [--agents N] [--latency-ms MS]

``--quick`` asks 60 agents (under a minute); the default is 300. The last line printed is one JSON
object.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("tinytroupe") is None:
    sys.path.insert(0, str(ROOT))

from world_throughput import MODEL, server_client  # noqa: E402

from tinytroupe import TinyPerson  # noqa: E402
from tinytroupe.devtools.mock_openai_server import spawn_mock_server  # noqa: E402
from tinytroupe.extraction import aask_distribution_baseline, aask_population_distribution  # noqa: E402

CONCURRENCY = 64
SAMPLES = 10
QUESTION = "How do you usually get to work?"
OPTIONS = ["Car", "Bicycle", "Public transport", "On foot", "I work from home"]
CELLS = {"city": 0.5, "suburb": 0.3, "rural": 0.2}


def population(n: int) -> list[TinyPerson]:
    cells = list(CELLS)
    return [TinyPerson(f"Person {i}", persona={"age": 20 + i % 50, "residence": cells[i % len(cells)],
                                               "occupation": {"title": ("nurse", "teacher", "driver")[i % 3]}})
            for i in range(n)]


def ask(base_url: str, n: int) -> dict[str, Any]:
    """One population question against the server at ``base_url``: wall time, calls, methods."""
    async def go() -> tuple[Any, float, int, int]:
        client = server_client(base_url, CONCURRENCY)
        people = population(n)
        for person in people:
            person.client = client
        try:
            await client.aprepare()
            # The baseline first, as a study reports it beside the panel: it also finds out whether the
            # server gives log-probabilities, so the panel's calls are its own.
            await aask_distribution_baseline(client, QUESTION, OPTIONS, samples=SAMPLES,
                                             population_description="working adults")
            baseline_calls = client.get_cost_stats()["total"]["calls"]
            start = time.perf_counter()
            panel = await aask_population_distribution(people, QUESTION, OPTIONS, cell="residence",
                                                       cell_shares=CELLS, samples=SAMPLES)
            wall = time.perf_counter() - start
            calls = client.get_cost_stats()["total"]["calls"] - baseline_calls
        finally:
            await client.aclose()
        return panel, wall, calls, baseline_calls

    panel, wall, calls, baseline_calls = asyncio.run(go())
    if panel.failures:
        raise RuntimeError(f"{len(panel.failures)} agents failed: {list(panel.failures.items())[:3]}")
    masses = [a.mass_on_options for a in panel.answers.values() if a.mass_on_options is not None]
    return {"agents": n, "wall_s": round(wall, 4), "calls": calls, "calls_per_answer": round(calls / n, 4),
            "methods": panel.methods, "baseline_calls": baseline_calls,
            "mass_on_options_mean": round(statistics.fmean(masses), 4) if masses else None,
            "aggregate": {k: round(v, 4) for k, v in panel.probabilities.items()}}


def run(n: int, latency_ms: float, *, logprobs: bool) -> dict[str, Any]:
    proc, base_url = spawn_mock_server(latency_ms, model=MODEL, extra_path=str(ROOT), logprobs=logprobs)
    try:
        return ask(base_url, n)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="60 agents (under a minute)")
    parser.add_argument("--agents", type=int, default=None, help="agents asked (default 300, 60 with --quick)")
    parser.add_argument("--latency-ms", type=float, default=100.0, help="the mock server's latency per call")
    args = parser.parse_args()
    n = args.agents or (60 if args.quick else 300)
    with_logprobs = run(n, args.latency_ms, logprobs=True)
    print(f"log-probabilities: {json.dumps(with_logprobs)}")
    sampled = run(n, args.latency_ms, logprobs=False)
    print(f"sampled (server without logprobs): {json.dumps(sampled)}")
    bound = math.ceil(n / CONCURRENCY) * args.latency_ms / 1000.0
    print(json.dumps({
        "distribution_calls_per_answer": with_logprobs["calls_per_answer"],
        "distribution_calls_per_answer_sampled": sampled["calls_per_answer"],
        "distribution_wall_s": with_logprobs["wall_s"],
        "distribution_bound_s": round(bound, 4),
        "distribution_wall_ratio": round(with_logprobs["wall_s"] / bound, 4),
        "distribution_sampled_wall_s": sampled["wall_s"],
        "mass_on_options_mean": with_logprobs["mass_on_options_mean"],
        "baseline_calls": with_logprobs["baseline_calls"],
        "baseline_calls_sampled": sampled["baseline_calls"],
        "agents": n,
        "samples": SAMPLES,
        "server_latency_ms": args.latency_ms,
        "quick": args.quick,
    }))


if __name__ == "__main__":
    main()
