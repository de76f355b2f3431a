"""What an OpenAI-compatible backend found its server to refuse, kept in the run file for the next run.

A server that refuses a structured-output form or the logprobs fields says so once per backend
(:mod:`tinytroupe.llm.openai_backend`); from then on the backend asks the way that works. A new run
(the re-run of a killed batch study, say) starts knowing nothing and would find out again: live, that
costs one refused call; in batch mode, a whole round (every line refused, then sent again), which may
wait for hours in the provider's queue. So :class:`~tinytroupe.llm.batch.BatchWrapper` keeps what its
backend learned in the run file's batch records (:class:`~tinytroupe.storage.batches.BatchStore`) and
adopts what an earlier run kept there before its first batch.

Facts only ever narrow what is asked (a form further down ``auto``'s fallback order, no logprobs), as
within one run; a form the user chose explicitly is never changed. Facts that cannot be read or kept
(a damaged row, a full disk) cost at most that one refused round, never the run: they are logged once.

Example:
    >>> from tinytroupe.llm.openai_backend import OpenAIBackend
    >>> backend = OpenAIBackend(model="m", base_url="http://127.0.0.1:9/v1", api_key="k")
    >>> adopt(backend, ServerFacts(structured_mode="json_object", gives_logprobs=False))
    >>> backend.structured_mode, backend.gives_logprobs, learned(backend).structured_mode
    ('json_object', False, 'json_object')
"""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from tinytroupe.errors import ConfigError, StorageError
from tinytroupe.llm.openai_backend import FALLBACK_ORDER, OpenAIBackend

if TYPE_CHECKING:
    from tinytroupe.storage.batches import BatchStore

logger = logging.getLogger(__name__)


class ServerFacts(BaseModel):
    """What a server was found to accept: the structured-output form ``auto`` landed on (None: the first,
    nothing refused) and whether it gives logprobs (None: not known yet)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    structured_mode: Literal["json_schema", "json_object", "tools", "prompt"] | None = None
    gives_logprobs: bool | None = None


def server_key(backend: OpenAIBackend) -> str:
    """The server a backend's facts belong to: its identity (protocol, service, model, URL) as JSON."""
    return json.dumps(backend.identity(), sort_keys=True)


def learned(backend: OpenAIBackend) -> ServerFacts:
    """What ``backend`` has found out so far."""
    mode = backend._auto_mode
    return ServerFacts(structured_mode=mode if mode != FALLBACK_ORDER[0] else None,
                       gives_logprobs=backend._logprobs)


def adopt(backend: OpenAIBackend, facts: ServerFacts) -> None:
    """Let ``backend`` start from ``facts``: a form further down the fallback order than its own (only in
    ``auto``), and whether logprobs are given, where it does not know that yet."""
    if facts.structured_mode is not None and backend.structured_output == "auto":
        with backend._lock:
            if FALLBACK_ORDER.index(facts.structured_mode) > FALLBACK_ORDER.index(backend._auto_mode):
                backend._auto_mode = facts.structured_mode
    if backend._logprobs is None and facts.gives_logprobs is not None:
        backend._logprobs = facts.gives_logprobs


class FactKeeper:
    """Reads a server's facts from a run file once, and writes them back whenever they change.

    One per :class:`~tinytroupe.llm.batch.BatchWrapper`; the store is passed on each call because a
    simulation sets the wrapper's store after the wrapper is built.
    """

    def __init__(self) -> None:
        self._restored = False
        self._kept: ServerFacts | None = None
        self._failed = False

    def restore(self, store: BatchStore, backend: OpenAIBackend) -> None:
        """Adopt what an earlier run kept for ``backend``'s server (the first time only)."""
        if self._restored:
            return
        self._restored = True
        try:
            text = store.server_facts(server_key(backend))
            if text is None:
                return
            facts = ServerFacts.model_validate_json(text)
        except (StorageError, ConfigError, sqlite3.Error, ValidationError) as exc:
            self._warn(store, "read", exc)
            return
        self._kept = facts
        adopt(backend, facts)

    def keep(self, store: BatchStore, backend: OpenAIBackend) -> None:
        """Write ``backend``'s facts to ``store`` when they differ from what was kept last."""
        facts = learned(backend)
        if facts == self._kept or (self._kept is None and facts == ServerFacts()):
            return
        try:
            store.keep_server_facts(server_key(backend), facts.model_dump_json())
        except (StorageError, ConfigError, sqlite3.Error) as exc:
            self._warn(store, "kept", exc)
            return
        self._kept = facts

    def _warn(self, store: BatchStore, doing: str, exc: Exception) -> None:
        if not self._failed:
            self._failed = True
            logger.warning("what the server refuses could not be %s in %s (%s); a re-run may send one round "
                           "in a form the server refuses before it asks the way that works", doing, store.path, exc)


__all__ = ["FactKeeper", "ServerFacts", "adopt", "learned", "server_key"]
