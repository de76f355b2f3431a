"""Insight providers for the dashboard's Insights page, from :mod:`tinytroupe.analysis`: the patterns found
without a language model (always cheap), and optionally an ``InsightGenerator``'s checked insights.

:class:`AnalysisInsights` is a provider (a function from the page's events to ``InsightCard`` s). It runs
the analysis again only when the run has new events since the last time, so a page that asks often costs
nothing more; a generator's model calls happen at most once per :attr:`AnalysisInsights.min_new_events`
new events. Pattern cards cite computed evidence (``valid=True``); an insight card's ``valid`` is the
insight's ``supported``, with the checker's reason as its note when it failed.

Example:
    >>> from tinytroupe.embeddings import HashingEmbedder
    >>> events = [{"_i": i, "kind": "action", "action_type": "TALK", "agent": a, "content": c, "step": 1}
    ...           for i, (a, c) in enumerate([("Ana", "I love it"), ("Ben", "I hate it"), ("Ana", "I love it")])]
    >>> cards = AnalysisInsights(embedder=HashingEmbedder(64))(events)
    >>> [(c.title, c.evidence, c.valid) for c in cards if c.title == "Repetition"]
    [('Repetition', [0, 2], True)]
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tinytroupe.dashboard.insights import InsightCard

if TYPE_CHECKING:
    from tinytroupe.analysis.insight_generator import InsightGenerator
    from tinytroupe.embeddings.port import Embedder


class AnalysisInsights:
    """A dashboard insight provider: pattern findings, then (with ``generator``) checked LLM insights.

    Args:
        generator: an :class:`~tinytroupe.analysis.insight_generator.InsightGenerator` (None: patterns only).
        embedder: for topics and repetition (default: the one agents' memory uses).
        min_new_events: new events needed before the generator is asked again.
    """

    def __init__(self, generator: InsightGenerator | None = None, *, embedder: Embedder | None = None,
                 min_new_events: int = 50) -> None:
        self.generator = generator
        self.embedder = embedder
        self.min_new_events = min_new_events
        self._lock = threading.Lock()
        self._seen = -1
        self._generated_at = -(10**9)
        self._patterns: list[InsightCard] = []
        self._insights: list[InsightCard] = []

    def __call__(self, events: Sequence[dict[str, Any]]) -> list[InsightCard]:
        from tinytroupe.analysis.patterns import detect_patterns
        from tinytroupe.analysis.run_events import RunEvents

        with self._lock:  # the page may ask from two tabs at once: one analysis at a time
            if len(events) == self._seen:
                return [*self._insights, *self._patterns]
            run = RunEvents.load(list(events))
            patterns = detect_patterns(run, embedder=self.embedder)
            self._patterns = [InsightCard(title=f["title"], text=f["text"], category="pattern",
                                          evidence=f["evidence"], valid=True) for f in patterns.findings()]
            if self.generator is not None and len(events) - self._generated_at >= self.min_new_events:
                report = self.generator.generate(run, patterns=patterns)
                self._insights = [InsightCard(title=i.kind, text=i.claim, category=i.kind, evidence=i.evidence,
                                              valid=i.supported, note=None if i.supported else i.reason)
                                  for i in report.insights]
                self._generated_at = len(events)
            self._seen = len(events)
            return [*self._insights, *self._patterns]


__all__ = ["AnalysisInsights"]
