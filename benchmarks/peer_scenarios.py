"""The studies users run, against a real HTTP server, timed through the public API.

Each scenario builds people with ``TinyPerson`` and ``define``, puts them in a ``TinyWorld``,
``broadcast``s a question and ``run``s, against the devtools mock OpenAI-compatible server in its own
process (so it does not share our GIL), with ``MAX_CONCURRENT_MODEL_CALLS=64``. Ratios divide the
wall time by the server-bound limit: ``steps x ceil(agents / 64) x latency``.

- ``first_step_ratio``: the first step of a 100-agent survey in this fresh process (imports, HTTP
  sessions and schemas made before the step or inside it show up here), at 300 ms.
- ``survey100_ratio``: the same survey repeated on new worlds (median of the rounds; the spread is
  printed), at 300 ms.
- ``focus5x5_ratio``: 5 agents talking for 5 steps, at 300 ms; ``calls_per_agent_step`` from it.
- ``client_cpu_ms_per_turn``: 100 agents x 4 steps at 0 ms latency, after a warm-up step; this
  process's CPU time (``resource.getrusage``) per agent turn: what our client costs per call.
- ``bare_sdk_survey100_ratio``: the survey's 100 requests (an agent's real prompt and action schema)
  sent by a bare ``openai.AsyncOpenAI`` client with 64 in flight: the reference line.
- ``dependency_aware_speedup``: a sparse 200-agent social network (100 pairs related only to each
  other) over 10 steps, stepped with ``dependency_aware=True`` against synchronous stepping, at 50 ms
  latency (``null`` when the world does not offer it).

Usage::

    python benchmarks/peer_scenarios.py [--quick]

``--quick`` runs fewer rounds (under a minute). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import inspect
import json
import math
import resource
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("tinytroupe") is None:
    sys.path.insert(0, str(ROOT))

# Only what a user's script imports before building a study: the transport is not imported here,
# so the first step shows whatever the library still does late.
from tinytroupe import TinyPerson, TinySocialNetwork, TinyWorld  # noqa: E402
from tinytroupe.config import Settings  # noqa: E402
from tinytroupe.devtools.mock_openai_server import spawn_mock_server  # noqa: E402
from tinytroupe.llm.factory import build_client  # noqa: E402

API_KEY = "sk-benchmark"
MODEL = "mock-model"
CONCURRENCY = 64
START = datetime(2025, 3, 3, 10, 0)
QUESTION = "We are thinking of a monthly bicycle subscription at 19 euros. Would you sign up, and why?"


def limit_s(agents: int, steps: int, latency_s: float) -> float:
    return steps * math.ceil(agents / CONCURRENCY) * latency_s


def client_for(base_url: str) -> Any:
    settings = Settings.model_validate({"openai": {
        "api_type": "openai", "model": MODEL, "base_url": base_url, "api_key": API_KEY,
        "max_concurrent_model_calls": CONCURRENCY}})
    return build_client(settings)


def people(n: int, prefix: str) -> list[TinyPerson]:
    folks = []
    for i in range(n):
        person = TinyPerson(f"{prefix}{i:04d}")
        person.define("age", 20 + i % 50)
        person.define("occupation", ("nurse", "teacher", "engineer", "student", "retiree")[i % 5])
        person.define("city", ("Lisbon", "Porto", "Braga")[i % 3])
        folks.append(person)
    return folks


def survey_world(n: int, client: Any, tag: str) -> TinyWorld:
    # The mock answers each turn with an example built from the schema: a TALK to a target nobody
    # has. Without a broadcast fallback those reach nobody (as a survey's answers should).
    world = TinyWorld(f"Survey{tag}", people(n, f"P{tag}_"), initial_datetime=START, client=client, seed=1,
                      broadcast_if_no_target=False, communication_display=False)
    world.broadcast(QUESTION, "Interviewer")
    return world


def focus_world(client: Any) -> TinyWorld:
    folks = people(5, "F")
    world = TinyWorld("Focus", folks, initial_datetime=START, client=client, seed=1,
                      broadcast_if_no_target=False, communication_display=False)
    world.make_everyone_accessible()
    world.broadcast(QUESTION, "Moderator")
    return world


def run_world(world: TinyWorld, steps: int, **options: Any) -> float:
    start = time.perf_counter()
    world.run(steps, timedelta_per_step=timedelta(minutes=1), **options)
    wall = time.perf_counter() - start
    if world.errors:
        raise RuntimeError(f"{len(world.errors)} turns failed, first: {world.errors[0].describe()}")
    return wall


def calls_of(world: TinyWorld) -> int:
    return int(world.get_cost_stats()["world"].get("calls", 0))


def bare_sdk_survey(base_url: str, world: TinyWorld, rounds: int) -> list[float]:
    """Walls of ``rounds`` x 100 structured calls from a bare ``openai.AsyncOpenAI`` client."""
    import openai

    from tinytroupe.agent.actions import action_batch_model
    from tinytroupe.llm.structured import strict_schema

    agent = world.agents[0]
    messages = [{"role": m.role, "content": m.content} for m in agent.build_prompt()]
    model = action_batch_model(agent.actions_registry.types, agent.max_actions_per_turn)
    response_format = {"type": "json_schema", "json_schema": {
        "name": "ActionTurn", "schema": strict_schema(model.model_json_schema()), "strict": True}}

    async def go() -> list[float]:
        client = openai.AsyncOpenAI(base_url=base_url, api_key=API_KEY, max_retries=0)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one() -> None:
            async with gate:
                response = await client.chat.completions.create(
                    model=MODEL, messages=messages, response_format=response_format)  # type: ignore[arg-type,call-overload]
                model.model_validate_json(response.choices[0].message.content or "")

        walls = []
        try:
            for _ in range(rounds):
                start = time.perf_counter()
                await asyncio.gather(*(one() for _ in range(100)))
                walls.append(time.perf_counter() - start)
        finally:
            await client.close()
        return walls

    return asyncio.run(go())


def sparse_world(client: Any, n: int) -> TinyWorld:
    # Pairs who only reach each other: nobody's next turn depends on anyone outside the pair. A social
    # network, because its routing keeps to relations; in a plain TinyWorld a TALK naming anyone reaches
    # them (accessibility only informs the prompt), so no turn could be proven independent there.
    folks = people(n, "S")
    world = TinySocialNetwork("Sparse", initial_datetime=START, client=client, seed=1,
                              broadcast_if_no_target=False, communication_display=False)
    for a, b in zip(folks[::2], folks[1::2], strict=True):
        world.add_relation(a, b, "partners")
    world.broadcast(QUESTION, "Host")
    return world


def dependency_aware(base_url: str, steps: int) -> dict[str, Any] | None:
    if "dependency_aware" not in inspect.signature(TinyWorld.run).parameters:
        return None
    client = client_for(base_url)
    sync_wall = run_world(sparse_world(client, 200), steps)
    aware_wall = run_world(sparse_world(client, 200), steps, dependency_aware=True)
    return {"sync_s": round(sync_wall, 3), "aware_s": round(aware_wall, 3),
            "speedup": round(sync_wall / aware_wall, 3)}


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (under a minute)")
    args = parser.parse_args()
    rounds = 3 if args.quick else 7
    latency = 0.3

    slow, slow_url = spawn_mock_server(latency * 1000, model=MODEL, extra_path=str(ROOT))
    fast, fast_url = spawn_mock_server(0.0, model=MODEL, extra_path=str(ROOT))
    try:
        client = client_for(slow_url)
        first_world = survey_world(100, client, "first")
        first = run_world(first_world, 1)
        survey = [run_world(survey_world(100, client, f"r{r}"), 1) for r in range(rounds)]
        survey_calls = calls_of(first_world)

        focus = []
        calls_focus = 0
        for _ in range(max(1, rounds // 2)):
            world = focus_world(client_for(slow_url))
            focus.append(run_world(world, 5))
            calls_focus = calls_of(world)

        bare = bare_sdk_survey(slow_url, first_world, rounds)

        fast_client = client_for(fast_url)
        cpu_world = survey_world(100, fast_client, "cpu")
        run_world(cpu_world, 1)  # warm-up
        cpu_before = cpu_s()
        run_world(cpu_world, 4)
        cpu_ms = 1000 * (cpu_s() - cpu_before) / 400
        aware_latency = 0.05
        aware_server, aware_url = spawn_mock_server(aware_latency * 1000, model=MODEL, extra_path=str(ROOT))
        try:
            aware = dependency_aware(aware_url, 4 if args.quick else 10)
        finally:
            aware_server.terminate()
    finally:
        slow.terminate()
        fast.terminate()

    survey_limit = limit_s(100, 1, latency)
    focus_limit = limit_s(5, 5, latency)

    def spread(walls: list[float], limit: float) -> str:
        ratios = sorted(w / limit for w in walls)
        return f"median {statistics.median(ratios):.2f}, min {ratios[0]:.2f}, max {ratios[-1]:.2f}"

    print(f"survey, 100 agents, first step: {first:.3f} s (limit {survey_limit:.2f} s) "
          f"ratio {first / survey_limit:.2f}; {survey_calls} calls")
    print(f"survey, 100 agents, {rounds} rounds: {spread(survey, survey_limit)}")
    print(f"focus group 5 x 5: {spread(focus, focus_limit)}; {calls_focus} calls")
    print(f"bare openai SDK, same 100 requests: {spread(bare, survey_limit)}")
    print(f"client CPU per turn (0 ms server, 400 turns): {cpu_ms:.3f} ms")
    print(f"dependency-aware stepping: {aware if aware is not None else 'not offered by TinyWorld.run'}")
    result = {
        "survey100_ratio": round(statistics.median(survey) / survey_limit, 3),
        "focus5x5_ratio": round(statistics.median(focus) / focus_limit, 3),
        "client_cpu_ms_per_turn": round(cpu_ms, 3),
        "first_step_ratio": round(first / survey_limit, 3),
        "calls_per_agent_step": round(calls_focus / 25, 3),
        "bare_sdk_survey100_ratio": round(statistics.median(bare) / survey_limit, 3),
        "dependency_aware_speedup": aware["speedup"] if aware is not None else None,
        "rounds": rounds,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
