"""The lines of a provider batch: each request's line, which lines go into which input file (one model each,
under a count and a byte cap), and which result lines the server refused for a field a live call drops or
changes (logprobs, the structured-output form).

Providers refuse an input file over 200 MB (OpenAI and Azure alike), so the files are cut at
``max_file_bytes`` (190 MB by default), measured on the exact JSONL bytes that are uploaded
(:func:`batch_line`); a request whose line alone is larger goes in no file: its caller gets a
:class:`BatchRequestTooLarge` that names its size.

:class:`~tinytroupe.llm.batch.BatchWrapper` reads a finished batch's lines through
:func:`refused_lines`, and what to do about a refusal is the backend's own decision
(:class:`~tinytroupe.llm.openai_backend.OpenAIBackend`), so a batch line and a live call refused alike
end alike, and the backend remembers either way: a line refused for its logprobs fields goes again
without them (:func:`refused_logprobs`; no later line or live call asks for them, and callers sample),
one refused for its structured-output form goes again in the form a live call falls back to
(:func:`refused_forms`). A line sent again for another reason (an expired rest, a 5xx) asks in
:func:`form_now`, as a live retry would.

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
from collections.abc import Container, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from tinytroupe.errors import LLMTransportError
from tinytroupe.llm.batch_api import jsonl_line
from tinytroupe.llm.openai_backend import FALLBACK_ORDER, OpenAIBackend, _refuses_logprobs
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


def batch_line(key: str, items: list[QueuedCall], backend: OpenAIBackend, url: str) -> bytes:
    """The JSONL line of the request ``key`` (``items`` are its callers), as it is uploaded to ``url``'s batch.

    One line answers every caller, in one form: a line sent again asks in the backend's latest form
    (:func:`form_now`) and, as a live retry, without logprobs once the backend has seen them refused.
    Each item notes the form and whether its line asked for logprobs (:func:`refused_lines` reads it,
    and shows both at work).
    """
    mode = form_now(items[0].mode, backend)
    body = backend._params(items[0].request, mode)
    for item in items:
        item.mode, item.asked_logprobs = mode, "logprobs" in body
    return jsonl_line({"custom_id": key, "method": "POST", "url": url, "body": body})


def _refusals(lines: list[dict[str, Any]], wanted: Container[str]) -> Iterator[tuple[str, HttpStatusError]]:
    """Each result line of a ``wanted`` request that the server answered with an error status, as the
    error the same answer to a live call raises (so the backend reads both alike)."""
    for line in lines:
        key, response = line.get("custom_id"), line.get("response")
        if isinstance(key, str) and key in wanted and isinstance(response, dict):
            status = response.get("status_code")
            if isinstance(status, int) and status != 200:
                yield key, HttpStatusError(status, response.get("body"))


def refused_logprobs(lines: list[dict[str, Any]], asked: Mapping[str, bool],
                     backend: OpenAIBackend) -> set[str]:
    """The requests (``custom_id -> whether its line asked for logprobs``) whose result line the server
    refused for the logprobs fields.

    The backend decides as for a live call (a refusal status whose message names logprobs) and
    remembers: no later line or live call asks for them, and callers sample instead. Only a line that
    asked counts, so a request goes again without logprobs at most once.

    Example:
        >>> backend = OpenAIBackend(model="m", base_url="http://127.0.0.1:9/v1", api_key="k")
        >>> refused = {"custom_id": "a", "response": {"status_code": 400, "body": {"error": {
        ...     "message": "Unsupported parameter: 'logprobs' is not supported with this model."}}}}
        >>> refused_logprobs([refused], {"a": False}, backend), backend.gives_logprobs
        (set(), None)
        >>> refused_logprobs([refused], {"a": True}, backend), backend.gives_logprobs
        ({'a'}, False)
    """
    return {key for key, exc in _refusals(lines, {k for k, yes in asked.items() if yes})
            if _refuses_logprobs(backend, exc)}


def refused_forms(lines: list[dict[str, Any]], modes: Mapping[str, str | None],
                  backend: OpenAIBackend) -> dict[str, str]:
    """The requests (``custom_id -> the structured-output form it was sent in``) whose result line the
    server refused for that form, each with the form a live call falls back to.

    The backend decides as for a live call: only in ``auto``, only for a refusal status whose message
    names the form; it remembers the downgrade, and falls back for one request only when just that
    schema was refused (``invalid schema``).
    """
    found: dict[str, str] = {}
    for key, exc in _refusals(lines, modes):
        if key not in found:
            form = backend._fallback(exc, modes[key])
            if form is not None:
                found[key] = form
    return found


def refused_lines(lines: list[dict[str, Any]], group: Mapping[str, list[QueuedCall]],
                  backend: OpenAIBackend) -> dict[str, str | None]:
    """The requests of ``group`` whose result line the server refused for a field a live call drops or
    changes, each with the structured-output form to send it again in: refused for logprobs, its own form,
    without them (:func:`refused_logprobs`); refused for its form, the fallback (:func:`refused_forms`).
    As live, a refusal of logprobs is looked for first.

    A line of a batch an earlier run recorded is taken to have asked for logprobs when its request wants them.

    Example:
        >>> import asyncio
        >>> from tinytroupe.llm.batch_queue import BatchMode, QueuedCall
        >>> from tinytroupe.llm.types import LLMRequest, Message
        >>> backend = OpenAIBackend(model="m", base_url="http://127.0.0.1:9/v1", api_key="k")
        >>> ask = LLMRequest(messages=(Message(role="user", content="A or B?"),), logprob_labels=("A", "B"))
        >>> loop = asyncio.new_event_loop()
        >>> item = QueuedCall("k", ask, None, BatchMode(), loop.create_future())
        >>> b"logprobs" in batch_line("k", [item], backend, "/v1/chat/completions"), item.asked_logprobs
        (True, True)
        >>> refused = {"custom_id": "k", "response": {"status_code": 400, "body": {"error": {
        ...     "message": "Unsupported parameter: 'logprobs' is not supported with this model."}}}}
        >>> refused_lines([refused], {"k": [item]}, backend)  # again in its own form (none), without logprobs
        {'k': None}
        >>> b"logprobs" in batch_line("k", [item], backend, "/v1/chat/completions"), item.asked_logprobs
        (False, False)
        >>> refused_lines([refused], {"k": [item]}, backend)  # that line asked for none: not sent a third time
        {}
        >>> loop.close()
    """
    asked = {key: items[0].asked_logprobs if items[0].asked_logprobs is not None
             else bool(items[0].request.logprob_labels) for key, items in group.items()}
    dropped = refused_logprobs(lines, asked, backend)
    modes = {key: items[0].mode for key, items in group.items() if key not in dropped}
    return {**{key: group[key][0].mode for key in dropped}, **refused_forms(lines, modes, backend)}


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


__all__ = ["DEFAULT_MAX_FILE_BYTES", "BatchRequestTooLarge", "batch_line", "form_now", "plan_files", "refused_forms",
           "refused_lines", "refused_logprobs", "unusable_lines"]


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


def unusable_lines(answers: Mapping[str, tuple[str, dict[str, Any]]], handled: Container[str],
                   group: Mapping[str, list[QueuedCall]], backend: OpenAIBackend, batch_id: str,
                   status: str) -> dict[str, LLMTransportError]:
    """The requests of a batch that ended ``status`` whose answer came back unusable, each with the retryable
    error a live call gets for the same answer (and retries): a 200 line that is no chat completion, as the
    backend reads it (no choices, no message, a body that is no object) and, in a completed batch, a request
    with no readable line at all (``handled``: those with one, or refused), because its line was cut off or
    malformed in the output file, or the file came back empty. Such a request is sent again like a line that
    failed with a 5xx (up to ``max_resends`` times), and its unusable line is never kept as its answer."""
    found: dict[str, LLMTransportError] = {}
    for key, (state, body) in answers.items():
        item = group[key][0]
        if state == "completed":
            try:
                backend._completion(body, item.request, item.mode, 0.0)
            except LLMTransportError as exc:
                if exc.retryable:
                    found[key] = exc
            except Exception:  # a refusal, say: the line stays, and _resolve fails its own caller with it
                continue  # (escaping here, it would lose the whole batch, everyone's answers with it)
        elif isinstance(response := body.get("response"), dict) and response.get("status_code") == 200:
            found[key] = backend._bad_envelope(response.get("body"), None)  # a 200 whose body is no object
    if status == "completed":
        for key in group:
            if key not in answers and key not in handled:
                found[key] = LLMTransportError(
                    f"{backend._where()}: batch {batch_id} completed, but its output held no readable line for this "
                    "request (cut off or malformed, or the file came back empty)", retryable=True, kind="garbled")
    return found
