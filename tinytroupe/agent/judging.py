"""Judging claims about what simulated people did: a language model reads their trajectories and says
whether a claim holds (true or false) or how far it holds (0-9), with a justification and a confidence.

Everything that judges uses this one copy: ``Proposition`` (:mod:`tinytroupe.experimentation`), the
predefined propositions and ``TinyPersonValidator`` (:mod:`tinytroupe.validation`), interventions'
textual preconditions (:mod:`tinytroupe.steering`) and a turn's action quality checks
(:mod:`tinytroupe.agent.action_quality`, which is why it sits in the agent layer). A judge's answer is a
validated :class:`PropositionCheck` or :class:`PropositionScore`; one that stays malformed after the
client's re-asks raises :class:`~tinytroupe.errors.LLMOutputError` with the raw text, never a made-up
verdict.

Example:
    >>> from tinytroupe.aio import run_sync
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> client = LLMClient(ScriptedBackend([{"justification": "She said hello.", "value": True, "confidence": 0.9}]))
    >>> verdict = run_sync(ajudge(client, PropositionCheck, "Ana greets Ben.", 'Ana said: "Hello Ben"'))
    >>> verdict.value, verdict.confidence
    (True, 0.9)
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, Field

from tinytroupe.agent.prompts import template
from tinytroupe.errors import InvalidArgument
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.tokens import chars_for_tokens
from tinytroupe.llm.types import Message

logger = logging.getLogger(__name__)

#: the lowest and highest score a judge gives (TinyTroupe's ``Proposition.MIN_SCORE`` / ``MAX_SCORE``)
MIN_SCORE = 0
MAX_SCORE = 9
#: what the judge is told when the caller gives no additional context (TinyTroupe's default text)
DEFAULT_ADDITIONAL_CONTEXT = "No additional context available."
#: the most characters of context shown to a judge whose backend gives no prompt-size hint
CONTEXT_CHAR_BUDGET = 60_000

_JUSTIFICATION = Field(min_length=1, max_length=4000,
                       description="which events, words or persona details decided it, concretely")
_CONFIDENCE = Field(ge=0.0, le=1.0, description="how sure, from 0 (a guess) to 1 (certain)")


# The justification comes first: the model writes its reasons before it commits to a value.
class PropositionCheck(BaseModel):
    """A judge's answer to "is this claim true of the context?"."""

    justification: str = _JUSTIFICATION
    value: bool = Field(description="whether the claim is true of the context")
    confidence: float = _CONFIDENCE


class PropositionScore(BaseModel):
    """A judge's answer to "how far does this claim hold?" (0: plainly false ... 9: holds throughout)."""

    justification: str = _JUSTIFICATION
    value: int = Field(ge=MIN_SCORE, le=MAX_SCORE, description=f"{MIN_SCORE} (false) to {MAX_SCORE} (true)")
    confidence: float = _CONFIDENCE


V = TypeVar("V", PropositionCheck, PropositionScore)


@runtime_checkable
class Judged(Protocol):
    """What a judge can read: an agent or a world (both ``TinyPerson`` and ``TinyWorld`` are)."""

    name: str

    @property
    def client(self) -> LLMClient: ...

    def pretty_current_interactions(self, simplified: bool = True, skip_system: bool = True,
                                    max_content_length: int | None = None, first_n: int | None = None,
                                    last_n: int | None = None, include_omission_info: bool = True) -> str: ...


_VARIABLE = re.compile(r"\{\{\{\s*([A-Za-z_][\w.]*)\s*\}\}\}|\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")


def render_claim(claim: str, variables: Mapping[str, Any] | None = None) -> str:
    """``claim`` with each ``{{name}}`` (or ``{{{name}}}``) replaced by ``variables[name]``.

    Text values go in as they are, others as JSON. TinyTroupe renders claims with mustache, where a
    missing variable silently becomes empty text; here it is an error, since the judge would
    otherwise judge a different claim than the one meant.

    Raises:
        InvalidArgument: the claim names a variable that ``variables`` lacks.

    Example:
        >>> render_claim("The action {{action}} fits {{ who }}.", {"action": [{"type": "TALK"}], "who": "Ana"})
        'The action [{"type":"TALK"}] fits Ana.'
    """
    values = dict(variables or {})

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise InvalidArgument(f"the claim uses {{{{{name}}}}} but claim_variables has no {name!r} "
                                  f"(it has {sorted(values) or 'none'}); pass claim_variables={{{name!r}: ...}}")
        value = values[name]
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                                                               default=str)

    return _VARIABLE.sub(value_of, claim)


def _persona_text(target: Any) -> str | None:
    persona = getattr(target, "persona", None)
    render = getattr(persona, "render", None)
    return render() if callable(render) else None


def trajectory_context(targets: Sequence[Judged], first_n: int | None = None, last_n: int | None = None,
                       include_personas: bool = False, max_content_length: int | None = None) -> str:
    """What a judge reads about ``targets``: per target, optionally the personas (how each person was
    meant to be), then the trajectory (the first ``first_n`` and last ``last_n`` events of each person;
    None: all of them).

    Example:
        >>> from tinytroupe.agent import TinyPerson
        >>> ana = TinyPerson("Ana", persona={"age": 30}).listen("Hi", source="Ben")
        >>> lines = trajectory_context([ana], include_personas=True).splitlines()
        >>> for line in lines[:5] + lines[-1:]:
        ...     print(line)
        ## Agent 'Ana'
        ### Persona specification (how the person was meant to be; not part of what happened)
        Name: Ana
        Age: 30
        ### Trajectory
        Ben said: "Hi"
    """
    blocks: list[str] = []
    for target in targets:
        members = getattr(target, "agents", None)
        lines = [f"## {'World' if members is not None else 'Agent'} '{target.name}'"]
        if include_personas:
            people = list(members) if members is not None else [target]
            lines.append("### Persona specification" + ("s" if members is not None else "")
                         + " (how the person was meant to be; not part of what happened)")
            for person in people:
                text = _persona_text(person)
                if text is not None:
                    lines += [f"#### {person.name}", text] if members is not None else [text]
        trajectory = target.pretty_current_interactions(max_content_length=max_content_length, first_n=first_n,
                                                        last_n=last_n)
        lines += ["### Trajectory", trajectory or "(nothing happened yet)"]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def context_budget(client: LLMClient) -> int:
    """The most characters of context a judge on ``client`` is shown (two thirds of what its backend
    handles well, or :data:`CONTEXT_CHAR_BUDGET`)."""
    hint = client.prompt_token_hint
    return CONTEXT_CHAR_BUDGET if hint is None else min(CONTEXT_CHAR_BUDGET, chars_for_tokens(hint) * 2 // 3)


def fit_context(text: str, budget: int) -> str:
    """``text`` within ``budget`` characters: its start and end, with a line that says how much of the
    middle was left out (the judge is told, never shown a cut as if it were the whole).

    Example:
        >>> fit_context("a" * 50 + "b" * 50, 60)
        'aaaaaaaaaa\\n(... 80 characters omitted ...)\\nbbbbbbbbbb'
    """
    if len(text) <= budget:
        return text
    keep = max(budget - 40, 2)
    head, tail = keep // 2, keep - keep // 2
    return f"{text[:head]}\n(... {len(text) - head - tail} characters omitted ...)\n{text[-tail:]}"


async def ajudge(client: LLMClient, verdict: type[V], claim: str, context: str, *,
                 additional_context: str = DEFAULT_ADDITIONAL_CONTEXT, double_check: bool = False,
                 purpose: str = "proposition", agent: str | None = None, world: str | None = None,
                 step: int | None = None) -> V:
    """Ask the judge on ``client`` whether (``PropositionCheck``) or how far (``PropositionScore``)
    ``claim`` holds of ``context``.

    ``double_check`` asks once more ("are you sure?") with the first answer in view and keeps the
    second (TinyTroupe's option: stricter, and twice the calls). ``purpose``, ``agent``, ``world`` and
    ``step`` label the calls for usage accounting and the trace.

    Raises:
        LLMOutputError: the judge's answer stayed malformed after the client's re-asks (it carries the raw
            text; no verdict is made up).
        LLMTransportError: the model server could not be reached.
    """
    system = template("judge_check.j2" if verdict is PropositionCheck else "judge_score.j2").render(
        min_score=MIN_SCORE, max_score=MAX_SCORE)
    user = template("judge_user.j2").render(claim=claim, context=fit_context(context, context_budget(client)),
                                           additional_context=additional_context or DEFAULT_ADDITIONAL_CONTEXT)
    messages = [Message(role="system", content=system), Message(role="user", content=user)]
    labels: dict[str, Any] = {"purpose": purpose, "agent": agent, "world": world, "step": step}
    first: V = (await client.acomplete(messages, response_model=verdict, **labels)).value
    if not double_check:
        return first
    messages += [Message(role="assistant", content=first.model_dump_json()),
                 Message(role="user", content=template("judge_double_check.j2").render())]
    second: V = (await client.acomplete(messages, response_model=verdict, **labels)).value
    if second.value != first.value:
        logger.info("the judge revised its verdict on %r from %s to %s", claim[:80], first.value, second.value)
    return second


__all__ = ["CONTEXT_CHAR_BUDGET", "DEFAULT_ADDITIONAL_CONTEXT", "MAX_SCORE", "MIN_SCORE", "Judged",
           "PropositionCheck", "PropositionScore", "ajudge", "context_budget", "fit_context", "render_claim",
           "trajectory_context"]
