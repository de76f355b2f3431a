"""An adapter that lets a llama-index index or retriever serve as a :class:`~tinytroupe.grounding.models.Retriever`.

Duck-typed, so llama-index is never imported (nor required): a *retriever* is anything with
``retrieve(query)`` returning nodes-with-score (objects with ``.node`` and ``.score``, the node
having ``node_id`` and ``get_content()`` or ``text``, and ``metadata``); an *index* is anything with
``as_retriever(similarity_top_k=...)``. Each node becomes a :class:`~tinytroupe.grounding.models.Chunk`
whose id is the node's id, its document the metadata's ``file_name`` (else ``source``, else the
node's ``ref_doc_id``) and its page the metadata's ``page_label`` when that is a number.

Example:
    >>> from types import SimpleNamespace as NS
    >>> class Fake:
    ...     def retrieve(self, query):
    ...         node = NS(node_id="n1", text="Leek soup.", metadata={"file_name": "menu.pdf", "page_label": "2"})
    ...         return [NS(node=node, score=0.8)]
    >>> hit = LlamaIndexRetriever(Fake()).retrieve("soup?")[0]
    >>> hit.chunk.label(), hit.score, hit.source
    ('[n1] (menu.pdf, page 2)', 0.8, 'llama-index')
"""

from __future__ import annotations

from typing import Any

from tinytroupe.errors import InvalidArgument, InvalidArgumentType
from tinytroupe.grounding.models import Chunk, ChunkHit


def _content(node: Any) -> str:
    if callable(getattr(node, "get_content", None)):
        return str(node.get_content())
    text = getattr(node, "text", None)
    if not isinstance(text, str):
        raise InvalidArgumentType(f"a llama-index node must have get_content() or a text attribute, got "
                                  f"{type(node).__name__}")
    return text


def _page(metadata: dict[str, Any]) -> int | None:
    label = metadata.get("page_label", metadata.get("page"))
    try:
        return int(label) if label is not None else None
    except (TypeError, ValueError):  # "iv", "A-3": a label, not a number; the chunk keeps no page
        return None


class LlamaIndexRetriever:
    """A llama-index index or retriever, answering with cited chunks.

    Args:
        source: an object with ``retrieve(query)`` or with ``as_retriever(similarity_top_k=...)``.
        name: how results name where they came from.

    Raises:
        InvalidArgumentType: ``source`` has neither method.
    """

    def __init__(self, source: Any, *, name: str = "llama-index") -> None:
        if not callable(getattr(source, "retrieve", None)) and not callable(getattr(source, "as_retriever", None)):
            raise InvalidArgumentType("LlamaIndexRetriever needs a llama-index retriever (with retrieve(query)) or "
                                      f"index (with as_retriever()), got {type(source).__name__}")
        self.source = source
        self.name = name

    def _retriever(self, top_k: int) -> Any:
        if callable(getattr(self.source, "retrieve", None)):
            return self.source
        return self.source.as_retriever(similarity_top_k=top_k)

    def retrieve(self, query: str, top_k: int = 5) -> list[ChunkHit]:
        """The best ``top_k`` nodes for ``query``, as chunk hits (best first, as the retriever ranked them).

        Raises:
            InvalidArgument: ``top_k`` below 1.
            InvalidArgumentType: the retriever answered with something that is not nodes-with-score.
        """
        if top_k < 1:
            raise InvalidArgument(f"top_k must be at least 1, got {top_k}")
        found = self._retriever(top_k).retrieve(query)
        hits = []
        for rank, item in enumerate(list(found)[:top_k], start=1):
            node = getattr(item, "node", None)
            if node is None or not hasattr(node, "node_id"):
                raise InvalidArgumentType(f"{self.name} answered with {type(item).__name__}, not a node with score "
                                          "(.node with .node_id, and .score)")
            metadata = dict(getattr(node, "metadata", None) or {})
            doc = str(metadata.get("file_name") or metadata.get("source") or getattr(node, "ref_doc_id", None)
                      or self.name)
            chunk = Chunk(chunk_id=str(node.node_id), doc_id=doc, document=doc, page=_page(metadata),
                          text=_content(node))
            score = getattr(item, "score", None)
            hits.append(ChunkHit(rank=rank, score=float(score) if score is not None else 0.0, chunk=chunk,
                                 source=self.name))
        return hits


__all__ = ["LlamaIndexRetriever"]
