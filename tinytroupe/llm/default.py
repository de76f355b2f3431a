"""The client used by agents and worlds that were given none and run outside a simulation.

The *process default* is built lazily from the configuration on first use (nothing happens at
import) and can be replaced, e.g. by a scripted client in tests or by ``tinytroupe run --backend``.
Worlds and agents read their client from their :class:`~tinytroupe.context.RunContext`;
:func:`get_default_client` is the compatibility path for code that asks for "the" client: the
running simulation's (or :func:`~tinytroupe.context.using_context`'s) when there is one.

Example:
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> from tinytroupe.llm.default import set_default_client, get_default_client
    >>> previous = set_default_client(LLMClient(ScriptedBackend(["hi"])))
    >>> get_default_client().complete([{"role": "user", "content": "x"}]).value
    'hi'
    >>> _ = set_default_client(previous)
"""

from __future__ import annotations

from tinytroupe import scope
from tinytroupe.config import current_settings
from tinytroupe.lazy import Lazy
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.factory import build_client

_client: Lazy[LLMClient] = Lazy(lambda: build_client(current_settings()))


def process_default_client() -> LLMClient:
    """The process's default client, built from :func:`tinytroupe.config.load_settings` on first use."""
    return _client.get()


def get_default_client() -> LLMClient:
    """The client in force: the active run context's (a running simulation's), else the process default."""
    for active in scope.active_scopes():
        # duck-typed: tinytroupe.context builds on this module, so it cannot be imported here
        client = getattr(getattr(active, "context", None), "client", None)
        if isinstance(client, LLMClient):
            return client
    return _client.get()


def set_default_client(client: LLMClient | None) -> LLMClient | None:
    """Replace the process default client (None: build again from configuration on next use); returns the old one.

    A running simulation's client still wins inside it (see :func:`get_default_client`).
    """
    return _client.set(client)


__all__ = ["get_default_client", "process_default_client", "set_default_client"]
