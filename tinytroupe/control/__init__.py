"""Simulation control: one run file per simulation holding its LLM cache, trace and checkpoints.

Layer: control (above environment). Re-running a script against the same file answers every LLM call
from the cache, reports the first request that differs from the recorded run and goes on live; after a
crash the next :func:`begin` resumes. See ``docs/control.md``.

* :mod:`~tinytroupe.control.simulation`: ``Simulation`` (seed, client, cache, trace, lifecycle), with
  its checkpoints in :mod:`~tinytroupe.control.checkpointing` and the worlds and agents it tracks in
  :mod:`~tinytroupe.control.scope_hooks`.
* :mod:`~tinytroupe.control.run_file`: ``default_path``, the last run's status and clock start,
  salvaging a damaged file, the start notice.
* :mod:`~tinytroupe.control.current`: TinyTroupe's module-level control: ``begin``, ``checkpoint``,
  ``end``, ``reset``, ``current_simulation``, ``cache_hits``, ``cache_misses``.
"""

from tinytroupe.control.current import (
    begin,
    cache_hits,
    cache_misses,
    checkpoint,
    current_simulation,
    end,
    reset,
)
from tinytroupe.control.run_file import default_path
from tinytroupe.control.simulation import Simulation

__all__ = ["Simulation", "begin", "cache_hits", "cache_misses", "checkpoint", "current_simulation",
           "default_path", "end", "reset"]
