"""What an OpenAI-compatible backend found its server to refuse, kept in the run file for the next run.

A server that refuses a structured-output form or the logprobs fields says so once per backend
(:mod:`tinytroupe.llm.openai_backend`); from then on the backend asks the way that works. A new run
(the re-run of a killed batch study, say) starts knowing nothing and would find out again: live, that
costs one refused call; in batch mode, a whole round (every line refused, then sent again), which may
wait for hours in the provider's queue. So :class:`~tinytroupe.llm.batch.BatchWrapper` keeps what its
backend learned in the run file's batch records (:class:`~tinytroupe.storage.batches.BatchStore`) and
adopts what an earlier run kept there before its first batch.

Facts only ever narrow what is asked (a form further down ``auto``'s fallback order, no logprobs), as
within one run; a form the user chose explicitly is never changed, and a run with such a form leaves
the facts it found as they were. They last as long as the run file (or its ``llm_server_facts`` rows).
Facts that cannot be read or kept (a damaged row, a full disk) cost at most that one refused round,
never the run: they are logged once.

Example:
    >>> from tinytroupe.llm.openai_backend import OpenAIBackend
    >>> backend = OpenAIBackend(model="m", base_url="http://127.0.0.1:9/v1", api_key="k")
    >>> adopt(backend, ServerFacts(structured_mode="json_object", logprobs_refused=True))
    >>> backend.structured_mode, backend.gives_logprobs, learned(backend).structured_mode
    ('json_object', False, 'json_object')
"""

from __future__ import annotations

import json
import logging
import threading
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from tinytroupe.errors import StorageError
from tinytroupe.llm.openai_backend import FALLBACK_ORDER, OpenAIBackend

if TYPE_CHECKING:
    from tinytroupe.storage.batches import BatchStore

logger = logging.getLogger(__name__)


class ServerFacts(BaseModel):
    """What a server was found to refuse: the structured-output form ``auto`` landed on (None: the first,
    nothing refused) and whether it refused (or silently left out) the logprobs fields.

    Only refusals are kept: a server found to give logprobs is not recorded as such, so a later run
    still notices when it stops giving them.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    structured_mode: Literal["json_schema", "json_object", "tools", "prompt"] | None = None
    logprobs_refused: bool = False


def server_key(backend: OpenAIBackend) -> str:
    """The server a backend's facts belong to: its identity (protocol, service, configured model, URL) as JSON."""
    return json.dumps(backend.identity(), sort_keys=True)


def _later(a: str | None, b: str | None) -> str | None:
    """The form further down the fallback order (None: the first form, nothing refused)."""
    if a is None or b is None:
        return a if b is None else b
    return a if FALLBACK_ORDER.index(a) >= FALLBACK_ORDER.index(b) else b


def learned(backend: OpenAIBackend, earlier: ServerFacts | None = None) -> ServerFacts:
    """What ``backend`` has found out so far, on top of the ``earlier`` facts it started from.

    A run that cannot learn a form (one chosen in ``STRUCTURED_OUTPUT``) keeps the earlier one; logprobs
    given in this run clear an earlier refusal (the server gives them now).
    """
    earlier = earlier or ServerFacts()
    mode = backend._auto_mode if backend._auto_mode != FALLBACK_ORDER[0] else None
    given = backend._logprobs
    return ServerFacts(structured_mode=_later(mode, earlier.structured_mode),
                       logprobs_refused=given is False or (earlier.logprobs_refused and given is not True))


def adopt(backend: OpenAIBackend, facts: ServerFacts) -> None:
    """Let ``backend`` start from ``facts``: a form further down the fallback order than its own (only in
    ``auto``), and no logprobs, where it does not know yet whether they are given."""
    with backend._lock:
        if facts.structured_mode is not None and backend.structured_output == "auto":
            backend._auto_mode = _later(facts.structured_mode, backend._auto_mode) or backend._auto_mode
        if facts.logprobs_refused and backend._logprobs is None:
            backend._logprobs = False


class FactKeeper:
    """Reads a server's facts from a run file once, and writes them back whenever they change.

    One per :class:`~tinytroupe.llm.batch.BatchWrapper`; the store is passed on each call because a
    simulation sets the wrapper's store after the wrapper is built. A lock keeps a second event loop's
    first batch from going out before the facts are adopted.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._restored = False
        self._kept: ServerFacts | None = None
        self._failed = False

    def restore(self, store: BatchStore, backend: OpenAIBackend) -> None:
        """Adopt what an earlier run kept for ``backend``'s server (the first time only)."""
        with self._lock:
            if self._restored:
                return
            self._restored = True
            try:
                text = store.server_facts(server_key(backend))
                if text is None:
                    return
                facts = ServerFacts.model_validate_json(text)
            except (StorageError, ValidationError) as exc:
                self._warn(store, "read", exc)
                return
            self._kept = facts
            adopt(backend, facts)

    def keep(self, store: BatchStore, backend: OpenAIBackend) -> None:
        """Write ``backend``'s facts (merged with those kept before) to ``store`` when they changed."""
        with self._lock:
            facts = learned(backend, self._kept)
            if facts == (self._kept or ServerFacts()):
                return
            try:
                store.keep_server_facts(server_key(backend), facts.model_dump_json())
            except StorageError as exc:
                self._warn(store, "kept", exc)
                return
            self._kept = facts

    def _warn(self, store: BatchStore, doing: str, exc: Exception) -> None:
        if not self._failed:
            self._failed = True
            logger.warning("what the server refuses could not be %s in %s (%s); a re-run may send one round "
                           "in a form the server refuses before it asks the way that works", doing, store.path, exc)


__all__ = ["FactKeeper", "ServerFacts", "adopt", "learned", "server_key"]
