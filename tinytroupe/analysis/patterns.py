"""Pattern detection over a run, without a language model: who talks to whom, sentiment and emotion trends,
topic clusters, opinion convergence and repetition, as pandas DataFrames and SVG charts.

:func:`detect_patterns` reads a run (a run file, a ``trace.jsonl``, an :class:`EventRecorder` on a live
bus, or a list of events) and returns a :class:`PatternReport`. Utterances are embedded once, with the
embedder given or the one agents' memory uses (``[Memory] EMBEDDER``), for the topics, the convergence and
the repetition. Every table keeps the ids of the events it rests on.

Example:
    >>> from tinytroupe.embeddings import HashingEmbedder
    >>> events = [{"kind": "action", "action_type": "TALK", "agent": a, "content": c, "step": s}
    ...           for a, c, s in [("Ana", "I love the price", 1), ("Ben", "too expensive", 1),
    ...                           ("Ana", "I love the price", 2)]]
    >>> report = detect_patterns(events, embedder=HashingEmbedder(64))
    >>> report.repetition[["id", "repeats", "same_agent"]].values.tolist()
    [[2, 0, True]]
    >>> report.sentiment.groupby("agent")["sentiment"].mean().round(2).to_dict()
    {'Ana': 0.45, 'Ben': -0.6}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tinytroupe.analysis.convergence import convergence_table, trend_of
from tinytroupe.analysis.network import centralities, interaction_graph
from tinytroupe.analysis.repetition import DUPLICATE_SIMILARITY, duplicate_pairs, repetition_by_agent
from tinytroupe.analysis.run_events import RunEvents
from tinytroupe.analysis.sentiment import sentiment_trends, utterance_sentiment
from tinytroupe.analysis.topics import cluster_vectors, topic_table
from tinytroupe.embeddings.port import Embedder

if TYPE_CHECKING:
    import networkx as nx
    import pandas as pd

#: the most utterances embedded and compared (an even sample beyond it; the report says so)
MAX_UTTERANCES = 3000


@dataclass
class PatternReport:
    """What :func:`detect_patterns` found. Each DataFrame is described where it is made:

    ``utterances`` (id, step, agent, content, sentiment, topic), ``graph`` (networkx ``DiGraph``),
    ``centrality`` (:func:`~tinytroupe.analysis.network.centralities`), ``sentiment``
    (:func:`~tinytroupe.analysis.sentiment.sentiment_trends`), ``topics``
    (:func:`~tinytroupe.analysis.topics.topic_table`), ``convergence``
    (:func:`~tinytroupe.analysis.convergence.convergence_table`) with its ``trend``, ``repetition``
    (:func:`~tinytroupe.analysis.repetition.duplicate_pairs`) and ``repetition_by_agent``.
    """

    run: RunEvents
    utterances: pd.DataFrame
    graph: nx.DiGraph
    centrality: pd.DataFrame
    sentiment: pd.DataFrame
    topics: pd.DataFrame
    convergence: pd.DataFrame
    trend: str
    repetition: pd.DataFrame
    repetition_by_agent: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The headline figures, JSON-ready."""
        central = self.centrality.index[0] if not self.centrality.empty else None
        mean = None if self.utterances.empty else round(float(self.utterances["sentiment"].mean()), 3)
        return {"events": len(self.run), "agents": len(self.run.agents()), "utterances": len(self.utterances),
                "conversation_edges": self.graph.number_of_edges(), "most_central": central,
                "topics": len(self.topics), "trend": self.trend, "near_duplicates": len(self.repetition),
                "mean_sentiment": mean,
                "notes": list(self.notes)}

    def findings(self) -> list[dict[str, Any]]:
        """The patterns as short statements, each with the event ids it rests on (``title``, ``text``,
        ``evidence``): what the dashboard's Insights page and the report show without a language model."""
        from tinytroupe.analysis.findings import pattern_findings

        return pattern_findings(self)

    def charts(self) -> dict[str, str]:
        """Inline SVG charts by name: ``network``, ``centrality``, ``sentiment``, ``topics``, ``convergence``,
        ``repetition`` (those with data)."""
        from tinytroupe.analysis.pattern_charts import pattern_charts

        return pattern_charts(self)

    def to_markdown(self) -> str:
        from tinytroupe.analysis.findings import patterns_markdown

        return patterns_markdown(self)

    def to_html(self) -> str:
        """An HTML fragment (inline styles and SVG): the findings, the charts and the main tables."""
        from tinytroupe.analysis.findings import patterns_html

        return patterns_html(self)

    def _repr_html_(self) -> str:
        return self.to_html()


def default_embedder() -> Embedder:
    """The embedder agents' memory uses (``[Memory] EMBEDDER``: ``use``, ``hash`` or ``openai``)."""
    from tinytroupe.agent.memory.indexing import shared_embedder
    from tinytroupe.config import current_settings

    return shared_embedder(current_settings().memory.embedder)


def detect_patterns(source: Any, *, embedder: Embedder | None = None, topics: int | None = None,
                    duplicate_threshold: float = DUPLICATE_SIMILARITY, run_id: int | None = None) -> PatternReport:
    """Every pattern of the run at ``source`` (see :meth:`RunEvents.load` for what it may be).

    Args:
        embedder: for topics, convergence and repetition (default: :func:`default_embedder`).
        topics: how many topic clusters (default: chosen by silhouette).
        duplicate_threshold: cosine similarity from which two utterances are near-duplicates.
        run_id: which run of a run file (default: the latest).
    """
    import pandas as pd

    run = RunEvents.load(source, run_id=run_id)
    notes: list[str] = []
    said = utterance_sentiment(run)
    if len(said) > MAX_UTTERANCES:
        keep = np.linspace(0, len(said) - 1, MAX_UTTERANCES).round().astype(int)
        notes.append(f"{len(said)} utterances: an even sample of {MAX_UTTERANCES} was embedded for topics, "
                     "convergence and repetition")
        said = said.iloc[np.unique(keep)].reset_index(drop=True)
    emb = embedder if embedder is not None else (default_embedder() if len(said) else None)
    vectors = emb.embed([str(c) for c in said["content"]]) if emb is not None and len(said) else \
        np.zeros((0, 1), dtype=np.float32)
    labels = cluster_vectors(vectors, topics if topics is None else min(topics, len(said))) if len(said) else \
        np.zeros(0, dtype=int)
    said = said.assign(topic=labels)
    convergence = convergence_table(said, vectors)
    pairs = duplicate_pairs(said, vectors, threshold=duplicate_threshold)
    graph = interaction_graph(run)
    return PatternReport(
        run=run, utterances=said, graph=graph, centrality=centralities(graph), sentiment=sentiment_trends(run),
        topics=topic_table(said, labels) if len(said) else pd.DataFrame(columns=["topic", "keywords", "size"]),
        convergence=convergence,
        trend=trend_of(list(convergence["spread"].astype(float)), list(convergence["step"])) if len(convergence)
        else "unknown",
        repetition=pairs, repetition_by_agent=repetition_by_agent(said, pairs), notes=notes)


__all__ = ["MAX_UTTERANCES", "PatternReport", "default_embedder", "detect_patterns"]
