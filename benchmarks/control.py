"""Simulation control figures: replay speed-up, checkpoint cost, and a 10,000-agent survey.

Five measurements:

(a) replay: a 50-agent ring (``world_throughput.ring_world``) runs 3 steps inside ``control.begin``
    against the mock OpenAI-compatible server (subprocess, 300 ms latency, the default 32 calls in
    flight), then the same script runs again on the same run file, five times. ``replay_speedup`` is the
    first run's wall time over the median replay's (each: building the world and ``world.run(3)``,
    between ``begin`` and ``end``), ``replay_speedup_min_of_5`` over the slowest replay's;
    ``replay_backend_calls`` is how many calls of a replay reached the backend (the cache's misses);
    ``replay_python_calls_per_turn`` counts the Python function calls of one more replay's turns on the
    event loop's thread (cProfile): a count, so it compares builds on a noisy machine where the ratio cannot.
(b) checkpoints: a ring of agents with a few steps of memory (scripted backend) is checkpointed;
    ``checkpoint_mb_per_100_agents`` is the JSON size (MB) per 100 agents, and
    ``checkpoint_s_per_100_agents`` the wall time of ``checkpoint()`` per 100 agents (best of 3).
(b2) checkpoint of a conversation: 20 agents in one room, everyone hearing everyone, talk for
    10 steps with memory on (the bundled USE embedder indexes every memory); each turn's words
    differ. ``checkpoint_bytes_per_agent_step`` is the checkpoint's JSON size over agents x steps
    (``..._stored_...``: after zlib, what the run file holds); ``checkpoint_room_json_mb_unshared``
    (and ``_stored_``) is the same state as plain JSON, without storing repeated strings once (what
    a checkpoint cost before). The checkpoint is restored into fresh worlds and must give back the
    same state (``checkpoint_room_round_trip``).
(c) survey: every agent of a world hears one question and acts once (``world.run(1)``) against the
    mock server with 1 s latency and 256 calls in flight, inside a simulation (cache, replay
    recorder and SQLite trace on). The server-bound limit is ``ceil(agents / 256) x 1 s``;
    ``survey_10k_server_bound_ratio`` is wall time (``run(1)`` only) over that limit.
    It runs in a child process, so ``survey_10k_peak_rss_mb`` is that process's own peak RSS. The
    same survey on a plain client (no simulation) gives ``survey_server_bound_ratio_without_control``:
    the difference is what the run file costs; the rest is the HTTP client's own CPU on this machine.
(d) Ray: ``ray_speedup_2_workers`` comes from ``benchmarks/ray_executor.py`` (null when Ray is not
    installed).
(e) batch survey killed and resumed: every agent of a ring world acts once with ``world.run(1,
    batch=True)`` inside a simulation, against the mock server (subprocess) whose batches take 3 s. A
    child process runs it and is killed (SIGKILL) while the batch waits; a second child runs the same
    script on the same run file to the end. ``batch_survey_calls_paid_twice_after_kill`` is the mock
    server's ``completed_twice``: requests it was asked to complete again (live or in a batch) beyond
    the first time (goal 0: the re-run polls the recorded batch). ``batch_survey_resumed`` says whether
    the second child resumed the first one's batch.

Usage::

    python benchmarks/control.py [--quick] [--checkpoints] [--batch]

``--quick`` (under a minute) runs the survey with 2,000 agents (the keys keep their names; the JSON
says ``survey_agents``), checkpoints 200 agents instead of 1,000 and has 8 agents talk in (b2)
instead of 20 (``checkpoint_room_agents``) and the batch survey (e) with 50 agents instead of 500.
``--checkpoints`` measures only (b) and (b2), ``--batch`` only (e). The last line printed is one JSON
object.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("tinytroupe") is None:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from world_throughput import (  # noqa: E402
    ACT_AS,
    API_KEY,
    MINUTE,
    MODEL,
    START,
    RingScript,
    ring_world,
    start_server,
)

from tinytroupe import control  # noqa: E402
from tinytroupe.agent import TinyPerson  # noqa: E402
from tinytroupe.config import Settings  # noqa: E402
from tinytroupe.environment import TinyWorld  # noqa: E402
from tinytroupe.llm import LLMRequest, ScriptedBackend  # noqa: E402
from tinytroupe.llm.factory import build_client  # noqa: E402


def server_settings(base_url: str, max_concurrent: int) -> Settings:
    return Settings.model_validate({"openai": {
        "api_type": "openai", "model": MODEL, "base_url": base_url, "api_key": API_KEY,
        "max_concurrent_model_calls": max_concurrent, "timeout": 120}})


# ----------------------------------------------------------------------------- (a)


def replay_once(path: Path, base_url: str, n: int, steps: int) -> tuple[float, int]:
    sim = control.begin(path, settings=server_settings(base_url, 32), quiet=True)
    try:
        start = time.perf_counter()
        world = ring_world(n, sim.client, broadcast_if_no_target=False)
        world.run(steps, timedelta_per_step=MINUTE)
        wall = time.perf_counter() - start
        misses = control.cache_misses()
        if world.errors:
            raise RuntimeError(f"{len(world.errors)} turns failed: {world.errors[0].describe()}")
    finally:
        control.end()
    return wall, misses


def measure_replay(base_url: str, folder: Path, n: int = 50, steps: int = 3, replays: int = 5) -> dict[str, Any]:
    """One live run, then ``replays`` replays of it: the median speed-up, and the least (the worst replay);
    then one more replay whose turns are counted in Python function calls (:func:`replay_calls_per_turn`)."""
    path = folder / "replay.sqlite"
    live, live_calls = replay_once(path, base_url, n, steps)
    runs = [replay_once(path, base_url, n, steps) for _ in range(replays)]
    walls = sorted(wall for wall, _ in runs)
    median = walls[len(walls) // 2]
    return {"live_s": round(live, 3), "live_backend_calls": live_calls, "replay_s": round(median, 4),
            "replay_s_all": [round(w, 4) for w in walls],
            "replay_backend_calls": max(calls for _, calls in runs), "replay_speedup": round(live / median, 1),
            "replay_speedup_min": round(live / walls[-1], 1),
            "replay_python_calls_per_turn": replay_calls_per_turn(path, base_url, n, steps)}


def replay_calls_per_turn(path: Path, base_url: str, n: int, steps: int) -> float:
    """Python function calls per replayed turn on the event loop's thread (cProfile's count).

    A count, not a time: the same on a quiet machine and a loaded one, so a change to a turn's work
    shows in it when the timed ratio above drowns in the machine's noise.
    """
    import cProfile
    import pstats

    from tinytroupe import aio

    profile = cProfile.Profile()

    async def switch(on: bool) -> None:
        # run on tinytroupe's event loop, so the profile is of that thread, where the turns run
        profile.enable() if on else profile.disable()

    sim = control.begin(path, settings=server_settings(base_url, 32), quiet=True)
    try:
        world = ring_world(n, sim.client, broadcast_if_no_target=False)
        aio.run_sync(switch(True))
        world.run(steps, timedelta_per_step=MINUTE)
        aio.run_sync(switch(False))
    finally:
        control.end()
    calls = sum(entry[1] for entry in pstats.Stats(profile).stats.values())  # type: ignore[attr-defined]
    return round(calls / (n * steps), 1)


# ----------------------------------------------------------------------------- (b)


def measure_checkpoint(folder: Path, n: int, steps: int = 5) -> dict[str, Any]:
    names = [f"Agent{i:04d}" for i in range(n)]
    with control.Simulation(folder / "checkpoint.sqlite", backend=ScriptedBackend(RingScript(names)),
                            quiet=True) as sim:
        world = ring_world(n, sim.client)
        world.run(steps, timedelta_per_step=MINUTE)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            cp = sim.checkpoint()
            times.append(time.perf_counter() - start)
        items = sum(len(a.memory.items()) for a in world.agents) / n
    per = n / 100
    return {"agents": n, "steps": steps, "memory_items_per_agent": round(items, 1),
            "checkpoint_json_mb": round(cp.json_bytes / 1e6, 3),
            "checkpoint_stored_mb": round(cp.stored_bytes / 1e6, 3),
            "checkpoint_mb_per_100_agents": round(cp.json_bytes / 1e6 / per, 4),
            "checkpoint_s_per_100_agents": round(min(times) / per, 4)}


def measure_room_checkpoint(folder: Path, n: int = 20, steps: int = 10) -> dict[str, Any]:
    turns: dict[str, int] = {}

    def reply(request: LLMRequest) -> dict[str, Any]:
        last = request.messages[-1].content
        name = last[last.rfind(ACT_AS) + len(ACT_AS):].split(":", 1)[0]
        turns[name] = turns.get(name, 0) + 1
        return {"actions": [{"type": "TALK", "target": "", "content":
                             f"{name} here, turn {turns[name]}: I like the new menu, but the coffee is too "
                             "expensive for students, and the opening hours are too short."},
                            {"type": "DONE"}],
                "cognitive_state": {"goals": "discuss the menu", "context": ["cafe"], "attention": "the others",
                                    "emotions": "curious"}}

    def room() -> TinyWorld:
        return TinyWorld("Cafe", [TinyPerson(f"Person{i:02d}") for i in range(n)], initial_datetime=START, seed=1,
                         communication_display=False)  # time the simulation, not the printing

    path = folder / "room.sqlite"
    with control.Simulation(path, backend=ScriptedBackend(reply), quiet=True) as sim:
        world = room()
        world.make_everyone_accessible()
        world.broadcast("What do you think about the new menu?", "Host")
        world.run(steps, timedelta_per_step=MINUTE)
        start = time.perf_counter()
        cp = sim.checkpoint()
        save_s = time.perf_counter() - start
        plain = json.dumps(sim.to_state(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        unshared, unshared_stored = len(plain), len(zlib.compress(plain, 6))
        original = world.to_state()
        items = sum(len(a.memory.items()) for a in world.agents) / n
    with control.Simulation(path, backend=ScriptedBackend(reply), quiet=True) as sim:
        fresh = room()
        start = time.perf_counter()
        sim.restore(fresh)
        restore_s = time.perf_counter() - start
        round_trip = fresh.to_state() == original
    agent_steps = n * steps
    return {"agents": n, "steps": steps, "memory_items_per_agent": round(items, 1),
            "checkpoint_room_json_mb": round(cp.json_bytes / 1e6, 3),
            "checkpoint_room_stored_mb": round(cp.stored_bytes / 1e6, 3),
            "checkpoint_room_json_mb_unshared": round(unshared / 1e6, 3),
            "checkpoint_room_stored_mb_unshared": round(unshared_stored / 1e6, 3),
            "checkpoint_bytes_per_agent_step": round(cp.json_bytes / agent_steps),
            "checkpoint_stored_bytes_per_agent_step": round(cp.stored_bytes / agent_steps),
            "checkpoint_room_save_s": round(save_s, 3), "checkpoint_room_restore_s": round(restore_s, 3),
            "checkpoint_room_round_trip": round_trip}


# ----------------------------------------------------------------------------- (c)


def survey_child(base_url: str, n: int, folder: str, *, with_control: bool = True) -> None:
    """Runs in a child process; prints one JSON line. ``with_control=False`` is the same survey on a
    plain client (no simulation: no run-file cache, recorder or trace), to show what control costs."""
    concurrency = 256
    sim = (control.begin(Path(folder) / "survey.sqlite", settings=server_settings(base_url, concurrency), quiet=True)
           if with_control else None)
    try:
        client = sim.client if sim is not None else build_client(server_settings(base_url, concurrency))
        world = ring_world(n, client, broadcast_if_no_target=False)
        world.max_workers = concurrency
        start = time.perf_counter()
        world.run(1, timedelta_per_step=MINUTE)
        wall = time.perf_counter() - start
        errors = len(world.errors)
        events = sim.trace_store.count if sim is not None else 0
    finally:
        if sim is not None:
            control.end()
    limit = math.ceil(n / concurrency) * 1.0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"agents": n, "wall_s": round(wall, 2), "server_bound_s": limit, "errors": errors,
                      "trace_events": events, "ratio": round(wall / limit, 3), "peak_rss_mb": round(rss_mb, 1)}))


def measure_survey(n: int, folder: Path, *, with_control: bool = True) -> dict[str, Any]:
    proc, base_url = start_server(1000)
    try:
        child = subprocess.run([sys.executable, __file__, "--survey-child", str(n), "--base-url", base_url,
                                "--folder", str(folder)] + ([] if with_control else ["--no-control"]),
                               capture_output=True, text=True, timeout=900,
                               env={**os.environ, "PYTHONPATH": os.pathsep.join(
                                   p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)})
    finally:
        proc.kill()
        proc.wait()
    if child.returncode != 0:
        raise RuntimeError(f"the survey child failed: {child.stderr[-2000:]}")
    return dict(json.loads(child.stdout.strip().splitlines()[-1]))


# ----------------------------------------------------------------------------- (e)


def batch_child(base_url: str, n: int, folder: str) -> None:
    """Runs in a child process: the survey in batch mode under a simulation; prints one JSON line."""
    from tinytroupe.llm.batch import find_batch_wrapper

    sim = control.begin(Path(folder) / "batch.sqlite", settings=server_settings(base_url, 32), quiet=True)
    try:
        wrapper = find_batch_wrapper(sim.client)
        wrapper.poll_interval_s, wrapper.max_poll_interval_s, wrapper.collect_window_s = 0.1, 0.5, 0.2
        world = ring_world(n, sim.client, broadcast_if_no_target=False)
        start = time.perf_counter()
        world.run(1, timedelta_per_step=MINUTE, batch=True)
        wall = time.perf_counter() - start
    finally:
        control.end()
    print(json.dumps({"agents": n, "wall_s": round(wall, 2), "errors": len(world.errors),
                      "submitted": wrapper.submitted, "resumed": wrapper.resumed}))


def measure_batch_kill(n: int, folder: Path) -> dict[str, Any]:
    import httpx

    from tinytroupe.devtools.mock_openai_server import spawn_mock_server

    proc, base_url = spawn_mock_server(0, model=MODEL, extra_path=str(ROOT), batch_latency_ms=3000)
    stats_url = base_url.removesuffix("/v1") + "/mock/stats"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    command = [sys.executable, __file__, "--batch-child", str(n), "--base-url", base_url, "--folder", str(folder)]
    try:
        first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        deadline = time.monotonic() + 120
        while not httpx.get(stats_url, timeout=5).json()["batches"]:
            if first.poll() is not None or time.monotonic() > deadline:
                first.kill()
                raise RuntimeError("the batch child never submitted its batch")
            time.sleep(0.05)
        time.sleep(0.5)  # the batch waits on the server; kill the run while it polls
        first.kill()  # SIGKILL
        first.wait()
        killed_with = dict(httpx.get(stats_url, timeout=5).json()["batches"])
        second = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
        if second.returncode != 0:
            raise RuntimeError(f"the resumed batch child failed: {second.stderr[-2000:]}")
        report = json.loads(second.stdout.strip().splitlines()[-1])
        stats = httpx.get(stats_url, timeout=5).json()
    finally:
        proc.kill()
        proc.wait()
    return {"agents": n, "batches_when_killed": killed_with, "resumed_wall_s": report["wall_s"],
            "resumed_errors": report["errors"], "resumed": bool(report["resumed"]) and not report["submitted"],
            "batch_requests_completed": stats["batch_requests_completed"], "batches": stats["batches"],
            "completed_twice": stats["completed_twice"]}


# ----------------------------------------------------------------------------- (d)


def measure_ray_speedup(quick: bool) -> float | None:
    """``ray_speedup_2_workers`` from ``benchmarks/ray_executor.py`` (None when Ray is not installed)."""
    if importlib.util.find_spec("ray") is None:
        print("(d) Ray: not installed (pip install -e '.[distributed]'); ray_speedup_2_workers is null")
        return None
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from ray_executor import measure_ray_speedup as ray_measure

    speedup = ray_measure(quick)
    print(f"(d) Ray executor, 2 workers, against the local executor (1,000 CPU-heavy agents): {speedup:.2f}x")
    return speedup


def checkpoint_figures(room: dict[str, Any]) -> dict[str, Any]:
    return {"checkpoint_bytes_per_agent_step": room["checkpoint_bytes_per_agent_step"],
            "checkpoint_stored_bytes_per_agent_step": room["checkpoint_stored_bytes_per_agent_step"],
            "checkpoint_room_agents": room["agents"],
            "checkpoint_room_json_mb": room["checkpoint_room_json_mb"],
            "checkpoint_room_json_mb_unshared": room["checkpoint_room_json_mb_unshared"],
            "checkpoint_room_round_trip": room["checkpoint_room_round_trip"]}


def batch_figures(batch: dict[str, Any]) -> dict[str, Any]:
    return {"batch_survey_calls_paid_twice_after_kill": batch["completed_twice"],
            "batch_survey_agents": batch["agents"], "batch_survey_resumed": batch["resumed"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="finish in under a minute")
    parser.add_argument("--checkpoints", action="store_true", help="measure only the checkpoints, (b) and (b2)")
    parser.add_argument("--batch", action="store_true", help="measure only the batch survey killed and resumed, (e)")
    parser.add_argument("--survey-child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--batch-child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--base-url", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--folder", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-control", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.survey_child is not None:
        survey_child(args.base_url, args.survey_child, args.folder, with_control=not args.no_control)
        return
    if args.batch_child is not None:
        batch_child(args.base_url, args.batch_child, args.folder)
        return
    batch_agents = 50 if args.quick else 500
    if args.batch:
        with tempfile.TemporaryDirectory() as tmp:
            batch = measure_batch_kill(batch_agents, Path(tmp))
        print(f"(e) batch survey killed and resumed: {batch}", flush=True)
        print(json.dumps({**batch_figures(batch), "quick": args.quick}))
        return
    room_agents = 8 if args.quick else 20
    if args.checkpoints:
        with tempfile.TemporaryDirectory() as tmp:
            checkpoint = measure_checkpoint(Path(tmp), 200 if args.quick else 1000)
            print(f"(b) checkpoint: {checkpoint}", flush=True)
            room = measure_room_checkpoint(Path(tmp), room_agents)
            print(f"(b2) checkpoint of a {room_agents}-agent conversation: {room}", flush=True)
        print(json.dumps({"checkpoint_mb_per_100_agents": checkpoint["checkpoint_mb_per_100_agents"],
                          "checkpoint_s_per_100_agents": checkpoint["checkpoint_s_per_100_agents"],
                          **checkpoint_figures(room), "quick": args.quick}))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        proc, base_url = start_server(300)
        try:
            replay = measure_replay(base_url, folder)
        finally:
            proc.kill()
            proc.wait()
        print(f"(a) replay: {replay}", flush=True)
        checkpoint = measure_checkpoint(folder, 200 if args.quick else 1000)
        print(f"(b) checkpoint: {checkpoint}", flush=True)
        room = measure_room_checkpoint(folder, room_agents)
        print(f"(b2) checkpoint of a {room_agents}-agent conversation: {room}", flush=True)
        n = 2000 if args.quick else 10_000
        survey = measure_survey(n, folder)
        print(f"(c) survey: {survey}", flush=True)
        plain = measure_survey(n, folder, with_control=False)
        print(f"(c) same survey without a simulation: {plain}", flush=True)
        batch = measure_batch_kill(batch_agents, folder)
        print(f"(e) batch survey killed and resumed: {batch}", flush=True)
    ray = measure_ray_speedup(args.quick)
    print(json.dumps({
        "replay_speedup": replay["replay_speedup"],
        "replay_speedup_min_of_5": replay["replay_speedup_min"],
        "replay_backend_calls": replay["replay_backend_calls"],
        "replay_python_calls_per_turn": replay["replay_python_calls_per_turn"],
        "checkpoint_mb_per_100_agents": checkpoint["checkpoint_mb_per_100_agents"],
        "checkpoint_s_per_100_agents": checkpoint["checkpoint_s_per_100_agents"],
        **checkpoint_figures(room),
        "survey_10k_server_bound_ratio": survey["ratio"],
        "survey_10k_peak_rss_mb": survey["peak_rss_mb"],
        "survey_agents": survey["agents"],
        "survey_server_bound_ratio_without_control": plain["ratio"],
        "ray_speedup_2_workers": ray,
        **batch_figures(batch),
        "quick": args.quick,
    }))


if __name__ == "__main__":
    main()
