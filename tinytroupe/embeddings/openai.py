"""Embeddings from an OpenAI-compatible server (OpenAI, Azure-style proxies, vLLM, Ollama, llama.cpp).

Uses the official SDK's embeddings API in batches; SDK errors become
:class:`~tinytroupe.errors.LLMTransportError` (or :class:`~tinytroupe.errors.LLMRateLimitError`)
with a message that says what to check, by the same table as chat (:mod:`tinytroupe.provider_errors`).
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytroupe.embeddings.port import BaseEmbedder
from tinytroupe.errors import ConfigError, LLMTransportError
from tinytroupe.provider_errors import Endpoint, provider_error

#: output sizes of well-known models, so ``dim`` needs no request
KNOWN_DIMS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}


class OpenAIEmbedder(BaseEmbedder):
    """Embeds texts with ``POST /embeddings`` of an OpenAI-compatible server.

    Args:
        model: the embedding model name.
        base_url: the server's base URL (None: OPENAI_BASE_URL, else api.openai.com).
        api_key: the key (None: OPENAI_API_KEY). Local servers accept any non-empty string.
        dimensions: ask the server for shorter vectors (text-embedding-3 models); also fixes ``dim``.
        batch_size: texts per request.
        timeout: seconds per request.
        max_retries: the SDK's own retries on connection errors, 429 and 5xx.

    Example:
        >>> emb = OpenAIEmbedder("text-embedding-3-small", api_key="sk-test")
        >>> emb.dim
        1536
    """

    name = "openai"

    def __init__(self, model: str = "text-embedding-3-small", base_url: str | None = None,
                 api_key: str | None = None, *, dimensions: int | None = None, batch_size: int = 256,
                 timeout: float = 60.0, max_retries: int = 2) -> None:
        if batch_size < 1:
            raise ConfigError(f"OpenAIEmbedder batch_size must be at least 1, got {batch_size}")
        self.model = model
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            raise ConfigError("OpenAIEmbedder needs an API key: set OPENAI_API_KEY (any non-empty value for "
                              "a local server) or pass api_key=", section="OpenAI", key="api_key")
        self._api_key = key
        self.dimensions = dimensions
        self.batch_size = batch_size
        self.timeout = timeout
        self.max_retries = max_retries
        self._dim: int | None = dimensions or KNOWN_DIMS.get(model)
        self._client: Any = None
        self._client_lock = threading.Lock()

    @property
    def dim(self) -> int:
        """The vector length; for an unknown model, found with one small request and remembered."""
        if self._dim is None:
            self._dim = int(self._request(["dimension probe"]).shape[1])
        return self._dim

    def _sdk(self) -> Any:
        with self._client_lock:
            if self._client is None:
                import openai

                # One pooled client per embedder, not one per call.
                self._client = openai.OpenAI(api_key=self._api_key, base_url=self.base_url,
                                             timeout=self.timeout, max_retries=self.max_retries)
            return self._client

    def _request(self, texts: list[str]) -> npt.NDArray[np.float32]:
        import openai

        params: dict[str, Any] = {"model": self.model, "input": texts, "encoding_format": "float"}
        if self.dimensions is not None:
            params["dimensions"] = self.dimensions
        try:
            response = self._sdk().embeddings.create(**params)
        except (openai.APIError, ValueError) as exc:
            # ``from None``: the SDK's exception may quote the key; ours says all that matters.
            # (A ValueError is a body cut off in transit or garbled: see provider_errors.)
            raise self._transport_error(exc) from None
        rows = sorted(response.data, key=lambda d: d.index)
        if len(rows) != len(texts):
            raise LLMTransportError(f"{self._where()} returned {len(rows)} embeddings for {len(texts)} texts",
                                    retryable=True)
        return np.asarray([r.embedding for r in rows], dtype=np.float32)

    def _embed(self, texts: list[str]) -> npt.ArrayLike:
        parts = [self._request(texts[i:i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        out = np.concatenate(parts, axis=0)
        if self._dim is None:
            self._dim = int(out.shape[1])
        return out

    def close(self) -> None:
        """Close the pooled HTTP connections."""
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _where(self) -> str:
        return f"the embeddings endpoint at {self.base_url or 'api.openai.com'} (model {self.model!r})"

    def _transport_error(self, exc: Exception) -> LLMTransportError:
        # The SDK has retried already (max_retries), so a 429 here is final: LLMRateLimitError.
        return provider_error(exc, Endpoint(
            where=self._where(), base_url=self.base_url or "https://api.openai.com/v1", timeout=self.timeout,
            secret=self._api_key, retries_done=True,
            advice={"timeout": "raise the timeout or lower batch_size",
                    "auth": "check OPENAI_API_KEY and the model's access",
                    "not_found": "check the embedding model name and the base URL",
                    "rate_limit": "lower batch_size or embed less often"}))


__all__ = ["KNOWN_DIMS", "OpenAIEmbedder"]
