"""A run's trace within a token budget: what a language model reads to draw insights, each line led by
the event's id so that insights can cite it.

Only events that say something about the people are shown: what they said (``TALK``), did (other
actions, ``DONE`` left out), thought (``THINK``), felt (emotion changes) and what failed (agent errors);
speech as heard by each listener is left out (it repeats the ``TALK`` it came from), as are LLM calls,
steps and memory upkeep. Each text is cut to :data:`MAX_LINE_CHARS`. When every line fits the budget all
are shown; otherwise lines are taken by priority (speech, then actions, then thoughts, then feelings and
errors), and within the last priority that only partly fits, as an even sample across the run (so every
part of it is represented, not just the start), shown in trace order. :class:`Condensed` says what was
left out, and the prompt tells the model so.

Example:
    >>> from tinytroupe.analysis.run_events import RunEvents
    >>> run = RunEvents.load([{"kind": "action", "action_type": "TALK", "agent": "Ana", "target": "Ben",
    ...                        "content": "Too expensive.", "step": 1}])
    >>> print(condense_events(run, token_budget=200).text)
    [0] step 1 · Ana to Ben: "Too expensive."
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from tinytroupe.analysis.run_events import RunEvents
from tinytroupe.errors import InvalidArgument
from tinytroupe.llm.tokens import chars_for_tokens, tokens_for_chars

#: characters of one event's text shown
MAX_LINE_CHARS = 300
#: the priorities, first kept first
TIERS = ("speech", "action", "thought", "feeling")


class Condensed(BaseModel):
    """The trace as the model reads it, and how it was made."""

    text: str
    shown_ids: list[int] = Field(default_factory=list)
    candidates: int = 0
    total_events: int = 0
    token_budget: int = 0
    tokens: int = 0
    method: str = ""


def _cut(text: Any) -> str:
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= MAX_LINE_CHARS else flat[:MAX_LINE_CHARS - 1] + "…"


def render_event(event: dict[str, Any]) -> tuple[str, str] | None:
    """``(tier, line)`` for an event shown to the model, None for one left out."""
    head = f"[{event['id']}] step {event.get('step') if event.get('step') is not None else '-'} · "
    who = event.get("agent") or "?"
    kind = event.get("kind")
    if kind == "action":
        action = str(event.get("action_type") or "")
        if action == "DONE":
            return None
        if action == "TALK":
            to = f" to {event['target']}" if event.get("target") else ""
            return "speech", f'{head}{who}{to}: "{_cut(event.get("content"))}"'
        if action == "THINK":
            return "thought", f"{head}{who} thinks: {_cut(event.get('content'))}"
        target = f" ({event['target']})" if event.get("target") else ""
        return "action", f"{head}{who} does {action}{target}: {_cut(event.get('content'))}"
    if kind == "emotion":
        return "feeling", (f"{head}{who} feels {event.get('label')} (pleasure {float(event.get('pleasure', 0)):+.2f}, "
                           f"arousal {float(event.get('arousal', 0)):+.2f}, by {event.get('cause', 'appraisal')})")
    if kind == "agent_error":
        return "feeling", f"{head}{who}'s turn failed: {_cut(event.get('message'))}"
    if kind == "stimulus" and event.get("stimulus_type") not in ("CONVERSATION", None) and not event.get("source"):
        return "action", f"{head}{who} perceives ({event.get('stimulus_type')}): {_cut(event.get('content'))}"
    return None


def condense_events(run: RunEvents, token_budget: int = 6000) -> Condensed:
    """The events of ``run`` as lines within ``token_budget`` tokens (see the module for how).

    Raises:
        InvalidArgument: ``token_budget`` is below 50.
    """
    if token_budget < 50:
        raise InvalidArgument(f"token_budget must be at least 50 tokens, got {token_budget}")
    lines: list[tuple[int, str, str]] = []
    for event in run:
        rendered = render_event(event)
        if rendered is not None:
            lines.append((int(event["id"]), rendered[0], rendered[1]))
    budget = chars_for_tokens(token_budget)
    if sum(len(line) + 1 for _, _, line in lines) <= budget:
        chosen, method = lines, f"all {len(lines)} events that say what people said, did, thought or felt"
    else:
        chosen, method = _within(lines, budget)
    chosen = sorted(chosen)
    text = "\n".join(line for _, _, line in chosen)
    return Condensed(text=text, shown_ids=[i for i, _, _ in chosen], candidates=len(lines), total_events=len(run),
                     token_budget=token_budget, tokens=tokens_for_chars(len(text)), method=method)


def _within(lines: list[tuple[int, str, str]], budget: int) -> tuple[list[tuple[int, str, str]], str]:
    chosen: list[tuple[int, str, str]] = []
    used = 0
    notes: list[str] = []
    for tier in TIERS:
        tier_lines = [x for x in lines if x[1] == tier]
        if not tier_lines:
            continue
        cost = sum(len(x[2]) + 1 for x in tier_lines)
        if used + cost <= budget:
            chosen += tier_lines
            used += cost
            notes.append(f"all {len(tier_lines)} {tier}")
            continue
        room = budget - used
        mean = cost / len(tier_lines)
        take = int(room // mean)
        while take > 0:  # an even sample across the run that fits what is left
            picks = [tier_lines[i] for i in np.unique(np.linspace(0, len(tier_lines) - 1, take).round().astype(int))]
            if sum(len(x[2]) + 1 for x in picks) <= room:
                chosen += picks
                notes.append(f"an even sample of {len(picks)} of {len(tier_lines)} {tier}")
                break
            take -= max(1, take // 10)
        else:
            notes.append(f"none of {len(tier_lines)} {tier}")
        break_tiers = TIERS[TIERS.index(tier) + 1:]
        notes += [f"no {t}" for t in break_tiers if any(x[1] == t for x in lines)]
        break
    return chosen, "; ".join(notes) + " (the budget did not hold them all)"


__all__ = ["MAX_LINE_CHARS", "TIERS", "Condensed", "condense_events", "render_event"]
