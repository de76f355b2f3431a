"""Building an agent's action prompt from templates, within a token budget.

The prompt goes from most stable to most volatile — instructions, persona, recent window (it keeps
its start and grows until a block of events leaves at once: ``person_prompt.slide_window``), recalled
long-term memories (they change with each turn's query), current
situation, new stimuli — so server prefix caches and the embedded model's KV cache
are reused from turn to turn. Each section has a share of the token budget and is cut (oldest
events first) when it would exceed it, so a prompt never grows without bound.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
from itertools import accumulate, count
from operator import add
from typing import Any

from jinja2 import Template

from tinytroupe.agent.actions import CognitiveState
from tinytroupe.agent.memory.clock import clock_text
from tinytroupe.agent.memory.episodic import MemoryItem
from tinytroupe.agent.prompts import template
from tinytroupe.llm.tokens import CHARS_PER_TOKEN, estimate_tokens
from tinytroupe.llm.types import Message


@dataclass(frozen=True)
class PromptBudget:
    """Token shares of the prompt sections (estimated tokens)."""

    persona: int = 900
    long_term_memory: int = 500
    recent: int = 1000
    stimuli: int = 500
    accessible: int = 150  # the "People you can talk to" list: a big world would otherwise swamp the prompt
    #: the descriptions of the agent's tool actions (their argument schemas; ``tinytroupe.tools.TinyToolUse``)
    tools: int = 300
    max_item_chars: int = 600

    @classmethod
    @lru_cache(maxsize=256)  # asked on every turn with the same few totals; the budget is frozen, so shared
    def from_total(cls, total: int, max_item_chars: int = 600) -> PromptBudget:
        """Split ``total`` tokens across the sections (instructions take the rest)."""
        return cls(persona=int(total * 0.3), long_term_memory=int(total * 0.15), recent=int(total * 0.33),
                   stimuli=int(total * 0.15), accessible=int(total * 0.05), tools=int(total * 0.1),
                   max_item_chars=max_item_chars)


def fit_lines(lines: Sequence[str], budget_tokens: int, *, keep: str = "newest") -> str:
    """Join as many whole lines as fit the budget, dropping the oldest (or newest) first.

    A note says how many were left out, so the model knows the window is partial.
    """
    # each line takes its length and a newline; the lines kept are the newest (or oldest) that fit
    fits = _fitting(map(len, reversed(lines) if keep == "newest" else lines), 1, budget_tokens * CHARS_PER_TOKEN)
    omitted = len(lines) - fits
    if keep == "newest":
        return "\n".join([f"({omitted} earlier events not shown)", *lines[omitted:]]) if omitted else "\n".join(
            lines[omitted:])
    return "\n".join([*lines[:fits], f"({omitted} more not shown)"]) if omitted else "\n".join(lines[:fits])


def _fitting(lengths: Iterable[int], separator: int, budget_chars: int) -> int:
    """How many leading items fit ``budget_chars``, each taking its length and ``separator`` characters.

    Their running totals, in C (no Python call per item: every turn fits its recent events, stimuli and
    people this way), and the longest run within the budget: the totals only grow.
    """
    return bisect_right(list(map(add, accumulate(lengths), count(separator, separator))), budget_chars)


@dataclass
class TurnView:
    """Everything about an agent that one action prompt shows."""

    name: str
    persona_text: str
    action_types: dict[str, str]
    state: CognitiveState
    recent: Sequence[MemoryItem]
    new: Sequence[MemoryItem]
    now: datetime | None = None
    location: str | None = None
    accessible: Sequence[str] = ()
    long_term_memory: str = ""
    max_actions: int = 6
    extra_rules: Sequence[str] = ()
    #: further sections turn components add (title -> text), shown after the long-term memory
    sections: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=2048)
def _system_message(max_actions: int, action_types: tuple[tuple[str, str], ...], extra_rules: tuple[str, ...],
                    persona: str) -> Message:
    # The system message depends only on these and rarely changes for an agent, so it is rendered once
    # and shared (Message is frozen). The cache holds about two thousand agents' system messages.
    return Message(role="system", content=template("action_system.j2").render(
        max_actions=max_actions,
        action_types=dict(action_types),
        extra_rules=list(extra_rules),
        persona=persona,
    ))


def build_action_messages(view: TurnView, budget: PromptBudget) -> list[Message]:
    """The chat messages for one turn: a stable system message, then a volatile user message."""
    system = _system_message(view.max_actions, tuple(view.action_types.items()), tuple(view.extra_rules),
                             fit_text(view.persona_text, budget.persona))
    name, max_chars = view.name, budget.max_item_chars
    user = _render(_user_template(), {
        "name": name,
        "long_term_memory": fit_text(view.long_term_memory, budget.long_term_memory),
        "sections": {title: fit_text(text, budget.long_term_memory) for title, text in view.sections.items() if text}
        if view.sections else {},
        "recent": fit_lines([item.describe(name, max_chars) for item in view.recent], budget.recent),
        "now": clock_text(view.now) if view.now else None,
        "location": view.location,
        "accessible": fit_names(view.accessible, budget.accessible),
        "state": view.state,
        "stimuli": fit_lines([item.describe(name, max_chars) for item in view.new], budget.stimuli),
    })
    return [system, Message(role="user", content=user)]


@cache
def _user_template() -> tuple[Template, dict[str, Any]]:
    # The turn's template and its globals, looked up once: every turn of every agent renders it.
    tpl = template("action_user.j2")
    return tpl, dict(tpl.globals)


def _render(found: tuple[Template, dict[str, Any]], values: dict[str, Any]) -> str:
    """What ``Template.render(**values)`` gives, without merging the template's globals (a chain of
    mappings) anew on each turn: the same context, from a merged copy of them made once."""
    tpl, globals_ = found
    context = tpl.new_context({**globals_, **values}, shared=True)
    try:
        return tpl.environment.concat(tpl.root_render_func(context))
    except Exception:
        tpl.environment.handle_exception()  # as render does: the error points into the template
        raise  # not reached: handle_exception raises


def fit_names(names: Sequence[str], budget_tokens: int) -> str:
    """``names`` joined with commas, as many as fit the budget, then ``(and N more)``."""
    fits = _fitting(map(len, names), 2, budget_tokens * CHARS_PER_TOKEN)  # each name and its ", "
    rest = len(names) - fits
    return ", ".join(names[:fits]) + (f"{' ' if fits else ''}(and {rest} more)" if rest else "")


def fit_text(text: str, budget_tokens: int) -> str:
    """``text`` cut at a line boundary to fit the budget, marked with … when cut."""
    limit = budget_tokens * CHARS_PER_TOKEN
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip() + "\n…"


__all__ = [
    "PromptBudget",
    "TurnView",
    "build_action_messages",
    "estimate_tokens",
    "fit_lines",
    "fit_names",
    "fit_text",
    "template",
]
