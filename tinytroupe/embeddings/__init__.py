"""Embeddings: text to unit-length vectors, for memory retrieval and grounding.

One port (:class:`Embedder`) and three implementations: :class:`USEEmbedder` (offline default,
bundled model, numpy only), :class:`OpenAIEmbedder` (any OpenAI-compatible server) and
:class:`HashingEmbedder` (hashed words, no model: for scale runs and tests).

Public names: Embedder, BaseEmbedder, USEEmbedder, OpenAIEmbedder, HashingEmbedder, cosine_similarity,
normalize_rows.
"""

from tinytroupe.embeddings.hashing import HashingEmbedder
from tinytroupe.embeddings.openai import OpenAIEmbedder
from tinytroupe.embeddings.port import BaseEmbedder, Embedder, cosine_similarity, normalize_rows
from tinytroupe.embeddings.usem import USEEmbedder

__all__ = ["BaseEmbedder", "Embedder", "HashingEmbedder", "OpenAIEmbedder", "USEEmbedder", "cosine_similarity",
           "normalize_rows"]
