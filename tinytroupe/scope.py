"""The current scope: how a running simulation learns about the worlds and agents created while it is active.

A low-layer hook so that ``environment`` and ``agent`` (which must not import ``control``) can announce
a new world or agent to whatever is listening. ``control.Simulation`` installs itself as the scope
while it is active; :func:`session` installs a plain :class:`Registry`. With no scope active, new
objects go to the *ambient* registry of the process.

Every registry keeps weak references only: an object nobody else holds disappears from it, so nothing
leaks after a run. :func:`find` and :func:`registered` are what TinyTroupe-style lookups by name
(``TinyPerson.get_agent_by_name``, ``TinyWorld.get_environment_by_name``) read:

* under a simulation: the worlds and agents created while it is active, and the agents of its worlds;
* inside :func:`session`: the objects created inside it;
* otherwise: the live objects created while no scope was active (the ambient registry).

Two live objects may share a name (agents of different worlds often do); a lookup returns the one
registered last.

Example:
    >>> seen = []
    >>> class Recorder:
    ...     def register(self, obj: object) -> None:
    ...         seen.append(obj)
    >>> token = enter(Recorder())
    >>> register("a world")
    >>> leave(token)
    >>> seen
    ['a world']
    >>> class Named:
    ...     def __init__(self, name: str) -> None:
    ...         self.name = name
    >>> with session():
    ...     ana = Named("Ana")
    ...     register(ana)
    ...     find(Named, "Ana") is ana
    True
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from tinytroupe.errors import NotFound

T = TypeVar("T")


class Scope(Protocol):
    """Something that wants to know about worlds (and other stateful objects) as they are created.

    A scope may also offer ``find(kind, name)`` and ``all(kind)`` (as :class:`Registry` and
    ``control.Simulation`` do); :func:`find` and :func:`registered` use them when present.
    """

    def register(self, obj: object) -> None: ...


class Registry:
    """A scope that remembers, by name, the objects registered with it (weak references only).

    Args:
        parent: a scope that is told about every object too (a :func:`session` opened under a
            running simulation still lets the simulation checkpoint what is created in it).

    Example:
        >>> class Named:
        ...     def __init__(self, name: str) -> None:
        ...         self.name = name
        >>> reg, ana = Registry(), Named("Ana")
        >>> reg.register(ana)
        >>> reg.find(Named, "Ana") is ana, reg.find(Named, "Ben")
        (True, None)
        >>> del ana
        >>> reg.all(Named)
        []
    """

    #: fewest registrations between two sweeps of dead references; a sweep also waits for as many
    #: registrations as there were live references after the last one, so sweeping costs O(1) each
    SWEEP_EVERY = 1024

    def __init__(self, parent: Scope | None = None) -> None:
        self.parent = parent
        self._lock = threading.Lock()
        self._order: list[weakref.ref[Any]] = []
        self._by_name: dict[str, list[weakref.ref[Any]]] = {}
        self._since_sweep = 0
        self._next_sweep = self.SWEEP_EVERY

    def register(self, obj: object) -> None:
        """Remember ``obj`` under its ``name`` (objects without a text name are only passed on)."""
        name = getattr(obj, "name", None)
        if isinstance(name, str):
            ref = weakref.ref(obj)
            with self._lock:
                self._order.append(ref)
                self._by_name.setdefault(name, []).append(ref)
                self._since_sweep += 1
                if self._since_sweep >= self._next_sweep:
                    self._sweep_locked()
        if self.parent is not None:
            self.parent.register(obj)

    def _sweep_locked(self) -> None:
        self._since_sweep = 0
        self._order = [r for r in self._order if r() is not None]
        self._next_sweep = max(self.SWEEP_EVERY, len(self._order))
        for name in list(self._by_name):
            live = [r for r in self._by_name[name] if r() is not None]
            if live:
                self._by_name[name] = live
            else:
                del self._by_name[name]

    def find(self, kind: type[T], name: str) -> T | None:
        """The live ``kind`` object registered last under ``name``, or None."""
        with self._lock:
            refs = list(self._by_name.get(name, ()))
        for ref in reversed(refs):
            obj = ref()
            # a renamed object is no longer found under its old name
            if isinstance(obj, kind) and getattr(obj, "name", None) == name:
                return obj
        return None

    def all(self, kind: type[T]) -> list[T]:
        """The live ``kind`` objects, in the order they were registered."""
        with self._lock:
            refs = list(self._order)
        return [obj for obj in (r() for r in refs) if isinstance(obj, kind)]


_lock = threading.Lock()
_stack: list[tuple[int, Scope]] = []
# The active scopes, innermost first, rebuilt when the stack changes: every agent's turn asks for
# them several times (its context, settings and client), and a tuple is read without the lock.
_active: tuple[Scope, ...] = ()
_tokens = iter(range(1, 1 << 62))
# Objects made outside any scope, for TinyTroupe-style lookups by name in plain scripts. Weak
# references only, so it holds nothing alive; compatibility shims are its only readers.
_ambient = Registry()


def enter(scope: Scope) -> int:
    """Make ``scope`` current (process-wide: worlds are built on any thread); returns a token for :func:`leave`."""
    with _lock:
        token = next(_tokens)
        _stack.append((token, scope))
        _rebuild_active()
        return token


def leave(token: int) -> None:
    """Remove the scope entered with ``token`` (an unknown token is an error)."""
    with _lock:
        for i, (t, _) in enumerate(_stack):
            if t == token:
                del _stack[i]
                _rebuild_active()
                return
    raise NotFound(f"no active scope with token {token}")


def current() -> Scope | None:
    """The innermost active scope, or None."""
    with _lock:
        return _stack[-1][1] if _stack else None


def _rebuild_active() -> None:
    global _active
    _active = tuple(s for _, s in reversed(_stack))


def active_scopes() -> tuple[Scope, ...]:
    """The active scopes, innermost first."""
    return _active


def register(obj: object) -> None:
    """Tell the current scope about ``obj`` (the ambient registry when no scope is active)."""
    scope = current()
    (scope if scope is not None else _ambient).register(obj)


def find(kind: type[T], name: str) -> T | None:
    """The ``kind`` object named ``name`` in the current scope (see the module docstring), or None."""
    scope = current()
    if scope is None:
        return _ambient.find(kind, name)
    finder = getattr(scope, "find", None)
    found = finder(kind, name) if finder is not None else None
    return found if isinstance(found, kind) else None


def registered(kind: type[T]) -> list[T]:
    """The live ``kind`` objects of the current scope (see the module docstring)."""
    scope = current()
    if scope is None:
        return _ambient.all(kind)
    lister = getattr(scope, "all", None)
    return [obj for obj in lister(kind) if isinstance(obj, kind)] if lister is not None else []


@contextmanager
def session() -> Iterator[Registry]:
    """A fresh registry scope: lookups by name inside see only what is created inside.

    Objects are still announced to the scope that was current before (a running simulation keeps
    checkpointing them).
    """
    registry = Registry(parent=current())
    token = enter(registry)
    try:
        yield registry
    finally:
        leave(token)


__all__ = ["Registry", "Scope", "active_scopes", "current", "enter", "find", "leave", "register", "registered",
           "session"]
