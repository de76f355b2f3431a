"""A run's budget: a wrapper that refuses, *before* it is made, a call that could take the run past it.

:class:`Budget` holds the limits (dollars, paid calls, tokens; any may be None). :class:`BudgetWrapper`
sits in a client's backend chain, inside the response cache (a cache hit costs nothing and is never
refused) and outside retries (one request is one call, however many attempts it takes). Before each
call it adds up what was spent so far, what the calls in flight have reserved, and the worst case of
this call: its prompt tokens (estimated from the messages with :mod:`tinytroupe.llm.tokens`) plus its
``max_tokens`` (or the wrapper's ``completion_tokens``) of answer, priced with the run's
:class:`~tinytroupe.llm.prices.PriceTable`. When that sum passes a limit the call is refused with
:class:`~tinytroupe.errors.BudgetExceeded` and the wrapper stays stopped (every later call is refused
too), so a run ends at its next step boundary with nothing left half-paid. The worst case is reserved
while the call is in flight, so 64 concurrent calls cannot all pass the check on the same remainder;
when the answer comes back the reservation is replaced by the real usage.

A cost limit needs the model's price: a wrapper asked to enforce dollars for a model its table does
not price refuses to start (:class:`~tinytroupe.errors.ConfigError`), since any figure would be invented.

Example:
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> from tinytroupe.errors import BudgetExceeded
    >>> client = LLMClient(BudgetWrapper(ScriptedBackend(["a", "b", "c"]), Budget(max_calls=2)))
    >>> [client.complete([{"role": "user", "content": "hi"}]).value for _ in range(2)]
    ['a', 'b']
    >>> try:
    ...     client.complete([{"role": "user", "content": "hi"}])
    ... except BudgetExceeded as stop:
    ...     print(stop.limit, stop.spent["calls"])
    calls 2
"""

from __future__ import annotations

import threading
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tinytroupe.errors import BudgetExceeded, ConfigError
from tinytroupe.llm.backend import Backend, BackendWrapper
from tinytroupe.llm.prices import DEFAULT_PRICES, PriceTable
from tinytroupe.llm.tokens import estimate_tokens
from tinytroupe.llm.types import CallContext, Completion, LLMRequest

#: answer tokens reserved for a call whose request sets no ``max_tokens`` (``[OpenAI] MAX_COMPLETION_TOKENS``)
DEFAULT_COMPLETION_RESERVE = 1024


class Budget(BaseModel):
    """The most a run may spend: US dollars, paid calls, tokens (prompt + completion). None: no limit.

    Example:
        >>> Budget(max_cost_usd=0.5).limited, Budget().limited
        (True, False)
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    max_cost_usd: float | None = Field(None, gt=0, description="dollars, priced with the run's price table")
    max_calls: int | None = Field(None, ge=1, description="calls that reach the model (cache hits are free)")
    max_tokens: int | None = Field(None, ge=1, description="prompt + completion tokens of those calls")

    @classmethod
    def of(cls, max_cost_usd: float | None = None, max_calls: int | None = None,
           max_tokens: int | None = None) -> Budget | None:
        """A budget with these limits, or None when none is given (then a default one applies).

        Example:
            >>> Budget.of(None, None, None) is None, Budget.of(max_calls=3).max_calls
            (True, 3)
        """
        if max_cost_usd is None and max_calls is None and max_tokens is None:
            return None
        return cls(max_cost_usd=max_cost_usd, max_calls=max_calls, max_tokens=max_tokens)

    @property
    def limited(self) -> bool:
        """Whether any limit is set."""
        return any(v is not None for v in (self.max_cost_usd, self.max_calls, self.max_tokens))


class _Spent:
    __slots__ = ("calls", "completion_tokens", "cost", "prompt_tokens")

    def __init__(self) -> None:
        self.calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.cost = 0.0

    def add(self, calls: int, prompt: int, completion: int, cost: float, sign: int = 1) -> None:
        self.calls += sign * calls
        self.prompt_tokens += sign * prompt
        self.completion_tokens += sign * completion
        self.cost += sign * cost


class BudgetWrapper(BackendWrapper):
    """Refuses a call that could pass ``budget`` (see the module's docstring).

    Args:
        inner: the backend chain below (retries, limits, the backend).
        budget: the limits.
        prices: prices for the cost limit and :meth:`spent` (default: the built-in table).
        completion_tokens: answer tokens reserved for a request without ``max_tokens``.

    Raises:
        ConfigError: a cost limit is set and the default model has no price in ``prices``.
    """

    def __init__(self, inner: Backend, budget: Budget, *, prices: PriceTable | None = None,
                 completion_tokens: int = DEFAULT_COMPLETION_RESERVE) -> None:
        super().__init__(inner)
        self.budget = budget
        self.prices = prices if prices is not None else DEFAULT_PRICES
        self.completion_tokens = completion_tokens
        self._lock = threading.Lock()
        self._spent = _Spent()
        self._reserved = _Spent()
        #: the refusal that stopped this budget (None while it has not been reached)
        self.exceeded: BudgetExceeded | None = None
        self._priced(inner.default_model)

    def _priced(self, model: str) -> None:
        if self.budget.max_cost_usd is not None and self.prices.price(model) is None:
            raise ConfigError(
                f"a budget of ${self.budget.max_cost_usd:g} needs the price of model {model!r}, which the price "
                f"table ({self.prices.source}, {self.prices.as_of}) does not have; give it with --prices FILE "
                "([models.\"<name>\"] input/output $ per 1M tokens) or limit calls or tokens instead",
                section="Budget", key="max_cost_usd")

    def spent(self) -> dict[str, Any]:
        """What the calls that came back used: ``calls``, ``prompt_tokens``, ``completion_tokens``,
        ``total_tokens`` and ``cost_usd`` (None when a model had no price)."""
        with self._lock:
            return self._spent_dict()

    def _spent_dict(self) -> dict[str, Any]:
        s = self._spent
        return {"calls": s.calls, "prompt_tokens": s.prompt_tokens, "completion_tokens": s.completion_tokens,
                "total_tokens": s.prompt_tokens + s.completion_tokens,
                "cost_usd": None if s.cost != s.cost else round(s.cost, 6)}  # NaN marks an unpriced model

    async def generate(self, request: LLMRequest, context: CallContext) -> Completion:
        model = request.model or self.inner.default_model
        self._priced(model)
        prompt = sum(estimate_tokens(m.content) for m in request.messages)
        completion = request.max_tokens or self.completion_tokens
        cost = self.prices.cost(model, prompt, completion)
        worst = (1, prompt, completion, cost if cost is not None else 0.0)
        with self._lock:
            self._check(prompt + completion, worst[3], context)
            self._reserved.add(*worst)
        try:
            answer = await self.inner.generate(request, context)
        except BaseException:
            with self._lock:
                self._reserved.add(*worst, sign=-1)
            raise
        used = answer.usage
        real = self.prices.cost(answer.model, used.prompt_tokens, used.completion_tokens)
        with self._lock:
            self._reserved.add(*worst, sign=-1)
            # NaN keeps "unknown" sticky: once a call had no price, the total cost is not known
            self._spent.add(1, used.prompt_tokens, used.completion_tokens, real if real is not None else float("nan"))
        return answer

    def _check(self, tokens: int, cost: float, context: CallContext) -> None:
        """Raise BudgetExceeded when this call's worst case could pass a limit (the lock is held)."""
        if self.exceeded is not None:
            raise self._refusal(self.exceeded.limit, str(self.exceeded).split(";")[0], context)
        b, s, r = self.budget, self._spent, self._reserved
        why: tuple[str, str] | None = None
        if b.max_calls is not None and s.calls + r.calls + 1 > b.max_calls:
            why = ("calls", f"the budget of {b.max_calls} calls is used up ({s.calls} made, {r.calls} in flight)")
        elif b.max_tokens is not None and (used := s.prompt_tokens + s.completion_tokens + r.prompt_tokens
                                           + r.completion_tokens) + tokens > b.max_tokens:
            why = ("tokens", f"the budget of {b.max_tokens:,} tokens would be passed ({used:,} used or reserved, "
                             f"this call up to {tokens:,})")
        elif b.max_cost_usd is not None and (spent := (0.0 if s.cost != s.cost else s.cost) + r.cost) + cost \
                > b.max_cost_usd:
            why = ("cost", f"the budget of ${b.max_cost_usd:g} would be passed (${spent:.4f} spent or reserved, "
                           f"this call up to ${cost:.4f})")
        if why is not None:
            self.exceeded = self._refusal(*why, context)
            raise self.exceeded

    def _refusal(self, limit: str, why: str, context: CallContext) -> BudgetExceeded:
        where = ", ".join(f"{k} {v}" for k, v in (("agent", context.agent), ("world", context.world),
                                                   ("step", context.step), ("purpose", context.purpose))
                          if v is not None)
        return BudgetExceeded(f"{why}; the call ({where}) was not made and the run stops here",
                              limit=limit, spent=self._spent_dict()).with_call(  # type: ignore[return-value]
            agent=context.agent, world=context.world, purpose=context.purpose)


__all__ = ["DEFAULT_COMPLETION_RESERVE", "Budget", "BudgetWrapper"]
