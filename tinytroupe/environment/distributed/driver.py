"""The driver side of a distributed step: which worker owns which agent (:class:`ShardMap`), the
requests sent to workers (deltas from what each worker holds: :mod:`.sync`), putting their results
back into the driver's agents, and :class:`ShardedExecutor`, the executor base a transport (Ray:
:mod:`.ray_actors`) completes.

Example:
    >>> ShardMap(2).split([("Cafe", "Ana"), ("Cafe", "Ben"), ("Cafe", "Cy")])
    {0: [0, 2], 1: [1]}
"""

from __future__ import annotations

import asyncio
import logging
import math
from abc import abstractmethod
from collections import defaultdict
from collections.abc import Callable, Sequence

from tinytroupe.agent.person import TinyPerson
from tinytroupe.agent.portable import portability_problems
from tinytroupe.agent.state_models import AgentState
from tinytroupe.environment.distributed.messages import (
    AgentKey,
    AgentTurnRequest,
    AgentTurnResult,
    ShardRequest,
    ShardResult,
)
from tinytroupe.environment.distributed.sync import AGENT_OPTIONS, StateSync, agent_options
from tinytroupe.environment.engine import AgentTurnError, TurnOutcome
from tinytroupe.environment.executors import Executor
from tinytroupe.errors import InvalidArgument, InvalidState, SimulationError
from tinytroupe.events import AgentErrorEvent, Event, LLMCallEvent
from tinytroupe.llm.backend import BackendWrapper
from tinytroupe.llm.budget import BudgetShare, BudgetWrapper

logger = logging.getLogger(__name__)


class ShardMap:
    """Sticky assignment of agents to ``num_workers`` workers: round-robin in order of first sight.

    An agent stays with its worker for the executor's life, so the worker keeps its copy of the
    agent (and whatever that copy caches) from step to step; round-robin keeps shards balanced.

    Example:
        >>> shards = ShardMap(2)
        >>> shards.worker_for(("W", "Ana")), shards.worker_for(("W", "Ben")), shards.worker_for(("W", "Ana"))
        (0, 1, 0)
    """

    def __init__(self, num_workers: int) -> None:
        if num_workers < 1:
            raise InvalidArgument(f"num_workers must be at least 1, got {num_workers}")
        self.num_workers = num_workers
        self._assigned: dict[AgentKey, int] = {}

    def worker_for(self, key: AgentKey) -> int:
        """The worker of ``key`` (assigned now if new)."""
        worker = self._assigned.get(key)
        if worker is None:
            worker = self._assigned[key] = len(self._assigned) % self.num_workers
        return worker

    def split(self, keys: Sequence[AgentKey]) -> dict[int, list[int]]:
        """Indices into ``keys`` per worker, in the given order (workers without agents are left out)."""
        out: dict[int, list[int]] = defaultdict(list)
        for i, key in enumerate(keys):
            out[self.worker_for(key)].append(i)
        return dict(sorted(out.items()))


def check_components(agent: TinyPerson) -> None:
    """Refuse ``agent`` when a worker process could not rebuild one of its turn components.

    Workers rebuild agents from their state, which holds specs, not code (:mod:`tinytroupe.agent.portable`):
    a component that cannot be rebuilt there would be missing from the turn, so its results would not
    be the agent's own.

    Raises:
        InvalidState: naming each such component and why.
    """
    problems = portability_problems(agent)
    if problems:
        listed = "; ".join(f"{name!r}: {why}" for name, why in problems.items())
        raise InvalidState(f"agent {agent.name!r} has turn components that cannot run in a worker process ({listed}); "
                           "run its world with the local executor")


def shared_budget(agents: Sequence[TinyPerson]) -> BudgetWrapper | None:
    """The budget every one of ``agents`` draws on (its client's :class:`BudgetWrapper` with a limit), or None.

    Raises:
        InvalidState: some agents draw on another budget, or on none: a worker's client spends one
            budget for all its agents, so it could not keep theirs apart.
    """
    found: list[BudgetWrapper | None] = []
    for agent in agents:
        backend = agent.client.backend
        wrapper = backend.find(BudgetWrapper) if isinstance(backend, BackendWrapper) else None
        found.append(wrapper if isinstance(wrapper, BudgetWrapper) and wrapper.budget.limited else None)
    odd = [a.name for a, wrapper in zip(agents, found, strict=True) if wrapper is not found[0]]
    if odd:
        raise InvalidState(f"agents {odd} draw on a different budget from {agents[0].name!r} (their clients' "
                           "budgets differ, or only some have one); a worker spends one budget for all its "
                           "agents: give them one client, or run the world with the local executor")
    return found[0]


def settle_shares(budget: BudgetWrapper, shares: Sequence[BudgetShare | None], answers: Sequence[object]) -> None:
    """Charge ``budget`` what each shard used of its share, as its answer says; where no answer says (its
    worker was lost, the step was cancelled) the whole share counts as spent, since what it used is unknown."""
    for i, share in enumerate(shares):
        if share is not None:
            answer = answers[i] if i < len(answers) else None
            budget.settle(share, answer.budget if isinstance(answer, ShardResult) else None)


def turn_request(agent: TinyPerson) -> AgentTurnRequest:
    """A request that carries ``agent``'s turn with its full state (what a worker that never saw it needs)."""
    return AgentTurnRequest(name=agent.name, state=agent.state_model(), options=agent_options(agent))


def shard_request(agents: Sequence[TinyPerson], *, step: int, world: str, timeout: float | None,
                  max_workers: int | None, sync: StateSync | None = None, worker: int = 0,
                  budget: BudgetShare | None = None) -> ShardRequest:
    """A request for ``agents`` (all in ``world``), stamped with the world's clock, lending them ``budget``.

    With ``sync`` (the executor's record of what ``worker`` holds) agents go as deltas where they can and
    the world's list of agents only when it changed; without, every agent goes whole.
    """
    env = agents[0].environment if agents else None
    present = env.agent_names() if env is not None else []
    reachable: dict[str, list[str]] = {}
    if env is not None:
        # Only where the world narrows it (a social network's relations): a plain world's would be
        # the whole world again for every agent.
        reachable = {a.name: names for a in agents if (names := env.reachable_names(a.name)) != present}
    items = [sync.turn_request(world, worker, a) if sync is not None else turn_request(a) for a in agents]
    sent_present, sent_reachable = (sync.present_for(worker, world, present, reachable) if sync is not None
                                    else (present, reachable))
    return ShardRequest(world=world, step=step, sim_time=env.current_datetime if env is not None else None,
                        timeout=timeout, max_workers=max_workers, agents=items, present=sent_present,
                        reachable=sent_reachable, budget=budget)


def _fresh_seq(event: Event) -> Event:
    # ``seq`` is a per-process publication counter: events made in a worker get a driver number, in
    # the order the driver publishes them, so traces stay ordered by it.
    seq = type(event).model_fields["seq"].get_default(call_default_factory=True)
    return event.model_copy(update={"seq": seq})


def publish_bus_events(agent: TinyPerson, events: Sequence[Event]) -> None:
    """Publish a worker's client events where a local turn's would go: the agent's client's bus and its
    run context's bus (once when they are the same), as calls of the agent's client, whose ledger
    (a subscriber of its bus) counts them."""
    context = agent.context
    client = agent.client
    client_bus = client.bus
    for event in events:
        fresh = _fresh_seq(event)
        if isinstance(fresh, LLMCallEvent):
            fresh.client = client.id  # the worker's client made it for the driver's: count it there
        client_bus.publish(fresh)
        if context.bus is not client_bus:
            context.bus.publish(fresh)


def apply_result(agent: TinyPerson, result: AgentTurnResult, *, step: int,
                 resolve: Callable[[str], TinyPerson | None] | None = None,
                 state: AgentState | None = None) -> TurnOutcome:
    """Put a worker's result back into the driver's ``agent`` and return the turn's outcome.

    The agent takes its new ``state`` (default: the full state in the result, which a delta result lacks:
    the executor's :class:`~.sync.StateSync` gives it then); the client's events (LLM calls, a failed
    turn) are published on the driver's bus at once, as a local turn publishes them; the agent's own events go to
    ``agent._publish`` in order (the world holds them back and publishes them in agent order).
    """
    if result.name != agent.name:
        raise SimulationError(f"a worker answered for agent {result.name!r} in place of {agent.name!r}; "
                              "this is a bug in the executor", agent=agent.name, step=step)
    new_state = state if state is not None else result.state
    if new_state is None:
        raise SimulationError(f"the result for agent {agent.name!r} carries no full state; pass the state "
                              "its delta gives", agent=agent.name, step=step)
    agent.apply_state(new_state, resolve)
    publish_bus_events(agent, result.bus_events)
    for event in result.events:
        agent._publish(_fresh_seq(event))
    error: AgentTurnError | None = None
    if result.error is not None:
        rec = result.error
        exc = rec.exception if rec.exception is not None else SimulationError(
            f"{rec.error_type}: {rec.message} (in a worker process; the original exception could not be "
            "pickled)", agent=agent.name, step=step)
        error = AgentTurnError(agent.name, step, rec.error_type, rec.message, rec.timed_out, exc)
        logger.warning("%s", error.describe(), extra={"event_kind": "agent_error"})
    return TurnOutcome(agent=agent, wall_s=result.wall_s, error=error)


def failed_outcomes(agents: Sequence[TinyPerson], *, step: int, world: str, exc: BaseException) -> list[TurnOutcome]:
    """Outcomes for agents whose worker was lost: each turn failed with ``exc``, recorded and published."""
    outcomes = []
    for agent in agents:
        error = AgentTurnError(agent.name, step, type(exc).__name__,
                               f"its worker was lost before the turn ended: {exc}", False, exc)
        logger.warning("%s", error.describe(), extra={"event_kind": "agent_error"})
        agent.bus.publish(AgentErrorEvent(agent=agent.name, world=world, step=step, error_type=error.error_type,
                                          message=error.message, timed_out=False))
        outcomes.append(TurnOutcome(agent=agent, wall_s=0.0, error=error))
    return outcomes


class ShardedExecutor(Executor):
    """An executor whose workers each own a fixed shard of the agents; subclasses supply the transport.

    :meth:`run_turns` splits the agents with a :class:`ShardMap`, sends one :class:`ShardRequest` per
    busy worker (through :meth:`_call`), and applies the results in the agents' order. A worker lost
    in transit (:meth:`_is_lost`) turns its agents' turns into failure records and is replaced on the
    next step (workers only cache agents: the driver owns their state); any other transport failure
    is a :class:`~tinytroupe.errors.SimulationError`. When the agents' client has a budget, each shard's
    request lends it a share of what is left (:meth:`~tinytroupe.llm.budget.BudgetWrapper.lend`): the
    worker refuses a call that could pass it, as the driver would, and the driver charges what it used.
    """

    def __init__(self, num_workers: int) -> None:
        self.num_workers = num_workers
        self._shards = ShardMap(num_workers)
        self._sync = StateSync()

    async def _prepare(self) -> None:
        """Make sure every worker exists (called before each batch of turns)."""

    @abstractmethod
    async def _call(self, worker: int, request: ShardRequest) -> ShardResult:
        """Run ``request`` on worker ``worker``."""

    def _is_lost(self, exc: BaseException) -> bool:
        """Whether ``exc`` means the worker itself is gone (its agents' turns then fail, the run goes on)."""
        return False

    def _forget(self, worker: int) -> None:
        """Drop a lost worker so that :meth:`_prepare` replaces it."""

    async def run_turns(self, agents: Sequence[TinyPerson], *, step: int, world: str, timeout: float | None,
                        max_workers: int | None) -> list[TurnOutcome]:
        if not agents:
            return []
        for agent in agents:
            check_components(agent)
        budget = shared_budget(agents)
        await self._prepare()
        per_worker = max(1, math.ceil(max_workers / self.num_workers)) if max_workers else None
        shards = self._shards.split([(world, a.name) for a in agents])
        # What is left of the budget is lent to the shards for the step, and what they used charged after.
        shares: list[BudgetShare | None] = [None] * len(shards)
        if budget is not None:
            shares = list(budget.lend(list(shards.values())))
        answers: list[ShardResult | BaseException] = []
        try:
            answers = await asyncio.gather(*(self._call(worker, shard_request(
                [agents[i] for i in indices], step=step, world=world, timeout=timeout, max_workers=per_worker,
                sync=self._sync, worker=worker, budget=share))
                for (worker, indices), share in zip(shards.items(), shares, strict=True)), return_exceptions=True)
        finally:
            if budget is not None:
                settle_shares(budget, shares, answers)
        by_index, lost = self._sort_answers(shards, answers, step=step, world=world)
        resolve = getattr(agents[0].environment, "get_agent_by_name", None)
        # Agent order, not arrival order: the driver's bus sees the same sequence every run.
        outcomes: list[TurnOutcome] = []
        for i, agent in enumerate(agents):
            if i in lost:
                outcomes += failed_outcomes([agent], step=step, world=world, exc=lost[i])
            else:
                result = by_index[i]
                outcomes.append(apply_result(agent, result, step=step, resolve=resolve,
                                             state=self._sync.received(world, result)))
        for answer in answers:
            if isinstance(answer, ShardResult) and answer.unowned_events:
                publish_bus_events(agents[0], answer.unowned_events)
        return outcomes

    def _sort_answers(self, shards: dict[int, list[int]], answers: Sequence[ShardResult | BaseException], *,
                      step: int, world: str) -> tuple[dict[int, AgentTurnResult], dict[int, BaseException]]:
        """Per agent index, its result, or the loss of its worker; any other failure raises."""
        by_index: dict[int, AgentTurnResult] = {}
        lost: dict[int, BaseException] = {}
        for (worker, indices), answer in zip(shards.items(), answers, strict=True):
            if isinstance(answer, ShardResult):
                by_index.update(zip(indices, answer.results, strict=True))
            elif isinstance(answer, BaseException) and self._is_lost(answer):
                self._forget(worker)
                self._sync.forget_worker(worker)
                lost.update(dict.fromkeys(indices, answer))
            elif isinstance(answer, BaseException):
                self._sync.forget_worker(worker)  # what it holds now is unknown: send its agents whole
                raise SimulationError(f"worker {worker} of the {self.name} executor failed running step {step} "
                                      f"of world {world!r}: {type(answer).__name__}: {answer}",
                                      step=step) from answer
            else:
                raise SimulationError(f"worker {worker} of the {self.name} executor answered "
                                      f"{type(answer).__name__}, not a ShardResult", step=step)
        return by_index, lost


__all__ = ["AGENT_OPTIONS", "ShardMap", "ShardedExecutor", "apply_result", "check_components", "failed_outcomes",
           "publish_bus_events", "settle_shares", "shard_request", "shared_budget", "turn_request"]
