"""The settings in force: the process's (loaded on first use) or a context's (:func:`using_settings`)."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from tinytroupe import scope
from tinytroupe.config.loader import load_settings
from tinytroupe.config.models import Settings
from tinytroupe.lazy import Lazy

_scoped: contextvars.ContextVar[Settings | None] = contextvars.ContextVar("tinytroupe_settings", default=None)
_process_settings: Lazy[Settings] = Lazy()


def current_settings() -> Settings:
    """The settings in force: those of the innermost :func:`using_settings`, else those of the run
    context in force (a running simulation's, with its seed: see :mod:`tinytroupe.context`), else the
    process's.

    The process's settings are loaded with :func:`load_settings` on first use (never at import) and
    can be replaced with :func:`set_settings`. Worlds and agents read their defaults from here when
    they are created.

    Example:
        >>> with using_settings(Settings(simulation={"max_actions_per_turn": 2})):
        ...     current_settings().simulation.max_actions_per_turn
        2
    """
    scoped = _scoped.get()
    if scoped is not None:
        return scoped
    for active in scope.active_scopes():
        # a running simulation's (or using_context's) run context: its settings, with its seed.
        # Duck-typed: tinytroupe.context builds on this module.
        settings = getattr(getattr(active, "context", None), "settings", None)
        if isinstance(settings, Settings):
            return settings
    return _process_settings.get(load_settings)


def set_settings(settings: Settings | None) -> Settings | None:
    """Replace the process's settings (None: load again on next use); returns the previous ones."""
    return _process_settings.set(settings)


@contextlib.contextmanager
def using_settings(settings: Settings) -> Iterator[Settings]:
    """Make ``settings`` current in this context (threads and tasks started inside inherit it)."""
    token = _scoped.set(settings)
    try:
        yield settings
    finally:
        _scoped.reset(token)

