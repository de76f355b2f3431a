"""The lines of a provider batch: which requests go into which input file (one model each, under a count
and a byte cap), and which result lines refused their request's structured-output form.

Providers refuse an input file over 200 MB (OpenAI and Azure alike), so the files are cut at
``max_file_bytes`` (190 MB by default), measured on the exact JSONL bytes that are uploaded
(:func:`~tinytroupe.llm.batch_api.jsonl_line`); a request whose line alone is larger goes in no
file: its caller gets a :class:`BatchRequestTooLarge` that names its size.

:class:`~tinytroupe.llm.batch.BatchWrapper` reads a finished batch's lines through
:func:`refused_forms`; the choice of a fallback form is the backend's own
(:class:`~tinytroupe.llm.openai_backend.OpenAIBackend`), so a batch line and a live call refused alike
end in the same form, and the backend remembers the downgrade for later calls either way. A line sent
again for another reason (an expired rest, a 5xx) asks in :func:`form_now`, as a live retry would.

Example:
    >>> plan_files({"a": b"x" * 40, "b": b"x" * 40, "c": b"x" * 90, "d": b"x" * 10},
    ...            {"a": "m", "b": "m", "c": "m", "d": "other"}, max_requests=10, max_file_bytes=80)
    ([['a', 'b'], ['d']], ['c'])
    >>> from tinytroupe.llm.openai_backend import OpenAIBackend
    >>> backend = OpenAIBackend(model="m", base_url="http://127.0.0.1:9/v1", api_key="k")
    >>> refused = {"custom_id": "a", "response": {"status_code": 400, "body": {"error": {
    ...     "message": "Invalid parameter: 'response_format' of type 'json_schema' is not supported"}}}}
    >>> refused_forms([refused], {"a": "json_schema"}, backend), backend.structured_mode
    ({'a': 'json_object'}, 'json_object')
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tinytroupe.errors import LLMTransportError
from tinytroupe.llm.openai_backend import FALLBACK_ORDER, OpenAIBackend
from tinytroupe.provider_errors import HttpStatusError

if TYPE_CHECKING:
    from tinytroupe.llm.batch_queue import QueuedCall
    from tinytroupe.storage.batches import BatchStore

logger = logging.getLogger(__name__)

#: the default cap of an input file: under the 200 MB that OpenAI and Azure take, with room to spare
DEFAULT_MAX_FILE_BYTES = 190_000_000


class BatchRequestTooLarge(LLMTransportError):
    """A request whose batch line alone is over the cap of an input file: it was not sent.

    ``size_bytes`` is the size of its JSONL line, ``max_file_bytes`` the cap. Not retryable: the same
    request is as large next time.
    """

    def __init__(self, where: str, size_bytes: int, max_file_bytes: int) -> None:
        super().__init__(f"{where}: this request is {size_bytes:,} bytes as a batch line, more than a batch "
                         f"input file may hold (max_file_bytes {max_file_bytes:,}; providers refuse files over "
                         "200 MB), so it was not sent: shorten its prompt, or make this call outside batch mode",
                         retryable=False, kind="rejected")
        self.size_bytes = size_bytes
        self.max_file_bytes = max_file_bytes


def plan_files(lines: Mapping[str, bytes], models: Mapping[str, str], *, max_requests: int,
               max_file_bytes: int) -> tuple[list[list[str]], list[str]]:
    """The keys of ``lines`` (``custom_id -> its JSONL line``) in input files, and the keys too large for any.

    Each file holds one model's requests (Azure refuses a file naming two deployments), in their order,
    at most ``max_requests`` of them and at most ``max_file_bytes`` bytes; a file is closed when the
    next line would not fit. A line over ``max_file_bytes`` on its own goes in no file.
    """
    files: list[list[str]] = []
    too_large: list[str] = []
    filling: dict[str, tuple[list[str], int]] = {}  # per model: the file being filled and its bytes
    for key, line in lines.items():
        size = len(line)
        if size > max_file_bytes:
            too_large.append(key)
            continue
        keys, used = filling.get(models[key], ([], 0))
        if keys and (len(keys) >= max_requests or used + size > max_file_bytes):
            files.append(keys)
            keys, used = [], 0
        keys.append(key)
        filling[models[key]] = (keys, used + size)
    files += [keys for keys, _ in filling.values()]
    return files, too_large


def refused_forms(lines: list[dict[str, Any]], modes: Mapping[str, str | None],
                  backend: OpenAIBackend) -> dict[str, str]:
    """The requests (``custom_id -> the structured-output form it was sent in``) whose result line the
    server refused for that form, each with the form a live call falls back to.

    The backend decides as for a live call: only in ``auto``, only for a refusal status whose message
    names the form; it remembers the downgrade, and falls back for one request only when just that
    schema was refused (``invalid schema``).
    """
    found: dict[str, str] = {}
    for line in lines:
        key, response = line.get("custom_id"), line.get("response")
        if not isinstance(key, str) or key not in modes or key in found or not isinstance(response, dict):
            continue
        status = response.get("status_code")
        if not isinstance(status, int) or status == 200:
            continue
        form = backend._fallback(HttpStatusError(status, response.get("body")), modes[key])
        if form is not None:
            found[key] = form
    return found


def form_now(mode: str | None, backend: OpenAIBackend) -> str | None:
    """The structured-output form to send a request in that was queued (or last sent) in ``mode``.

    A live retry asks in the backend's form of the moment, so a line sent again (its batch expired, its
    line failed with a 5xx) skips the forms the backend has since seen refused, instead of being refused
    in one more batch (hours). A form further down than the backend's (a request whose own schema was
    refused) is kept.

    Example:
        >>> backend = OpenAIBackend(model="m", base_url="http://127.0.0.1:9/v1", api_key="k")
        >>> backend._auto_mode = "json_object"
        >>> form_now("json_schema", backend), form_now("tools", backend), form_now(None, backend)
        ('json_object', 'tools', None)
    """
    if mode not in FALLBACK_ORDER or backend.structured_output != "auto":
        return mode
    now = backend.structured_mode
    return now if FALLBACK_ORDER.index(now) > FALLBACK_ORDER.index(mode) else mode


__all__ = ["DEFAULT_MAX_FILE_BYTES", "BatchRequestTooLarge", "form_now", "plan_files", "refused_forms"]


def lost_batch(exc: Exception, batch: str | list[bytes], group: dict[str, list[QueuedCall]],
               store: BatchStore | None, where: str) -> tuple[str, list[QueuedCall], list[QueuedCall]] | None:
    """What a recorded batch the server answers 404 for comes to: its requests, to send again in a new
    batch (marked ``unanswered`` in the run file, the batch ``lost``), so a re-run does not fail on it
    forever; None for any other failure, or for a batch this run sent (``batch`` is then its lines)."""
    if not (isinstance(batch, str) and isinstance(exc, LLMTransportError) and exc.status_code == 404):
        return None
    logger.warning("batch %s is unknown to %s; its %d requests are sent again", batch, where, len(group))
    if store is not None:
        store.finish(batch, "lost", {}, unanswered=list(group))
    return "lost", [item for waiting in group.values() for item in waiting], []
