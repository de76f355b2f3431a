"""The response-cache wrapper: :class:`CacheWrapper` answers repeated requests from a
:class:`~tinytroupe.llm.cache.store.ResponseCache` instead of the model, and lets identical requests in
flight at the same time pay only once.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable

from pydantic import ValidationError

from tinytroupe.errors import ConfigError, StorageError
from tinytroupe.lazy import PerLoop
from tinytroupe.llm.backend import Backend, BackendWrapper
from tinytroupe.llm.cache.store import ResponseCache
from tinytroupe.llm.canonical import SpliceMemo
from tinytroupe.llm.structured import storable
from tinytroupe.llm.types import CallContext, Completion, LLMRequest

logger = logging.getLogger(__name__)

#: answers kept in memory when the cache file cannot take them (a full disk), per wrapper
MAX_UNSAVED = 100_000
#: recorded answers read ahead for a replay at most (later ones are read one by one, as usual)
MAX_PREFETCH = 20_000

_InFlight = dict[str, "asyncio.Future[Completion]"]


class CacheWrapper(BackendWrapper):
    """Answers repeated requests from a :class:`ResponseCache` instead of the model.

    The key is :meth:`LLMRequest.cache_key` with the inner backend's identity, so different
    models, servers, temperatures or schemas never share answers. Failed calls are never cached.
    Structured answers are stored only when valid as they stand (:func:`~tinytroupe.llm.structured.storable`):
    never a cut-off, invalid or repaired one. When the file cannot be written (a full disk), paid
    answers are kept in memory for the run with one warning; when it cannot be read, calls go live.
    While one request is in flight, identical requests on the same event loop wait for its answer
    instead of paying for it again (they are reported as cache hits).

    Example:
        >>> from tinytroupe.llm import ScriptedBackend
        >>> wrapper = CacheWrapper(ScriptedBackend(["hi"]), ResponseCache(":memory:"))
        >>> wrapper.hits, wrapper.misses
        (0, 0)
    """

    def __init__(self, inner: Backend, cache: ResponseCache) -> None:
        super().__init__(inner)
        self.cache = cache
        self._hits = 0
        self._misses = 0
        self._counts_lock = threading.Lock()
        # Futures belong to one event loop; keep the in-flight table per loop.
        self._inflight: PerLoop[_InFlight] = PerLoop(dict)
        #: answers not stored because they were cut off, invalid or needed repair
        self.rejected = 0
        # paid answers the file would not take (a full disk): kept so this run does not pay twice
        self._unsaved: dict[str, Completion] = {}
        self._read_failed = False
        self._write_failed = False
        # keys a replay will ask for (read in one go at the first lookup) and the answers so read
        self._prefetch_keys: list[str] = []
        self._prefetched: dict[str, str] = {}
        self._prefetch_lock = threading.Lock()
        self._splice_memo = SpliceMemo()

    @property
    def hits(self) -> int:
        """Calls answered without reaching the inner backend (stored answers and shared in-flight ones)."""
        return self._hits

    @property
    def misses(self) -> int:
        """Calls passed to the inner backend."""
        return self._misses

    def _count(self, hit: bool) -> None:
        with self._counts_lock:
            if hit:
                self._hits += 1
            else:
                self._misses += 1

    async def generate(self, request: LLMRequest, context: CallContext) -> Completion:
        key = request.cache_key(self.inner.identity(), self._splice_memo)
        while True:
            start = time.perf_counter()
            stored, fresh = self._lookup(key)
            if stored is not None:
                return self._as_hit(stored, start, fresh=fresh)
            inflight = self._inflight.get()  # after the lookup: a stored answer needs no table
            leader = inflight.get(key)
            if leader is None:
                break
            try:
                shared = await asyncio.shield(leader)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if leader.cancelled() and (task is None or not task.cancelling()):
                    continue  # only the first caller gave up: look again and maybe call ourselves
                raise  # this caller was cancelled too (perhaps with the leader): it must not call on
            return self._as_hit(shared, start)

        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        # Mark the outcome as retrieved so an unshared failure is not reported as "never retrieved".
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        inflight[key] = future
        self._count(hit=False)
        try:
            completion = await self.inner.generate(request, context)
            if storable(request, completion):
                self._store(key, completion)
            else:
                self.rejected += 1
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            raise
        else:
            future.set_result(completion)
            return completion
        finally:
            if inflight.get(key) is future:
                del inflight[key]

    def prefetch(self, keys: Iterable[str]) -> None:
        """Read the stored answers for ``keys`` (up to :data:`MAX_PREFETCH`) in one go at the next lookup.

        A replay knows the keys its recording will ask for: one query for all of them costs far less
        than one per call. Answers read ahead are served once each, counted as hits as usual.
        """
        with self._prefetch_lock:
            room = MAX_PREFETCH - len(self._prefetch_keys) - len(self._prefetched)
            self._prefetch_keys.extend(itertools.islice(keys, max(room, 0)))

    def _read_ahead(self, key: str) -> Completion | None:
        if self._prefetch_keys:
            with self._prefetch_lock:
                keys, self._prefetch_keys = self._prefetch_keys, []
                if keys:
                    self._prefetched.update(self.cache.get_many(keys))
        text = self._prefetched.pop(key, None)
        if text is None:
            return None
        try:
            completion = Completion.model_validate_json(text)
        except ValidationError:
            return None  # an unreadable row: get() reads it again and drops it
        self.cache.hit(key)
        return completion

    def _lookup(self, key: str) -> tuple[Completion | None, bool]:
        """The stored answer for ``key`` (from the file, else from the answers it could not take), and
        whether it is a fresh object (read just now, so no one else holds it)."""
        if self._unsaved:
            kept = self._unsaved.get(key)
            if kept is not None:
                return kept, False
        try:
            if self._prefetched or self._prefetch_keys:
                ahead = self._read_ahead(key)
                if ahead is not None:
                    return ahead, True
            # A SQLite lookup takes microseconds: cheaper inline than a hop to a worker thread.
            return self.cache.get(key), True
        except (StorageError, ConfigError, sqlite3.Error) as exc:
            # An unreadable cache costs a paid call, never the turn: answer live and say so once.
            if not self._read_failed:
                self._read_failed = True
                logger.warning("the LLM response cache %s could not be read (%s); calls it cannot answer "
                               "go to the model", self.cache.path, exc)
            return None, False

    def _store(self, key: str, completion: Completion) -> None:
        """Keep a paid answer: in the file, or, when the file refuses it, in memory for this run."""
        try:
            self.cache.put(key, completion)
        except (StorageError, ConfigError, sqlite3.Error) as exc:
            if len(self._unsaved) < MAX_UNSAVED:
                self._unsaved[key] = completion
            if not self._write_failed:
                self._write_failed = True
                logger.warning("the LLM response cache %s could not store an answer (%s); answers are kept in "
                               "memory for this run (up to %d), but a re-run will pay for them again",
                               self.cache.path, exc, MAX_UNSAVED)

    def _as_hit(self, completion: Completion, start: float, *, fresh: bool = False) -> Completion:
        self._count(hit=True)
        update = {"cached": True, "latency_s": time.perf_counter() - start, "attempts": 1}
        if not fresh:
            return completion.model_copy(update=update)  # shared (an in-flight or unsaved answer): a copy
        # Read just now for this caller alone: marked in place, as model_copy marks its copy (without
        # copying the rest, a few microseconds on every replayed call).
        completion.__dict__.update(update)
        completion.__pydantic_fields_set__.update(update)
        return completion

    async def aclose(self) -> None:
        try:
            await self.inner.aclose()
        finally:
            self.cache.close()


__all__ = ["MAX_PREFETCH", "MAX_UNSAVED", "CacheWrapper"]
