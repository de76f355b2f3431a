"""An opt-in semantic cache for stateless utility calls (extraction, normalisation).

:class:`SemanticCacheWrapper` answers a request from an earlier one whose last user message means
nearly the same (cosine similarity of their embeddings at or above ``threshold``) and whose
everything else (system prompt, earlier messages, schema, parameters, backend) is identical. It is
used only for the purposes in its allow-list; agent actions are never served this way, because two
personas answering "the same" question differently is the point of a simulation.

A semantic hit can be wrong: :func:`measure_false_hit_rate` measures how often different
questions pass the threshold on a labelled set of pairs, so the threshold is chosen with a figure.

Example:
    >>> from tinytroupe.embeddings import HashingEmbedder
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> backend = ScriptedBackend(["42"], cycle=True)
    >>> client = LLMClient(SemanticCacheWrapper(backend, HashingEmbedder(), threshold=0.8))
    >>> _ = client.complete([{"role": "user", "content": "What is the answer?"}], purpose="extraction")
    >>> client.complete([{"role": "user", "content": "what is the answer"}], purpose="extraction").cached
    True
    >>> backend.calls
    1
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from tinytroupe.embeddings.port import Embedder, FloatArray
from tinytroupe.errors import InvalidArgument
from tinytroupe.llm.backend import Backend, BackendWrapper
from tinytroupe.llm.structured import storable
from tinytroupe.llm.types import CallContext, Completion, LLMRequest

DEFAULT_PURPOSES = frozenset({"extraction", "normalisation", "normalization"})
DEFAULT_THRESHOLD = 0.95
DEFAULT_MAX_ENTRIES = 10_000


def _shape_key(request: LLMRequest, identity: dict[str, Any]) -> str:
    """Hash of everything but the last user message's text: only same-shaped requests may match."""
    dumped = request.model_dump(mode="json")
    messages = dumped["messages"]
    last = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=None)
    if last is not None:
        messages[last] = {"role": "user", "content": "<semantic>"}
    text = json.dumps({"request": dumped, "backend": identity}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _last_user_text(request: LLMRequest) -> str | None:
    for message in reversed(request.messages):
        if message.role == "user":
            return message.content
    return None


class SemanticCacheWrapper(BackendWrapper):
    """Serves allow-listed utility calls from semantically similar earlier ones (in memory, LRU-bounded).

    Args:
        inner: the backend chain to call on a miss.
        embedder: any :class:`~tinytroupe.embeddings.Embedder` (e.g. the bundled ``USEEmbedder``).
        threshold: the cosine similarity at or above which a stored answer is reused.
        purposes: the call purposes it may answer (default: extraction and normalisation). Asking
            for ``"action"`` is refused: agent actions must stay diverse.
        max_entries: stored answers at most (least recently used dropped first).
    """

    def __init__(self, inner: Backend, embedder: Embedder, *, threshold: float = DEFAULT_THRESHOLD,
                 purposes: Iterable[str] = DEFAULT_PURPOSES, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        super().__init__(inner)
        allowed = frozenset(purposes)
        if "action" in allowed:
            raise InvalidArgument("the semantic cache must not serve agent actions (purpose 'action'): similar "
                                  "prompts to different personas would get identical answers; allow only stateless "
                                  "utility purposes such as 'extraction' or 'normalisation'")
        if not 0.0 < threshold <= 1.0:
            raise InvalidArgument(f"threshold must be in (0, 1], got {threshold}")
        if max_entries < 1:
            raise InvalidArgument(f"max_entries must be at least 1, got {max_entries}")
        self.embedder = embedder
        self.threshold = threshold
        self.purposes = allowed
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, int], tuple[str, FloatArray, Completion]] = OrderedDict()
        self._ids = iter(range(1 << 62))
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.bypassed = 0

    def __len__(self) -> int:
        return len(self._entries)

    def stats(self) -> dict[str, int | float]:
        return {"hits": self.hits, "misses": self.misses, "bypassed": self.bypassed,
                "entries": len(self._entries), "threshold": self.threshold}

    def lookup(self, shape: str, vector: FloatArray) -> tuple[Completion | None, float]:
        """The best stored answer of the same shape at or above the threshold, and its similarity."""
        with self._lock:
            keys = [k for k in self._entries if k[0] == shape]
            if not keys:
                return None, 0.0
            matrix = np.stack([self._entries[k][1] for k in keys])
            sims = matrix @ vector
            best = int(np.argmax(sims))
            if float(sims[best]) < self.threshold:
                return None, float(sims[best])
            self._entries.move_to_end(keys[best])
            return self._entries[keys[best]][2], float(sims[best])

    async def generate(self, request: LLMRequest, context: CallContext) -> Completion:
        text = _last_user_text(request)
        # A request for option log-probabilities wants this prompt's numbers, never a similar one's; one
        # showing images is about those images, which the text's similarity does not see.
        if context.purpose not in self.purposes or text is None or request.logprob_labels or \
                any(m.images for m in request.messages):
            self.bypassed += 1
            return await self.inner.generate(request, context)
        start = time.perf_counter()
        shape = _shape_key(request, self.inner.identity())
        vector = (await self.embedder.aembed([text]))[0]
        found, _ = self.lookup(shape, vector)
        if found is not None:
            self.hits += 1
            return found.model_copy(update={"cached": True, "latency_s": time.perf_counter() - start, "attempts": 1})
        self.misses += 1
        completion = await self.inner.generate(request, context)
        if not storable(request, completion):
            return completion  # a cut-off, invalid or repair-needing answer is never served again
        with self._lock:
            self._entries[(shape, next(self._ids))] = (text, vector, completion)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return completion


def measure_false_hit_rate(embedder: Embedder, same: Sequence[tuple[str, str]],
                           different: Sequence[tuple[str, str]], threshold: float) -> dict[str, float]:
    """On labelled pairs, how often the threshold gives a wrong hit (``false_hit_rate``: different
    questions at or above it) and how often a right one (``hit_rate``: paraphrases at or above it).

    Example:
        >>> from tinytroupe.embeddings import HashingEmbedder
        >>> r = measure_false_hit_rate(HashingEmbedder(), [("a red car", "a red car!")],
        ...                            [("a red car", "blue skies")], 0.9)
        >>> r["false_hit_rate"], r["hit_rate"]
        (0.0, 1.0)
    """

    def sims(pairs: Sequence[tuple[str, str]]) -> FloatArray:
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        a = embedder.embed([p[0] for p in pairs])
        b = embedder.embed([p[1] for p in pairs])
        return np.einsum("ij,ij->i", a, b).astype(np.float32)

    s_same, s_diff = sims(same), sims(different)
    return {
        "threshold": threshold,
        "false_hit_rate": float(np.mean(s_diff >= threshold)) if len(s_diff) else 0.0,
        "hit_rate": float(np.mean(s_same >= threshold)) if len(s_same) else 0.0,
        "pairs_same": float(len(s_same)),
        "pairs_different": float(len(s_diff)),
    }


__all__ = ["DEFAULT_PURPOSES", "DEFAULT_THRESHOLD", "SemanticCacheWrapper", "measure_false_hit_rate"]
