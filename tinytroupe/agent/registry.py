"""TinyTroupe's agent registry (``TinyPerson.get_agent_by_name``, ``add_agent``, ``clear_agents`` ...),
read from the current scope instead of a class-level dictionary.

Agents register with the current scope when they are created (see :mod:`tinytroupe.scope`). This
module adds what TinyTroupe's dictionary also allowed: *clearing* it. A scope's registry holds weak
references and cannot be emptied from here, so :func:`clear` hides the agents the current scope
knows now; they come back only through :func:`add`. What is hidden is remembered per scope (a
weak map from the scope to a weak set of agents), so clearing under one simulation or
``scope.session()`` never touches another scope's lookups, and nothing is kept alive.

Example:
    >>> from tinytroupe import scope
    >>> from tinytroupe.agent import TinyPerson
    >>> with scope.session():
    ...     lisa = TinyPerson("Lisa")
    ...     _ = clear()
    ...     hidden = find("Lisa")
    ...     add(lisa)
    ...     hidden, find("Lisa") is lisa
    (None, True)
"""

from __future__ import annotations

import threading
import weakref

from tinytroupe import scope
from tinytroupe.agent.person_core import PersonCore


class _Ambient:
    """Stands for "no scope active" as a key of the weak map (the ambient registry has no object here)."""


_AMBIENT = _Ambient()
_lock = threading.Lock()
_hidden: weakref.WeakKeyDictionary[object, weakref.WeakSet[PersonCore]] = weakref.WeakKeyDictionary()


def _key() -> object:
    current = scope.current()
    return current if current is not None else _AMBIENT


def _hidden_now() -> weakref.WeakSet[PersonCore] | None:
    with _lock:
        return _hidden.get(_key())


def agents() -> list[PersonCore]:
    """The live agents of the current scope that were not cleared, in the order they were registered."""
    hidden = _hidden_now()
    seen: set[int] = set()
    out = []
    # An agent added in a nested session is announced to the outer scope again: list it once.
    for agent in scope.registered(PersonCore):
        if id(agent) not in seen and not (hidden and agent in hidden):
            seen.add(id(agent))
            out.append(agent)
    return out


def find(name: str) -> PersonCore | None:
    """The newest live, not cleared agent called ``name`` in the current scope, or None."""
    found = scope.find(PersonCore, name)
    hidden = _hidden_now()
    if found is None or not hidden or found not in hidden:
        return found
    # The newest of that name was cleared: an older one may still be visible (rare, so a scan).
    for agent in reversed(scope.registered(PersonCore)):
        if agent.name == name and agent not in hidden:
            return agent
    return None


def add(agent: PersonCore) -> None:
    """Make ``agent`` findable in the current scope (again, after :func:`clear`)."""
    with _lock:
        hidden = _hidden.get(_key())
        if hidden is not None:
            hidden.discard(agent)
    if not any(a is agent for a in scope.registered(PersonCore)):
        scope.register(agent)


def clear() -> int:
    """Hide every agent of the current scope from lookups; returns how many were hidden.

    Agents created afterwards are found as usual. Other scopes (another simulation, another
    ``scope.session()``, the ambient registry) are not affected.
    """
    found = scope.registered(PersonCore)
    with _lock:
        key = _key()
        hidden = _hidden.get(key)
        if hidden is None:
            hidden = _hidden[key] = weakref.WeakSet()
        new = [a for a in found if a not in hidden]
        for agent in new:
            hidden.add(agent)
    return len(new)


__all__ = ["add", "agents", "clear", "find"]
