"""Simulation control: one run file per simulation holding its LLM cache, trace and checkpoints.

Layer: control (above environment). A :class:`Simulation` owns the seed and random generator, the
LLM client (installed as the default client while it is active, so agents and worlds without a
client of their own use it), the response cache, the trace and the checkpoints, all in one SQLite
file (WAL mode). Re-running a script against the same file answers every LLM call from the cache;
the first request that differs from the recorded run is reported (:attr:`Simulation.divergences`)
and the run continues live. After a crash, the next :func:`begin` on the file says it is resuming,
the calls completed before the crash are free, and the new run's trace replaces the interrupted one.

Example:
    >>> import tempfile, os
    >>> from tinytroupe.llm import ScriptedBackend
    >>> path = os.path.join(tempfile.mkdtemp(), "demo.sqlite")
    >>> with Simulation(path, backend=ScriptedBackend(["hi"], cycle=True), quiet=True) as sim:
    ...     _ = sim.client.complete([{"role": "user", "content": "hello"}])
    >>> with Simulation(path, backend=ScriptedBackend(["hi"], cycle=True), quiet=True) as sim:
    ...     _ = sim.client.complete([{"role": "user", "content": "hello"}])
    ...     sim.cache_hits(), sim.cache_misses()
    (1, 0)
"""

from __future__ import annotations

import logging
import random
import sqlite3
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from tinytroupe import scope
from tinytroupe.agent.person import TinyPerson
from tinytroupe.config import Settings, current_settings, set_settings
from tinytroupe.environment.world import TinyWorld
from tinytroupe.errors import SimulationError
from tinytroupe.events import CheckpointEvent, DivergenceEvent, Event, EventBus, StepEvent
from tinytroupe.llm.backend import Backend
from tinytroupe.llm.cache import CacheWrapper, ResponseCache
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.default import set_default_client
from tinytroupe.llm.factory import build_backend, wrap_backend
from tinytroupe.replay import Divergence, ReplayRecorder
from tinytroupe.storage.call_log import CallLog
from tinytroupe.storage.checkpoints import DEFAULT_KEEP, Checkpoint, CheckpointStore
from tinytroupe.storage.trace_store import Trace, TraceStore
from tinytroupe.storage.writer import BatchWriter

logger = logging.getLogger(__name__)

STATE_FORMAT = 1


def default_path(simulation_id: str) -> Path:
    """``./tinytroupe-<id>.sqlite``: the run file used when :func:`begin` is given no path."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in simulation_id)
    return Path(f"tinytroupe-{safe}.sqlite")


class Simulation:
    """A run of a simulation, persisted in one SQLite run file.

    Args:
        path: the run file (default ``./tinytroupe-<id>.sqlite``). A TinyTroupe-style
            ``*.cache.json`` name is turned into ``*.sqlite`` (the file is SQLite, not JSON).
        id: the simulation id; one file can hold several.
        seed: seeds :attr:`random` and, while active, the ``[Simulation] seed`` that new worlds read.
        auto_checkpoint: False, True (after every world step) or N (every N steps).
        backend: the model backend (default: the one the settings configure); the simulation wraps
            it with limits, retries, its cache and its replay recorder.
        settings: the settings to build from (default: :func:`~tinytroupe.config.current_settings`).
        cache_max_entries, cache_max_bytes: bounds of the response cache (default: the settings').
        keep_checkpoints: how many checkpoints are kept in the file.
        quiet: do not print the one-line notice (run file, new / replaying / resuming) on start.

    Example:
        >>> Simulation("x.sqlite", quiet=True).path.name
        'x.sqlite'
    """

    def __init__(self, path: str | Path | None = None, id: str = "default", seed: int | None = None, *,
                 auto_checkpoint: bool | int = False, backend: Backend | None = None,
                 settings: Settings | None = None, cache_max_entries: int | None = None,
                 cache_max_bytes: int | None = None, keep_checkpoints: int = DEFAULT_KEEP,
                 quiet: bool = False) -> None:
        if isinstance(auto_checkpoint, bool):
            every = 1 if auto_checkpoint else 0
        elif isinstance(auto_checkpoint, int) and auto_checkpoint >= 0:
            every = auto_checkpoint
        else:
            raise ValueError(f"auto_checkpoint must be True, False or a number of steps >= 0, got {auto_checkpoint!r}")
        p = Path(path) if path is not None else default_path(id)
        if p.name.endswith(".json"):
            p = p.with_name(p.name.removesuffix(".json").removesuffix(".cache") + ".sqlite")
        self.path = p
        self.id = id
        self.seed = seed
        self.random = random.Random(seed)
        self.checkpoint_every = every
        self.keep_checkpoints = keep_checkpoints
        self.quiet = quiet
        self._backend = backend
        self._settings = settings
        self._cache_max_entries = cache_max_entries
        self._cache_max_bytes = cache_max_bytes
        self.bus = EventBus()
        self.divergences: list[Divergence] = []
        self.resumed = False
        self.resumed_from: Checkpoint | None = None
        self.previous_status: str | None = None
        self.last_checkpoint: Checkpoint | None = None
        self.run_id: int | None = None
        self._worlds: weakref.WeakValueDictionary[str, TinyWorld] = weakref.WeakValueDictionary()
        self._agents: weakref.WeakValueDictionary[str, TinyPerson] = weakref.WeakValueDictionary()
        self._steps_since_checkpoint = 0
        self._active = False
        self._lock = threading.RLock()
        self._scope_token: int | None = None
        self._previous_client: LLMClient | None = None
        self._previous_settings: Settings | None = None
        self._client: LLMClient | None = None

    def __repr__(self) -> str:
        state = "active" if self._active else "inactive"
        return f"Simulation(id={self.id!r}, path={str(self.path.resolve())!r}, {state})"

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Simulation:
        """Open the run file, install the client and start tracing (``begin`` calls this)."""
        if self._active:
            raise SimulationError(f"simulation {self.id!r} is already running")
        settings = self._settings if self._settings is not None else current_settings()
        before = self._previous_run_status()
        self.writer = BatchWriter(self.path, name=f"tinytroupe-trace-{self.id}")
        try:
            self.checkpoints = CheckpointStore(self.path, keep=self.keep_checkpoints)
            self.call_log = CallLog(self.path, self.writer)
            self.trace_store = TraceStore(self.path, writer=self.writer)
            self.resumed_from = self.checkpoints.latest(self.id)
            self.previous_status = before
            self.resumed = before == "running"
            o = settings.openai
            self.cache = ResponseCache(
                self.path, max_entries=self._cache_max_entries or o.cache_max_entries,
                max_bytes=self._cache_max_bytes or o.cache_max_bytes)
            cached = len(self.cache)
            recorder = ReplayRecorder(self._build_chain(settings), self.call_log, self.id,
                                      on_divergence=self._on_divergence)
            self._client = LLMClient(recorder, bus=self.bus, max_reasks=o.max_reasks)
            self.run_id = self.trace_store.start_run(self.id, note="resumed" if self.resumed else None)
        except BaseException:
            self.writer.close()
            raise
        self.bus.subscribe(self.trace_store)
        self.bus.subscribe(self._on_step, kinds=["step"])
        self._previous_client = set_default_client(self._client)
        if self.seed is not None:
            self._previous_settings = set_settings(settings.model_copy(
                update={"simulation": settings.simulation.model_copy(update={"seed": self.seed})}))
        self._scope_token = scope.enter(self)
        self._active = True
        self._announce(cached, recorded=sum(len(v) for v in recorder.recorded.values()))
        return self

    def _build_chain(self, settings: Settings) -> Backend:
        # The usual limits and retries, without the settings' own cache: ours lives in the run file.
        plain = settings.model_copy(update={"openai": settings.openai.model_copy(update={"cache_api_calls": False})})
        base = self._backend if self._backend is not None else build_backend(settings)
        return CacheWrapper(wrap_backend(base, plain), self.cache)

    def _previous_run_status(self) -> str | None:
        if not self.path.exists():
            return None
        conn = sqlite3.connect(str(self.path), timeout=30.0)
        try:
            row = conn.execute("SELECT status FROM runs WHERE simulation_id = ? ORDER BY run_id DESC LIMIT 1",
                               (self.id,)).fetchone()
        except sqlite3.OperationalError:  # no runs table yet: a cache-only or new file
            return None
        finally:
            conn.close()
        return str(row[0]) if row else None

    def _announce(self, cached: int, recorded: int) -> None:
        where = str(self.path.resolve())
        if self.resumed:
            cp = self.resumed_from
            what = (f"resuming after an interrupted run: {cached} LLM answers cached; last checkpoint "
                    + (f"#{cp.id} at step {cp.step}" if cp else "none")
                    + " (call sim.restore(world) to load it; re-running the script replays for free)")
        elif recorded:
            what = f"replaying: {recorded} recorded calls, {cached} LLM answers cached"
        else:
            what = "new run"
        logger.info("simulation %r: %s (%s)", self.id, where, what)
        if not self.quiet:
            print(f"tinytroupe: simulation {self.id!r} -> {where} ({what})", file=sys.stderr)

    def end(self) -> None:
        """Checkpoint, commit the trace, mark the run ended and close the file."""
        if not self._active:
            raise SimulationError(f"simulation {self.id!r} is not running; call control.begin() first")
        try:
            self.checkpoint(label="end")
        finally:
            self._stop("ended")

    def reset(self) -> None:
        """Stop without a final checkpoint (the trace so far is committed; the run is marked ``reset``)."""
        if self._active:
            self._stop("reset")

    def _stop(self, status: str) -> None:
        self._active = False
        if self._scope_token is not None:
            scope.leave(self._scope_token)
            self._scope_token = None
        set_default_client(self._previous_client)
        if self.seed is not None:
            set_settings(self._previous_settings)
        try:
            if self._client is not None:
                self._client.close()  # closes the cache (flushing LRU touches) and the backend
        finally:
            try:
                self.trace_store.end_run(status)
            finally:
                self.writer.close()
                self.checkpoints.close()

    def __enter__(self) -> Simulation:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if not self._active:
            return
        if exc_type is None:
            self.end()
        else:
            self._stop("failed")

    # ------------------------------------------------------------------ scope and events

    @property
    def active(self) -> bool:
        return self._active

    @property
    def client(self) -> LLMClient:
        """The simulation's LLM client (the default client while it is active)."""
        if self._client is None:
            raise SimulationError(f"simulation {self.id!r} has not started; call start() or control.begin()")
        return self._client

    def register(self, obj: object) -> None:
        """Scope hook: worlds and agents created while the simulation is active are checkpointed with it
        (agents in a world with their world)."""
        if isinstance(obj, TinyPerson):
            self._agents[obj.name] = obj
            return
        if isinstance(obj, TinyWorld):
            self._worlds[obj.name] = obj
            if obj._client is not None and obj._client is not self._client:
                logger.warning("world %r has its own LLM client: its calls bypass simulation %r's cache and "
                               "trace; create it without client= to use the simulation's", obj.name, self.id)

    def track(self, *agents: TinyPerson) -> None:
        """Checkpoint these agents too: agents created while the simulation is active are tracked
        already; this adds ones created before it began."""
        for agent in agents:
            self._agents[agent.name] = agent

    @property
    def worlds(self) -> list[TinyWorld]:
        return list(self._worlds.values())

    def publish(self, event: Event) -> None:
        """Publish an event on the simulation's bus (and so into its trace)."""
        self.bus.publish(event)

    def _on_divergence(self, divergence: Divergence) -> None:
        self.divergences.append(divergence)
        self.bus.publish(DivergenceEvent(world=divergence.world, agent=divergence.agent, step=divergence.step,
                                         stream=divergence.stream, purpose=divergence.purpose,
                                         position=divergence.position, description=divergence.description))

    def _on_step(self, event: Event) -> None:
        if not isinstance(event, StepEvent) or event.phase != "end" or not self.checkpoint_every:
            return
        self._steps_since_checkpoint += 1
        if self._steps_since_checkpoint >= self.checkpoint_every:
            self.checkpoint(label=f"auto: {event.world} step {event.step}")

    # ------------------------------------------------------------------ state

    def to_state(self) -> dict[str, Any]:
        """Everything a checkpoint holds: the random generator, every world (with its agents and
        their memories and clocks) and the tracked agents, as JSON-ready data."""
        version, internal, gauss = self.random.getstate()
        in_worlds = {a.name for w in self.worlds for a in w.agents}
        return {
            "format": STATE_FORMAT,
            "simulation": {"id": self.id, "seed": self.seed, "random_state": [version, list(internal), gauss]},
            "worlds": [w.to_state() for w in self.worlds],
            "agents": [a.to_state() for a in self._agents.values() if a.name not in in_worlds],
            "trace_events": self.trace_store.count,
        }

    def checkpoint(self, label: str | None = None) -> Checkpoint:
        """Write a checkpoint now (atomically: a crash mid-write leaves the previous one usable)."""
        if not self._active:
            raise SimulationError(f"simulation {self.id!r} is not running; call control.begin() first")
        with self._lock:
            start = time.perf_counter()
            state = self.to_state()
            step = max((w.current_step for w in self.worlds), default=None)
            self.trace_store.flush()  # events up to here are durable before the checkpoint names them
            cp = self.checkpoints.save(self.id, state, step=step, label=label)
            self._steps_since_checkpoint = 0
            self.last_checkpoint = cp
        self.bus.publish(CheckpointEvent(label=label, step=step, size_bytes=cp.json_bytes,
                                         duration_s=time.perf_counter() - start))
        return cp

    def restore(self, *objects: TinyWorld | TinyPerson, checkpoint: Checkpoint | None = None) -> Checkpoint:
        """Load a checkpoint (default: the latest) into worlds and agents with the same names.

        With no ``objects``, every world registered with this simulation whose name the checkpoint
        knows is restored. The simulation's random generator is restored too. Explicit on purpose:
        a re-run script rebuilds its worlds from the start and gets its answers from the cache.
        """
        cp = checkpoint if checkpoint is not None else self.checkpoints.latest(self.id)
        if cp is None:
            raise SimulationError(f"simulation {self.id!r} has no checkpoint in {str(self.path)!r}; "
                                  "call checkpoint() (or begin(auto_checkpoint=True)) first")
        state = cp.state
        worlds = {w["name"]: w for w in state.get("worlds", [])}
        agents = {a["name"]: a for a in state.get("agents", [])}
        for w in worlds.values():
            for a in w.get("agents", []):
                agents.setdefault(a["name"], a)
        targets = list(objects) if objects else [w for w in self.worlds if w.name in worlds]
        for obj in targets:
            if isinstance(obj, TinyWorld):
                if obj.name not in worlds:
                    raise SimulationError(f"checkpoint #{cp.id} has no world named {obj.name!r} "
                                          f"(it has: {', '.join(worlds) or 'none'})")
                obj.load_state(worlds[obj.name])
            elif isinstance(obj, TinyPerson):
                if obj.name not in agents:
                    raise SimulationError(f"checkpoint #{cp.id} has no agent named {obj.name!r}")
                resolve = obj.environment.get_agent_by_name if isinstance(obj.environment, TinyWorld) else None
                obj.load_state(agents[obj.name], resolve)
            else:
                raise TypeError(f"only worlds and agents can be restored, got {type(obj).__name__}")
        version, internal, gauss = state["simulation"]["random_state"]
        self.random.setstate((version, tuple(internal), gauss))
        return cp

    # ------------------------------------------------------------------ statistics and trace

    def _cache_wrapper(self) -> CacheWrapper:
        found = self.client.backend.find(CacheWrapper) if hasattr(self.client.backend, "find") else None
        assert isinstance(found, CacheWrapper)
        return found

    def cache_hits(self) -> int:
        """LLM calls answered from the cache in this run."""
        return self._cache_wrapper().hits

    def cache_misses(self) -> int:
        """LLM calls that reached the model in this run."""
        return self._cache_wrapper().misses

    def flush(self) -> None:
        """Commit the trace so far (checkpoints and :meth:`end` do this too)."""
        self.trace_store.flush()

    def trace(self) -> Trace:
        """A reader of this run's trace (committing it first while the simulation is active)."""
        if self._active:
            self.flush()
        return Trace(self.path, run_id=self.run_id)


# ---------------------------------------------------------------------- module-level control

_current: Simulation | None = None
_current_lock = threading.Lock()


def begin(path: str | Path | None = None, id: str = "default", seed: int | None = None, *,
          cache_path: str | Path | None = None, auto_checkpoint: bool | int = False,
          backend: Backend | None = None, settings: Settings | None = None, quiet: bool = False,
          **options: Any) -> Simulation:
    """Start a simulation (TinyTroupe's ``control.begin``; ``cache_path`` is accepted for ``path``).

    Only one simulation runs at a time in a process; :func:`end` or :func:`reset` the current one first.

    Example:
        >>> # control.begin("study.sqlite", seed=42); ...; control.end()
        >>> begin.__name__
        'begin'
    """
    global _current
    if path is not None and cache_path is not None and Path(path) != Path(cache_path):
        raise ValueError("give the run file as path= or cache_path=, not both")
    with _current_lock:
        if _current is not None and _current.active:
            raise SimulationError(
                f"simulation {_current.id!r} ({_current.path}) is still running; call control.end() to finish it "
                "or control.reset() to drop it before begin()")
        sim = Simulation(path if path is not None else cache_path, id, seed, auto_checkpoint=auto_checkpoint,
                         backend=backend, settings=settings, quiet=quiet, **options)
        sim.start()
        _current = sim
        return sim


def current_simulation() -> Simulation | None:
    """The running simulation, or None."""
    sim = _current
    return sim if sim is not None and sim.active else None


def _require() -> Simulation:
    sim = current_simulation()
    if sim is None:
        raise SimulationError("no simulation is running; call control.begin() first")
    return sim


def checkpoint(label: str | None = None) -> Checkpoint:
    """Checkpoint the running simulation."""
    return _require().checkpoint(label)


def end() -> None:
    """Checkpoint and finish the running simulation."""
    global _current
    sim = _require()
    try:
        sim.end()
    finally:
        _current = None


def reset() -> None:
    """Drop the running simulation, if any, without a final checkpoint."""
    global _current
    sim, _current = _current, None
    if sim is not None:
        sim.reset()


def cache_hits() -> int:
    """Cache hits of the running simulation."""
    return _require().cache_hits()


def cache_misses() -> int:
    """Cache misses of the running simulation."""
    return _require().cache_misses()


__all__ = ["Simulation", "begin", "cache_hits", "cache_misses", "checkpoint", "current_simulation",
           "default_path", "end", "reset"]
