"""Keeping Python's cyclic garbage collector off the objects that were there before a run started.

A world of a hundred agents holds a couple of hundred thousand tracked objects (personas, memories,
pydantic models, templates). Python's oldest-generation collection walks all of them, and during a
run it fires every few hundred turns: measured on the two-core development machine, one such pass
took 0.1 s of a 0.41 s four-step survey, a quarter of the client's CPU. Objects made before the run
are not garbage the run will free, so while a run is in progress (a world's ``run``, or a whole
simulation from ``control.begin`` to ``end``) they are moved to the collector's permanent generation
(:func:`gc.freeze`) and given back when the last concurrent run ends (:func:`gc.unfreeze`); garbage
made during the run is collected as usual, but less often: the youngest generation's threshold is
raised to :data:`RUN_GEN0_THRESHOLD` allocations while a run holds the freeze (most of a turn's
objects are freed by reference counting before a collection would look at them; at the default 700
a replayed turn spent about 37 µs in the collector, ~8 % of its CPU), and put back afterwards.

This touches process-wide collector state, so it is scoped (nested and concurrent runs share one
freeze, counted) and can be turned off with ``[Simulation] FREEZE_GC = false``.

Example:
    >>> import gc
    >>> before, thresholds = gc.get_freeze_count(), gc.get_threshold()
    >>> with frozen_gc():
    ...     during = gc.get_freeze_count()
    ...     raised = gc.get_threshold()[0] >= RUN_GEN0_THRESHOLD
    >>> during >= before, gc.get_freeze_count() == before, raised, gc.get_threshold() == thresholds
    (True, True, True, True)
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: the youngest generation's collection threshold while a run holds the freeze (Python's default: 700)
RUN_GEN0_THRESHOLD = 20_000

_lock = threading.Lock()
_holders = 0
_froze = False
_thresholds: tuple[int, int, int] | None = None


def hold() -> None:
    """Freeze the objects tracked now, until the matching :func:`release` (holds are counted)."""
    global _holders, _froze, _thresholds
    with _lock:
        _holders += 1
        if _holders == 1:
            # Someone else froze objects on purpose (a forking server does): leave their freeze alone.
            _froze = gc.get_freeze_count() == 0
            if _froze:
                gc.freeze()
            _thresholds = gc.get_threshold()
            if 0 < _thresholds[0] < RUN_GEN0_THRESHOLD:  # 0: automatic collection is off; left off
                gc.set_threshold(RUN_GEN0_THRESHOLD, *_thresholds[1:])


def release() -> None:
    """End one :func:`hold`; the last one gives the objects back to the collector."""
    global _holders, _froze, _thresholds
    with _lock:
        if _holders == 0:
            return
        _holders -= 1
        if _holders == 0:
            if _froze:
                gc.unfreeze()
                _froze = False
            if _thresholds is not None:
                gc.set_threshold(*_thresholds)
                _thresholds = None


@contextmanager
def frozen_gc(enabled: bool = True) -> Iterator[None]:
    """Freeze the objects tracked now for the duration of the block (a no-op when not ``enabled``)."""
    if not enabled:
        yield
        return
    hold()
    try:
        yield
    finally:
        release()


__all__ = ["frozen_gc", "hold", "release"]
