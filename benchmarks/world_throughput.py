"""How many agent turns per second tinytroupe's world loop runs, and how close to server-bound it gets.

Three measurements:

(a) framework overhead: agent-steps per second with the scripted backend (a cheap callable reply,
    no latency) for worlds of 10, 100 and 1,000 agents in parallel mode, timed over a few steps
    after a warm-up step (best of two rounds). Agents sit in a ring: each one can reach the next and TALKs to it by
    name, then says DONE (an un-targeted TALK would broadcast to everyone, quadratic by design).
    The client is the usual stack from ``tinytroupe.llm.factory.build_client`` (usage/events,
    retries, concurrency limit) around the scripted backend.
(b) server-bound: 100 agents x 3 steps against the mock OpenAI-compatible server
    (``tinytroupe.devtools.mock_openai_server``, in a subprocess so it does not share our GIL) with
    300 ms latency and ``max_concurrent_model_calls=64``. Wall time is divided by the server-bound
    limit ``steps x ceil(agents / 64) x latency``. The mock answers with an example built from the
    schema (a TALK to a target nobody has), so the world is built with
    ``broadcast_if_no_target=False``: those TALKs reach nobody instead of everyone. The same world
    in sequential mode gives the parallel-vs-sequential speed-up. For reference, a bare
    ``openai.AsyncOpenAI`` client sends the same requests at the same concurrency: on a small
    machine the SDK's own per-request CPU, not tinytroupe, is what keeps the ratio above 1.
(c) prompt size: mean prompt tokens per turn after 20 steps of a 5-agent conversation with the
    scripted backend, from the ``LLMCallEvent.prompt_tokens`` the scripted backend reports
    (``tinytroupe.llm.tokens``: characters / 4 over the messages sent, rounded up).
(d) prefix reuse: a 5-agent x 5-step focus group (three example personas, everyone hears everyone)
    on the scripted demo model, measured by a ``tinytroupe.llm.prefix.PrefixMeter`` in the client
    chain: the mean share of each prompt that repeats the same agent's previous prompt
    (``prefix_share_mean``), the same with the previous prompt of anyone, and how many calls reach
    the 1,024 tokens a provider's prefix cache needs.

Usage::

    python benchmarks/world_throughput.py [--quick] [--profile] [--prefix-only] [--prefix-steps N]
        [--prefix-room focus|ring] [--recent-window-step N]

``--quick`` finishes in under a minute (fewer steps; the sequential part of (b) runs fewer agents
and steps and is scaled to the full size, which the output says). ``--profile`` prints the top of
a cProfile run of (a) with 100 agents. ``--prefix-only`` runs (d) alone (its figures as the last
line's JSON object), over ``--prefix-steps`` steps (default 5) with ``--recent-window-step`` as
``[Cognition] RECENT_WINDOW_STEP`` (default: the setting's default), in the focus group or, with
``--prefix-room ring``, in the ring of (a) with 5 agents (a quiet room: each turn adds two events).

The last line printed is one JSON object with ``scripted_agent_steps_per_s_10``, ``..._100``,
``..._1000``, ``server_bound_ratio``, ``parallel_speedup``, ``prompt_tokens_per_turn`` and
``prefix_share_mean``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib.util
import io
import json
import math
import pstats
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

# Run from a checkout without installing: make the repository importable here and in the server.
ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("tinytroupe") is None:
    sys.path.insert(0, str(ROOT))

from tinytroupe.agent import TinyPerson  # noqa: E402
from tinytroupe.config import Settings, using_settings  # noqa: E402
from tinytroupe.devtools.mock_openai_server import spawn_mock_server  # noqa: E402
from tinytroupe.environment import TinyWorld  # noqa: E402
from tinytroupe.events import Event, LLMCallEvent  # noqa: E402
from tinytroupe.examples import load_example_persona  # noqa: E402
from tinytroupe.llm import LLMClient, ScriptedBackend  # noqa: E402
from tinytroupe.llm.demo import demo_backend  # noqa: E402
from tinytroupe.llm.factory import build_client  # noqa: E402
from tinytroupe.llm.prefix import PrefixMeter  # noqa: E402
from tinytroupe.llm.types import LLMRequest  # noqa: E402

API_KEY = "sk-benchmark"
MODEL = "mock-model"
START = datetime(2025, 1, 6, 9, 0)
MINUTE = timedelta(minutes=1)
#: the last line of every action prompt names the agent ("Now act as NAME: ..."): the script reads it
ACT_AS = "Now act as "


def ring_world(n: int, client: LLMClient, *, broadcast_if_no_target: bool = True) -> TinyWorld:
    """``n`` agents in a ring: each can reach (and is reached by) its neighbours."""
    agents = [TinyPerson(f"Agent{i:04d}") for i in range(n)]
    world = TinyWorld(f"Ring{n}", agents, initial_datetime=START, client=client, seed=1,
                      broadcast_if_no_target=broadcast_if_no_target,
                      communication_display=False)  # time the simulation, not the printing
    for i, agent in enumerate(agents):
        if n > 1:
            agent.make_agent_accessible(agents[(i + 1) % n])
    world.broadcast("Good morning, everyone: tell your neighbour about your plans for today.", "Host")
    return world


class RingScript:
    """A cheap reply function: the asking agent TALKs to its ring neighbour, then DONE.

    The replies are pre-rendered JSON strings, so the script costs a dict lookup per call and what
    is measured is our own work.
    """

    def __init__(self, names: list[str]) -> None:
        n = len(names)
        self.replies: dict[str, str] = {}
        for i, name in enumerate(names):
            neighbour = names[(i + 1) % n]
            self.replies[name] = json.dumps({
                "actions": [{"type": "TALK", "content": f"Hi {neighbour}, I plan to read a book.",
                             "target": neighbour},
                            {"type": "DONE", "content": "", "target": ""}],
                "cognitive_state": {"goals": "chat with my neighbour", "context": ["a quiet morning"],
                                    "attention": neighbour, "emotions": "calm"},
            })

    def __call__(self, request: LLMRequest) -> str:
        last = request.messages[-1].content
        name = last[last.rfind(ACT_AS) + len(ACT_AS):].split(":", 1)[0]
        return self.replies[name]


def scripted_client(names: list[str]) -> LLMClient:
    return build_client(Settings(), backend=ScriptedBackend(RingScript(names), record_limit=8))


# ----------------------------------------------------------------------------- (a)


def measure_scripted(n: int, steps: int, *, profile: cProfile.Profile | None = None,
                     embedder: str = "hash") -> dict[str, Any]:
    """Agent-steps per second of an ``n``-agent ring in parallel mode, after one warm-up step.

    Memory retrieval embeds new memories and a query each turn once memory outgrows the prompt's
    recent window. With ``embedder="hash"`` (cheap feature hashing) the figure is our own work; with
    ``"use"`` (the bundled sentence encoder, ~1-2.5 ms per sentence) it includes the embedding model.
    """
    names = [f"Agent{i:04d}" for i in range(n)]
    with using_settings(Settings(memory={"embedder": embedder})):
        world = ring_world(n, scripted_client(names))

    async def go() -> float:
        await world.arun(1, timedelta_per_step=MINUTE)  # warm-up: first-call costs, caches
        if profile is not None:
            profile.enable()
        start = time.perf_counter()
        await world.arun(steps, timedelta_per_step=MINUTE)
        wall = time.perf_counter() - start
        if profile is not None:
            profile.disable()
        return wall

    wall = asyncio.run(go())
    if world.errors:
        raise RuntimeError(f"{len(world.errors)} agent turns failed, first: {world.errors[0].describe()}")
    calls = world.client.get_cost_stats()["total"]["calls"]
    if calls != n * (steps + 1):
        raise RuntimeError(f"expected {n * (steps + 1)} LLM calls, counted {calls}")
    agent_steps = n * steps
    return {"agents": n, "steps": steps, "wall_s": round(wall, 4),
            "agent_steps_per_s": round(agent_steps / wall, 1), "ms_per_turn": round(1000 * wall / agent_steps, 4)}


# ----------------------------------------------------------------------------- (b)


def start_server(latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    return spawn_mock_server(latency_ms, model=MODEL, extra_path=str(ROOT))


def server_client(base_url: str, max_concurrent: int) -> LLMClient:
    settings = Settings.model_validate({"openai": {
        "api_type": "openai", "model": MODEL, "base_url": base_url, "api_key": API_KEY,
        "max_concurrent_model_calls": max_concurrent}})
    return build_client(settings)


def measure_server(base_url: str, n: int, steps: int, *, parallel: bool, max_concurrent: int) -> dict[str, Any]:
    """Wall seconds of ``steps`` steps of an ``n``-agent ring against the mock server."""

    async def go() -> tuple[float, int, int]:
        client = server_client(base_url, max_concurrent)
        world = ring_world(n, client, broadcast_if_no_target=False)
        try:
            start = time.perf_counter()
            await world.arun(steps, timedelta_per_step=MINUTE, parallelize=parallel)
            wall = time.perf_counter() - start
        finally:
            await client.aclose()
        return wall, len(world.errors), client.get_cost_stats()["total"]["calls"]

    wall, errors, calls = asyncio.run(go())
    if errors:
        raise RuntimeError(f"{errors} agent turns failed against the mock server")
    if calls != n * steps:
        raise RuntimeError(f"expected {n * steps} LLM calls, counted {calls} (re-asks?)")
    return {"agents": n, "steps": steps, "parallel": parallel, "wall_s": round(wall, 4)}


def measure_bare_sdk(base_url: str, n: int, rounds: int, max_concurrent: int) -> dict[str, Any]:
    """The same load with a bare ``openai.AsyncOpenAI`` client: what the SDK alone reaches here.

    ``rounds`` rounds of ``n`` structured calls (an agent's real prompt and action schema), at most
    ``max_concurrent`` in flight, each answer validated with the same pydantic model.
    """
    import openai

    from tinytroupe.agent.actions import action_batch_model
    from tinytroupe.llm.structured import strict_schema

    agent = ring_world(2, scripted_client(["Agent0000", "Agent0001"])).agents[0]
    messages = [{"role": m.role, "content": m.content} for m in agent.build_prompt()]
    model = action_batch_model(agent.actions_registry.types, agent.max_actions_per_turn)
    response_format = {"type": "json_schema", "json_schema": {
        "name": "ActionTurn", "schema": strict_schema(model.model_json_schema()), "strict": True}}

    async def go() -> float:
        client = openai.AsyncOpenAI(base_url=base_url, api_key=API_KEY, max_retries=0)
        gate = asyncio.Semaphore(max_concurrent)

        async def one() -> None:
            async with gate:
                params: dict[str, Any] = {"model": MODEL, "messages": messages, "response_format": response_format}
                response = await client.chat.completions.create(**params)
                model.model_validate_json(response.choices[0].message.content or "")

        try:
            start = time.perf_counter()
            for _ in range(rounds):
                await asyncio.gather(*(one() for _ in range(n)))
            return time.perf_counter() - start
        finally:
            await client.close()

    return {"calls": n * rounds, "wall_s": round(asyncio.run(go()), 4)}


# ----------------------------------------------------------------------------- (c)


def measure_prompt_tokens(n: int = 5, steps: int = 20) -> dict[str, Any]:
    """Mean prompt tokens per turn of an ``n``-agent conversation, over ``steps`` steps."""
    names = [f"Agent{i:04d}" for i in range(n)]
    client = scripted_client(names)
    tokens: list[int] = []

    def on_call(event: Event) -> None:
        assert isinstance(event, LLMCallEvent)
        tokens.append(event.prompt_tokens)

    client.bus.subscribe(on_call, kinds=["llm_call"])
    world = ring_world(n, client)
    world.run(steps, timedelta_per_step=MINUTE)
    last_step = tokens[-n:]
    return {"agents": n, "steps": steps, "turns": len(tokens),
            "mean_prompt_tokens": round(sum(tokens) / len(tokens), 1),
            "mean_prompt_tokens_last_step": round(sum(last_step) / len(last_step), 1),
            "max_prompt_tokens": max(tokens)}


# ----------------------------------------------------------------------------- (d)


def measure_prefix_share(n: int = 5, steps: int = 5, recent_window_step: int | None = None,
                         room: str = "focus") -> dict[str, Any]:
    """Prefix reuse over ``steps`` steps of an ``n``-agent focus group (``room="focus"``: the scripted
    demo model, everyone hears everyone) or ring (``"ring"``: each agent TALKs to its neighbour, so a
    turn adds two events), with ``[Cognition] RECENT_WINDOW_STEP`` at ``recent_window_step`` (None: the
    default)."""
    cognition = {} if recent_window_step is None else {"recent_window_step": recent_window_step}
    with using_settings(Settings(memory={"embedder": "hash"}, cognition=cognition)):
        if room == "ring":
            names = [f"Agent{i:04d}" for i in range(n)]
            client = build_client(Settings(), backend=ScriptedBackend(RingScript(names)), measure_prefixes=True)
            world = ring_world(n, client)
        else:
            client = build_client(Settings(), backend=demo_backend(seed=1), measure_prefixes=True)
            world = focus_room(n, client)
        world.run(steps, timedelta_per_step=MINUTE)
    meter = client.backend.find(PrefixMeter)
    assert isinstance(meter, PrefixMeter)
    report = meter.report()
    return {"room": room, "agents": n, "steps": steps, "recent_window_step": world.agents[0].recent_window_step,
            "calls": report.calls, "prompt_tokens_per_call": round(report.prompt_tokens / max(1, report.calls), 1),
            "prefix_share_mean": report.mean_share_same_agent, "prefix_share_any_mean": report.mean_share_any,
            "cacheable_calls": report.cacheable_same_agent}


def focus_room(n: int, client: LLMClient) -> TinyWorld:
    """``n`` agents of three example personas who all hear each other, asked about a product."""
    personas = ["lisa", "oscar", "marcos"]
    agents = [TinyPerson(f"P{i}", persona=load_example_persona(personas[i % 3]).model_copy(update={"name": f"P{i}"}))
              for i in range(n)]
    world = TinyWorld("Focus room", agents, initial_datetime=START, client=client, seed=1, communication_display=False)
    world.make_everyone_accessible()
    world.broadcast("Here is a water bottle that reminds you to drink. What do you think of it?", "Moderator")
    return world


def print_prefix(prefix: dict[str, Any]) -> None:
    room = "focus group" if prefix["room"] == "focus" else "ring"
    print(f"(d) prompt prefix reuse, {prefix['agents']} agents x {prefix['steps']} steps {room} (scripted "
          f"model, RECENT_WINDOW_STEP {prefix['recent_window_step']}, {prefix['prompt_tokens_per_call']} "
          f"prompt tokens per call): {prefix['prefix_share_mean']:.1%} of a prompt repeats the same agent's "
          f"previous one, {prefix['prefix_share_any_mean']:.1%} the previous call's; {prefix['cacheable_calls']} "
          f"of {prefix['calls']} calls share >= 1,024 tokens with the agent's previous call")


# ----------------------------------------------------------------------------- main


def run_sections(sections: list[Callable[[bool], dict[str, Any]]], description: str | None, quick_help: str) -> None:
    """The ``main`` of a benchmark made of sections (each ``(quick) -> figures``, run in order): parse
    ``--quick``, run them, print all their figures merged as one JSON object, the last line."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    for section in sections:
        results.update(section(args.quick))
    print(json.dumps(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (finishes in under a minute)")
    parser.add_argument("--latency-ms", type=float, default=300.0, help="the mock server's latency per answer")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of (a) with 100 agents")
    parser.add_argument("--prefix-only", action="store_true", help="run only (d), the prompt prefix reuse")
    parser.add_argument("--prefix-steps", type=int, default=5, help="steps of the world in (d)")
    parser.add_argument("--prefix-room", choices=["focus", "ring"], default="focus",
                        help="(d)'s world: the focus group, or a ring of neighbours (with --prefix-only)")
    parser.add_argument("--recent-window-step", type=int, default=None,
                        help="[Cognition] RECENT_WINDOW_STEP for (d) (default: the setting's default)")
    args = parser.parse_args()
    quick = args.quick
    if args.prefix_only:
        prefix = measure_prefix_share(steps=args.prefix_steps, recent_window_step=args.recent_window_step,
                                      room=args.prefix_room)
        print_prefix(prefix)
        print(json.dumps(prefix))
        return

    # (a)
    sizes = {10: 20 if quick else 50, 100: 3 if quick else 10, 1000: 2 if quick else 3}
    # Best of two rounds (each a fresh world): the machine may be shared, and noise only slows things.
    scripted = {n: min((measure_scripted(n, steps) for _ in range(2)), key=lambda f: f["wall_s"])
                for n, steps in sizes.items()}
    with_use = min((measure_scripted(10, sizes[10], embedder="use") for _ in range(2)), key=lambda f: f["wall_s"])
    print("(a) framework overhead, scripted backend, parallel steps, memory retrieval with the hashing "
          "embedder, best of 2 rounds (goal >= 1000 agent-steps/s):")
    for n, f in scripted.items():
        print(f"    {n:>5} agents x {f['steps']:>2} steps: {f['wall_s']:8.3f} s  "
              f"{f['agent_steps_per_s']:9.1f} agent-steps/s  ({f['ms_per_turn']:.3f} ms/turn, "
              f"{f['agent_steps_per_s'] / 1000:.2f}x the goal)")
    print(f"    the same 10 agents with the bundled USE embedder (embedding cost included): "
          f"{with_use['agent_steps_per_s']:.1f} agent-steps/s ({with_use['ms_per_turn']:.3f} ms/turn)")

    # (b)
    agents, steps, limit = 100, 3, 64
    latency = args.latency_ms / 1000.0
    bound = steps * math.ceil(agents / limit) * latency
    seq_agents, seq_steps = (10, 1) if quick else (agents, steps)
    proc, base_url = start_server(args.latency_ms)
    try:
        measure_server(base_url, 8, 1, parallel=True, max_concurrent=limit)  # imports, first-call costs
        # Two rounds each, alternating who goes first, keeping each one's best: drift in the load of a
        # shared machine then hits both alike. Every round opens its own client and connections.
        pars: list[dict[str, Any]] = []
        bares: list[dict[str, Any]] = []
        for round_no in range(2):
            if round_no % 2:
                bares.append(measure_bare_sdk(base_url, agents, steps, limit))
            pars.append(measure_server(base_url, agents, steps, parallel=True, max_concurrent=limit))
            if not round_no % 2:
                bares.append(measure_bare_sdk(base_url, agents, steps, limit))
        par = min(pars, key=lambda f: f["wall_s"])
        bare = min(bares, key=lambda f: f["wall_s"])
        seq = measure_server(base_url, seq_agents, seq_steps, parallel=False, max_concurrent=limit)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    seq_scale = (agents * steps) / (seq_agents * seq_steps)
    seq_wall = seq["wall_s"] * seq_scale
    ratio = par["wall_s"] / bound
    speedup = seq_wall / par["wall_s"]
    print(f"(b) {agents} agents x {steps} steps against the mock server ({args.latency_ms:g} ms latency, "
          f"max_concurrent_model_calls={limit}):")
    print(f"    parallel (best of 2): {par['wall_s']:.3f} s; server-bound limit {steps} x ceil({agents}/{limit}) x "
          f"{latency:g} s = {bound:.3f} s; ratio {ratio:.3f} (goal <= 1.25)")
    if seq_scale != 1:
        print(f"    sequential: {seq_agents} agents x {seq_steps} step(s) took {seq['wall_s']:.3f} s, "
              f"scaled x{seq_scale:g} to {seq_wall:.3f} s for {agents} x {steps} (--quick)")
    else:
        print(f"    sequential: {seq_wall:.3f} s")
    print(f"    parallel speed-up: {speedup:.1f}x")
    bare_ratio = bare["wall_s"] / bound
    print(f"    reference: a bare openai.AsyncOpenAI client sending the same {bare['calls']} requests "
          f"({steps} rounds of {agents}, {limit} in flight) took {bare['wall_s']:.3f} s, ratio {bare_ratio:.3f}; "
          f"tinytroupe / bare = {par['wall_s'] / bare['wall_s']:.3f}")

    # (c)
    prompt = measure_prompt_tokens()
    print(f"(c) prompt tokens per turn, {prompt['agents']} agents x {prompt['steps']} steps (scripted backend, "
          f"LLMCallEvent.prompt_tokens = characters/4): mean {prompt['mean_prompt_tokens']}, "
          f"last step {prompt['mean_prompt_tokens_last_step']}, max {prompt['max_prompt_tokens']}")

    # (d)
    prefix = measure_prefix_share(steps=args.prefix_steps, recent_window_step=args.recent_window_step)
    print_prefix(prefix)

    if args.profile:
        profile = cProfile.Profile()
        measure_scripted(100, 5, profile=profile)
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(30)
        print(out.getvalue())

    print(json.dumps({
        "scripted_agent_steps_per_s_10": scripted[10]["agent_steps_per_s"],
        "scripted_agent_steps_per_s_100": scripted[100]["agent_steps_per_s"],
        "scripted_agent_steps_per_s_1000": scripted[1000]["agent_steps_per_s"],
        "scripted_agent_steps_per_s_10_use_embedder": with_use["agent_steps_per_s"],
        "server_bound_ratio": round(ratio, 4),
        "parallel_speedup": round(speedup, 2),
        "prompt_tokens_per_turn": prompt["mean_prompt_tokens"],
        "scripted_ms_per_turn_100": scripted[100]["ms_per_turn"],
        "server_wall_s": par["wall_s"],
        "server_bound_s": round(bound, 4),
        "sequential_wall_s": round(seq_wall, 4),
        "sequential_scaled": seq_scale != 1,
        "bare_sdk_wall_s": bare["wall_s"],
        "bare_sdk_bound_ratio": round(bare_ratio, 4),
        "server_latency_ms": args.latency_ms,
        "prompt_tokens_last_step": prompt["mean_prompt_tokens_last_step"],
        "prefix_share_mean": prefix["prefix_share_mean"],
        "prefix_share_any_mean": prefix["prefix_share_any_mean"],
        "prefix_cacheable_calls": prefix["cacheable_calls"],
        "quick": quick,
    }))


if __name__ == "__main__":
    main()
