"""The current scope: how a running simulation learns about the worlds created while it is active.

A low-layer hook so that ``environment`` (which must not import ``control``) can announce a new
world to whatever is listening. ``control.Simulation`` installs itself as the scope while it is
active; with no scope active, :func:`register` does nothing. There is no registry here: the scope
decides what to keep (weak references, so nothing leaks after a run).

Example:
    >>> seen = []
    >>> class Recorder:
    ...     def register(self, obj: object) -> None:
    ...         seen.append(obj)
    >>> token = enter(Recorder())
    >>> register("a world")
    >>> leave(token)
    >>> register("ignored")
    >>> seen
    ['a world']
"""

from __future__ import annotations

import threading
from typing import Protocol


class Scope(Protocol):
    """Something that wants to know about worlds (and other stateful objects) as they are created."""

    def register(self, obj: object) -> None: ...


_lock = threading.Lock()
_stack: list[tuple[int, Scope]] = []
_tokens = iter(range(1, 1 << 62))


def enter(scope: Scope) -> int:
    """Make ``scope`` current (process-wide: worlds are built on any thread); returns a token for :func:`leave`."""
    with _lock:
        token = next(_tokens)
        _stack.append((token, scope))
        return token


def leave(token: int) -> None:
    """Remove the scope entered with ``token`` (an unknown token is an error)."""
    with _lock:
        for i, (t, _) in enumerate(_stack):
            if t == token:
                del _stack[i]
                return
    raise KeyError(f"no active scope with token {token}")


def current() -> Scope | None:
    """The innermost active scope, or None."""
    with _lock:
        return _stack[-1][1] if _stack else None


def register(obj: object) -> None:
    """Tell the current scope (if any) about ``obj``."""
    scope = current()
    if scope is not None:
        scope.register(obj)


__all__ = ["Scope", "current", "enter", "leave", "register"]
