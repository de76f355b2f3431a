"""A simulation: one run file holding its LLM cache, trace and checkpoints, and the client that uses them.

A :class:`Simulation` owns the seed and random generator, the
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
import sys
import threading
import weakref
from datetime import datetime
from pathlib import Path

from tinytroupe import gc_freeze, scope
from tinytroupe.agent.person import TinyPerson
from tinytroupe.config import Settings, current_settings
from tinytroupe.context import RunContext
from tinytroupe.control.checkpointing import SimulationCheckpoints
from tinytroupe.control.run_file import (
    clock_start,
    default_path,
    previous_run_status,
    salvage_if_damaged,
    start_notice,
)
from tinytroupe.control.scope_hooks import SimulationScope
from tinytroupe.environment.world import TinyWorld
from tinytroupe.errors import BudgetExceeded, InvalidArgument, SimulationError
from tinytroupe.events import DivergenceEvent, Event, EventBus
from tinytroupe.llm.backend import Backend, BackendWrapper
from tinytroupe.llm.batch import BatchWrapper
from tinytroupe.llm.budget import Budget
from tinytroupe.llm.cache import CacheWrapper, ResponseCache
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.factory import build_backend, settings_budget, settings_prices, wrap_backend
from tinytroupe.llm.prices import PriceTable
from tinytroupe.llm.replay import Divergence, ReplayRecorder
from tinytroupe.storage.batches import BatchStore
from tinytroupe.storage.call_log import CallLog
from tinytroupe.storage.checkpoints import DEFAULT_KEEP, Checkpoint, CheckpointStore
from tinytroupe.storage.document_chunks import DocumentTables
from tinytroupe.storage.knowledge_graphs import KnowledgeGraphRows
from tinytroupe.storage.mailboxes import MailStore
from tinytroupe.storage.market_ledger import MarketLedger
from tinytroupe.storage.memory_segments import MemorySegmentStore
from tinytroupe.storage.salvage import SalvageReport
from tinytroupe.storage.trace_store import Trace, TraceStore
from tinytroupe.storage.writer import BatchWriter

# One logger for the whole simulation control (tinytroupe.control), as before it became a package.
logger = logging.getLogger("tinytroupe.control")


class Simulation(SimulationScope, SimulationCheckpoints):
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
        budget: the most the run may spend (default: the settings' ``[Budget]``); a call that could pass
            it is refused with :class:`~tinytroupe.errors.BudgetExceeded`, and leaving the ``with``
            block on that error checkpoints and closes the run file as a normal end does (status
            ``budget_exceeded``) before the error propagates.
        prices: the price table for a cost budget (default: the settings' ``[Budget] PRICES_FILE`` over
            the built-in table).

    Raises:
        InvalidArgument: ``auto_checkpoint`` is neither a bool nor a number of steps >= 0.

    Example:
        >>> Simulation("x.sqlite", quiet=True).path.name
        'x.sqlite'
    """

    def __init__(self, path: str | Path | None = None, id: str = "default", seed: int | None = None, *,
                 auto_checkpoint: bool | int = False, backend: Backend | None = None,
                 settings: Settings | None = None, cache_max_entries: int | None = None,
                 cache_max_bytes: int | None = None, keep_checkpoints: int = DEFAULT_KEEP,
                 quiet: bool = False, budget: Budget | None = None, prices: PriceTable | None = None) -> None:
        if isinstance(auto_checkpoint, bool):
            every = 1 if auto_checkpoint else 0
        elif isinstance(auto_checkpoint, int) and auto_checkpoint >= 0:
            every = auto_checkpoint
        else:
            raise InvalidArgument("auto_checkpoint must be True, False or a number of steps >= 0, got "
                                  f"{auto_checkpoint!r}")
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
        self.budget = budget
        self.prices = prices
        self._cache_max_entries = cache_max_entries
        self._cache_max_bytes = cache_max_bytes
        self.bus = EventBus()
        self.divergences: list[Divergence] = []
        self.resumed = False
        self.resumed_from: Checkpoint | None = None
        self.previous_status: str | None = None
        self.last_checkpoint: Checkpoint | None = None
        #: when the run file was found damaged at start: where it was moved and what was copied back
        self.salvaged: SalvageReport | None = None
        #: the default start of the clock of worlds created without ``initial_datetime`` while this
        #: simulation is active: recorded in the run file at the first run, reused by every re-run
        self.clock_start: datetime | None = None
        #: whether :attr:`clock_start` came from an earlier run (False: recorded by this one)
        self.clock_start_recorded = False
        self.run_id: int | None = None
        self._worlds: weakref.WeakValueDictionary[str, TinyWorld] = weakref.WeakValueDictionary()
        self._agents: weakref.WeakValueDictionary[str, TinyPerson] = weakref.WeakValueDictionary()
        self._steps_since_checkpoint = 0
        self._active = False
        self._lock = threading.RLock()
        self._scope_token: int | None = None
        #: what the run's worlds and agents share while it runs (None before :meth:`start`)
        self.context: RunContext | None = None
        self._client: LLMClient | None = None
        #: the run file's record of provider batches (see :mod:`tinytroupe.llm.batch`), when the backend has them
        self.batch_store: BatchStore | None = None

    def __repr__(self) -> str:
        state = "active" if self._active else "inactive"
        return f"Simulation(id={self.id!r}, path={str(self.path.resolve())!r}, {state})"

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Simulation:
        """Open the run file, install the client and start tracing (``begin`` calls this).

        A damaged run file is moved aside and what is intact copied into a fresh one first
        (:attr:`salvaged` says what); checkpoints are not decoded here.

        Raises:
            SimulationError: the simulation is already running.
            StorageError: the run file cannot be opened or written (``cause_kind``: ``"disk_full"``,
                ``"read_only"``, ``"locked"``, ``"corrupt"``), or a damaged one cannot be moved aside.
        """
        if self._active:
            raise SimulationError(f"simulation {self.id!r} is already running")
        settings = self._settings if self._settings is not None else current_settings()
        self.salvaged = salvage_if_damaged(self.path)
        before = previous_run_status(self.path, self.id)
        self.writer = BatchWriter(self.path, name=f"tinytroupe-trace-{self.id}")
        try:
            self.clock_start, self.clock_start_recorded = clock_start(self.path, self.id)
            self.checkpoints = CheckpointStore(self.path, keep=self.keep_checkpoints)
            self.call_log = CallLog(self.path, self.writer)
            self.trace_store = TraceStore(self.path, writer=self.writer)
            self._open_stores()
            self.resumed_from = self.checkpoints.latest(self.id)
            self.previous_status = before
            self.resumed = before == "running"
            o = settings.openai
            self.cache = ResponseCache(
                self.path, max_entries=self._cache_max_entries or o.cache_max_entries,
                max_bytes=self._cache_max_bytes or o.cache_max_bytes)
            cached = len(self.cache)
            recorder = self._recorder(settings)
            self._client = LLMClient(recorder, bus=self.bus, max_reasks=o.max_reasks)
            self.run_id = self.trace_store.start_run(self.id, note="resumed" if self.resumed else None)
        except BaseException:
            self.writer.close()
            raise
        self.bus.subscribe(self.trace_store)
        self.bus.subscribe(self._on_step, kinds=["step"])
        if self.seed is not None:
            settings = settings.model_copy(
                update={"simulation": settings.simulation.model_copy(update={"seed": self.seed})})
        # What the run's worlds and agents share; found through the scope while the simulation runs
        # (tinytroupe.context.current_context), never installed as the process's default.
        self.context = RunContext(client=self._client, bus=self.bus, settings=settings,
                                  seed=settings.simulation.seed, clock_start=self.clock_start, simulation_id=self.id,
                                  memory_store=self.memory_store, mail_store=self.mail_store,
                                  market_ledger=self.market_ledger, knowledge_graphs=self.knowledge_graphs,
                                  document_tables=self.document_tables)
        self._scope_token = scope.enter(self)
        self._active = True
        self._gc_held = settings.simulation.freeze_gc
        if self._gc_held:
            gc_freeze.hold()
        self._announce(cached, recorded=sum(len(v) for v in recorder.recorded.values()))
        return self

    def _open_stores(self) -> None:
        """The run file's tables agents, tools and worlds keep things in (reached through the context)."""
        self.memory_store = MemorySegmentStore(self.path, self.id, writer=self.writer)  # the cold memory tier
        self.mail_store = MailStore(self.path, self.id)  # TinyEmail's mailboxes
        self.market_ledger = MarketLedger(self.path, self.id, writer=self.writer)  # marketplaces' trades
        self.knowledge_graphs = KnowledgeGraphRows(self.path, self.id, writer=self.writer)  # grounding graphs
        self.document_tables = DocumentTables(self.path, self.id)  # document stores' chunks and vectors

    def _recorder(self, settings: Settings) -> ReplayRecorder:
        """The run's backend chain (limits, retries, the run file's cache, batches) under the replay recorder."""
        chain = self._build_chain(settings)
        self._attach_batch_store(chain)
        recorder = ReplayRecorder(chain, self.call_log, self.id, on_divergence=self._on_divergence)
        cache_wrapper = recorder.find(CacheWrapper)
        if cache_wrapper is not None and recorder.recorded:
            # a re-run asks for the recorded calls in order: read their answers in one query
            cache_wrapper.prefetch(recorder.recorded_keys())
        return recorder

    def _build_chain(self, settings: Settings) -> Backend:
        # The usual limits and retries, without the settings' own cache: ours lives in the run file.
        plain = settings.model_copy(update={"openai": settings.openai.model_copy(update={"cache_api_calls": False})})
        base = self._backend if self._backend is not None else build_backend(settings)
        budget = self.budget if self.budget is not None else settings_budget(settings)
        prices = self.prices if self.prices is not None else settings_prices(settings)
        return CacheWrapper(wrap_backend(base, plain, budget=budget, prices=prices), self.cache)

    def _attach_batch_store(self, chain: Backend) -> None:
        """Record provider batches in the run file, so a killed run's re-run polls them instead of paying again."""
        found = chain.find(BatchWrapper) if isinstance(chain, BackendWrapper) else None
        if isinstance(found, BatchWrapper) and found.store is None:
            self.batch_store = BatchStore(self.path, self.id)
            found.store = self.batch_store

    def _announce(self, cached: int, recorded: int) -> None:
        where = str(self.path.resolve())
        what = start_notice(self, cached, recorded)
        logger.info("simulation %r: %s (%s)", self.id, where, what)
        if not self.quiet:
            print(f"tinytroupe: simulation {self.id!r} -> {where} ({what})", file=sys.stderr)

    def end(self) -> None:
        """Checkpoint, commit the trace, mark the run ended and close the file.

        Raises:
            SimulationError: the simulation is not running.
            StorageError: the final checkpoint or the trace could not be written (the file is closed anyway).
        """
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
        if getattr(self, "_gc_held", False):
            self._gc_held = False
            gc_freeze.release()
        if self._scope_token is not None:
            scope.leave(self._scope_token)
            self._scope_token = None
        try:
            if self._client is not None:
                self._client.close()  # closes the cache (flushing LRU touches) and the backend
        finally:
            try:
                self.trace_store.end_run(status)
            finally:
                self.memory_store.close()  # no more spills; what was queued is committed by the writer
                self.mail_store.close()
                self.market_ledger.close()
                self.knowledge_graphs.close()
                self.document_tables.close()
                self.writer.close()
                self.checkpoints.close()
                if self.batch_store is not None:
                    self.batch_store.close()

    def __enter__(self) -> Simulation:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if not self._active:
            return
        if exc_type is None:
            self.end()
        elif isinstance(exc, BudgetExceeded):
            # A clean stop, not a crash: keep everything so far as a normal end would (the error still propagates).
            try:
                self.checkpoint(label="budget")
            finally:
                self._stop("budget_exceeded")
        else:
            self._stop("failed")

    # ------------------------------------------------------------------ scope and events

    @property
    def active(self) -> bool:
        return self._active

    @property
    def client(self) -> LLMClient:
        """The simulation's LLM client (the default client while it is active).

        Raises:
            SimulationError: the simulation has not started.
        """
        if self._client is None:
            raise SimulationError(f"simulation {self.id!r} has not started; call start() or control.begin()")
        return self._client

    def publish(self, event: Event) -> None:
        """Publish an event on the simulation's bus (and so into its trace)."""
        self.bus.publish(event)

    def _on_divergence(self, divergence: Divergence) -> None:
        self.divergences.append(divergence)
        self.bus.publish(DivergenceEvent(world=divergence.world, agent=divergence.agent, step=divergence.step,
                                         stream=divergence.stream, purpose=divergence.purpose,
                                         position=divergence.position, description=divergence.description))

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


__all__ = ["Simulation"]
