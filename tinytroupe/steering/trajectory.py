"""What steering shows a language model of a simulation: its targets' recent trajectories, within a budget.

:class:`~tinytroupe.steering.Intervention` (its textual precondition) and
:class:`~tinytroupe.steering.TinyStory` both render the same way, with this module: each target's
:meth:`pretty_current_interactions` (the first ``first_n`` and last ``last_n`` events), joined, then
cut to the client's prompt size keeping the newest part, since the latest events are what a
precondition or the next story beat is about.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> ana = TinyPerson("Ana").listen("Shall we start?", source="Ben")
    >>> render_trajectory([ana], first_n=10, last_n=20).splitlines()[1:]
    ['Ben said: "Shall we start?"']
    >>> keep_newest("first line\\nsecond line\\nthird line\\nlast line", 40)
    '(earlier text omitted)\\nlast line'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeAlias

from tinytroupe.agent.person import TinyPerson
from tinytroupe.environment.world import TinyWorld
from tinytroupe.errors import InvalidArgument, InvalidArgumentType
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.tokens import chars_for_tokens
from tinytroupe.prompt_folder import PromptFolder

Target: TypeAlias = TinyPerson | TinyWorld
Targets: TypeAlias = Target | Iterable[Target]

#: the most characters a steering prompt holds (less when the client's model prefers shorter prompts)
PROMPT_CHAR_BUDGET = 24_000
OMITTED = "(earlier text omitted)"

_FOLDER = PromptFolder("tinytroupe.steering")

#: one of steering's prompt templates (``steering/prompts/*.j2``), rendered
render_prompt = _FOLDER.render


def as_target_list(targets: Targets, what: str = "intervention targets") -> list[Target]:
    """``targets`` as a non-empty list of agents and worlds.

    Raises:
        InvalidArgumentType: something in it is neither a :class:`TinyPerson` nor a :class:`TinyWorld`.
        InvalidArgument: the list is empty.
    """
    if isinstance(targets, TinyPerson | TinyWorld):
        return [targets]
    if isinstance(targets, str) or not isinstance(targets, Iterable):
        raise InvalidArgumentType(f"{what} are agents or worlds, got {type(targets).__name__}")
    items = list(targets)
    for t in items:
        if not isinstance(t, TinyPerson | TinyWorld):
            raise InvalidArgumentType(f"{what} are agents or worlds, got {type(t).__name__}")
    if not items:
        raise InvalidArgument(f"{what}: give at least one agent or world")
    return items


def render_trajectory(targets: Sequence[Target], first_n: int | None, last_n: int | None,
                      include_omission_info: bool = True) -> str:
    """Each target's history (its first ``first_n`` and last ``last_n`` events), one block per agent."""
    return "\n\n".join(t.pretty_current_interactions(first_n=first_n, last_n=last_n,
                                                     include_omission_info=include_omission_info)
                       for t in targets)


def keep_newest(text: str, budget: int) -> str:
    """``text`` if it fits in ``budget`` characters, else its newest whole lines that do, after a note."""
    if len(text) <= budget:
        return text
    room = budget - len(OMITTED) - 1
    tail = text[len(text) - room:] if room > 0 else ""
    # A line cut in the middle would misquote someone: start at the next whole line.
    return OMITTED + "\n" + (tail.split("\n", 1)[1] if "\n" in tail else "")


def char_budget(client: LLMClient, share: float = 2 / 3) -> int:
    """Characters a prompt section may take: ``share`` of the prompt, which is what the client's model
    handles well, at most :data:`PROMPT_CHAR_BUDGET` (the instructions take the rest)."""
    hint = client.prompt_token_hint
    total = PROMPT_CHAR_BUDGET if hint is None else min(PROMPT_CHAR_BUDGET, chars_for_tokens(hint))
    return int(total * share)


def world_of(targets: Sequence[Target]) -> str | None:
    """The name of the world the targets live in (for usage accounting), if any."""
    for t in targets:
        if isinstance(t, TinyWorld):
            return t.name
    env = getattr(targets[0], "environment", None) if targets else None
    return env.name if env is not None else None


__all__ = ["OMITTED", "PROMPT_CHAR_BUDGET", "Target", "Targets", "as_target_list", "char_budget",
           "keep_newest", "render_prompt", "render_trajectory", "world_of"]
