"""Nothing lost, nothing invented: a 50-agent survey under every fault the mock OpenAI server injects.

The survey of ``tests/faults`` (50 sampled people answer one question; ``preference`` and ``reason``
are extracted) runs through ``tinytroupe run`` against ``tinytroupe.devtools.mock_openai_server``
on 127.0.0.1: once clean, then with each fault kind at 10 % of the requests, then with all kinds
mixed at 3 %, over several seeds. Every run is audited with ``tests.faults.survey.audit``: complete
answers end in a sentinel, so a cut-off answer that was accepted shows; an agent whose turn failed
must have a "failed" row with its error, not an answer; the command must not print a traceback and
must exit 0 when all answered, 3 when some failed.

By default the command runs in this process (typer's CliRunner: an exception escaping it is what a
real ``tinytroupe run`` prints as a raw traceback); ``--cli`` starts a real ``tinytroupe`` process
for each run instead (slower: an interpreter start-up each time, which is then part of every wall
time, so ``wall_ratio_vs_clean`` comes out closer to 1).

Usage::

    python benchmarks/faults.py [--quick] [--seeds 3] [--cli]

Figures: ``answers_lost``, ``truncated_accepted``, ``invented_results``, ``raw_tracebacks`` (summed
over all runs; goal 0 each), ``retries_per_fault`` (extra requests the client sent per injected
fault: 1.0 means every fault cost exactly one more call), ``wall_ratio_vs_clean`` (mean wall time of
the fault runs / the clean run's). The last line printed is one JSON object with them.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import logging
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Run from a checkout without installing; the survey and its audit live with the fault suite.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if importlib.util.find_spec("tinytroupe") is None:  # pragma: no cover - depends on the installation
    raise SystemExit("tinytroupe is not importable: pip install -e . first")

from tests.faults.survey import (  # noqa: E402
    AGENTS,
    SHORT_TIMEOUT_S,
    TIMEOUT_S,
    Audit,
    SurveyOutcome,
    audit,
    run_cli,
    run_cli_in_process,
    survey_reply,
    write_scenario,
)
from tinytroupe.devtools.mock_openai_server import FAULT_KINDS, MockOpenAIServer  # noqa: E402

RATE_EACH = 0.10
RATE_MIXED = 0.03
#: requests of a clean survey: one turn and one extraction per agent
CLEAN_REQUESTS = 2 * AGENTS


def _environment(timeout_s: float) -> None:
    """Settings come from the environment, as the suite sets them (this script owns its process)."""
    for var in list(os.environ):
        if var.startswith(("TINYTROUPE_", "OPENAI_", "AZURE_OPENAI_")):
            del os.environ[var]
    os.environ.update({"OPENAI_API_KEY": "sk-benchmark", "TINYTROUPE_OPENAI__MAX_ATTEMPTS": "5",
                       "TINYTROUPE_OPENAI__TIMEOUT": str(timeout_s),
                       "TINYTROUPE_OPENAI__MAX_CONCURRENT_MODEL_CALLS": "64"})


def survey(folder: Path, *, kinds: list[str] | None, rate: float, seed: int,
           runner: Callable[[Path, Path], SurveyOutcome]) -> dict[str, Any]:
    """One audited survey run; returns its figures."""
    timed_out = kinds is None or "timeout" in kinds
    timeout_s = SHORT_TIMEOUT_S if timed_out else TIMEOUT_S
    _environment(timeout_s)
    folder.mkdir(parents=True)
    with MockOpenAIServer(reply_fn=survey_reply, fault_rate=rate, fault_kinds=kinds, fault_seed=seed,
                          fault_hang_s=timeout_s + 3.0) as server:
        outcome = runner(write_scenario(folder, server.base_url), folder / "out")
        requests = len(server.chat_requests())
        injected = server.faults_injected
    # An in-process study leaves its client's connections open; finalised in the middle of the next
    # run, they stall some of its requests for a full timeout. Collect now, between runs.
    gc.collect()
    found: Audit = audit(outcome)
    return {"kinds": kinds, "rate": rate, "seed": seed, "wall_s": outcome.wall_s, "requests": requests,
            "faults": sum(injected.values()), "injected": injected, "ok": found.ok, "failed": found.failed,
            "exit_code": outcome.exit_code, **found.counts(), "other": len(found.other),
            "problems": found.problems[:3]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one seed per kind, two mixed runs (under a minute)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per fault kind (default 3; quick: 1)")
    parser.add_argument("--cli", action="store_true", help="a real tinytroupe process per run (slower)")
    args = parser.parse_args()
    seeds = 1 if args.quick else max(1, args.seeds)
    mixed_seeds = 2 if args.quick else max(3, seeds + 2)
    runner = run_cli if args.cli else run_cli_in_process
    # The library logs each retry as a warning; a benchmark wants figures, not hundreds of those lines.
    logging.getLogger("tinytroupe").setLevel(logging.ERROR)

    with tempfile.TemporaryDirectory(prefix="tinytroupe-faults-") as tmp:
        base = Path(tmp)
        os.chdir(base)  # no tinytroupe.toml or config.ini from wherever this was started
        # The first run pays one-off costs (imports, the embedding model): a warm-up, not a figure.
        survey(base / "warm-up", kinds=[], rate=0.0, seed=0, runner=runner)
        clean = [survey(base / f"clean{i}", kinds=[], rate=0.0, seed=0, runner=runner) for i in range(2)]
        clean_wall = min(r["wall_s"] for r in clean)
        print(f"clean survey of {AGENTS} agents: {clean_wall:.2f} s, {clean[0]['requests']} requests, "
              f"{clean[0]['ok']} answered ({'in process' if runner is run_cli_in_process else 'tinytroupe run'})")
        runs: list[dict[str, Any]] = []
        print(f"{'faults':<27} {'seed':>4} {'injected':>8} {'requests':>8} {'ok':>3} {'failed':>6} {'exit':>4} "
              f"{'wall/clean':>10}  violations")
        plan = [([kind], RATE_EACH, seed) for kind in FAULT_KINDS for seed in range(1, seeds + 1)]
        plan += [(None, RATE_MIXED, 100 + seed) for seed in range(mixed_seeds)]
        for i, (kinds, rate, seed) in enumerate(plan):
            run = survey(base / f"run{i}", kinds=kinds, rate=rate, seed=seed, runner=runner)
            runs.append(run)
            label = f"{kinds[0] if kinds else 'all kinds'} {rate:.0%}"
            violations = "; ".join(run["problems"]) or "-"
            print(f"{label:<27} {seed:>4} {run['faults']:>8} {run['requests']:>8} {run['ok']:>3} {run['failed']:>6} "
                  f"{run['exit_code']!s:>4} {run['wall_s'] / clean_wall:>10.2f}  {violations[:160]}")

    faults = sum(r["faults"] for r in runs)
    extra = sum(r["requests"] - CLEAN_REQUESTS for r in runs)
    totals = {key: sum(r[key] for r in [*clean, *runs])
              for key in ("answers_lost", "truncated_accepted", "invented_results", "raw_tracebacks")}
    by_kind: dict[str, dict[str, float]] = {}
    for kind in [*FAULT_KINDS, "mixed"]:
        mine = [r for r in runs if (r["kinds"] is None if kind == "mixed" else r["kinds"] == [kind])]
        got = sum(r["faults"] for r in mine)
        by_kind[kind] = {
            "faults": got,
            "retries_per_fault": round(sum(r["requests"] - CLEAN_REQUESTS for r in mine) / got, 3) if got else 0.0,
            "wall_ratio": round(statistics.mean(r["wall_s"] for r in mine) / clean_wall, 3),
            "failed_rows": sum(r["failed"] for r in mine),
        }
    summary = {
        **totals,
        "retries_per_fault": round(extra / faults, 3) if faults else 0.0,
        "wall_ratio_vs_clean": round(statistics.mean(r["wall_s"] for r in runs) / clean_wall, 3),
        "other_violations": sum(r["other"] for r in [*clean, *runs]),
        "failed_rows": sum(r["failed"] for r in runs),
        "faults_injected": faults,
        "runs": len(runs),
        "agents": AGENTS,
        "clean_wall_s": round(clean_wall, 3),
        "by_kind": by_kind,
        "in_process": runner is run_cli_in_process,
        "quick": args.quick,
    }
    print(f"totals over {len(runs)} fault runs ({faults} faults): " + ", ".join(f"{k} {v}" for k, v in totals.items())
          + f"; retries per fault {summary['retries_per_fault']}; wall / clean {summary['wall_ratio_vs_clean']}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
