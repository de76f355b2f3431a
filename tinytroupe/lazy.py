"""Values made on first use: one per process (:class:`Lazy`) or one per running event loop (:class:`PerLoop`).

Importing tinytroupe must open, load and start nothing, so process-wide things (the settings, the
default client, a shared model, a worker pool, a template environment) are made when first asked
for, once, under a lock. Asyncio objects (locks, semaphores, pooled HTTP clients, in-flight tables)
belong to the loop they were made on, so objects used from several loops keep one per loop.

Example:
    >>> made = []
    >>> @Lazy
    ... def answer() -> int:
    ...     made.append(1)
    ...     return 42
    >>> answer(), answer(), len(made)
    (42, 42, 1)
    >>> import asyncio
    >>> locks = PerLoop(asyncio.Lock)
    >>> async def same() -> bool:
    ...     return locks.get() is locks.get()
    >>> asyncio.run(same())
    True
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from tinytroupe.errors import InvalidState

T = TypeVar("T")


class Lazy(Generic[T]):
    """A process-wide value made by ``factory`` on first use, once, even when threads race for it.

    Call it (or :meth:`get`) for the value; :meth:`set` replaces it (None: make it again on next use).
    With ``per_process=True`` a forked child (multiprocessing, Ray workers) makes its own instead of
    using the parent's copy, whose threads or connections did not survive the fork. It also works as
    a decorator on a factory function.

    Example:
        >>> settings = Lazy(lambda: {"model": "m"})
        >>> settings()["model"]
        'm'
        >>> settings.set({"model": "other"})["model"]
        'm'
        >>> settings.get()["model"]
        'other'
    """

    def __init__(self, factory: Callable[[], T] | None = None, *, per_process: bool = False) -> None:
        self._factory = factory
        self._per_process = per_process
        self._value: T | None = None
        self._pid = 0
        # Reentrant: a factory may read another Lazy that reads this module's state.
        self._lock = threading.RLock()

    def get(self, factory: Callable[[], T] | None = None) -> T:
        """The value, made now by ``factory`` (or the one given at construction) when there is none."""
        with self._lock:
            if self._value is None or (self._per_process and self._pid != os.getpid()):
                make = factory or self._factory
                if make is None:
                    raise InvalidState("Lazy.get() needs a factory: none was given at construction")
                self._value = make()
                self._pid = os.getpid()
            return self._value

    __call__ = get

    def peek(self) -> T | None:
        """The value if it was made (in this process, when ``per_process``), else None; makes nothing."""
        with self._lock:
            if self._per_process and self._pid != os.getpid():
                return None
            return self._value

    def set(self, value: T | None) -> T | None:
        """Replace the value (None: make it again on next use); returns the previous one."""
        with self._lock:
            previous, self._value, self._pid = self._value, value, os.getpid()
            return previous


class PerLoop(Generic[T]):
    """One value per running event loop, made by ``factory`` on first use on that loop.

    Loops are held weakly: a closed and dropped loop takes its value with it. Safe to use from
    several threads, each running its own loop.

    Example:
        >>> import asyncio
        >>> tables = PerLoop(dict)
        >>> async def put() -> int:
        ...     tables.get()["k"] = 1
        ...     return len(tables.get())
        >>> asyncio.run(put())
        1
    """

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._values: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        # The loop last asked for (weakly) and its value: callers ask several times per agent turn, nearly
        # always on the same loop, and the dictionary lookup makes a weak reference and takes the lock
        # each time. Only the loop's own thread gets or pops its value, so a hit here is never stale;
        # pop clears it, and the loop's death does (its value is not kept past the loop).
        self._last: tuple[weakref.ref[asyncio.AbstractEventLoop], T] | None = None

    def get(self) -> T:
        """The running loop's value (made now if it has none). Must be called from a coroutine."""
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last[0]() is loop:
            return last[1]
        with self._lock:
            value = self._values.get(loop)
            if value is None:
                value = self._values[loop] = self._factory()
            if value is not None:  # a factory's None is made again on each get, as the dictionary does
                # the callback holds this object weakly: a bound method would make a reference cycle
                self._last = (weakref.ref(loop, functools.partial(_forget_loop, weakref.ref(self))), value)
            return value

    def pop(self) -> T | None:
        """Remove and return the running loop's value, or None if it has none."""
        loop = asyncio.get_running_loop()
        with self._lock:
            self._last = None
            return self._values.pop(loop, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)


def _forget_loop(owner: weakref.ref[PerLoop[Any]], dead: weakref.ref[asyncio.AbstractEventLoop]) -> None:
    per_loop = owner()
    last = per_loop._last if per_loop is not None else None
    if per_loop is not None and last is not None and last[0] is dead:
        per_loop._last = None


__all__ = ["Lazy", "PerLoop"]
