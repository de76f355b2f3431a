"""Batch mode: LLM requests collected and sent through the provider's Batch API (about half the price,
answers within the completion window instead of seconds).

:class:`BatchWrapper` sits in the client chain between the response cache and the retries (the
factory adds it in front of every OpenAI-compatible backend of ``api_type`` ``openai`` or ``azure``;
:mod:`tinytroupe.llm.batch_api` speaks both dialects of the Batch API). Outside
batch mode it passes each call through. Inside :func:`batch_mode` (what ``world.run(1, batch=True)``,
``ResultsExtractor(..., batch=True)`` and ``tinytroupe run --batch`` turn on) each call is queued; when
no new call has come for ``collect_window_s`` the queue goes out as one batch, and each caller waits
for its own line. So one parallel step of a world is one batch; a re-ask of a bad answer (the client's
usual validation) goes out as a second, small batch.

Each request's ``custom_id`` is its cache key. With a :class:`~tinytroupe.storage.batches.BatchStore`
(a simulation's run file gives one), the batch id and its requests are committed before anything waits
on the batch: a re-run of a killed or interrupted run that builds the same requests polls the same
batch instead of paying again. A batch that expires keeps its completed lines and sends only the rest
again (up to ``max_resends`` times); so does a line that failed with a status a second try may mend
(429, 5xx) or came back unusable (:func:`~tinytroupe.llm.batch_lines.unusable_lines`), as live calls are
retried. A line refused for its logprobs fields goes out again without them, and one refused for its
structured-output form in the form a live call falls back to; the backend remembers either (later lines
and live calls ask so at once: :mod:`tinytroupe.llm.batch_lines`), as does the run file for a re-run
(:mod:`tinytroupe.llm.server_facts`). Any other line in the error file (or one that kept failing) fails
that caller only, with a typed :class:`~tinytroupe.errors.LLMTransportError`; the other callers get their
answers. While a batch waits, :class:`~tinytroupe.events.BatchEvent` s tell its progress on the bus.

Requests for different models (Azure: deployments) go into separate batches, as Azure requires, and
no input file holds more than ``max_requests`` lines or ``max_file_bytes`` bytes (a request larger on
its own fails its caller unsent: :mod:`tinytroupe.llm.batch_lines`). The batches are submitted at once,
each followed as soon as it exists and its leftovers sent on their own, so one deployment's upload
that Azure keeps pending holds back no other batch.

Backends without a batch API (scripted, the embedded model, Ollama): :func:`batch_mode` raises
:class:`~tinytroupe.errors.ConfigError` before any call is made; there is no silent fallback to live
calls at full price. The queue itself (:class:`~tinytroupe.llm.batch_queue.Collector`) is in
:mod:`tinytroupe.llm.batch_queue`.

Example:
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> with batch_mode(LLMClient(ScriptedBackend(["hi"]))):
    ...     pass
    Traceback (most recent call last):
    ...
    tinytroupe.errors.ConfigError: batch mode needs an OpenAI-compatible backend with a Batch API ...
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from tinytroupe.errors import ConfigError, LLMTransportError
from tinytroupe.events import BatchEvent, EventBus
from tinytroupe.lazy import PerLoop
from tinytroupe.llm import batch_lines
from tinytroupe.llm.backend import Backend, BackendWrapper
from tinytroupe.llm.batch_api import TERMINAL_STATUSES, BatchAPI, completion_from_dict, error_from_line, sort_lines
from tinytroupe.llm.batch_lines import DEFAULT_MAX_FILE_BYTES, BatchRequestTooLarge, plan_files
from tinytroupe.llm.batch_queue import MODE, BatchMode, Collector, QueuedCall, batch_active, fail_call, publish
from tinytroupe.llm.openai_backend import OpenAIBackend
from tinytroupe.llm.server_facts import FactKeeper
from tinytroupe.llm.types import CallContext, Completion, LLMRequest

if TYPE_CHECKING:
    from tinytroupe.llm.client import LLMClient
    from tinytroupe.storage.batches import BatchStore

logger = logging.getLogger(__name__)

#: how a batch ended: its status, the items to send again as they were, and those refused for a field
Outcome = tuple[str, list[QueuedCall], list[QueuedCall]]


def find_batch_wrapper(client: LLMClient | Backend) -> BatchWrapper:
    """The :class:`BatchWrapper` of ``client``'s chain.

    Raises:
        ConfigError: the chain has none (its backend has no batch API), or the backend's is unsupported.
    """
    backend = client if isinstance(client, Backend) else client.backend
    found = backend.find(BatchWrapper) if isinstance(backend, BackendWrapper) else None
    if not isinstance(found, BatchWrapper):
        server = backend.find(OpenAIBackend) if isinstance(backend, BackendWrapper) else backend
        if isinstance(server, OpenAIBackend):
            BatchAPI.for_backend(server)  # says why this server has none (Ollama)
        raise ConfigError(f"batch mode needs an OpenAI-compatible backend with a Batch API (api_type openai or "
                          f"azure); this client's backend is {backend.name!r}. Run without batch=True / --batch, "
                          "or configure [OpenAI] API_TYPE=openai or azure", section="OpenAI", key="API_TYPE")
    found.api  # noqa: B018 - raises ConfigError now for Ollama, before any call
    return found


@contextmanager
def batch_mode(client: LLMClient | Backend, *, bus: EventBus | None = None,
               world: str | None = None) -> Iterator[BatchMode]:
    """Send the LLM calls made inside the block (and in tasks it starts) as provider batches.

    ``bus`` receives the :class:`~tinytroupe.events.BatchEvent` s (default: the client's bus).

    Raises:
        ConfigError: ``client``'s backend has no supported batch API (checked before any call).
    """
    find_batch_wrapper(client)
    mode = BatchMode(bus=client.bus if bus is None and not isinstance(client, Backend) else bus, world=world)
    token = MODE.set(mode)
    try:
        yield mode
    finally:
        MODE.reset(token)


class BatchWrapper(BackendWrapper):
    """Sends the calls made in :func:`batch_mode` through the provider's Batch API (see the module docstring).

    Args:
        inner: the rest of the chain, ending in an :class:`OpenAIBackend` (calls outside batch mode go there).
        store: where batches are recorded for resuming (a simulation sets its run file's).
        poll_interval_s: the first wait between polls; each wait is 1.5 times the last, up to
            ``max_poll_interval_s``.
        collect_window_s: a batch goes out when no new call came for this long.
        max_requests: most requests per batch (OpenAI's limit is 50,000, Azure's 100,000).
        max_file_bytes: most bytes of a batch's input file, as uploaded (both providers refuse files over
            200 MB); a larger group goes out as several batches.
        max_resends: how often the unanswered rest of an expired batch is sent again.
        max_unreachable_s: how long polling goes on through transient failures only (the server down,
            timeouts) before the batch's callers get the last one; the batch stays recorded, so a
            re-run resumes it instead of paying again.
    """

    def __init__(self, inner: Backend, *, store: BatchStore | None = None, poll_interval_s: float = 2.0,
                 max_poll_interval_s: float = 60.0, collect_window_s: float = 0.25, max_requests: int = 50_000,
                 max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
                 max_resends: int = 2, max_unreachable_s: float = 900.0) -> None:
        super().__init__(inner)
        found = inner.find(OpenAIBackend) if isinstance(inner, BackendWrapper) else inner
        if not isinstance(found, OpenAIBackend):
            raise ConfigError(f"BatchWrapper needs an OpenAIBackend at the end of its chain, got {inner.name!r}")
        self.backend: OpenAIBackend = found
        self.store = store
        self.poll_interval_s = poll_interval_s
        self.max_poll_interval_s = max_poll_interval_s
        self.collect_window_s = collect_window_s
        self.max_requests = max_requests
        self.max_file_bytes = max_file_bytes
        self.max_resends = max_resends
        self.max_unreachable_s = max_unreachable_s
        self._api: BatchAPI | None = None
        self._collectors: PerLoop[Collector] = PerLoop(lambda: Collector(self))
        #: batches this wrapper submitted, and those it resumed from the store
        self.submitted: list[str] = []
        self.resumed: list[str] = []
        self._facts = FactKeeper()  # what the server refuses, read from and kept in the store

    @property
    def api(self) -> BatchAPI:
        """The provider's batch API (raises :class:`ConfigError` when the backend has none)."""
        if self._api is None:
            self._api = BatchAPI.for_backend(self.backend)
        return self._api

    async def generate(self, request: LLMRequest, context: CallContext) -> Completion:
        mode = MODE.get()
        if mode is None:
            return await self.inner.generate(request, context)
        structured = self.backend.structured_mode if request.response_schema is not None else None
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        key = request.cache_key(self.inner.identity())
        self._collectors.get().add(QueuedCall(key, request, structured, mode, future))
        return await future

    # ------------------------------------------------------------------ one round of batches

    async def _settle(self, items: list[QueuedCall]) -> None:
        """Answer every item: from the store, by following a recorded batch, or by a new batch."""
        try:
            if self.store is not None:  # what an earlier run found the server to refuse, before any line
                self._facts.restore(self.store, self.backend)
            groups: dict[str, list[QueuedCall]] = {}
            for item in items:
                if not item.future.done():  # its caller gave up (a cancelled run): nothing is sent for it
                    groups.setdefault(item.key, []).append(item)
            fresh: dict[str, list[QueuedCall]] = {}
            recorded: dict[str, dict[str, list[QueuedCall]]] = {}
            for key, group in groups.items():
                if self._answer_from_store(key, group):
                    continue
                pending = self.store.pending(key) if self.store is not None else None
                if pending is not None:
                    for item in group:
                        item.mode = pending[1]  # parse it as it was asked
                    recorded.setdefault(pending[0], {})[key] = group
                else:
                    fresh[key] = group
            # Every batch at once, each on its own: a recorded batch is followed, and a new one followed as
            # soon as it is created, while another model's upload still waits (Azure keeps a file pending
            # for up to 30 minutes); what a batch leaves goes out again without waiting for the others.
            runs: list[tuple[dict[str, list[QueuedCall]], str | list[bytes]]] = [(g, b) for b, g in recorded.items()]
            runs += self._chunks(fresh)
            done = await asyncio.gather(*(self._run(g, b) for g, b in runs), return_exceptions=True)
            for (batch_group, _), failure in zip(runs, done, strict=True):
                if isinstance(failure, BaseException):  # not one of a batch's usual failures: a bug
                    if not isinstance(failure, Exception):
                        raise failure
                    for item in (item for waiting in batch_group.values() for item in waiting):
                        fail_call(item, failure)
        except BaseException as exc:  # every caller must hear of it: none may wait forever
            for item in items:
                fail_call(item, exc)
            if not isinstance(exc, Exception):
                raise

    async def _run(self, group: dict[str, list[QueuedCall]], batch: str | list[bytes]) -> None:
        """Follow one batch of ``group`` to its end (``batch``: the id of a recorded one, or the lines of one
        to send now), then send what it left in a round of its own. One batch's failure (a refused
        upload, a download that kept failing, a batch the server no longer knows) fails its callers only."""
        try:
            outcome: Outcome | Exception = await (self._follow(batch, group, resumed=True) if isinstance(batch, str)
                                                   else self._send(group, batch))
        except Exception as exc:
            outcome = batch_lines.lost_batch(exc, batch, group, self.store, self.backend.base_url) or exc
        if self.store is not None:  # and what its answers showed (logprobs left out), once they are read
            self._facts.keep(self.store, self.backend)
        again = self._next_round(group, outcome)
        if again:
            await self._settle(again)

    def _next_round(self, group: dict[str, list[QueuedCall]], outcome: Outcome | Exception) -> list[QueuedCall]:
        """What of one batch's ``group`` goes into the next round; fails the callers that are done for."""
        if isinstance(outcome, Exception):
            for item in (item for waiting in group.values() for item in waiting):
                fail_call(item, outcome)
            return []
        # Lines refused for their structured-output form go again in the fallback form (at most once per
        # form), those refused for logprobs without them (once): they are not counted as resends.
        again = list(outcome[2])
        for item in outcome[1]:  # what an expired batch left, and lines a retry may mend
            item.resends += 1
            if item.resends <= self.max_resends:
                again.append(item)
            else:
                fail_call(item, item.last_error or LLMTransportError(
                    f"{self.backend._where()}: the batch expired {item.resends} times before answering "
                    "this request; run again to send it once more", retryable=True))
        return again

    async def _send(self, group: dict[str, list[QueuedCall]], lines: list[bytes]) -> Outcome:
        """Submit ``group`` (``lines``) as one batch and follow it (a failed submit failed its callers)."""
        batch_id = await self._submit(group, lines)
        if batch_id is None:
            return "unsent", [], []
        return await self._follow(batch_id, group, resumed=False)

    def _chunks(self, fresh: dict[str, list[QueuedCall]]) -> list[tuple[dict[str, list[QueuedCall]], list[bytes]]]:
        """``fresh`` in batch files, each with its JSONL lines: one model each, at most ``max_requests``
        lines and ``max_file_bytes`` bytes (:func:`~tinytroupe.llm.batch_lines.plan_files`). A request too
        large for any file fails its callers here, unsent."""
        lines = {key: batch_lines.batch_line(key, items, self.backend, self.api.chat_endpoint)
                 for key, items in fresh.items()}
        files, too_large = plan_files(lines, {key: items[0].request.model or self.backend.model
                                              for key, items in fresh.items()},
                                      max_requests=self.max_requests, max_file_bytes=self.max_file_bytes)
        for key in too_large:
            error = BatchRequestTooLarge(self.backend._where(), len(lines[key]), self.max_file_bytes)
            for item in fresh[key]:
                fail_call(item, error)
        return [({k: fresh[k] for k in keys}, [lines[k] for k in keys]) for keys in files]

    def _answer_from_store(self, key: str, group: list[QueuedCall]) -> bool:
        """Answer ``group`` with the stored answer of ``key`` (a batch finished before a crash), if any."""
        found = self.store.result(key) if self.store is not None else None
        if found is None or found[0] != "completed":
            return False
        for item in group:
            self._resolve(item, found[1], found[2])
        return True

    async def _submit(self, group: dict[str, list[QueuedCall]], lines: list[bytes]) -> str | None:
        """Upload ``lines``, create a batch of ``group`` and record it (None: failed, each item has the error)."""
        try:
            file_id = await self.api.upload(lines, poll_s=self.poll_interval_s)
            if all(item.future.done() for items in group.values() for item in items):
                return None  # every caller gave up while the file uploaded (Azure: minutes): pay for nothing
            batch = await self.api.create(file_id, metadata={"client": "tinytroupe"})
            batch_id = str(batch["id"])
            if self.store is not None:
                self.store.record_batch(batch_id, file_id, {k: items[0].mode for k, items in group.items()})
        except Exception as exc:
            for items in group.values():
                for item in items:
                    fail_call(item, exc)
            return None
        self.submitted.append(batch_id)
        publish(group, BatchEvent(batch_id=batch_id, phase="submitted", status=str(batch.get("status", "")),
                                  total=len(group)))
        logger.info("submitted batch %s of %d requests to %s", batch_id, len(group), self.backend.base_url)
        return batch_id

    async def _follow(self, batch_id: str, group: dict[str, list[QueuedCall]], *, resumed: bool) -> Outcome:
        """Poll ``batch_id`` until it ends, answer ``group`` from its files; returns its status, the items
        to send again as they were and those to send again in a fallback form or without logprobs."""
        if resumed:
            self.resumed.append(batch_id)
            publish(group, BatchEvent(batch_id=batch_id, phase="resumed", status="", total=len(group)))
        wait, shown, failing_since = self.poll_interval_s, None, None
        while True:
            try:
                batch = await self.api.retrieve(batch_id)
                failing_since = None
            except LLMTransportError as exc:
                if not exc.retryable:
                    raise
                # a transient failure: poll again later, but not forever (a server gone for good)
                now = time.monotonic()
                failing_since = now if failing_since is None else failing_since
                if now - failing_since >= self.max_unreachable_s:
                    raise LLMTransportError(
                        f"{exc} (polling batch {batch_id} failed for {now - failing_since:.0f} s; the batch stays "
                        "recorded in the run file: run again to resume it without paying twice)",
                        retryable=True, status_code=exc.status_code) from exc
                batch = {"status": "unknown"}
            status = str(batch.get("status"))
            counts = batch.get("request_counts") or {}
            seen = (status, counts.get("completed"), counts.get("failed"))
            if seen != shown and status != "unknown":
                shown = seen
                publish(group, BatchEvent(
                    batch_id=batch_id, phase="done" if status in TERMINAL_STATUSES else "progress", status=status,
                    completed=int(counts.get("completed") or 0), failed=int(counts.get("failed") or 0),
                    total=int(counts.get("total") or len(group))))
            if status in TERMINAL_STATUSES:
                break
            if all(item.future.done() for items in group.values() for item in items):
                return "abandoned", [], []  # every caller gave up; the batch stays recorded for a re-run
            await asyncio.sleep(wait)
            wait = min(wait * 1.5, self.max_poll_interval_s)
        return (status, *await self._collect(batch_id, status, batch, group))

    async def _collect(self, batch_id: str, status: str, batch: dict[str, Any],
                       group: dict[str, list[QueuedCall]]) -> tuple[list[QueuedCall], list[QueuedCall]]:
        """Answer ``group`` from the batch's output and error files; returns the items to send again as
        they were (expired, or failed in a way a retry may mend) and those refused for logprobs or their form
        (:func:`~tinytroupe.llm.batch_lines.refused_lines`), to send again without them or in another form."""
        # the batch is paid for: a download that fails transiently is tried again, not dropped
        lines = [line for file_id in (batch.get("output_file_id"), batch.get("error_file_id"))
                 for line in await self.api.download(file_id, wait_s=self.poll_interval_s,
                                                     max_wait_s=self.max_poll_interval_s)]
        refused = batch_lines.refused_lines(lines, group, self.backend)
        answers, retry = sort_lines([x for x in lines if x["custom_id"] not in refused], group, self.api.endpoint)
        lost = batch_lines.unusable_lines(answers, {**retry, **refused}, group, self.backend, batch_id, status)
        answers, retry = {k: v for k, v in answers.items() if k not in lost}, {**retry, **lost}
        for key in group:  # this batch's own failure, or none: an older 5xx must not name a later expiry
            for item in group[key]:
                item.last_error = retry.get(key)
        again = [item for key in refused for item in group[key]]
        for item in again:
            item.mode = refused[item.key]
        unanswered = [key for key in group if key not in answers]  # a refused line is sent again: unanswered
        if self.store is not None:
            self._facts.keep(self.store, self.backend)
            self.store.finish(batch_id, status, answers, unanswered)
        for key, (state, body) in answers.items():
            for item in group[key]:
                if state == "completed":
                    self._resolve(item, body, item.mode)
                else:
                    fail_call(item, error_from_line(body, self.api.endpoint))
        if status == "expired":
            return [item for key in unanswered if key not in refused for item in group[key]], again
        for key in unanswered:
            if key not in retry and key not in refused:
                for item in group[key]:
                    fail_call(item, self.api.unanswered_error(batch_id, status, batch))
        return [item for key in unanswered if key in retry for item in group[key]], again

    def _resolve(self, item: QueuedCall, body: dict[str, Any], mode: str | None) -> None:
        if item.future.done():
            return
        try:
            completion = completion_from_dict(body, item.request, mode, self.backend,
                                              time.perf_counter() - item.queued_at)
        except Exception as exc:  # a bad envelope or a refusal: that caller's error only
            item.future.set_exception(exc)
        else:
            item.future.set_result(completion)

    async def aclose(self) -> None:
        try:
            if self._api is not None:
                await self._api.aclose()
        finally:
            await self.inner.aclose()


__all__ = ["BatchMode", "BatchWrapper", "batch_active", "batch_mode", "find_batch_wrapper"]
