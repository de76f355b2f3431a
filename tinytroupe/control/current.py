"""The running simulation of the process, as TinyTroupe's ``control`` module has it: :func:`begin`,
:func:`checkpoint`, :func:`end`, :func:`reset`, :func:`current_simulation`, :func:`cache_hits`,
:func:`cache_misses`. One simulation runs at a time.

The running simulation is the one on the scope stack (:mod:`tinytroupe.scope`), where it also lends
its run context to the worlds and agents created while it runs; no other record of it is kept.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from tinytroupe import scope
from tinytroupe.config import Settings
from tinytroupe.control.simulation import Simulation
from tinytroupe.errors import InvalidArgument, SimulationError
from tinytroupe.llm.backend import Backend
from tinytroupe.storage.checkpoints import Checkpoint

# begin() checks that none runs and starts one as one step
_begin_lock = threading.Lock()


def begin(path: str | Path | None = None, id: str = "default", seed: int | None = None, *,
          cache_path: str | Path | None = None, auto_checkpoint: bool | int = False,
          backend: Backend | None = None, settings: Settings | None = None, quiet: bool = False,
          **options: Any) -> Simulation:
    """Start a simulation (TinyTroupe's ``control.begin``; ``cache_path`` is accepted for ``path``).

    Only one simulation runs at a time in a process; :func:`end` or :func:`reset` the current one first.

    Raises:
        InvalidArgument: ``path`` and ``cache_path`` name different files, or ``auto_checkpoint`` is
            not allowed.
        SimulationError: another simulation is still running.
        StorageError: the run file cannot be opened or written (see :meth:`Simulation.start`).
        ConfigError: the run file was written by a newer tinytroupe.

    Example (the same run twice: the second is answered from the run file's cache):
        >>> import os, tempfile
        >>> from tinytroupe import TinyPerson
        >>> from tinytroupe.llm.demo import demo_backend
        >>> path = os.path.join(tempfile.mkdtemp(), "study.sqlite")
        >>> for attempt in range(2):
        ...     _ = begin(path, seed=42, backend=demo_backend(seed=42), quiet=True)
        ...     _ = TinyPerson("Ana").listen_and_act("Hi Ana!")
        ...     print(cache_hits(), cache_misses())
        ...     end()
        0 1
        1 0
    """
    if path is not None and cache_path is not None and Path(path) != Path(cache_path):
        raise InvalidArgument("give the run file as path= or cache_path=, not both")
    with _begin_lock:
        running = current_simulation()
        if running is not None:
            raise SimulationError(
                f"simulation {running.id!r} ({running.path}) is still running; call control.end() to finish it "
                "or control.reset() to drop it before begin()")
        sim = Simulation(path if path is not None else cache_path, id, seed, auto_checkpoint=auto_checkpoint,
                         backend=backend, settings=settings, quiet=quiet, **options)
        return sim.start()


def current_simulation() -> Simulation | None:
    """The running simulation (the innermost, should one be started inside another), or None."""
    for active in scope.active_scopes():
        if isinstance(active, Simulation) and active.active:
            return active
    return None


def _require() -> Simulation:
    sim = current_simulation()
    if sim is None:
        raise SimulationError("no simulation is running; call control.begin() first")
    return sim


def checkpoint(label: str | None = None) -> Checkpoint:
    """Checkpoint the running simulation.

    Raises:
        SimulationError: no simulation is running.
        StorageError: the run file cannot be written.
    """
    return _require().checkpoint(label)


def end() -> None:
    """Checkpoint and finish the running simulation.

    Raises:
        SimulationError: no simulation is running.
        StorageError: the final checkpoint or the trace could not be written (the run is finished anyway).
    """
    _require().end()


def reset() -> None:
    """Drop the running simulation, if any, without a final checkpoint."""
    sim = current_simulation()
    if sim is not None:
        sim.reset()


def cache_hits() -> int:
    """Cache hits of the running simulation.

    Raises:
        SimulationError: no simulation is running.
    """
    return _require().cache_hits()


def cache_misses() -> int:
    """Cache misses of the running simulation.

    Raises:
        SimulationError: no simulation is running.
    """
    return _require().cache_misses()


__all__ = ["begin", "cache_hits", "cache_misses", "checkpoint", "current_simulation", "end", "reset"]
