"""``Proposition``: a claim about agents or worlds that a language model judges against what they did,
as true or false (:meth:`~Proposition.check`) or as a 0-9 score (:meth:`~Proposition.score`), with a
justification and a confidence (TinyTroupe's class, constructor and methods).

The judge reads each target's trajectory (the first ``first_n`` and last ``last_n`` events; all by
default), the personas too with ``include_personas``, and any ``additional_context``; the claim may
hold ``{{name}}`` variables filled from ``claim_variables``. The verdict is kept on the object
(``value``, ``justification``, ``confidence``, ``full_evaluation_response``). A judge's answer that
stays malformed after the client's re-asks raises :class:`~tinytroupe.errors.LLMOutputError` with the
raw text: no verdict is made up (TinyTroupe may return None there).

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> judge = LLMClient(ScriptedBackend([{"justification": "She asked about the price twice.", "value": 7,
    ...                                     "confidence": 0.8}]))
    >>> ana = TinyPerson("Ana").listen("It costs 40 euros.", source="Ben")
    >>> careful = Proposition("Ana cares about money.", target=ana, client=judge)
    >>> careful.score(), careful.justification
    (7, 'She asked about the price twice.')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeAlias

from tinytroupe.agent.judging import (
    DEFAULT_ADDITIONAL_CONTEXT,
    MAX_SCORE,
    MIN_SCORE,
    PropositionCheck,
    PropositionScore,
    V,
    ajudge,
    render_claim,
    trajectory_context,
)
from tinytroupe.agent.person import TinyPerson
from tinytroupe.aio import run_sync
from tinytroupe.compat import ignored_argument
from tinytroupe.environment.world import TinyWorld
from tinytroupe.errors import InvalidArgument, InvalidArgumentType
from tinytroupe.llm.client import LLMClient

Target: TypeAlias = TinyPerson | TinyWorld
Targets: TypeAlias = Target | Sequence[Target]
#: ``f(target=..., additional_context=..., claim_variables=...) -> bool`` (TinyTroupe's keyword names)
PreconditionFunction: TypeAlias = Callable[..., bool]

_TRIVIAL = "The proposition is trivially true: its precondition does not hold, so nothing was judged."


def as_targets(target: Targets) -> list[Target]:
    """``target`` as a non-empty list of agents and worlds.

    Raises:
        InvalidArgumentType: something in it is neither a ``TinyPerson`` nor a ``TinyWorld``.
        InvalidArgument: the list is empty.
    """
    items = [target] if isinstance(target, TinyPerson | TinyWorld) else list(target)
    for item in items:
        if not isinstance(item, TinyPerson | TinyWorld):
            raise InvalidArgumentType(f"a proposition's target is a TinyPerson, a TinyWorld or a list of them, "
                                      f"got {type(item).__name__}")
    if not items:
        raise InvalidArgument("a proposition needs at least one target")
    return items


def _window(name: str, value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise InvalidArgument(f"{name} is a number of events (0 or more) or None for all, got {value!r}")
    return value


class Proposition:
    """A claim about one or more agents or worlds, judged by a language model.

    Args:
        claim: what is claimed, in words; ``{{name}}`` parts are filled from ``claim_variables``.
        target: the agent(s) or world(s) it is about; None: give them to each check or score instead.
        include_personas: show the judge the persona specifications too (agents', or a world's agents').
        first_n, last_n: how many of the first and of the last events of each trajectory the judge reads
            (None: no limit on that side; both None: everything).
        double_check: ask the judge once more ("are you sure?") and keep its second answer (stricter,
            twice the calls).
        use_reasoning_model: accepted for TinyTroupe scripts, no effect (a warning says so): pass
            ``client=`` a client of the model you want as judge.
        precondition_function: ``f(target=..., additional_context=..., claim_variables=...) -> bool``;
            when it is false the proposition holds trivially (True, or the top score) without a call,
            making it "precondition implies claim" (``target`` is the list of targets).
        client: the judge's LLM client (ours, keyword-only; default: the first target's client).

    Raises:
        InvalidArgument: the claim is empty, or ``first_n``/``last_n`` is negative.
        InvalidArgumentType: a target is neither a ``TinyPerson`` nor a ``TinyWorld``.
    """

    MIN_SCORE = MIN_SCORE
    MAX_SCORE = MAX_SCORE

    def __init__(self, claim: str, target: Targets | None = None, include_personas: bool = False,
                 first_n: int | None = None, last_n: int | None = None, double_check: bool = False,
                 use_reasoning_model: bool = False, precondition_function: PreconditionFunction | None = None, *,
                 client: LLMClient | None = None) -> None:
        if not isinstance(claim, str) or not claim.strip():
            raise InvalidArgument("a proposition needs a claim: a non-empty statement about its targets")
        if use_reasoning_model:
            ignored_argument("Proposition", "use_reasoning_model",
                             "pass client= a client of the model that should judge")
        self.claim = claim
        self.targets: list[Target] | None = None if target is None else as_targets(target)
        self.include_personas = bool(include_personas)
        self.first_n = _window("first_n", first_n)
        self.last_n = _window("last_n", last_n)
        self.double_check = bool(double_check)
        self.use_reasoning_model = bool(use_reasoning_model)
        self.precondition_function = precondition_function
        self.client = client
        #: the last verdict: True/False after a check, 0-9 after a score (None before any)
        self.value: bool | int | None = None
        self.justification: str | None = None
        self.confidence: float | None = None
        #: the last verdict as a dict: ``value``, ``justification``, ``confidence``
        self.full_evaluation_response: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"Proposition({self.claim[:60]!r}{'...' if len(self.claim) > 60 else ''})"

    def __copy__(self) -> Proposition:
        return self.copy()

    def copy(self) -> Proposition:
        """The same proposition (claim, targets, options) without its last verdict.

        Example:
            >>> p = Proposition("The agents agree.", first_n=3)
            >>> p.value = True
            >>> q = p.copy()
            >>> (q.claim, q.first_n, q.value)
            ('The agents agree.', 3, None)
        """
        twin = Proposition(self.claim, self.targets, self.include_personas, self.first_n, self.last_n,
                           self.double_check, False, self.precondition_function, client=self.client)
        twin.use_reasoning_model = self.use_reasoning_model  # set after, so the copy does not warn again
        return twin

    # ------------------------------------------------------------------ judging

    def __call__(self, target: Targets | None = None, additional_context: str | None = None,
                 claim_variables: Mapping[str, Any] | None = None,
                 return_full_response: bool = False) -> bool | dict[str, Any]:
        """:meth:`check` (TinyTroupe's shorthand)."""
        return self.check(target, additional_context or DEFAULT_ADDITIONAL_CONTEXT, claim_variables,
                          return_full_response)

    def check(self, target: Targets | None = None, additional_context: str = DEFAULT_ADDITIONAL_CONTEXT,
              claim_variables: Mapping[str, Any] | None = None,
              return_full_response: bool = False) -> bool | dict[str, Any]:
        """Whether the claim holds of the targets (or, with ``return_full_response``, the verdict as a
        dict with ``value``, ``justification`` and ``confidence``). One LLM call (two with
        ``double_check``); none when the precondition does not hold.

        Raises:
            InvalidArgument: a target is given here and at construction too, or neither; or the claim
                uses a variable ``claim_variables`` lacks.
            InvalidArgumentType: a target is neither a ``TinyPerson`` nor a ``TinyWorld``.
            LLMOutputError: the judge's answer stayed malformed after the re-asks (raw text attached).
            LLMTransportError: the model server could not be reached.
        """
        return run_sync(self.acheck(target, additional_context, claim_variables, return_full_response))

    async def acheck(self, target: Targets | None = None, additional_context: str = DEFAULT_ADDITIONAL_CONTEXT,
                     claim_variables: Mapping[str, Any] | None = None,
                     return_full_response: bool = False) -> bool | dict[str, Any]:
        """Async twin of :meth:`check` (same arguments, same errors).

        Raises:
            InvalidArgument: as :meth:`check`.
            LLMOutputError: as :meth:`check`.
        """
        full = await self._evaluate(PropositionCheck, target, additional_context, claim_variables)
        return dict(full) if return_full_response else bool(full["value"])

    def score(self, target: Targets | None = None, additional_context: str = DEFAULT_ADDITIONAL_CONTEXT,
              claim_variables: Mapping[str, Any] | None = None,
              return_full_response: bool = False) -> int | dict[str, Any]:
        """How far the claim holds of the targets, from :attr:`MIN_SCORE` (0, false throughout) to
        :attr:`MAX_SCORE` (9, true throughout); with ``return_full_response``, the verdict as a dict.
        The judge gives 9 when the trajectory holds nothing that bears on the claim, and the lower
        score when unsure (TinyTroupe's rules).

        Raises:
            InvalidArgument: as :meth:`check`.
            InvalidArgumentType: as :meth:`check`.
            LLMOutputError: the judge's answer stayed malformed after the re-asks (raw text attached).
            LLMTransportError: the model server could not be reached.
        """
        return run_sync(self.ascore(target, additional_context, claim_variables, return_full_response))

    async def ascore(self, target: Targets | None = None, additional_context: str = DEFAULT_ADDITIONAL_CONTEXT,
                     claim_variables: Mapping[str, Any] | None = None,
                     return_full_response: bool = False) -> int | dict[str, Any]:
        """Async twin of :meth:`score` (same arguments, same errors).

        Raises:
            InvalidArgument: as :meth:`check`.
            LLMOutputError: as :meth:`score`.
        """
        full = await self._evaluate(PropositionScore, target, additional_context, claim_variables)
        return dict(full) if return_full_response else int(full["value"])

    async def _evaluate(self, kind: type[V], target: Targets | None, additional_context: str,
                        claim_variables: Mapping[str, Any] | None) -> dict[str, Any]:
        targets = self._determine_target(target)
        additional = additional_context or DEFAULT_ADDITIONAL_CONTEXT
        variables = dict(claim_variables or {})
        claim = render_claim(self.claim, variables)  # a missing variable fails before any call
        holds = True if self.precondition_function is None else bool(self.precondition_function(
            target=targets, additional_context=additional, claim_variables=variables))
        if not holds:
            top: bool | int = True if kind is PropositionCheck else MAX_SCORE
            return self._keep(top, _TRIVIAL, 1.0)
        context = trajectory_context(targets, self.first_n, self.last_n, self.include_personas)
        verdict = await ajudge(self._client(targets), kind, claim, context, additional_context=additional,
                               double_check=self.double_check, purpose="proposition", **_labels(targets))
        return self._keep(verdict.value, verdict.justification, verdict.confidence)

    def _keep(self, value: bool | int, justification: str, confidence: float) -> dict[str, Any]:
        self.value, self.justification, self.confidence = value, justification, confidence
        full = {"value": value, "justification": justification, "confidence": confidence}
        self.full_evaluation_response = full
        return full

    def _determine_target(self, target: Targets | None) -> list[Target]:
        # As TinyTroupe: a proposition's targets are fixed at construction or given at each use, not both.
        if self.targets is None:
            if target is None:
                raise InvalidArgument("no target: give the proposition a target (an agent, a world or a list) "
                                      "here or when making it")
            return as_targets(target)
        if target is not None:
            raise InvalidArgument("this proposition already has its targets; make one without target= to judge "
                                  "other targets, or call it without one")
        return self.targets

    def _client(self, targets: list[Target]) -> LLMClient:
        return self.client if self.client is not None else targets[0].client


def _labels(targets: list[Target]) -> dict[str, Any]:
    """Who the judge's calls are about, for usage accounting and the trace."""
    first = targets[0]
    if isinstance(first, TinyWorld):
        return {"world": first.name}
    env = first.environment
    return {"agent": first.name if len(targets) == 1 else None, "world": env.name if env is not None else None}


def check_proposition(target: Targets, claim: str, additional_context: str = DEFAULT_ADDITIONAL_CONTEXT,
                      first_n: int | None = None, last_n: int | None = None,
                      return_full_response: bool = False) -> bool | dict[str, Any]:
    """Whether ``claim`` holds of ``target`` (TinyTroupe's shorthand for a one-off :class:`Proposition`).

    Raises:
        InvalidArgument: as :meth:`Proposition.check`.
        InvalidArgumentType: a target is neither a ``TinyPerson`` nor a ``TinyWorld``.
        LLMOutputError: the judge's answer stayed malformed after the re-asks.
    """
    return Proposition(claim, target, first_n=first_n, last_n=last_n).check(
        additional_context=additional_context, return_full_response=return_full_response)


async def acheck_proposition(target: Targets, claim: str, additional_context: str = DEFAULT_ADDITIONAL_CONTEXT,
                             first_n: int | None = None, last_n: int | None = None,
                             return_full_response: bool = False) -> bool | dict[str, Any]:
    """Async twin of :func:`check_proposition`."""
    return await Proposition(claim, target, first_n=first_n, last_n=last_n).acheck(
        additional_context=additional_context, return_full_response=return_full_response)


def compute_score(target: Targets, claim: str, additional_context: str = DEFAULT_ADDITIONAL_CONTEXT,
                  first_n: int | None = None, last_n: int | None = None,
                  return_full_response: bool = False) -> int | dict[str, Any]:
    """How far (0-9) ``claim`` holds of ``target`` (TinyTroupe's shorthand for a one-off
    :class:`Proposition`'s :meth:`~Proposition.score`; TinyTroupe 0.6.0's own fails, calling a method
    that does not exist).

    Raises:
        InvalidArgument: as :meth:`Proposition.score`.
        InvalidArgumentType: a target is neither a ``TinyPerson`` nor a ``TinyWorld``.
        LLMOutputError: the judge's answer stayed malformed after the re-asks.
    """
    return Proposition(claim, target, first_n=first_n, last_n=last_n).score(
        additional_context=additional_context, return_full_response=return_full_response)


async def acompute_score(target: Targets, claim: str, additional_context: str = DEFAULT_ADDITIONAL_CONTEXT,
                         first_n: int | None = None, last_n: int | None = None,
                         return_full_response: bool = False) -> int | dict[str, Any]:
    """Async twin of :func:`compute_score`."""
    return await Proposition(claim, target, first_n=first_n, last_n=last_n).ascore(
        additional_context=additional_context, return_full_response=return_full_response)


__all__ = ["PreconditionFunction", "Proposition", "Target", "Targets", "acheck_proposition", "acompute_score",
           "as_targets", "check_proposition", "compute_score"]
