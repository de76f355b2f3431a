"""A 50-agent, one-question survey against the mock OpenAI server, and an audit of what came back.

The mock server answers every agent turn with one TALK whose content ends in :data:`TURN_END`, and
every extraction with a ``reason`` that starts with the agent's name and ends in :data:`ANSWER_END`.
A complete answer therefore always carries its sentinel, and a cut-off answer (the mock's
``truncated_*`` faults keep at most 90 % of the text) never does: an accepted truncated answer shows
up as a reason or a TALK without its sentinel.

:func:`audit` checks the contract of issue 9 on the files a run wrote (``results.json``,
``results.csv``, ``trace.jsonl``), its exit code and its console output:

* no lost answers: every agent has a row, ``status`` "ok" with its fields or "failed" with an error;
* no accepted truncated answer, in the results or in the turns;
* no invented result: an agent whose turn failed, or who has no complete TALK, is not "ok", and a
  failed row carries no field values;
* no raw Python traceback in the output; exit code 0 when all answered, 3 when some failed.

``benchmarks/faults.py`` uses this module too (it imports it as ``tests.faults.survey``).
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinytroupe.devtools.mock_openai_server import example_for_schema, requested_schema

AGENTS = 50
NAMES = ("Alex", "Maria", "Chen", "Fatima", "Lukas", "Priya", "Tom", "Aiko", "Diego", "Nora")
CHOICES = ("remote", "office", "hybrid")
TURN_END = "END-OF-TURN"
ANSWER_END = "END-OF-ANSWER"
#: the exit code of ``tinytroupe run`` when results were written but some agents failed
EXIT_SOME_FAILED = 3
TRACEBACK = "Traceback (most recent call last)"
#: seconds per request in runs that inject timeouts (the mock hangs longer than this)
SHORT_TIMEOUT_S = 2.0
#: seconds per request elsewhere: generous, so that a busy test machine never times out a normal answer
TIMEOUT_S = 20.0

_ACT_AS = re.compile(r"Now act as (.+?): your actions")
_RECORD_OF = re.compile(r"Interactions of (.+)")
_ERROR = re.compile(r"^[A-Za-z_][\w.]*: \S")


def agent_names(size: int = AGENTS) -> list[str]:
    """The population's names: every first name once, then numbered rounds (``Maria 2``).

    The scenario shuffles the order; with ``size`` a multiple of ``len(NAMES)`` the set is the same.
    """
    if size % len(NAMES):
        raise ValueError(f"the survey's size must be a multiple of {len(NAMES)}, got {size}")
    return [name if i < len(NAMES) else f"{name} {i // len(NAMES) + 1}"
            for i in range(size) for name in [NAMES[i % len(NAMES)]]]


def scenario_yaml(base_url: str, *, size: int = AGENTS, seed: int = 7) -> str:
    """A survey scenario: ``size`` sampled people answer one question; two fields are extracted."""
    return f"""\
name: Fault survey
seed: {seed}
max_actions_per_turn: 1
backend: {{api_type: openai, model: mock-model, base_url: "{base_url}"}}
world:
  name: Survey panel
  initial_datetime: 2025-03-03T09:00:00
  minutes_per_step: 5
  everyone_accessible: false
  broadcast_if_no_target: false
population:
  size: {size}
  names: [{", ".join(NAMES)}]
  base:
    occupation: {{title: office worker}}
  sample:
    age: [23, 34, 47, 61]
    nationality: [German, Brazilian, Indian, Japanese]
script:
  - broadcast: "Survey question: would you rather work fully remotely, fully in the office, or a mix? Why?"
  - run: 1
extraction:
  objective: Each person's preferred way of working and their reason.
  fields:
    preference: {{type: str, choices: [{", ".join(CHOICES)}], hint: "the way of working the person prefers"}}
    reason: {{type: str, hint: "why, in a sentence or two"}}
"""


def write_scenario(folder: Path, base_url: str, **kwargs: Any) -> Path:
    path = folder / "survey.yaml"
    path.write_text(scenario_yaml(base_url, **kwargs), encoding="utf-8")
    return path


# -- the mock server's answers -------------------------------------------------------------------------

def _prompt(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content") or "") for m in body.get("messages", []))


def is_turn(body: dict[str, Any]) -> bool:
    """Whether a chat request asks for an agent's turn (its schema has ``actions``)."""
    return "actions" in ((requested_schema(body) or {}).get("properties") or {})


def is_extraction(body: dict[str, Any]) -> bool:
    """Whether a chat request asks for the survey's extraction (its schema has ``reason``)."""
    return "reason" in ((requested_schema(body) or {}).get("properties") or {})


def _pick(name: str) -> str:
    # Stable across processes (unlike hash()): the same agent always prefers the same thing.
    return CHOICES[sum(map(ord, name)) % len(CHOICES)]


def survey_reply(body: dict[str, Any]) -> Any:
    """A complete, valid answer to any request of the survey (a ``reply_fn`` for the mock server)."""
    schema = requested_schema(body)
    prompt = _prompt(body)
    if is_turn(body):
        match = _ACT_AS.search(prompt)
        name = match.group(1) if match else "someone"
        content = (f"I am {name}, and I would choose {_pick(name)} work: quiet focus at home, people when it "
                   f"matters, and no commute on the days that need concentration. {TURN_END}")
        return {"cognitive_state": {"goals": "answer the survey", "context": ["a survey about work"],
                                    "attention": "the question", "emotions": "calm"},
                "actions": [{"type": "TALK", "target": "", "content": content}]}
    if schema is not None and is_extraction(body):
        match = _RECORD_OF.search(prompt)
        name = match.group(1).strip() if match else "someone"
        value = example_for_schema(schema)
        value.pop("reason", None)
        value["preference"] = _pick(name)
        # The reason comes last, so that the sentinel is the last thing before the closing brace.
        value["reason"] = (f"{name} said they prefer {_pick(name)} work because it balances focus and "
                           f"company, and it saves the commute on most days of the week. {ANSWER_END}")
        return value
    return example_for_schema(schema) if schema is not None else "A plain answer."


# -- running it ----------------------------------------------------------------------------------------

@dataclass
class SurveyOutcome:
    """What one run left behind: its output folder, exit code and console output."""

    out: Path
    exit_code: int | None = None
    output: str = ""
    crash: str | None = None  # an exception that escaped the run (in-process runs)
    wall_s: float = 0.0
    api_rows: dict[str, dict[str, Any]] | None = None  # ScenarioResult.results (in-process runs)
    api_failed: int | None = None  # ScenarioResult.failed (in-process runs)
    frame_columns: list[str] | None = None  # of results_to_dataframe(ScenarioResult.results)
    frame_rows: int | None = None


def run_cli(scenario: Path, out: Path, *, timeout_s: float = 300.0) -> SurveyOutcome:
    """``tinytroupe run SCENARIO --out OUT --quiet`` in a child process (the environment is inherited)."""
    script = Path(sys.executable).with_name("tinytroupe")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from tinytroupe.cli import app; app()"]
    start = time.perf_counter()
    done = subprocess.run([*command, "run", str(scenario), "--out", str(out), "--quiet"], capture_output=True,
                          text=True, timeout=timeout_s, env={**os.environ, "COLUMNS": "200"}, check=False)
    return SurveyOutcome(out=out, exit_code=done.returncode, output=done.stdout + done.stderr,
                         wall_s=time.perf_counter() - start)


def run_in_process(scenario: Path, out: Path) -> SurveyOutcome:
    """:func:`tinytroupe.scenario.study.run_study` in this process; an escaping exception is kept as ``crash``."""
    from tinytroupe.extraction.results_extractor import results_to_dataframe
    from tinytroupe.scenario.study import run_study

    start = time.perf_counter()
    try:
        outputs = run_study(scenario, out=out, quiet=True)
    except Exception as exc:  # the audit reports it: a crash loses every answer
        return SurveyOutcome(out=out, crash=f"{type(exc).__name__}: {exc}", wall_s=time.perf_counter() - start)
    wall = time.perf_counter() - start
    result = outputs.result
    frame = results_to_dataframe(result.results)
    return SurveyOutcome(out=out, wall_s=wall, api_rows=result.results, api_failed=getattr(result, "failed", None),
                         frame_columns=[str(c) for c in frame.columns], frame_rows=len(frame))


def run_cli_in_process(scenario: Path, out: Path) -> SurveyOutcome:
    """The ``run`` command through typer's CliRunner: exit code and output without a new interpreter.

    An exception escaping the command is what a real ``tinytroupe run`` would print as a raw traceback,
    so it is reported in ``output`` with that header.
    """
    from typer.testing import CliRunner

    from tinytroupe.cli import app

    start = time.perf_counter()
    result = CliRunner().invoke(app, ["run", str(scenario), "--out", str(out), "--quiet"])
    output = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        output += f"\n{TRACEBACK}:\n  {type(result.exception).__name__}: {result.exception}\n"
    return SurveyOutcome(out=out, exit_code=result.exit_code, output=output, wall_s=time.perf_counter() - start)


# -- the audit -----------------------------------------------------------------------------------------

@dataclass
class Audit:
    """What the contract checks found; every list holds one human-readable line per finding."""

    answers_lost: list[str] = field(default_factory=list)
    truncated_accepted: list[str] = field(default_factory=list)
    invented_results: list[str] = field(default_factory=list)
    raw_tracebacks: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)  # inconsistencies: CSV vs JSON, counts, exit code
    ok: int = 0
    failed: int = 0

    @property
    def problems(self) -> list[str]:
        return [*self.answers_lost, *self.truncated_accepted, *self.invented_results, *self.raw_tracebacks,
                *self.other]

    def counts(self) -> dict[str, int]:
        return {"answers_lost": len(self.answers_lost), "truncated_accepted": len(self.truncated_accepted),
                "invented_results": len(self.invented_results), "raw_tracebacks": len(self.raw_tracebacks)}

    def report(self, limit: int = 12) -> str:
        lines = self.problems
        more = f"\n... and {len(lines) - limit} more" if len(lines) > limit else ""
        return (f"{len(lines)} contract violation(s) ({self.ok} ok, {self.failed} failed rows; "
                f"{self.counts()}):\n- " + "\n- ".join(lines[:limit]) + more)


def _blank(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and value != value)


def _talks(trace: Path) -> dict[str, list[str]]:
    talks: dict[str, list[str]] = {}
    if not trace.is_file():
        return talks
    for line in trace.read_text(encoding="utf-8").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if event.get("kind") == "action" and event.get("action_type") == "TALK":
            talks.setdefault(str(event.get("agent")), []).append(str(event.get("content", "")))
    return talks


def audit(outcome: SurveyOutcome, names: list[str] | None = None) -> Audit:
    """Check one run against the contract (see the module docstring)."""
    names = names if names is not None else agent_names()
    found = Audit()
    if TRACEBACK in outcome.output:
        tail = outcome.output[outcome.output.index(TRACEBACK):].strip().splitlines()[-3:]
        found.raw_tracebacks.append("raw traceback in the output: " + " | ".join(tail)[:400])
    results_json = outcome.out / "results.json"
    if outcome.crash is not None or not results_json.is_file():
        why = outcome.crash or f"exit code {outcome.exit_code} and no results.json; the output ends with: " + (
            " | ".join(outcome.output.strip().splitlines()[-4:])[-400:])
        found.answers_lost.append(f"every answer lost: {why}")
        found.answers_lost += [f"{n}: no row" for n in names[1:]]
        return found
    data = json.loads(results_json.read_text(encoding="utf-8"))
    rows: dict[str, dict[str, Any]] = data.get("results") or {}
    talks = _talks(outcome.out / "trace.jsonl")
    turn_failed = {e.get("agent"): e for e in data.get("errors") or []}

    for agent, contents in talks.items():
        for content in contents:
            if not content.endswith(TURN_END):
                found.truncated_accepted.append(f"{agent}: a turn was accepted cut off: TALK {content[-60:]!r}")
    for extra in sorted(set(rows) - set(names)):
        found.other.append(f"{extra}: a row for an agent who is not in the scenario")
    unmarked = [name for name in names if name in rows and "status" not in rows[name]]
    if unmarked:
        # Reported once; such rows are then checked as answers, so the other findings still show.
        found.other.append(f"{len(unmarked)} row(s) have no 'status' (e.g. {unmarked[0]}): a failed agent "
                           "cannot be told from one that answered")
    for name in names:
        row = rows.get(name)
        if row is None:
            found.answers_lost.append(f"{name}: no row in results.json")
            continue
        status = row.get("status", "ok")
        if status == "ok":
            found.ok += 1
            reason, preference = row.get("reason"), row.get("preference")
            if not isinstance(reason, str) or not reason.endswith(ANSWER_END):
                found.truncated_accepted.append(f"{name}: ok with a cut-off reason {str(reason)[-60:]!r}")
            elif not reason.startswith(f"{name} said"):
                found.other.append(f"{name}: ok with someone else's reason {reason[:40]!r}")
            if preference not in CHOICES:
                found.truncated_accepted.append(f"{name}: ok with preference {preference!r}")
            if name in turn_failed:
                err = turn_failed[name]
                found.invented_results.append(
                    f"{name}: ok although its turn failed ({err.get('error_type')}: {str(err.get('message'))[:80]})")
            elif not any(c.endswith(TURN_END) for c in talks.get(name, [])):
                found.invented_results.append(f"{name}: ok without a complete answer in its turn "
                                              f"(TALKs: {[c[-30:] for c in talks.get(name, [])]})")
        elif status == "failed":
            found.failed += 1
            error = row.get("error")
            if not isinstance(error, str) or not _ERROR.match(error):
                found.answers_lost.append(f"{name}: failed without an 'ErrorType: message' error ({error!r})")
            invented = {k: v for k, v in row.items() if k not in ("status", "error") and not _blank(v)}
            if invented:
                found.invented_results.append(f"{name}: failed, yet carries field values {invented}")
        else:
            found.answers_lost.append(f"{name}: row without a status ok/failed: {json.dumps(row)[:200]}")

    if "failed" not in data:
        found.other.append("results.json has no 'failed' count")
    elif data["failed"] != found.failed:
        found.other.append(f"results.json says failed={data['failed']}, the rows say {found.failed}")
    _check_csv(outcome.out / "results.csv", rows, found)
    _check_api(outcome, rows, found)
    if outcome.exit_code is not None:
        expected = EXIT_SOME_FAILED if found.failed else 0
        if outcome.exit_code != expected:
            found.other.append(f"exit code {outcome.exit_code} with {found.failed} failed agent(s); "
                               f"expected {expected}")
    return found


def _check_csv(path: Path, rows: dict[str, dict[str, Any]], found: Audit) -> None:
    if not path.is_file():
        found.other.append("no results.csv")
        return
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        csv_rows = list(reader)
    for column in ("agent", "status", "error"):
        if column not in columns:
            found.other.append(f"results.csv has no {column!r} column (columns: {columns})")
            return
    by_agent = {r["agent"]: r for r in csv_rows}
    if len(by_agent) != len(csv_rows) or set(by_agent) != set(rows):
        found.other.append(f"results.csv has {len(csv_rows)} rows for {len(by_agent)} agents; "
                           f"results.json has {len(rows)}")
    for name, row in rows.items():
        line = by_agent.get(name)
        if line is None:
            continue
        if line["status"] != row.get("status"):
            found.other.append(f"{name}: results.csv says {line['status']!r}, results.json {row.get('status')!r}")
        if (line["status"] == "failed") != bool(line["error"]):
            found.other.append(f"{name}: results.csv status {line['status']!r} with error {line['error']!r}")
        if line["status"] == "failed":
            filled = {k: v for k, v in line.items() if k not in ("agent", "status", "error") and v}
            if filled:
                found.invented_results.append(f"{name}: failed in results.csv, yet carries {filled}")


def _check_api(outcome: SurveyOutcome, rows: dict[str, dict[str, Any]], found: Audit) -> None:
    """ScenarioResult and its DataFrame say what results.json says (in-process runs only)."""
    if outcome.api_rows is None:
        return
    if outcome.api_rows != rows:
        differ = sorted(n for n in set(rows) | set(outcome.api_rows) if rows.get(n) != outcome.api_rows.get(n))
        found.other.append(f"ScenarioResult.results differs from results.json for {differ[:5]}")
    if outcome.api_failed != found.failed:
        found.other.append(f"ScenarioResult.failed is {outcome.api_failed}, the rows say {found.failed}")
    needed = ["agent", "status", *(["error"] if found.failed else [])]
    if outcome.frame_columns is not None and not set(needed) <= set(outcome.frame_columns):
        found.other.append(f"the results DataFrame lacks {sorted(set(needed) - set(outcome.frame_columns))} "
                           f"(columns: {outcome.frame_columns})")
    if outcome.frame_rows is not None and outcome.frame_rows != len(rows):
        found.other.append(f"the results DataFrame has {outcome.frame_rows} rows for {len(rows)} agents")
