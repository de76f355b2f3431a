"""The dashboard's Insights page: what it shows and where it comes from.

The page shows :class:`InsightCard` s from an *insight provider*: any function that takes the events
the dashboard holds (dicts in feed order, each with its ``_i``) and returns cards. Each card cites the
events it rests on by ``_i`` (the page links them to the timeline) and says whether that evidence was
checked and held (``valid``). Without a provider the page says so and how to add one; pattern detection
and ``InsightGenerator`` (``tinytroupe.analysis``) plug in here.

Example:
    >>> def busiest(events):
    ...     talks = [e for e in events if e.get("action_type") == "TALK"]
    ...     return [InsightCard(title="Talk", text=f"{len(talks)} things said",
    ...                         evidence=[e["_i"] for e in talks], valid=True)]
    >>> insights_payload(busiest, [{"_i": 0, "kind": "action", "action_type": "TALK"}])["cards"][0]["evidence"]
    [0]
    >>> insights_payload(None, [])["available"]
    False
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, Field

from tinytroupe.errors import InvalidArgumentType
from tinytroupe.redaction import redact

logger = logging.getLogger(__name__)


class InsightCard(BaseModel):
    """One insight about a run, with the events it rests on.

    Args:
        title: a few words.
        text: the insight (Markdown is shown as plain text).
        category: e.g. ``theme``, ``disagreement``, ``surprise``, ``segment``, ``recommendation``, ``pattern``.
        evidence: the ``_i`` of the events it cites.
        valid: whether its evidence was checked and supports it (None: not checked).
        note: why it is marked, when it is.
    """

    title: str
    text: str
    category: str = "insight"
    evidence: list[int] = Field(default_factory=list)
    valid: bool | None = None
    note: str | None = None


InsightProvider = Callable[[Sequence[dict[str, Any]]], Sequence[InsightCard]]


def insights_payload(provider: InsightProvider | None, events: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """What ``/api/insights`` answers: the provider's cards (or why there are none)."""
    if provider is None:
        return {"available": False, "cards": [],
                "message": "No insight provider: pass insights=FUNCTION to open_dashboard() or "
                           "DashboardServer (a function from the run's events to InsightCard s)."}
    try:
        cards = list(provider(events))
    except Exception as exc:  # the provider's failure is shown on the page, with its type, and logged
        logger.exception("the dashboard's insight provider failed")
        return {"available": True, "cards": [], "error": redact(f"{type(exc).__name__}: {exc}")}
    for card in cards:
        if not isinstance(card, InsightCard):
            raise InvalidArgumentType(f"the insight provider returned a {type(card).__name__}; it must return "
                                      "InsightCard objects")
    return {"available": True, "cards": [c.model_dump() for c in cards]}


__all__ = ["InsightCard", "InsightProvider", "insights_payload"]
