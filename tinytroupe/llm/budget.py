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

Turns that run in worker processes (:mod:`tinytroupe.environment.distributed`) spend the driver's budget
through shares: before a step the driver's wrapper lends what is left (:meth:`BudgetWrapper.lend`, reserved
like a call in flight), each worker's wrapper is armed with its :class:`BudgetShare`
(:meth:`BudgetWrapper.arm`) and checks its calls against the run's limits as the driver's would, and the
driver then charges what the worker used (:meth:`BudgetWrapper.settle`). The shares never add up to more
than was left, so no worker can take the run past its budget.

A cost limit needs the model's price: a wrapper asked to enforce dollars for a model its table does
not price refuses to start (:class:`~tinytroupe.errors.ConfigError`), since any figure would be invented,
and once an answer names a model it cannot price (what was spent is then unknown) it refuses the next call.

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
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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

        Raises:
            ConfigError: a limit is not a finite number above 0 (the limit is named).

        Example:
            >>> Budget.of(None, None, None) is None, Budget.of(max_calls=3).max_calls
            (True, 3)
        """
        if max_cost_usd is None and max_calls is None and max_tokens is None:
            return None
        try:
            return cls(max_cost_usd=max_cost_usd, max_calls=max_calls, max_tokens=max_tokens)
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(map(str, err["loc"]))
            raise ConfigError(f"budget: {key}: {err['msg']} (got {err.get('input')!r})", section="Budget",
                              key=key) from None

    @property
    def limited(self) -> bool:
        """Whether any limit is set."""
        return any(v is not None for v in (self.max_cost_usd, self.max_calls, self.max_tokens))


class BudgetFigures(BaseModel):
    """Calls, tokens and dollars: what was spent, what is held, what a share may use.

    Example:
        >>> BudgetFigures(calls=2, prompt_tokens=30, completion_tokens=12).tokens
        42
    """

    model_config = ConfigDict(frozen=True)

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = Field(0.0, description="NaN once a call's model had no price: the total is not known")

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class BudgetShare(BaseModel):
    """The part of a run's budget lent to a worker for one shard of a step (:meth:`BudgetWrapper.lend`).

    The worker's wrapper, armed with it (:meth:`BudgetWrapper.arm`), checks each call against the run's
    ``budget`` as the driver's would, counting what the run had ``spent`` when the share was lent and what it
    ``held`` for everything else (its calls in flight, the step's other shares): so the worker's calls can
    use what was ``lent`` and no more, and a refusal reads as the driver's would. ``exceeded``: the driver's
    budget had already refused a call, so the worker refuses every call too. Tokens lent are counted as
    prompt tokens (only their sum is limited).
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    budget: Budget
    prices: PriceTable
    completion_tokens: int
    lent: BudgetFigures
    spent: BudgetFigures
    held: BudgetFigures
    exceeded: BudgetExceeded | None = None


class ShareUse(BaseModel):
    """What a worker's calls used of its :class:`BudgetShare`, and the refusal that stopped them (if any)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    used: BudgetFigures
    exceeded: BudgetExceeded | None = None


class _Spent:
    __slots__ = ("calls", "completion_tokens", "cost", "prompt_tokens")

    def __init__(self, figures: BudgetFigures | None = None) -> None:
        self.calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.cost = 0.0
        if figures is not None:
            self.add_figures(figures)

    def add(self, calls: int, prompt: int, completion: int, cost: float, sign: int = 1) -> None:
        self.calls += sign * calls
        self.prompt_tokens += sign * prompt
        self.completion_tokens += sign * completion
        self.cost += sign * cost

    def add_figures(self, f: BudgetFigures, sign: int = 1) -> None:
        self.add(f.calls, f.prompt_tokens, f.completion_tokens, f.cost_usd, sign)

    def plus(self, other: _Spent) -> _Spent:
        both = _Spent(self.figures())
        both.add(other.calls, other.prompt_tokens, other.completion_tokens, other.cost)
        return both

    def figures(self) -> BudgetFigures:
        return BudgetFigures(calls=self.calls, prompt_tokens=self.prompt_tokens,
                             completion_tokens=self.completion_tokens, cost_usd=self.cost)


def _deal(total: int, shards: Sequence[Sequence[int]]) -> list[int]:
    """``total`` dealt out to the step's agents one at a time in their order, summed per shard: with one call
    per turn, the same turns get a call as when they all draw on one budget in that order."""
    agents = sum(len(places) for places in shards)
    if agents == 0:
        return [0] * len(shards)
    each, extra = divmod(total, agents)
    return [sum(each + (place < extra) for place in places) for places in shards]


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
        # a worker's wrapper armed with a share: what the run had spent, and held elsewhere, when it was lent
        self._base = _Spent()
        self._held = _Spent()
        #: the refusal that stopped this budget (None while it has not been reached)
        self.exceeded: BudgetExceeded | None = None
        self._unpriced: str | None = None  # a model that answered without a price: the cost is unknown
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
        s = self._spent.plus(self._base)
        return {"calls": s.calls, "prompt_tokens": s.prompt_tokens, "completion_tokens": s.completion_tokens,
                "total_tokens": s.prompt_tokens + s.completion_tokens,
                "cost_usd": None if s.cost != s.cost else round(s.cost, 6)}  # NaN marks an unpriced model

    # ------------------------------------------------------------------ shares for workers

    def lend(self, shards: Sequence[Sequence[int]]) -> list[BudgetShare]:
        """Lend what is left of the budget to the shards of a step, reserving it until :meth:`settle`.

        ``shards`` holds, per shard, the places of its agents in the step's order (0 for the first). What is
        left of each limit is dealt out to the agents in that order, one call (token) at a time, and a
        shard gets its agents' part; dollars go in proportion to the agents. Once the budget has refused a
        call, every share is empty and carries that refusal.

        Example:
            >>> from tinytroupe.llm import ScriptedBackend
            >>> wrapper = BudgetWrapper(ScriptedBackend(["ok"]), Budget(max_calls=5))
            >>> [share.lent.calls for share in wrapper.lend([[0, 2], [1]])]
            [3, 2]
        """
        with self._lock:
            b, s, r = self.budget, self._spent.plus(self._base), self._reserved.plus(self._held)
            live = self.exceeded is None
            agents = max(1, sum(len(places) for places in shards))
            calls = _deal(max(0, b.max_calls - s.calls - r.calls), shards) \
                if live and b.max_calls is not None else [0] * len(shards)
            tokens = _deal(max(0, b.max_tokens - s.prompt_tokens - s.completion_tokens - r.prompt_tokens
                               - r.completion_tokens), shards) \
                if live and b.max_tokens is not None else [0] * len(shards)
            dollars = max(0.0, b.max_cost_usd - (0.0 if s.cost != s.cost else s.cost) - r.cost) \
                if live and b.max_cost_usd is not None else 0.0
            lent = [BudgetFigures(calls=c, prompt_tokens=t, cost_usd=dollars * len(places) / agents)
                    for c, t, places in zip(calls, tokens, shards, strict=True)]
            every = _Spent()
            for part in lent:
                every.add_figures(part)
            shares = []
            for part in lent:
                held = r.plus(every)
                held.add_figures(part, sign=-1)  # the others' shares, not its own
                shares.append(BudgetShare(budget=b, prices=self.prices, completion_tokens=self.completion_tokens,
                                          lent=part, spent=s.figures(), held=held.figures(), exceeded=self.exceeded))
            self._reserved.add_figures(every.figures())
        return shares

    def settle(self, share: BudgetShare, use: ShareUse | None) -> None:
        """Take back ``share``'s reservation and charge what its worker used; without ``use`` (the worker was
        lost: what it used is not known) the whole share counts as spent. A refusal in the worker stops
        this budget too, as a refusal here would."""
        with self._lock:
            self._reserved.add_figures(share.lent, sign=-1)
            self._spent.add_figures(use.used if use is not None else share.lent)
            if use is not None and use.exceeded is not None and self.exceeded is None:
                self.exceeded = use.exceeded

    def arm(self, share: BudgetShare | None) -> None:
        """Check the calls from now on against ``share`` (a worker's part of a driver's budget), counting them
        from zero; None: no limit. Call it while no call is in flight.

        Raises:
            ConfigError: the share has a cost limit and this chain's model has no price in its table.
        """
        with self._lock:
            self._spent, self._reserved = _Spent(), _Spent()
            if share is None:
                self.budget, self.exceeded = Budget(), None
                self._base, self._held = _Spent(), _Spent()
                return
            self.budget, self.prices, self.completion_tokens = share.budget, share.prices, share.completion_tokens
            self._base, self._held, self.exceeded = _Spent(share.spent), _Spent(share.held), share.exceeded
        self._priced(self.inner.default_model)

    def used(self) -> ShareUse:
        """What the calls since :meth:`arm` used, and the refusal that stopped them (if any)."""
        with self._lock:
            return ShareUse(used=self._spent.figures(), exceeded=self.exceeded)

    async def generate(self, request: LLMRequest, context: CallContext) -> Completion:
        if not self.budget.limited and self.exceeded is None:
            # nothing to check (a worker's wrapper while no share is lent to it): count the call, estimate nothing
            answer = await self.inner.generate(request, context)
            with self._lock:
                self._charge(answer, request.model or self.inner.default_model)
            return answer
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
        with self._lock:
            self._reserved.add(*worst, sign=-1)
            self._charge(answer, model)
        return answer

    def _charge(self, answer: Completion, asked: str) -> None:
        """Count ``answer``'s real usage as spent (the lock is held): at the price of the model that answered,
        else of the one ``asked`` for (an Azure deployment answers with its underlying model's name)."""
        used = answer.usage
        real = None
        for model in (answer.model, asked):
            real = self.prices.cost(model, used.prompt_tokens, used.completion_tokens, batched=answer.batched)
            if real is not None:
                break
        # NaN keeps "unknown" sticky: once a call had no price, the total cost is not known
        self._spent.add(1, used.prompt_tokens, used.completion_tokens, real if real is not None else float("nan"))
        if real is None and self._unpriced is None:
            self._unpriced = answer.model

    def _check(self, tokens: int, cost: float, context: CallContext) -> None:
        """Raise BudgetExceeded when this call's worst case could pass a limit (the lock is held)."""
        if self.exceeded is not None:
            raise self._refusal(self.exceeded.limit, str(self.exceeded).split(";")[0], context)
        b, s, r = self.budget, self._spent.plus(self._base), self._reserved.plus(self._held)
        why: tuple[str, str] | None = None
        if b.max_calls is not None and s.calls + r.calls + 1 > b.max_calls:
            # a worker's share: what the other workers may still use counts too, unknown to it
            lent = " or lent to other workers" if self._held.calls else ""
            why = ("calls", f"the budget of {b.max_calls} calls is used up ({s.calls} made, {r.calls} in flight{lent})")
        elif b.max_tokens is not None and (used := s.prompt_tokens + s.completion_tokens + r.prompt_tokens
                                           + r.completion_tokens) + tokens > b.max_tokens:
            why = ("tokens", f"the budget of {b.max_tokens:,} tokens would be passed ({used:,} used or reserved, "
                             f"this call up to {tokens:,})")
        elif b.max_cost_usd is not None and s.cost != s.cost:  # counting an unknown cost as $0 would never stop
            why = ("cost", f"the budget of ${b.max_cost_usd:g} cannot be kept: model {self._unpriced or '?'!r} "
                           f"answered, which the price table ({self.prices.source}) does not price, so what was "
                           "spent is unknown; give its price with --prices FILE")
        elif b.max_cost_usd is not None and (spent := s.cost + r.cost) + cost > b.max_cost_usd:
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


__all__ = ["DEFAULT_COMPLETION_RESERVE", "Budget", "BudgetFigures", "BudgetShare", "BudgetWrapper", "ShareUse"]
