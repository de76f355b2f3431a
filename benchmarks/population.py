"""Populations: what ``TinyPersonFactory`` costs in calls and time, and how closely a population drawn
from census shares matches them.

Each section below adds keys to one dict of results, printed as one JSON object on the last line; a
new section is a function ``(args) -> dict`` added to ``SECTIONS``.

**factory** (against the devtools mock OpenAI-compatible server in a child process, so it does not
share our GIL; 300 ms latency; ``MAX_CONCURRENT_MODEL_CALLS=64``): 100 people from a description,
i.e. one plan call, then one persona call per person, plus one per name clash.

- ``factory_calls_per_person``: the calls made (plan, personas, re-asks) divided by 100.
- ``factory_ratio``: wall seconds over the server-bound limit. The limit is the time a server that
  answers every call in 300 ms, 64 at a time, needs for this work, counted in rounds as
  ``benchmarks/peer_scenarios.py`` counts steps: the plan must be answered before anyone can be
  written (one round), then the 100 persona calls take ``ceil(100 / 64) = 2`` rounds, so
  ``limit = 0.3 s x (1 + ceil(100 / 64)) = 0.9 s``. Re-asks for taken names are not in the limit:
  they are the factory's cost.
- ``factory_ratio_flat``: the same wall time over ``ceil(calls / 64) x 0.3 s`` (every call as if
  independent, 0.6 s here); the plan's dependency alone puts this one at 1.5 or more.
- ``factory_given_plan_ratio``: 100 people from a plan given as data (no plan call), over
  ``ceil(100 / 64) x 0.3 s``.
- ``factory_name_clashes``: persona calls made again because the name was taken (after the
  alternative names the answer gives were taken too).
- ``bare_persona_requests_ratio``: the reference line. The same 100 persona requests (the factory's
  prompts and JSON schema) sent by a bare ``aiohttp`` client with 64 in flight, each answer parsed
  with ``orjson`` and validated with the persona model, over ``ceil(100 / 64) x 0.3 s``: what this
  machine and the mock server allow before any factory work. On two shared cores the mock's own
  work per request (an 8 KB body, a 1.4 KB answer) is most of the distance to 1.

The mock answers with :class:`tinytroupe.factory.offline.OfflinePopulationModel`: personas that
agree with the prompt, named from a table of 40 x 50 names per gender by a hash of the request, so
some names clash as a real model's do (a real model's clash rate is its own). The runs are seeded:
the same requests, and the same clashes, every time.

**calibration** (in this process, on the offline scripted backend): 1,000 people made by a factory
from a synthetic joint table of sex x age band x education (2 x 5 x 4 = 40 cells, random known
shares), then its ``calibration_report()``:

- ``calibration_max_marginal_error``: the largest |observed - target| share over every value of
  every dimension (goal 0.02);
- ``calibration_joint_tv``: total variation distance over the 40 cells.

**distribution** (``benchmarks/distribution.py``'s measurement, run from here so the issue's keys
are in one place): 60 agents (300 without ``--quick``) each asked one four-option question with
``ask_population_distribution`` against the mock server at 100 ms with log-probabilities on.

- ``distribution_calls_per_answer``: calls made over agents asked (goal 1 with log-probabilities);
  ``distribution_calls_per_answer_sampled``: the same against a server without log-probabilities
  (K = 10 samples each). ``benchmarks/distribution.py`` reports the rest (timing, mass on options).

Usage::

    python benchmarks/population.py [--quick]

``--quick`` times one run of each factory measurement (under a minute); otherwise the median of 5.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import itertools
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("tinytroupe") is None:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import numpy as np  # noqa: E402
from world_throughput import API_KEY, MODEL, server_client  # noqa: E402

from tinytroupe import scope  # noqa: E402
from tinytroupe.factory import SamplingPlan, TinyPersonFactory  # noqa: E402
from tinytroupe.factory.offline import OfflinePopulationModel, offline_backend  # noqa: E402
from tinytroupe.llm import LLMClient  # noqa: E402

CONCURRENCY = 64
LATENCY_S = 0.3
PEOPLE = 100
CALIBRATION_PEOPLE = 1000


# -- the mock server, in a child process -------------------------------------------------------------


def serve(latency_ms: float) -> None:
    """The child: the mock server answering a factory's calls, until terminated."""
    from tinytroupe.devtools.mock_openai_server import MockOpenAIServer

    model = OfflinePopulationModel()

    def reply(body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("response_format", {}).get("json_schema", {}).get("name")
        return model.answer(body["messages"], name)

    with MockOpenAIServer(reply_fn=reply, latency_s=latency_ms / 1000, model=MODEL) as server:
        print(f"mock OpenAI server on {server.base_url}", flush=True)
        while True:
            time.sleep(3600)


def start_server(latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(latency_ms)], stdout=subprocess.PIPE,
                            text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "http://" not in line:
        proc.kill()
        raise RuntimeError(f"the mock server did not start (it printed {line!r})")
    base_url = line.strip().rsplit(" ", 1)[-1]
    for _ in range(200):
        try:
            if httpx.get(f"{base_url}/models", timeout=1).status_code == 200:
                return proc, base_url
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the mock server never answered")


# -- sections ----------------------------------------------------------------------------------------


def _timed_population(client: LLMClient, seed: int, *, given_plan: bool) -> tuple[float, int, int]:
    """Wall seconds, calls and name clashes of 100 people made by a fresh factory (in a fresh scope,
    so earlier rounds' people do not hold their names)."""
    before = client.get_cost_stats()["total"]["calls"]
    with scope.session():
        if given_plan:
            plan = SamplingPlan.model_validate(OfflinePopulationModel().plan)
            factory = TinyPersonFactory(context="A city survey", sampling_plan=plan, client=client, seed=seed)
        else:
            factory = TinyPersonFactory("Adults living in Porto", context="A city survey", client=client, seed=seed)
        start = time.perf_counter()
        people = factory.generate_people(PEOPLE)
        wall = time.perf_counter() - start
    calls = client.get_cost_stats()["total"]["calls"] - before
    plan_calls = 0 if given_plan else 1
    if len(people) != PEOPLE:
        raise RuntimeError(f"expected {PEOPLE} people, got {len(people)}")
    return wall, calls, calls - PEOPLE - plan_calls


def _bare_requests(base_url: str, rounds: int) -> list[float]:
    """Wall seconds of the factory's 100 persona requests sent by a bare aiohttp client (see the docstring)."""
    import aiohttp
    import orjson

    from tinytroupe.factory import GeneratedPersona
    from tinytroupe.factory.names import NameBook
    from tinytroupe.factory.sampling import draw_characteristics
    from tinytroupe.factory.writer import PersonaWriter, Slot
    from tinytroupe.llm.structured import strict_schema

    plan = SamplingPlan.model_validate(OfflinePopulationModel().plan)
    writer = PersonaWriter(LLMClient(offline_backend()), context="A city survey")
    people = draw_characteristics(plan, PEOPLE, np.random.default_rng(1))
    schema = strict_schema(GeneratedPersona.model_json_schema())
    bodies = [orjson.dumps({"model": MODEL, "temperature": 1.2, "messages": [
        {"role": m.role, "content": m.content} for m in writer.messages(Slot(i + 1, c), NameBook())],
        "response_format": {"type": "json_schema", "json_schema": {"name": "GeneratedPersona", "schema": schema,
                                                                   "strict": True}}})
              for i, c in enumerate(people)]

    async def go() -> float:
        gate = asyncio.Semaphore(CONCURRENCY)
        headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session:

            async def one(body: bytes) -> None:
                async with gate, session.post(f"{base_url}/chat/completions", data=body, headers=headers) as r:
                    answer = orjson.loads(await r.read())
                GeneratedPersona.model_validate(orjson.loads(answer["choices"][0]["message"]["content"]))

            await asyncio.gather(*(one(b) for b in bodies[:8]))  # warm-up: connections
            start = time.perf_counter()
            await asyncio.gather(*(one(b) for b in bodies))
            return time.perf_counter() - start

    return [asyncio.run(go()) for _ in range(rounds)]


def factory_section(args: argparse.Namespace) -> dict[str, Any]:
    rounds = 1 if args.quick else 5
    server, url = start_server(LATENCY_S * 1000)
    try:
        client = server_client(url, CONCURRENCY)
        _timed_population(client, 999, given_plan=True)  # warm-up: HTTP sessions, schemas, templates
        described = [_timed_population(client, seed, given_plan=False) for seed in range(1, rounds + 1)]
        given = [_timed_population(client, seed, given_plan=True) for seed in range(1, rounds + 1)]
        bare = _bare_requests(url, rounds)
    finally:
        server.terminate()
        server.wait(timeout=10)
    wall = statistics.median(w for w, _, _ in described)
    calls = described[0][1]
    limit = LATENCY_S * (1 + math.ceil(PEOPLE / CONCURRENCY))
    flat = LATENCY_S * math.ceil(calls / CONCURRENCY)
    given_wall = statistics.median(w for w, _, _ in given)
    given_limit = LATENCY_S * math.ceil(PEOPLE / CONCURRENCY)
    print(f"factory: {PEOPLE} people from a description: {wall:.3f} s (limit {limit:.2f} s, ratio "
          f"{wall / limit:.2f}; flat limit {flat:.2f} s, ratio {wall / flat:.2f}); {calls} calls, "
          f"{described[0][2]} name clashes; walls {[round(w, 3) for w, _, _ in described]}")
    print(f"factory: {PEOPLE} people from a plan given as data: {given_wall:.3f} s (limit {given_limit:.2f} s, "
          f"ratio {given_wall / given_limit:.2f}); {given[0][1]} calls")
    bare_wall = statistics.median(bare)
    print(f"bare aiohttp, the same {PEOPLE} persona requests: {bare_wall:.3f} s (ratio {bare_wall / given_limit:.2f})")
    return {
        "factory_calls_per_person": round(calls / PEOPLE, 3),
        "factory_ratio": round(wall / limit, 3),
        "factory_ratio_flat": round(wall / flat, 3),
        "factory_given_plan_ratio": round(given_wall / given_limit, 3),
        "factory_name_clashes": described[0][2],
        "bare_persona_requests_ratio": round(bare_wall / given_limit, 3),
    }


def _synthetic_cells(path: Path, seed: int) -> None:
    dims = {"sex": ["female", "male"], "age": ["18-24", "25-34", "35-49", "50-64", "65+"],
            "education": ["primary", "secondary", "vocational", "tertiary"]}
    weights = np.random.default_rng(seed).random(40) ** 2
    shares = weights / weights.sum()
    lines = ["sex,age,education,share"]
    lines += [f"{s},{a},{e},{share:.12f}" for (s, a, e), share in zip(itertools.product(*dims.values()), shares,
                                                                       strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def calibration_section(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder, scope.session():
        path = Path(folder) / "cells.csv"
        _synthetic_cells(path, 2024)
        client = LLMClient(offline_backend())
        factory = TinyPersonFactory.create_factory_from_demography(path, CALIBRATION_PEOPLE, client=client, seed=5)
        start = time.perf_counter()
        factory.generate_people()
        wall = time.perf_counter() - start
        report = factory.calibration_report()
    print(f"calibration: {report.summary()} ({wall:.2f} s on the offline scripted backend, "
          f"{client.get_cost_stats()['total']['calls']} calls)")
    return {"calibration_max_marginal_error": round(report.max_marginal_error, 5),
            "calibration_joint_tv": round(report.joint_total_variation or 0.0, 5)}


def distribution_section(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from distribution import run as run_distribution  # benchmarks/distribution.py

    agents = 60 if args.quick else 300
    with_logprobs = run_distribution(agents, 100.0, logprobs=True)
    sampled = run_distribution(agents, 100.0, logprobs=False)
    print(f"distribution ({agents} agents): with log-probabilities {with_logprobs['calls_per_answer']} calls per "
          f"answer, sampled {sampled['calls_per_answer']}")
    return {"distribution_calls_per_answer": with_logprobs["calls_per_answer"],
            "distribution_calls_per_answer_sampled": sampled["calls_per_answer"],
            "distribution_agents": agents}


SECTIONS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "factory": factory_section,
    "calibration": calibration_section,
    "distribution": distribution_section,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="one timed run per measurement (under a minute)")
    parser.add_argument("--serve", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve)
        return
    results: dict[str, Any] = {}
    for section in SECTIONS.values():
        results.update(section(args))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
