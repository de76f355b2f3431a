"""The client used by agents and worlds that were not given one.

It is built lazily from the configuration on first use (nothing happens at import), and can be
replaced, e.g. by a scripted client in tests or by ``tinytroupe run --backend``.

Example:
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> from tinytroupe.llm.default import set_default_client, get_default_client
    >>> previous = set_default_client(LLMClient(ScriptedBackend(["hi"])))
    >>> get_default_client().complete([{"role": "user", "content": "x"}]).value
    'hi'
    >>> _ = set_default_client(previous)
"""

from __future__ import annotations

from tinytroupe.config import current_settings
from tinytroupe.lazy import Lazy
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.factory import build_client

_client: Lazy[LLMClient] = Lazy(lambda: build_client(current_settings()))


def get_default_client() -> LLMClient:
    """The process's default client, built from :func:`tinytroupe.config.load_settings` on first use."""
    return _client.get()


def set_default_client(client: LLMClient | None) -> LLMClient | None:
    """Replace the default client (None: build again from configuration on next use); returns the old one."""
    return _client.set(client)


__all__ = ["get_default_client", "set_default_client"]
