"""Embeddings: text to unit-length vectors, for memory retrieval and grounding.

One port (:class:`Embedder`) and two implementations: :class:`USEEmbedder` (offline default,
bundled model, numpy only) and :class:`OpenAIEmbedder` (any OpenAI-compatible server).

Public names: Embedder, BaseEmbedder, USEEmbedder, OpenAIEmbedder, cosine_similarity,
normalize_rows.
"""

from tinytroupe.embeddings.openai import OpenAIEmbedder
from tinytroupe.embeddings.port import BaseEmbedder, Embedder, cosine_similarity, normalize_rows
from tinytroupe.embeddings.usem import USEEmbedder

__all__ = ["BaseEmbedder", "Embedder", "OpenAIEmbedder", "USEEmbedder", "cosine_similarity", "normalize_rows"]
