"""Importance of memories on a 1-10 scale: a free rule for trivial events, the LLM for the rest.

The LLM is asked once per turn for all new memories (one batched call, ``purpose="importance"``)
and answers are cached by content, so a repeated event costs nothing. With ``mode="rule"`` no LLM
call is made at all: :func:`rule_importance` scores every event.

Example:
    >>> rule_importance("action", "DONE", "")
    1.0
    >>> rule_importance("stimulus", "CONVERSATION", "hi!")
    1.0
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, Field, create_model

from tinytroupe.agent.memory.episodic import MemoryItem
from tinytroupe.agent.prompts import template
from tinytroupe.llm.client import LLMClient

_GREETING = re.compile(
    r"^\s*(hi|hello|hey|thanks|thank you|ok|okay|bye|goodbye|good (morning|afternoon|evening|night)|yes|no|sure)"
    r"\b[\s\w,]{0,12}[.!?]*\s*$", re.IGNORECASE)
#: baseline importance by event type (the rule's estimate for non-trivial events)
_TYPE_BASE = {"INTERNAL_GOAL_FORMULATION": 6.0, "CONVERSATION": 4.0, "TALK": 4.0, "SOCIAL": 4.0,
              "REACH_OUT": 3.0, "VISUAL": 3.0, "THOUGHT": 3.0, "THINK": 3.0, "LOCATION": 2.0}


def is_trivial(kind: str, type: str, content: str) -> bool:
    """DONE, empty content and short greetings or acknowledgements: importance 1 without asking."""
    return type == "DONE" or not content.strip() or bool(_GREETING.match(content))


def rule_importance(kind: str, type: str, content: str) -> float:
    """A free estimate: 1 for trivial events, else a base by type plus one for long content."""
    if len(content) <= _REMEMBERED_CHARS:
        return _remembered_rule_importance(type, content)
    return _rule_importance(type, content)


def _rule_importance(type: str, content: str) -> float:
    if is_trivial("", type, content):
        return 1.0
    base = _TYPE_BASE.get(type, 3.0)
    return min(10.0, base + (1.0 if len(content) > 200 else 0.0))


#: the longest content whose score is remembered (longer texts rarely repeat, and would be kept alive)
_REMEMBERED_CHARS = 2_000
# Every turn rates its new memories, and they repeat: a broadcast in each listener's memory, an agent's
# own words and the world's notices turn after turn. Remembered, a score is a lookup instead of the
# greeting pattern tried again (the kind does not change a score).
_remembered_rule_importance = lru_cache(maxsize=4096)(_rule_importance)


def ratings_model(count: int) -> type[BaseModel]:
    """A response model holding exactly ``count`` integer ratings 1-10 (the client re-asks otherwise)."""
    return create_model(
        "ImportanceRatings",
        ratings=(list[int], Field(min_length=count, max_length=count,
                                  json_schema_extra={"items": {"type": "integer", "minimum": 1, "maximum": 10}})),
    )


class ImportanceScorer:
    """Rates memories; ``mode`` is ``rule`` (free) or ``llm`` (batched, cached, rule for trivial events)."""

    def __init__(self, mode: Literal["rule", "llm"] = "rule", cache_size: int = 4096) -> None:
        self.mode = mode
        self.cache_size = cache_size
        self._cache: OrderedDict[str, float] = OrderedDict()
        self.llm_calls = 0

    def _key(self, item: MemoryItem) -> str:
        return f"{item.kind}|{item.type}|{item.source or ''}|{item.content}"

    async def arate(self, items: Sequence[MemoryItem], agent_name: str, client: LLMClient, *,
                    world: str | None = None, step: int | None = None) -> dict[int, float]:
        """Importance for each item, by id. At most one LLM call; its failures propagate."""
        if self.mode == "rule":  # no model to ask: what the loop below gives each item, without its tests
            return {item.id: rule_importance(item.kind, item.type, item.content) for item in items}
        scores: dict[int, float] = {}
        ask: list[MemoryItem] = []
        for item in items:
            if self.mode == "rule" or is_trivial(item.kind, item.type, item.content):
                scores[item.id] = rule_importance(item.kind, item.type, item.content)
                continue
            cached = self._cache.get(self._key(item))
            if cached is not None:
                self._cache.move_to_end(self._key(item))
                scores[item.id] = cached
            else:
                ask.append(item)
        if not ask:
            return scores
        # One line per distinct content: repeated events in one batch are asked once.
        distinct: dict[str, MemoryItem] = {}
        for item in ask:
            distinct.setdefault(self._key(item), item)
        lines = [item.describe(agent_name, 300) for item in distinct.values()]
        prompt = template("memory_importance.j2").render(name=agent_name, count=len(lines), memories=lines)
        model = ratings_model(len(lines))
        result = await client.acomplete([{"role": "user", "content": prompt}], response_model=model,
                                        purpose="importance", agent=agent_name, world=world, step=step)
        self.llm_calls += 1
        rated = {key: min(10.0, max(1.0, float(r))) for key, r in zip(distinct, result.value.ratings, strict=True)}
        if self.cache_size:
            for key, value in rated.items():
                self._cache[key] = value
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        for item in ask:
            scores[item.id] = rated[self._key(item)]
        return scores


__all__ = ["ImportanceScorer", "is_trivial", "ratings_model", "rule_importance"]
