"""The driver's record of which state of each agent its worker holds, so that a step ships deltas.

Both sides keep the state they last agreed on for an agent, numbered. A request carries the agent's
full state the first time a worker sees it (or after the worker was lost or failed), and otherwise
the :class:`~tinytroupe.agent.state_delta.AgentDelta` from the agreed state to the driver's current one
(the stimuli it received since, a new location, ...), naming the agreed state's number. The worker
applies it, runs the turn, and answers with the delta from there to the agent's new state, which
both sides then hold under the request's number. When a delta would carry most of the state
(:func:`~tinytroupe.agent.state_delta.diff` returns None), the full state goes instead, in either
direction. Options the state leaves out, and the world's list of agents, travel only when they change.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> sync, ana = StateSync(), TinyPerson("Ana")
    >>> first = sync.turn_request("Cafe", 0, ana)
    >>> first.state is not None, first.delta is None
    (True, True)
    >>> _ = sync.received("Cafe", AgentTurnResult(name="Ana"))   # the worker's turn changed nothing
    >>> _ = ana.listen("hi")
    >>> second = sync.turn_request("Cafe", 0, ana)
    >>> second.state is None, [i.content for i in second.delta.lists["memory.items"].appended]
    (True, ['hi'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tinytroupe.agent.person import TinyPerson
from tinytroupe.agent.state_delta import apply_delta, diff
from tinytroupe.agent.state_models import AgentState
from tinytroupe.environment.distributed.messages import AgentKey, AgentTurnRequest, AgentTurnResult
from tinytroupe.errors import SimulationError

#: agent attributes that decide a turn but are not part of :meth:`TinyPerson.to_state`
AGENT_OPTIONS = ("max_actions_per_turn", "recent_window", "recent_window_step", "prompt_token_budget",
                 "max_content_display_length")


def agent_options(agent: TinyPerson) -> dict[str, Any]:
    """The :data:`AGENT_OPTIONS` of ``agent``."""
    return {o: getattr(agent, o) for o in AGENT_OPTIONS}


@dataclass
class _Held:
    worker: int
    number: int
    state: AgentState
    options: dict[str, Any]


class StateSync:
    """Per agent, the state its worker holds (as both sides agreed it), and per worker and world the list
    of agents it was last sent. Not thread-safe: one executor's steps run one at a time."""

    def __init__(self) -> None:
        self._held: dict[AgentKey, _Held] = {}
        self._sent: dict[AgentKey, _Held] = {}  # requested, awaiting the result
        self._present: dict[tuple[int, str], tuple[list[str], dict[str, list[str]]]] = {}
        self._numbers = 0

    def turn_request(self, world: str, worker: int, agent: TinyPerson) -> AgentTurnRequest:
        """The request for ``agent``'s turn on ``worker``: a delta from what the worker holds, when it holds
        this agent and a delta is cheaper, else the full state."""
        key = (world, agent.name)
        state, options = agent.state_model(), agent_options(agent)
        held = self._held.get(key)
        self._numbers += 1
        self._sent[key] = _Held(worker, self._numbers, state, options)
        delta = diff(held.state, state) if held is not None and held.worker == worker else None
        if held is None or delta is None:
            return AgentTurnRequest(name=agent.name, sync=self._numbers, state=state, options=options)
        return AgentTurnRequest(name=agent.name, sync=self._numbers, delta=delta, base_sync=held.number,
                                options=None if options == held.options else options)

    def present_for(self, worker: int, world: str, present: list[str], reachable: dict[str, list[str]]
                    ) -> tuple[list[str] | None, dict[str, list[str]] | None]:
        """``present`` and ``reachable`` as a request to ``worker`` carries them: None when unchanged."""
        last = self._present.get((worker, world))
        self._present[(worker, world)] = (present, reachable)
        if last is None:
            return present, reachable
        return (None if last[0] == present else present), (None if last[1] == reachable else reachable)

    def received(self, world: str, result: AgentTurnResult) -> AgentState:
        """The agent's new state from a worker's ``result`` (recorded as what the worker holds).

        Raises:
            SimulationError: no request for this agent is awaiting a result (a bug in the executor).
        """
        sent = self._sent.pop((world, result.name), None)
        if sent is None:
            raise SimulationError(f"a worker answered for agent {result.name!r}, whose turn was not requested; "
                                  "this is a bug in the executor", agent=result.name)
        if result.state is not None:
            state = result.state
        elif result.delta is not None:
            state = apply_delta(sent.state, result.delta)
        else:
            state = sent.state
        self._held[(world, result.name)] = _Held(sent.worker, sent.number, state, sent.options)
        return state

    def forget_worker(self, worker: int) -> None:
        """Forget what ``worker`` holds (it was lost or failed): its agents go whole next time."""
        for table in (self._held, self._sent):
            for key in [k for k, held in table.items() if held.worker == worker]:
                del table[key]
        for shard in [k for k in self._present if k[0] == worker]:
            del self._present[shard]


__all__ = ["AGENT_OPTIONS", "StateSync", "agent_options"]
