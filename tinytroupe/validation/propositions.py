"""The predefined propositions TinyTroupe users expect (``tinytroupe.validation.propositions``), each a
:class:`~tinytroupe.experimentation.Proposition` without targets: pass the agent or world to
``check``/``score``.

Whole-trajectory (judge an agent's or a world's history):

=========================  ==============================================================  ================
name                       the claim                                                        options
=========================  ==============================================================  ================
``persona_adherence``      the agent behaves as its persona specification says              personas shown
``hard_persona_adherence`` the same, each departure taking about two points off             personas shown
``self_consistency``       nothing it does contradicts what it did before                   -
``fluency``                its words are natural, varied, not formulaic or repetitive       -
``task_completion``        it carries out the task or goal it was given                     -
``quiet_recently``         it said little or nothing in its last events                     last 10 events
``divergence``             the agents bring many different ideas                            -
``convergence``            the agents' views come closer together                           -
=========================  ==============================================================  ================

Per action (``claim_variables={"action": ...}``, the proposed actions; first 5 and last 10 events;
trivially true, with no call, when the actions hold no TALK or THINK): ``action_persona_adherence``,
``hard_action_persona_adherence``, ``action_self_consistency``, ``action_fluency``,
``action_suitability``. These are the claims the ``[ActionGenerator]`` quality checks score
(:mod:`tinytroupe.agent.action_quality`).

Each access makes a new proposition (``propositions.fluency is propositions.fluency`` is False), so
uses in parallel never share a verdict: keep the object to read its ``justification``. The claims are
text files in ``tinytroupe/validation/prompts`` and ``tinytroupe/agent/prompts`` (``claim_*.j2``).

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> from tinytroupe.validation import propositions
    >>> judge = LLMClient(ScriptedBackend([{"justification": "Varied, natural wording.", "value": 8,
    ...                                     "confidence": 0.7}]))
    >>> ana = TinyPerson("Ana", client=judge).listen("How was the trip?", source="Ben")
    >>> fluency = propositions.fluency
    >>> fluency.score(ana), fluency.justification
    (8, 'Varied, natural wording.')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tinytroupe.agent import prompts as agent_prompts
from tinytroupe.agent.action_quality import FIRST_N, LAST_N
from tinytroupe.errors import NotFound
from tinytroupe.experimentation.proposition import Proposition
from tinytroupe.prompt_folder import PromptFolder

_FOLDER = PromptFolder("tinytroupe.validation")


def says_something(target: Any = None, additional_context: Any = None,
                   claim_variables: Mapping[str, Any] | None = None) -> bool:
    """The per-action propositions' precondition: the proposed ``action`` (an action, a list of them, as
    objects or dicts, or text) holds a TALK or a THINK.

    Example:
        >>> says_something(claim_variables={"action": [{"type": "THINK", "content": "hm"}, {"type": "DONE"}]})
        True
        >>> says_something(claim_variables={"action": {"type": "DONE"}})
        False
    """
    action = (claim_variables or {}).get("action")
    for item in action if isinstance(action, list) else [action]:
        kind = item.get("type") if isinstance(item, Mapping) else getattr(item, "type", None)
        if kind in ("TALK", "THINK") or (isinstance(item, str) and ("TALK" in item or "THINK" in item)):
            return True
    return False


@dataclass(frozen=True)
class _Definition:
    claim: str  # the claim file's name, without "claim_" and ".j2"
    per_action: bool = False
    include_personas: bool = False
    last_n: int | None = None

    def build(self) -> Proposition:
        if self.per_action:
            return Proposition(agent_prompts.source(f"claim_{self.claim}.j2"), include_personas=self.include_personas,
                               first_n=FIRST_N, last_n=LAST_N, precondition_function=says_something)
        return Proposition(_FOLDER.source(f"claim_{self.claim}.j2"), include_personas=self.include_personas,
                           last_n=self.last_n)


_DEFINITIONS: dict[str, _Definition] = {
    "persona_adherence": _Definition("persona_adherence", include_personas=True),
    "hard_persona_adherence": _Definition("hard_persona_adherence", include_personas=True),
    "self_consistency": _Definition("self_consistency"),
    "fluency": _Definition("fluency"),
    "task_completion": _Definition("task_completion"),
    "quiet_recently": _Definition("quiet_recently", last_n=10),
    "divergence": _Definition("divergence"),
    "convergence": _Definition("convergence"),
    "action_persona_adherence": _Definition("action_persona_adherence", per_action=True, include_personas=True),
    "hard_action_persona_adherence": _Definition("hard_action_persona_adherence", per_action=True,
                                                 include_personas=True),
    "action_self_consistency": _Definition("action_self_consistency", per_action=True),
    "action_fluency": _Definition("action_fluency", per_action=True),
    "action_suitability": _Definition("action_suitability", per_action=True, include_personas=True),
}

#: the names of the predefined propositions, in the order of the tables above
PREDEFINED_PROPOSITIONS: tuple[str, ...] = tuple(_DEFINITIONS)


def predefined_proposition(name: str) -> Proposition:
    """A new copy of the predefined proposition ``name`` (what ``propositions.<name>`` gives).

    Raises:
        NotFound: no predefined proposition has that name (the message lists them).

    Example:
        >>> predefined_proposition("divergence").claim.startswith("The agents propose many different ideas")
        True
    """
    definition = _DEFINITIONS.get(name)
    if definition is None:
        raise NotFound(f"no predefined proposition named {name!r}; there are {', '.join(PREDEFINED_PROPOSITIONS)}")
    return definition.build()


def __getattr__(name: str) -> Proposition:
    # Built on access, never at import (the claims are files), and new each time (see the docstring).
    if name in _DEFINITIONS:
        return _DEFINITIONS[name].build()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_DEFINITIONS])


__all__ = ["PREDEFINED_PROPOSITIONS", "predefined_proposition", "says_something", *PREDEFINED_PROPOSITIONS]
