"""The worker side of a distributed step: :class:`ShardWorker`, the object that lives in each worker
process (a Ray actor), holds its copies of the agents and runs their turns with its own LLM client.

Nothing here imports Ray: the worker is a plain class, which is what makes it testable in-process and
lets any transport carry it.
"""

from __future__ import annotations

import asyncio
import pickle
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from tinytroupe.agent.person import TinyPerson
from tinytroupe.agent.persona import Persona
from tinytroupe.agent.portable import restore_components
from tinytroupe.agent.state_delta import apply_delta, diff
from tinytroupe.agent.state_models import AgentState
from tinytroupe.config import Settings, using_settings
from tinytroupe.context import RunContext
from tinytroupe.environment.distributed.messages import (
    AgentKey,
    AgentTurnRequest,
    AgentTurnResult,
    ShardRequest,
    ShardResult,
    TurnErrorRecord,
)
from tinytroupe.environment.engine import run_turn
from tinytroupe.errors import InvalidState
from tinytroupe.events import Event
from tinytroupe.llm.backend import BackendWrapper
from tinytroupe.llm.budget import BudgetWrapper
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.client_spec import ClientSpec


@dataclass
class _ShardEnvironment:
    """What an agent needs from its world (:class:`~tinytroupe.agent.person.AgentEnvironment`), in a worker."""

    name: str
    current_datetime: datetime | None
    current_step: int | None
    client: LLMClient
    present: list[str] = field(default_factory=list)
    reachable: dict[str, list[str]] = field(default_factory=dict)
    settings: Settings | None = None

    @property
    def context(self) -> RunContext:
        # the worker's client and its bus (which the worker collects from), under the driver's settings
        return RunContext.for_client(self.client, settings=self.settings)

    def agent_names(self) -> list[str]:
        return self.present

    def reachable_names(self, agent: str) -> list[str]:
        return self.reachable.get(agent, self.present)

    def get_agent_by_name(self, name: str) -> TinyPerson | None:
        # a worker holds only its shard's agents, and tools that deliver to others need the whole world
        return None


def _portable_exception(exc: BaseException | None) -> BaseException | None:
    """``exc`` if it survives a pickle round trip (the transport pickles), else None."""
    if exc is None:
        return None
    try:
        # Many exceptions pickle but do not unpickle (keyword-only constructor arguments): try both ways.
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return None
    return exc


class ShardWorker:
    """Runs turns of the agents sent to it, with its own LLM client built from a :class:`ClientSpec`.

    The worker keeps a copy of each agent it has seen (created on first sight) and puts it in the state
    each request gives (whole, or as a delta from the state both sides agreed on last), so the driver
    stays the owner of every agent's state; it answers with the delta to the agent's new state. The copy
    has the turn components the state specifies (:mod:`tinytroupe.agent.portable`), whose states travel
    with the agent's both ways. Requests run one at a time (a lock), each under the driver's settings.
    A request that lends the shard part of the driver's budget arms the client's budget wrapper with it,
    so a call that could pass it is refused here as it would be in the driver, and the result says
    what the calls used.

    Example:
        >>> from tinytroupe.config import Settings
        >>> from tinytroupe.llm.demo import demo_backend
        >>> worker = ShardWorker(ClientSpec.from_settings(Settings(), backend_factory=demo_backend))
        >>> worker.agent_count
        0
    """

    def __init__(self, spec: ClientSpec) -> None:
        self._settings: Settings = spec.to_settings()
        self.client = spec.build(budget_share=True)
        budget = self.client.backend.find(BudgetWrapper) if isinstance(self.client.backend, BackendWrapper) else None
        if not isinstance(budget, BudgetWrapper):  # build(budget_share=True) always puts one in
            raise InvalidState("the worker's client has no budget wrapper to arm; this is a bug in the worker")
        self._budget: BudgetWrapper = budget
        self._agents: dict[AgentKey, TinyPerson] = {}
        #: per agent, the state both sides agreed on last, and its number (see :mod:`.sync`)
        self._held: dict[AgentKey, tuple[int, AgentState]] = {}
        #: per world, the agents present and whom each reaches, as last sent
        self._present: dict[str, tuple[list[str], dict[str, list[str]]]] = {}
        self._lock: asyncio.Lock | None = None
        self._bus_events: list[Event] = []
        self._capture: list[Event] | None = None
        self.client.bus.subscribe(self._collect)

    @property
    def agent_count(self) -> int:
        return len(self._agents)

    def agent_names(self) -> list[str]:
        """Names of the agents this worker holds (a method, so Ray callers can ask for it too)."""
        return [name for _, name in self._agents]

    def _collect(self, event: Event) -> None:
        # Sync subscriber: runs inline on publish, so a flush inside _capture lands in that list only.
        (self._capture if self._capture is not None else self._bus_events).append(event)

    def _agent_for(self, world: str, item: AgentTurnRequest) -> tuple[TinyPerson, AgentState]:
        """The worker's copy of the agent, put in the state the request gives; and that state."""
        key = (world, item.name)
        if item.state is not None:
            state = item.state
        else:
            held = self._held.get(key)
            if held is None or held[0] != item.base_sync or item.delta is None:
                raise InvalidState(f"worker asked to update agent {item.name!r} from its state #{item.base_sync}, "
                                   f"but holds {'#' + str(held[0]) if held else 'none'}; the driver's record "
                                   "of this worker is out of step (a bug in the executor)")
            state = apply_delta(held[1], item.delta)
        agent = self._agents.get(key)
        if agent is None:
            agent = TinyPerson(item.name, persona=Persona.from_spec(state.persona))
            self._agents[key] = agent
        for option, value in (item.options or {}).items():
            setattr(agent, option, value)
        # Its turn components as the driver's agent has them (built from their specs, importing none but
        # tinytroupe's own modules), before the state goes into them.
        restore_components(agent, state)
        # Accessible agents stay names here: prompts show names, and the driver re-links them.
        agent.apply_state(state)
        return agent, state

    async def run_turns(self, request: ShardRequest) -> ShardResult:
        """Bring the agents up to date, run the turns concurrently, and return per agent the delta to its new
        state (or the state whole), its events and the outcome."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            # Agents built here take their defaults (memory sizes, embedder ...) from the driver's settings.
            with using_settings(self._settings):
                self._budget.arm(request.budget)
                try:
                    result = await self._run(request)
                    if request.budget is not None:
                        result.budget = self._budget.used()
                    return result
                finally:
                    self._budget.arm(None)

    async def _run(self, request: ShardRequest) -> ShardResult:
        last_present, last_reachable = self._present.get(request.world, ([], {}))
        present = request.present if request.present is not None else last_present
        reachable = request.reachable if request.reachable is not None else last_reachable
        self._present[request.world] = (present, reachable)
        env = _ShardEnvironment(request.world, request.sim_time, request.step, self.client, present, reachable,
                                self._settings)
        agents: list[TinyPerson] = []
        given: list[AgentState] = []
        for item in request.agents:
            agent, state = self._agent_for(request.world, item)
            agent.environment = env
            agent.defer_events()
            agents.append(agent)
            given.append(state)
        self._bus_events = []
        semaphore = asyncio.Semaphore(request.max_workers) if request.max_workers else None
        outcomes = await asyncio.gather(*(
            run_turn(a, step=request.step, world=request.world, timeout=request.timeout, semaphore=semaphore)
            for a in agents))
        bus_events, self._bus_events = self._bus_events, []
        names = {a.name for a in agents}
        by_agent: dict[str, list[Event]] = defaultdict(list)
        unowned: list[Event] = []
        for event in bus_events:
            if event.agent in names:
                by_agent[event.agent].append(event)
            else:
                unowned.append(event)
        results: list[AgentTurnResult] = []
        for agent, outcome, item, before in zip(agents, outcomes, request.agents, given, strict=True):
            self._capture = []
            try:
                agent.flush_events()
            finally:
                events, self._capture = self._capture, None
            error = outcome.error
            after = agent.state_model()
            self._held[(request.world, agent.name)] = (item.sync, after)
            delta = diff(before, after)
            results.append(AgentTurnResult(
                name=agent.name, state=after if delta is None else None,
                delta=None if delta is None or delta.empty else delta,
                events=events, bus_events=by_agent.get(agent.name, []),
                wall_s=outcome.wall_s,
                error=None if error is None else TurnErrorRecord(
                    error_type=error.error_type, message=error.message, timed_out=error.timed_out,
                    exception=_portable_exception(error.exception)),
            ))
        return ShardResult(results=results, unowned_events=unowned)

