"""Reading a run file after the fact (``tinytroupe inspect RUNFILE``): its agents, their states at any
checkpoint, their memories, and the exact prompt and answer of any of their turns.

States come from the checkpoints (``control.begin(..., auto_checkpoint=True)`` writes one per step; the
last few are kept); prompts from the recorded calls (``calls``: each request, compressed) and answers
from the run file's response cache (an answer it evicted is reported as missing, never made up).

Example:
    >>> import tempfile, os
    >>> from tinytroupe import TinyPerson, TinyWorld, control
    >>> from tinytroupe.llm.demo import demo_backend
    >>> path = os.path.join(tempfile.mkdtemp(), "study.sqlite")
    >>> _ = control.begin(path, seed=1, backend=demo_backend(seed=1), quiet=True, auto_checkpoint=True)
    >>> world = TinyWorld("Room", [TinyPerson("Ana"), TinyPerson("Ben")], communication_display=False)
    >>> world.broadcast("Tea or coffee?")
    >>> world.run(2)
    >>> control.end()
    >>> with RunFileInspector(path) as run:
    ...     run.agents(), [t.step for t in run.turns("Ana")], run.agent_state("Ana")["turns"]
    (['Ana', 'Ben'], [1, 2], 2)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tinytroupe.devtools.debugger.calls import CallRecord, TurnRecord
from tinytroupe.errors import ConfigError, NotFound
from tinytroupe.llm.cache import ResponseCache
from tinytroupe.llm.types import Completion
from tinytroupe.storage.call_log import CallLog
from tinytroupe.storage.checkpoints import Checkpoint, CheckpointStore
from tinytroupe.storage.trace_store import Trace
from tinytroupe.storage.writer import BatchWriter


class RunFileInspector:
    """Read access to one simulation of a run file (default: the one of its latest run).

    Raises:
        ConfigError: no run file at ``path``, or it holds no trace.
    """

    def __init__(self, path: str | Path, *, run_id: int | None = None) -> None:
        self.path = Path(path)
        self.trace = Trace(self.path, run_id=run_id)
        run = next((r for r in self.trace.runs() if r["run_id"] == self.trace.run_id), None)
        if run is None:
            self.trace.close()
            raise ConfigError(f"{str(self.path)!r} holds no run yet")
        self.simulation_id: str = run["simulation_id"]
        self._checkpoints = CheckpointStore(self.path)

    def close(self) -> None:
        self.trace.close()
        self._checkpoints.close()

    def __enter__(self) -> RunFileInspector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ what is there

    def summary(self) -> dict[str, Any]:
        """The trace's summary, the checkpoints, and the recorded turns per agent."""
        return {**self.trace.summary(), "agent_names": self.agents(),
                "checkpoints": self.checkpoints(),
                "recorded_turns": {a: len(self.turns(a)) for a in self.agents()}}

    def checkpoints(self) -> list[dict[str, Any]]:
        """The kept checkpoints (id, step, label, sizes), oldest first."""
        return self._checkpoints.list(self.simulation_id)

    def agents(self) -> list[str]:
        """The agents seen in the trace, sorted."""
        return sorted({e["agent"] for e in self.trace.events(kinds=["stimulus", "action"]) if e.get("agent")})

    def _checkpoint(self, checkpoint: int | None) -> Checkpoint:
        if checkpoint is None:
            found = self._checkpoints.latest(self.simulation_id)
        else:
            found = self._checkpoints.get(checkpoint)
        if found is None or found.simulation_id != self.simulation_id:
            kept = ", ".join(f"#{c['id']} (step {c['step']})" for c in self.checkpoints()) or "none"
            what = "no checkpoint" if checkpoint is None else f"no checkpoint #{checkpoint}"
            raise NotFound(f"{what} of simulation {self.simulation_id!r} in {str(self.path)!r}; kept: {kept} "
                           "(control.begin(..., auto_checkpoint=True) writes one per step)")
        return found

    def agent_state(self, agent: str, checkpoint: int | None = None) -> dict[str, Any]:
        """``agent``'s whole state (as ``to_state()`` gives it) at ``checkpoint`` (an id; None: the latest).

        Raises:
            NotFound: no such checkpoint, or the agent is not in it.
            CheckpointError: the checkpoint is damaged.
        """
        cp = self._checkpoint(checkpoint)
        state = self._checkpoints.load(cp)
        candidates = [*(a for w in state.get("worlds", []) for a in w.get("agents", [])), *state.get("agents", [])]
        for candidate in candidates:
            if candidate.get("name") == agent:
                return dict(candidate)
        names = sorted({c.get("name", "?") for c in candidates})
        raise NotFound(f"agent {agent!r} is not in {cp.describe()}; agents there: {', '.join(names) or 'none'}")

    def memories(self, agent: str, checkpoint: int | None = None) -> list[dict[str, Any]]:
        """``agent``'s episodic memories at ``checkpoint``."""
        return list(self.agent_state(agent, checkpoint)["memory"].get("items", []))

    # ------------------------------------------------------------------ prompts and answers

    def turns(self, agent: str) -> list[TurnRecord]:
        """``agent``'s recorded turns (its ``action`` calls, re-asks grouped with their turn), oldest first,
        numbered from 1 in the order recorded."""
        writer = BatchWriter(self.path, name="tinytroupe-inspect")
        try:
            log = CallLog(self.path, writer)
            streams = {s: e for s, e in log.load(self.simulation_id).items() if s.split("/")[1:] == [agent, "action"]}
            calls = [(step if step is not None else -1, stream, pos, key)
                     for stream, entries in streams.items() for pos, (key, step) in enumerate(entries)]
            records = [(stream, pos, key, step, log.request(self.simulation_id, stream, pos))
                       for step, stream, pos, key in sorted(calls)]
        finally:
            writer.close()
        answers = self._answers([key for _, _, key, _, _ in records])
        turns: list[TurnRecord] = []
        for stream, _pos, key, step, request in records:
            messages = json.loads(request)["request"].get("messages", []) if request else []
            call = CallRecord(purpose="action", agent=agent, world=stream.split("/")[0], step=step,
                              messages=messages, answer=answers.get(key),
                              error=None if key in answers else "the answer is not in the run file's cache")
            last = turns[-1] if turns else None
            if last is not None and last.step == step and _extends(last.attempts[-1].messages, messages):
                last.attempts.append(call)  # a re-ask: the same prompt, plus the bad answer and the request to fix it
            else:
                turns.append(TurnRecord(agent=agent, world=call.world, step=step, turn=len(turns) + 1,
                                        attempts=[call]))
        return turns

    def turn(self, agent: str, number: int | None = None) -> TurnRecord:
        """``agent``'s turn ``number`` (1 first; negative from the last; None: the last).

        Raises:
            NotFound: no such turn was recorded.
        """
        turns = self.turns(agent)
        if not turns:
            raise NotFound(f"no turn of {agent!r} is recorded in {str(self.path)!r}; agents: "
                           f"{', '.join(self.agents()) or 'none'}")
        index = -1 if number is None else (number - 1 if number > 0 else number)
        if not -len(turns) <= index < len(turns):
            raise NotFound(f"{agent!r} has {len(turns)} recorded turns; there is no turn {number}")
        return turns[index]

    def _answers(self, keys: list[str]) -> dict[str, str]:
        cache = ResponseCache(self.path)
        try:
            stored = cache.get_many(keys)
        finally:
            cache.close()
        return {key: Completion.model_validate_json(text).text for key, text in stored.items()}


def _extends(previous: list[dict[str, Any]], messages: list[dict[str, Any]]) -> bool:
    return len(messages) > len(previous) and messages[:len(previous)] == previous


__all__ = ["RunFileInspector"]
