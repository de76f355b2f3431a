"""How much the Ray executor with 2 workers speeds up a CPU-bound world over the local executor.

The workload: 1,000 agents in a ring, parallel steps, the scripted backend, and a responder that burns a
fixed amount of pure-Python CPU per call (``BURN_ROUNDS`` rounds of SHA-256 over a short buffer,
calibrated to about ``burn_ms`` on this machine before the run) before answering with a TALK to the
agent's neighbour. Locally every turn, burn included, runs on one core under the GIL; with
``RayExecutor(num_workers=2)`` each actor process burns for its half of the agents while the driver
ships states and applies results.

Both executors first run one warm-up step (Ray: actor start-up, agent creation in the actors, imports),
then the measured steps; the speed-up is local wall time over Ray wall time for those steps. Ray's
start-up (``ray.init`` plus actors) is reported on its own. Each executor's run is checked: no failed
turns, one LLM call per agent and step, and the same actions as the other executor.

What crosses between the driver and the actors is measured too: ``ray_bytes_per_step_1000`` is the
pickled size (what Ray's serializer writes for these objects) of every request and result of one step
after the measured ones (not timed: counting pickles everything once more), and
``ray_bytes_first_step_1000`` the same for the warm-up step, which syncs every agent for the first time.
The driver's time spent building requests and applying results is reported per step.

Usage::

    python benchmarks/ray_executor.py [--quick]

``--quick`` runs 1 measured step with ~3 ms of CPU per call (under a minute); the full run 2 steps
with ~8 ms. The last line printed is one JSON object with ``ray_speedup_2_workers`` and
``ray_bytes_per_step_1000`` (and the details).
``benchmarks/control.py`` imports :func:`measure_ray_speedup`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib.util
import json
import os
import pickle
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

# Run from a checkout without installing: make the repository importable here.
ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("tinytroupe") is None:
    sys.path.insert(0, str(ROOT))

from tinytroupe.agent import TinyPerson  # noqa: E402
from tinytroupe.config import Settings  # noqa: E402
from tinytroupe.environment import LocalExecutor, TinyWorld  # noqa: E402
from tinytroupe.environment.executors import Executor  # noqa: E402
from tinytroupe.llm import LLMRequest, ScriptedBackend  # noqa: E402
from tinytroupe.llm.client_spec import ClientSpec  # noqa: E402
from tinytroupe.llm.factory import build_client  # noqa: E402

AGENTS = 1000
START = datetime(2025, 1, 6, 9, 0)
MINUTE = timedelta(minutes=1)
ACT_AS = "Now act as "


def burn(rounds: int) -> bytes:
    """Fixed pure-Python CPU work: ``rounds`` chained SHA-256 digests (holds the GIL throughout)."""
    digest = b"tinytroupe"
    for _ in range(rounds):
        digest = hashlib.sha256(digest * 8).digest()
    return digest


def calibrate(burn_ms: float) -> int:
    """Rounds of :func:`burn` that take about ``burn_ms`` here (best of three timings)."""
    probe = 20_000
    best = min(_timed(probe) for _ in range(3))
    return max(1, int(probe * burn_ms / 1000.0 / best))


def _timed(rounds: int) -> float:
    start = time.perf_counter()
    burn(rounds)
    return time.perf_counter() - start


class BurningRing:
    """Responder: burn ``rounds`` of CPU, then TALK to the next agent in the ring and end the turn.

    Replies depend only on the asking agent, so every executor sees the same answers.
    """

    def __init__(self, names: list[str], rounds: int) -> None:
        self.rounds = rounds
        self.replies: dict[str, str] = {}
        for i, name in enumerate(names):
            neighbour = names[(i + 1) % len(names)]
            self.replies[name] = json.dumps({
                "actions": [{"type": "TALK", "content": f"Hi {neighbour}, busy day?", "target": neighbour},
                            {"type": "DONE", "content": "", "target": ""}],
                "cognitive_state": {"goals": "chat", "context": ["work"], "attention": neighbour, "emotions": "calm"},
            })

    def __call__(self, request: LLMRequest) -> str:
        burn(self.rounds)
        last = request.messages[-1].content
        return self.replies[last[last.rfind(ACT_AS) + len(ACT_AS):].split(":", 1)[0]]


class RingBackend:
    """Picklable backend factory for the actors."""

    def __init__(self, script: BurningRing) -> None:
        self.script = script

    def __call__(self) -> ScriptedBackend:
        return ScriptedBackend(self.script)


def ring_world(names: list[str], script: BurningRing, executor: Executor) -> TinyWorld:
    client = build_client(Settings(), backend=RingBackend(script)())
    agents = [TinyPerson(n) for n in names]
    world = TinyWorld("Ring", agents, initial_datetime=START, client=client, seed=1, executor=executor,
                      parallelize=True, communication_display=False)
    for i, agent in enumerate(agents):
        agent.make_agent_accessible(agents[(i + 1) % len(agents)])
    world.broadcast("Good morning, everyone: tell your neighbour about your day.", "Host")
    return world


class WireCounter:
    """Counts the pickled bytes of what an executor's ``_call`` sends and receives, while ``on``."""

    def __init__(self) -> None:
        self.on = False
        self.bytes: list[int] = []

    def wrap(self, executor: Any) -> None:
        call = executor._call

        async def counted(worker: int, request: Any) -> Any:
            result = await call(worker, request)
            if self.on:
                self.bytes.append(len(pickle.dumps(request, protocol=5)) + len(pickle.dumps(result, protocol=5)))
            return result

        executor._call = counted

    def take(self) -> int:
        total, self.bytes = sum(self.bytes), []
        return total


def run_steps(world: TinyWorld, steps: int, wire: WireCounter | None = None
              ) -> tuple[float, list[dict[str, list[Any]]], dict[str, int]]:
    """Wall time of ``steps`` steps after one warm-up step, the actions of every step, and (with ``wire``)
    the bytes of the warm-up step and of one more step after the measured ones."""

    async def go() -> tuple[float, list[dict[str, list[Any]]], dict[str, int]]:
        sizes: dict[str, int] = {}
        if wire is not None:
            wire.on = True
        actions = await world.arun(1, timedelta_per_step=MINUTE, return_actions=True) or []
        if wire is not None:
            wire.on, sizes["first"] = False, wire.take()
        start = time.perf_counter()
        actions += await world.arun(steps, timedelta_per_step=MINUTE, return_actions=True) or []
        wall = time.perf_counter() - start
        if wire is not None:
            wire.on = True
            actions += await world.arun(1, timedelta_per_step=MINUTE, return_actions=True) or []
            wire.on, sizes["step"] = False, wire.take()
        else:  # the same steps as the counted run, so both executors' actions compare
            actions += await world.arun(1, timedelta_per_step=MINUTE, return_actions=True) or []
        return wall, actions, sizes

    wall, actions, sizes = asyncio.run(go())
    if world.errors:
        raise RuntimeError(f"{len(world.errors)} turns failed, first: {world.errors[0].describe()}")
    calls = world.client.get_cost_stats()["total"]["calls"]
    if calls != len(world.agents) * (steps + 2):
        raise RuntimeError(f"expected {len(world.agents) * (steps + 2)} LLM calls, counted {calls}")
    return wall, actions, sizes


def measure(quick: bool) -> dict[str, Any]:
    """Local vs Ray (2 workers) on the burning ring; all figures, ``ray_speedup_2_workers`` among them."""
    from tinytroupe.environment.distributed import driver
    from tinytroupe.environment.distributed.ray_actors import RayExecutor, import_ray

    steps, burn_ms = (1, 3.0) if quick else (2, 8.0)
    rounds = calibrate(burn_ms)
    names = [f"Agent{i:04d}" for i in range(AGENTS)]
    script = BurningRing(names, rounds)

    local_wall, local_actions, _ = run_steps(ring_world(names, script, LocalExecutor()), steps)

    ray = import_ray(local=True)
    if __name__ != "__main__":
        # Imported (by benchmarks/control.py): the actors cannot import this file, so ship its classes by value.
        ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    executor = RayExecutor(2, client_spec=ClientSpec.from_settings(Settings(), backend_factory=RingBackend(script)))
    driver_s = {"requests": 0.0, "apply": 0.0}
    original_request, original_apply = driver.shard_request, driver.apply_result

    def timed_request(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original_request(*args, **kwargs)
        finally:
            driver_s["requests"] += time.perf_counter() - start

    def timed_apply(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original_apply(*args, **kwargs)
        finally:
            driver_s["apply"] += time.perf_counter() - start

    try:
        start = time.perf_counter()
        executor.start()
        ray_start = time.perf_counter() - start
        world = ring_world(names, script, executor)
        wire = WireCounter()
        wire.wrap(executor)
        driver.shard_request, driver.apply_result = timed_request, timed_apply  # count the driver's own work
        try:
            ray_wall, ray_actions, sizes = run_steps(world, steps, wire)
        finally:
            driver.shard_request, driver.apply_result = original_request, original_apply
    finally:
        executor.close()
    if ray_actions != local_actions:
        raise RuntimeError("the Ray executor's actions differ from the local executor's")
    per_step = steps + 2  # the driver timings include the warm-up and the counted step
    return {
        "ray_speedup_2_workers": round(local_wall / ray_wall, 3),
        "ray_bytes_per_step_1000": round(sizes["step"] * 1000 / AGENTS),
        "ray_bytes_first_step_1000": round(sizes["first"] * 1000 / AGENTS),
        "local_wall_s": round(local_wall, 3),
        "ray_wall_s": round(ray_wall, 3),
        "ray_start_s": round(ray_start, 3),
        "agents": AGENTS,
        "steps": steps,
        "burn_ms_per_call": burn_ms,
        "burn_rounds": rounds,
        "driver_request_s_per_step": round(driver_s["requests"] / per_step, 3),
        "driver_apply_s_per_step": round(driver_s["apply"] / per_step, 3),
        "cpus": os.cpu_count(),
        "quick": quick,
    }


def measure_ray_speedup(quick: bool) -> float:
    """Local wall time over Ray (2 workers) wall time on 1,000 CPU-bound scripted agents (higher is better)."""
    return float(measure(quick)["ray_speedup_2_workers"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 measured step with less CPU per call")
    args = parser.parse_args()
    r = measure(args.quick)
    print(f"{r['agents']} agents x {r['steps']} step(s), ~{r['burn_ms_per_call']:g} ms of CPU per LLM call "
          f"({r['burn_rounds']} SHA-256 rounds), {r['cpus']} CPUs on this machine:")
    print(f"    local executor:          {r['local_wall_s']:8.3f} s")
    print(f"    Ray executor, 2 workers: {r['ray_wall_s']:8.3f} s  "
          f"(Ray start-up {r['ray_start_s']:.1f} s, not included)")
    print(f"    speed-up: {r['ray_speedup_2_workers']:.2f}x")
    print(f"    driver <-> actors: {r['ray_bytes_per_step_1000'] / 1e6:.3f} MB per step "
          f"({r['ray_bytes_first_step_1000'] / 1e6:.3f} MB in the first step); the driver spends "
          f"{r['driver_request_s_per_step']:.3f} s building requests and {r['driver_apply_s_per_step']:.3f} s "
          "applying results per step")
    print(json.dumps(r))


if __name__ == "__main__":
    main()
