"""A persistent, bounded response cache in SQLite (:mod:`.store`), and the backend wrapper that uses it
(:mod:`.wrapper`).

:class:`ResponseCache` stores one :class:`~tinytroupe.llm.types.Completion` (as JSON, never
pickle) per request key, evicts the least recently used entries when it holds too many entries or
too many bytes, and survives restarts. :class:`CacheWrapper` puts it in front of any backend: a hit
never reaches the model, a miss is stored after it succeeded, and identical requests in flight at
the same time pay only once.

Example:
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> backend = ScriptedBackend(["hello"])
    >>> client = LLMClient(CacheWrapper(backend, ResponseCache(":memory:")))
    >>> [client.complete([{"role": "user", "content": "hi"}]).cached for _ in range(2)]
    [False, True]
    >>> backend.calls
    1
"""

from tinytroupe.llm.cache.store import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ENTRIES,
    SCHEMA_VERSION,
    TOUCH_FLUSH_EVERY,
    ResponseCache,
)
from tinytroupe.llm.cache.wrapper import MAX_UNSAVED, CacheWrapper

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_ENTRIES", "MAX_UNSAVED", "SCHEMA_VERSION", "TOUCH_FLUSH_EVERY",
           "CacheWrapper", "ResponseCache"]
