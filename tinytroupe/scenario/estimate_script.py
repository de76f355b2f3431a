"""The tokens a scenario's script adds to the agents' prompts after the first one, for
:mod:`tinytroupe.scenario.estimate`: what is said, told and read between ``run`` steps.

Example:
    >>> from tinytroupe.scenario.model import Scenario
    >>> s = Scenario.model_validate({"name": "x", "agents": [{"persona": {"name": "Ana"}}],
    ...                              "script": [{"run": 1}, {"broadcast": "Tea or coffee?"}, {"run": 1}]})
    >>> later_script_tokens(s, ["Ana"])
    ([14], 0)
"""

from __future__ import annotations

from tinytroupe.llm.tokens import estimate_tokens
from tinytroupe.scenario.grounding import consult_tokens
from tinytroupe.scenario.model import Scenario


def story_tokens(words: int) -> int:
    """The tokens of a story passage of ``words`` words."""
    return -(-words * 4 // 3)  # about four tokens for three English words


def later_script_tokens(scenario: Scenario, names: list[str]) -> tuple[list[int], int]:
    """Per step after the first, the tokens the script adds to each prompt before it (mean per agent),
    and what the items after the last ``run`` add (before the extraction question's step)."""
    out: list[int] = []
    pending, started, n = 0, False, len(names)
    for item in scenario.script:
        if item.run is not None:
            if started:
                out.append(pending)
                out += [0] * (item.run - 1)
            else:
                out += [0] * (item.run - 1)
            started, pending = True, 0
            continue
        if not started:
            continue  # already in the rendered first prompt
        if item.story is not None or item.consult is not None:  # a passage told to everyone; passages read
            pending += (story_tokens(item.story.number_of_words) + 10 if item.story is not None else
                        sum(consult_tokens(scenario, item, names).values()) // max(n, 1))
            continue
        texts = ([item.broadcast] if item.broadcast else []) + list((item.listen or {}).values()) \
            + list((item.think or {}).values()) + list((item.see or {}).values()) \
            + list((item.internalize_goal or {}).values()) + list(item.context or [])
        targeted = item.broadcast is None and item.context is None
        pending += sum(estimate_tokens(t) for t in texts) // (n if targeted and n else 1) + 10
    return out, pending


__all__ = ["later_script_tokens", "story_tokens"]
