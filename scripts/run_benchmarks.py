"""Run every benchmark in ``benchmarks/`` (``--quick`` by default) and check that each one still works.

A benchmark works when it exits 0 and its last printed line is one JSON object. Figures are
reported, not judged: a machine's speed is not a test result. CI runs this after the tests, so a
benchmark that breaks (an import, an API it uses, a crash) fails CI instead of rotting.

Usage::

    python scripts/run_benchmarks.py [--full] [--only NAME ...] [--timeout SECONDS]

Prints each benchmark's JSON line and a summary; exits 1 if any benchmark failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"


def last_json(stdout: str) -> dict[str, object] | None:
    """The last non-empty line of ``stdout`` as a JSON object, or None."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        return None
    try:
        value = json.loads(lines[-1])
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def run_one(path: Path, *, quick: bool, timeout: float) -> tuple[bool, str, float]:
    command = [sys.executable, str(path)] + (["--quick"] if quick else [])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
    except subprocess.TimeoutExpired:
        return False, f"ran past {timeout:g} s", time.perf_counter() - start
    wall = time.perf_counter() - start
    if done.returncode != 0:
        return False, f"exit {done.returncode}: {(done.stderr or done.stdout)[-1500:]}", wall
    figures = last_json(done.stdout)
    if figures is None:
        return False, f"the last line is not one JSON object: {done.stdout.strip().splitlines()[-1:]}", wall
    return True, json.dumps(figures), wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="full runs instead of --quick (many minutes)")
    parser.add_argument("--only", nargs="*", default=None, help="benchmark names (without .py) to run")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per benchmark (default 300)")
    args = parser.parse_args()
    paths = sorted(BENCHMARKS.glob("*.py"))
    if args.only:
        paths = [p for p in paths if p.stem in args.only]
    failed = []
    for path in paths:
        ok, text, wall = run_one(path, quick=not args.full, timeout=args.timeout)
        print(f"{'ok  ' if ok else 'FAIL'} {path.name} ({wall:.0f} s): {text}", flush=True)
        if not ok:
            failed.append(path.name)
    print(f"{len(paths) - len(failed)} of {len(paths)} benchmarks ran" + (f"; failed: {', '.join(failed)}"
                                                                       if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
