"""Token accounting and LLM-call events.

:class:`UsageWrapper` times each call and publishes one :class:`~tinytroupe.events.LLMCallEvent`
(including for cache hits and failures) on its client's bus and on the caller's bus when that is
another one. :class:`UsageLedger` is a subscriber of a bus: it counts the calls published there (per
model, agent, world and purpose), whichever process or machine made them.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

from tinytroupe.errors import BudgetExceeded, InvalidArgument
from tinytroupe.events import ConcurrencyEvent, Event, EventBus, LLMCallEvent, WarningEvent
from tinytroupe.llm.backend import Backend, BackendWrapper
from tinytroupe.llm.concurrency import ConcurrencyLimit, LimitChange
from tinytroupe.llm.types import CallContext, Completion, LLMRequest


class _Counter:
    __slots__ = ("batch_completion_tokens", "batch_prompt_tokens", "cached_calls", "calls", "completion_tokens",
                 "errors", "latency_s", "prompt_tokens")

    def __init__(self) -> None:
        self.calls = 0
        self.cached_calls = 0
        self.errors = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.latency_s = 0.0
        self.batch_prompt_tokens = 0  # the part of the tokens answered through a batch API (cheaper)
        self.batch_completion_tokens = 0

    def as_dict(self) -> dict[str, Any]:
        row = {
            "calls": self.calls,
            "cached_calls": self.cached_calls,
            "errors": self.errors,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "latency_s": round(self.latency_s, 6),
        }
        if self.batch_prompt_tokens or self.batch_completion_tokens:  # only in rows with batched calls
            row["batch_prompt_tokens"] = self.batch_prompt_tokens
            row["batch_completion_tokens"] = self.batch_completion_tokens
        return row


class UsageLedger:
    """Thread-safe token and call counts, overall and broken down by model, agent, world and purpose.

    Cached calls count as calls (with ``cached_calls``) but add no tokens: nothing was paid.

    Example:
        >>> ledger = UsageLedger()
        >>> ledger.record(model="m", agent="Ana", world=None, purpose="action",
        ...               prompt_tokens=10, completion_tokens=5, latency_s=0.2, cached=False, error=False)
        >>> ledger.stats()["total"]["total_tokens"]
        15
    """

    DIMENSIONS = ("model", "agent", "world", "purpose")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._total = _Counter()
        self._by: dict[str, dict[str, _Counter]] = {d: defaultdict(_Counter) for d in self.DIMENSIONS}

    def record(self, *, model: str, agent: str | None, world: str | None, purpose: str,
               prompt_tokens: int, completion_tokens: int, latency_s: float, cached: bool,
               error: bool, batched: bool = False) -> None:
        self._add(model, agent, world, purpose, prompt_tokens, completion_tokens, latency_s, cached, error, batched)

    def _add(self, model: str, agent: str | None, world: str | None, purpose: str, prompt_tokens: int,
             completion_tokens: int, latency_s: float, cached: bool, error: bool, batched: bool = False) -> None:
        # positional and unrolled: every LLM call of a run is counted here, on the caller's thread
        with self._lock:
            by = self._by  # read under the lock, as _total is: reset replaces both together
            counters = [self._total]  # and one row per dimension the call names
            if model is not None:
                counters.append(by["model"][str(model)])
            if agent is not None:
                counters.append(by["agent"][str(agent)])
            if world is not None:
                counters.append(by["world"][str(world)])
            if purpose is not None:
                counters.append(by["purpose"][str(purpose)])
            for c in counters:
                c.calls += 1
                c.latency_s += latency_s
                if error:
                    c.errors += 1
                elif cached:
                    c.cached_calls += 1
                else:
                    c.prompt_tokens += prompt_tokens
                    c.completion_tokens += completion_tokens
                    if batched:
                        c.batch_prompt_tokens += prompt_tokens
                        c.batch_completion_tokens += completion_tokens

    def stats(self) -> dict[str, Any]:
        """``{"total": {...}, "by_model": {name: {...}}, "by_agent", "by_world", "by_purpose": ...}``."""
        with self._lock:
            out: dict[str, Any] = {"total": self._total.as_dict()}
            for d in self.DIMENSIONS:
                out[f"by_{d}"] = {k: c.as_dict() for k, c in sorted(self._by[d].items())}
            return out

    def counts(self, dimension: str, key: str) -> dict[str, Any]:
        """One row of :meth:`stats` (``{}`` when nothing was recorded for ``key``), without building the rest.

        Worlds read their own row twice per step; the full stats sort every agent's row.

        Example:
            >>> ledger = UsageLedger()
            >>> ledger.record(model="m", agent="Ana", world="Cafe", purpose="action",
            ...               prompt_tokens=10, completion_tokens=5, latency_s=0.2, cached=False, error=False)
            >>> ledger.counts("world", "Cafe")["calls"], ledger.counts("agent", "Ben")
            (1, {})
        """
        if dimension not in self.DIMENSIONS:
            raise InvalidArgument(f"unknown usage dimension {dimension!r}; use one of {', '.join(self.DIMENSIONS)}")
        with self._lock:
            counter = self._by[dimension].get(key)  # .get: the defaultdict must not grow empty rows
            return counter.as_dict() if counter is not None else {}

    def record_event(self, event: Event) -> None:
        """Count an :class:`~tinytroupe.events.LLMCallEvent` (other events are ignored)."""
        if not isinstance(event, LLMCallEvent):
            return
        self._add(event.model, event.agent, event.world, event.purpose, event.prompt_tokens,
                  event.completion_tokens, event.latency_s, event.cache_hit, event.error is not None, event.batched)

    def attach(self, bus: EventBus, *, client: str | None = None) -> int:
        """Count the LLM calls published on ``bus`` from now on (only ``client``'s, when given); returns
        the subscription token.

        A bus may carry the calls of several clients (an agent with a model of its own publishes on its
        world's bus), so a client's ledger counts its own calls only. The subscription holds the ledger
        weakly: a dropped client's ledger stops counting and is not kept alive by the bus.

        Example:
            >>> bus, ledger = EventBus(), UsageLedger()
            >>> _ = ledger.attach(bus, client="c1")
            >>> bus.publish(LLMCallEvent(model="m", agent="Ana", prompt_tokens=3, completion_tokens=2, client="c1"))
            >>> bus.publish(LLMCallEvent(model="m", agent="Ben", prompt_tokens=9, client="c2"))
            >>> ledger.stats()["by_agent"]["Ana"]["total_tokens"], "Ben" in ledger.stats()["by_agent"]
            (5, False)
        """
        ref = weakref.ref(self)

        def count(event: Event) -> None:
            ledger = ref()
            if ledger is not None and (client is None or getattr(event, "client", None) == client):
                ledger.record_event(event)

        return bus.subscribe(count, kinds=["llm_call"])

    def reset(self) -> None:
        with self._lock:
            self._total = _Counter()
            self._by = {d: defaultdict(_Counter) for d in self.DIMENSIONS}

    def pretty_print(self, console: Console | None = None) -> None:
        """Print the totals and the per-model, per-agent and per-purpose tables."""
        console = console or Console()
        stats = self.stats()
        for dim in ("model", "purpose", "world", "agent"):
            rows = stats[f"by_{dim}"]
            if not rows:
                continue
            table = Table(title=f"LLM usage by {dim}")
            for col in (dim, "calls", "cached", "errors", "prompt tok", "completion tok", "total tok"):
                table.add_column(col, justify="left" if col == dim else "right")
            for name, c in rows.items():
                table.add_row(name, str(c["calls"]), str(c["cached_calls"]), str(c["errors"]),
                              str(c["prompt_tokens"]), str(c["completion_tokens"]), str(c["total_tokens"]))
            console.print(table)
        t = stats["total"]
        console.print(f"Total: {t['calls']} calls ({t['cached_calls']} cached, {t['errors']} failed), "
                      f"{t['prompt_tokens']} prompt + {t['completion_tokens']} completion tokens")


class UsageWrapper(BackendWrapper):
    """Publishes an :class:`LLMCallEvent` for every call that reaches it.

    The event goes to ``bus`` (the client's) and to the caller's bus (:attr:`CallContext.bus`) when
    that is another one, so a world's trace sees the calls of an agent that has a client of its own.
    Usage is counted by the :class:`UsageLedger` s attached to those buses. Changes of an adaptive
    :class:`~tinytroupe.llm.limits.ConcurrencyLimit` further down the chain go out the same way, as
    :class:`~tinytroupe.events.ConcurrencyEvent` s.
    """

    def __init__(self, inner: Backend, *, bus: EventBus | None = None, client: str | None = None) -> None:
        super().__init__(inner)
        self.bus = bus
        #: the id stamped on each event (``LLMCallEvent.client``): whose ledger counts the call
        self.client = client
        limiter = inner.find(ConcurrencyLimit) if isinstance(inner, BackendWrapper) else None
        if isinstance(limiter, ConcurrencyLimit) and limiter.adaptive:
            limiter.add_listener(self._publish_limit)

    def _publish_limit(self, change: LimitChange, context: CallContext) -> None:
        event = ConcurrencyEvent(limit=change.limit, previous=change.previous, reason=change.reason,
                                 in_flight=change.in_flight, cooldown_s=change.cooldown_s,
                                 agent=context.agent, world=context.world, step=context.step,
                                 simulation_id=context.simulation_id)
        buses = [b for b in (self.bus, context.bus) if b is not None]
        for i, bus in enumerate(buses):
            if i == 0 or bus is not buses[0]:
                bus.publish(event)

    async def generate(self, request: LLMRequest, context: CallContext) -> Completion:
        start = time.perf_counter()
        try:
            completion = await self.inner.generate(request, context)
        except BudgetExceeded as exc:
            # The call was refused before it was made: not a call, but the trace should say why the run stops.
            self._warn_budget(context, exc)
            raise
        except Exception as exc:
            model = request.model or self.inner.default_model
            self._publish(context, model=model, latency=time.perf_counter() - start,
                          error=f"{type(exc).__name__}: {exc}")
            raise
        self._publish(context, model=completion.model, latency=time.perf_counter() - start, completion=completion)
        return completion

    def _warn_budget(self, context: CallContext, exc: BudgetExceeded) -> None:
        event = WarningEvent(code="budget_exceeded", message=str(exc), agent=context.agent, world=context.world,
                             step=context.step, data={"limit": exc.limit, "spent": exc.spent})
        for bus in {id(b): b for b in (self.bus, context.bus) if b is not None}.values():
            bus.publish(event)

    def _publish(self, context: CallContext, *, model: str, latency: float,
                 completion: Completion | None = None, error: str | None = None) -> None:
        own, caller = self.bus, context.bus
        if own is None and caller is None:
            return
        # A dict literal validated, not fourteen keyword arguments: passing those cost more than a
        # sixth of the event's making, once per call (same event, same fields set).
        event = LLMCallEvent.model_validate({
            "model": model,
            "purpose": context.purpose,
            "backend": self.inner.name,
            "agent": context.agent,
            "world": context.world,
            "step": context.step,
            "simulation_id": context.simulation_id,
            "prompt_tokens": completion.usage.prompt_tokens if completion else 0,
            "completion_tokens": completion.usage.completion_tokens if completion else 0,
            "latency_s": latency,
            "cache_hit": completion.cached if completion else False,
            "attempts": completion.attempts if completion else 1,
            "error": error,
            "batched": completion.batched if completion else False,
            "client": self.client,
        })
        if own is not None:
            own.publish(event)
        if caller is not None and caller is not own:
            caller.publish(event)


#: TinyTroupe's usage figures (what its cost statistics divide per agent, per world and per step)
TINYTROUPE_USAGE_KEYS = ("input_tokens", "output_tokens", "total_tokens", "model_calls", "cached_calls")


def as_tinytroupe_stats(counts: Mapping[str, Any]) -> dict[str, Any]:
    """A row of :meth:`UsageLedger.stats` with TinyTroupe's key names added.

    TinyTroupe's ``model_calls`` are the calls that reached a model, so cached ones are not in it;
    ``input_tokens``/``output_tokens`` are our prompt/completion tokens.

    Example:
        >>> row = {"calls": 3, "cached_calls": 1, "errors": 0, "prompt_tokens": 10, "completion_tokens": 5,
        ...        "total_tokens": 15, "latency_s": 0.3}
        >>> s = as_tinytroupe_stats(row)
        >>> s["model_calls"], s["cached_calls"], s["input_tokens"], s["output_tokens"], s["total_tokens"]
        (2, 1, 10, 5, 15)
    """
    calls = int(counts.get("calls", 0))
    cached = int(counts.get("cached_calls", 0))
    prompt = int(counts.get("prompt_tokens", 0))
    completion = int(counts.get("completion_tokens", 0))
    return {
        **counts,
        "input_tokens": prompt,
        "output_tokens": completion,
        "total_tokens": prompt + completion,
        "model_calls": calls - cached,
        "cached_calls": cached,
    }


def format_cost_stats(title: str, base: Mapping[str, Any], average_title: str,
                      averages: Mapping[str, float] | None) -> str:
    """TinyTroupe-style cost statistics as text: the totals, then the averages (when there are any).

    Example:
        >>> base = dict.fromkeys(TINYTROUPE_USAGE_KEYS, 4)
        >>> print(format_cost_stats("Usage", base, "Average per agent", None).splitlines()[1])
          input tokens: 4
    """
    lines = [title]
    lines += [f"  {key.replace('_', ' ')}: {base[key]:,}" for key in TINYTROUPE_USAGE_KEYS]
    if averages is not None:
        lines.append(average_title)
        lines += [f"  {key.replace('_', ' ')}: {value:,.1f}" for key, value in averages.items()]
    return "\n".join(lines)


__all__ = ["TINYTROUPE_USAGE_KEYS", "UsageLedger", "UsageWrapper", "as_tinytroupe_stats", "format_cost_stats"]
