"""Replaying a recorded scenario run (``tinytroupe replay RUNFILE``) and reporting where it diverges.

The run file is copied first (the recording is left as it was); the scenario it recorded (see
:mod:`tinytroupe.devtools.scenario_runs`) is run again on the copy. Every request identical to a
recorded one is answered from the copy's cache; the first request of each stream that differs is a
:class:`~tinytroupe.llm.replay.Divergence` (what changed, where), and the two traces are compared
event by event (without timings). Unchanged code, prompts and scenario give an empty report and no
model call.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from tinytroupe.aio import run_sync
    >>> from tinytroupe.devtools.scenario_runs import open_scenario
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "tea.yaml").write_text("name: Tea\\nagents: [{example: lisa}]\\nscript: [{run: 2}]\\n")
    >>> session = open_scenario(folder / "tea.yaml", backend="scripted", run_file=folder / "tea.sqlite")
    >>> _ = run_sync(session.arun()); session.close()
    >>> report = replay_run_file(folder / "tea.sqlite")
    >>> report.identical, report.matched_calls, report.new_calls, report.backend_calls
    (True, 2, 0, 0)
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from tinytroupe.aio import run_sync
from tinytroupe.devtools.debugger.breakpoints import EXCERPT
from tinytroupe.devtools.scenario_runs import DEFAULT_ID, RecordedRun, open_scenario, recorded_run
from tinytroupe.errors import ConfigError
from tinytroupe.llm.replay import Divergence, ReplayRecorder
from tinytroupe.storage.trace_store import Trace


class TraceDifference(BaseModel):
    """The first event where the replayed trace differs from the recorded one (None on a side: missing)."""

    index: int
    recorded: dict[str, Any] | None = None
    replayed: dict[str, Any] | None = None

    def describe(self) -> str:
        return (f"event {self.index + 1}: recorded {_brief(self.recorded)}; replayed {_brief(self.replayed)}")


class ReplayReport(BaseModel):
    """What a replay found: the divergences of the LLM requests, the calls answered from the recording or
    asked anew, and the first difference between the traces."""

    run_file: str
    replayed_file: str
    simulation_id: str
    recorded_calls: int
    matched_calls: int
    new_calls: int
    backend_calls: int
    divergences: list[Divergence] = Field(default_factory=list)
    recorded_events: int
    replayed_events: int
    differing_events: int = 0
    first_difference: TraceDifference | None = None

    @property
    def identical(self) -> bool:
        """Same requests and same trace: the code, prompts and scenario still produce the recorded run."""
        return not self.divergences and self.new_calls == 0 and self.first_difference is None


def replay_run_file(path: Path, *, scenario: Path | None = None, out: Path | None = None,
                    simulation_id: str = DEFAULT_ID, backend: str | None = None,
                    config: Path | None = None) -> ReplayReport:
    """Replay the scenario run recorded in ``path`` on a copy (``out``, default a temporary file).

    ``scenario`` replays another scenario file against the recording (e.g. an edited one); ``backend``
    replaces the recorded backend for requests that diverge (default: the recorded one).

    Raises:
        ConfigError: the file holds no scenario run and no ``scenario`` is given, or no trace.
        ScenarioError: the scenario is not valid (any more).
    """
    record = _record(path, simulation_id, required=scenario is None)
    copy = out if out is not None else Path(tempfile.mkdtemp(prefix="tinytroupe-replay-")) / Path(path).name
    _copy_run_file(Path(path), copy)
    with Trace(copy) as trace:
        run_id = trace.latest_run(simulation_id)
        if run_id is None:
            raise ConfigError(f"{str(path)!r} holds no run of simulation {simulation_id!r}")
    with Trace(copy, run_id=run_id) as trace:
        before = trace.canonical()
    # The recorded backend, model and seed, whichever scenario is replayed: requests then differ only by
    # what changed in the scenario or the code.
    session = open_scenario(
        scenario if scenario is not None else Path(record.path) if record else Path("scenario.yaml"),
        backend=backend or (record.backend if record else None), model=record.model if record else None,
        seed=record.seed if record else None, run_file=copy, simulation_id=simulation_id,
        scenario_text=record.scenario if record is not None and scenario is None else None, config=config)
    sim = session.simulation
    assert sim is not None
    recorder = sim.client.backend.find(ReplayRecorder) if hasattr(sim.client.backend, "find") else None
    assert isinstance(recorder, ReplayRecorder)
    recorded = sum(len(v) for v in recorder.recorded.values())
    try:
        run_sync(session.arun())
        misses = sim.cache_misses()
    finally:
        session.close()
    with Trace(copy) as trace:
        after = trace.canonical()
    diffs = [i for i in range(max(len(before), len(after)))
             if (before[i] if i < len(before) else None) != (after[i] if i < len(after) else None)]
    first = None
    if diffs:
        i = diffs[0]
        first = TraceDifference(index=i, recorded=before[i] if i < len(before) else None,
                                replayed=after[i] if i < len(after) else None)
    return ReplayReport(run_file=str(path), replayed_file=str(copy), simulation_id=simulation_id,
                        recorded_calls=recorded, matched_calls=recorder.matched, new_calls=recorder.new_calls,
                        backend_calls=misses, divergences=list(sim.divergences), recorded_events=len(before),
                        replayed_events=len(after), differing_events=len(diffs), first_difference=first)


def _record(path: Path, simulation_id: str, *, required: bool) -> RecordedRun | None:
    try:
        return recorded_run(path, simulation_id)
    except ConfigError:
        if required:
            raise
        return None


def _copy_run_file(source: Path, target: Path) -> None:
    """A consistent copy of a run file (its WAL included), by SQLite's backup."""
    if not source.is_file():
        raise ConfigError(f"no run file at {str(source)!r}")
    if target.exists():
        raise ConfigError(f"{str(target)!r} exists already; choose another --out")
    target.parent.mkdir(parents=True, exist_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def _brief(event: dict[str, Any] | None) -> str:
    if event is None:
        return "nothing (the trace ended)"
    text = next((str(event[k]) for k in ("content", "message", "description", "phase") if event.get(k)), "")
    text = text if len(text) <= EXCERPT else text[:EXCERPT - 1] + "…"
    where = f" at step {event['step']}" if event.get("step") is not None else ""
    return f"{event.get('kind')} of {event.get('agent') or '-'}{where}" + (f": {text!r}" if text else "")


__all__ = ["ReplayReport", "TraceDifference", "replay_run_file"]
