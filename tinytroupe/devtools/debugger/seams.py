"""Where a debugged run can pause: before a batch of turns, after each turn, after a batch, after a step.

A world runs its turns through its executor, so the debugger wraps the world's executor in a
:class:`DebugExecutor`; the end of a step is the world's ``step_end_hooks``. When the debugger has
nothing to stop for (no breakpoint, not stepping by turn), the executor hands each batch straight
to the one it wraps: the turns run as they would without it, in parallel where the world runs them so.
Stepping by turn runs a parallel step's turns one after another (each still sees the step's starting
snapshot: messages are delivered after the step either way), so a pause can come between two of them.

Example:
    >>> from tinytroupe.environment.executors import LocalExecutor
    >>> class Never:
    ...     engaged = False
    >>> DebugExecutor(LocalExecutor(), Never()).name
    'debug'
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from tinytroupe.agent.person import TinyPerson
from tinytroupe.environment.engine import TurnOutcome
from tinytroupe.environment.executors import Executor

SeamKind = Literal["before_turns", "after_turn", "after_turns", "after_step"]


@dataclass(frozen=True)
class Seam:
    """A place between turns where the run may pause: which, in what world and step, and the agent
    whose turn comes next (``before_turns``) or just ended (``after_turn``); ``agents`` all of a batch."""

    kind: SeamKind
    world: str
    step: int
    agent: str | None = None
    agents: tuple[str, ...] = ()

    def describe(self) -> str:
        who = self.agent or ", ".join(self.agents[:5]) + (" ..." if len(self.agents) > 5 else "")
        if self.kind == "before_turns":
            return f"world {self.world!r}, step {self.step}: before the turn of {who}"
        if self.kind == "after_turn":
            return f"world {self.world!r}, step {self.step}: after the turn of {who}"
        if self.kind == "after_turns":
            return f"world {self.world!r}, step {self.step}: after the turns of {who} (before their messages " \
                   "are delivered)"
        return f"world {self.world!r}: step {self.step} ended"


class Gatekeeper(Protocol):
    """What the executor asks of the debugger."""

    @property
    def engaged(self) -> bool:
        """Whether any seam may pause (False: run the batch untouched)."""

    @property
    def by_turn(self) -> bool:
        """Whether turns run one at a time, so the run can pause after each."""

    def gate(self, seam: Seam) -> Awaitable[None]:
        """Pause here if a breakpoint was met or the stepping asks for it."""


class DebugExecutor(Executor):
    """An executor that runs turns through ``inner`` and lets the debugger pause between them."""

    name = "debug"

    def __init__(self, inner: Executor, debugger: Gatekeeper) -> None:
        self.inner = inner
        self.debugger = debugger

    async def run_turns(self, agents: Sequence[TinyPerson], *, step: int, world: str, timeout: float | None,
                        max_workers: int | None) -> list[TurnOutcome]:
        dbg = self.debugger
        if not dbg.engaged:
            return await self.inner.run_turns(agents, step=step, world=world, timeout=timeout,
                                              max_workers=max_workers)
        names = tuple(a.name for a in agents)
        await dbg.gate(Seam("before_turns", world, step, names[0] if len(names) == 1 else None, names))
        outcomes: list[TurnOutcome] = []
        rest = list(agents)
        while rest:
            if dbg.by_turn:
                agent = rest.pop(0)
                outcomes += await self._batch([agent], step, world, timeout, 1)
                await dbg.gate(Seam("after_turn", world, step, agent.name, (agent.name,)))
            else:
                batch, rest = rest, []
                outcomes += await self._batch(batch, step, world, timeout, max_workers)
                done = tuple(a.name for a in batch)
                await dbg.gate(Seam("after_turns", world, step, done[0] if len(done) == 1 else None, done))
        return outcomes

    async def _batch(self, agents: list[TinyPerson], step: int, world: str, timeout: float | None,
                     max_workers: int | None) -> list[TurnOutcome]:
        outcomes = await self.inner.run_turns(agents, step=step, world=world, timeout=timeout,
                                              max_workers=max_workers)
        # The world would publish these right after this batch, in this order: publishing them now lets
        # breakpoints see the batch's actions before the pause.
        for agent in agents:
            agent.flush_events()
        return outcomes

    async def aclose(self) -> None:
        await self.inner.aclose()


StepHook = Callable[[object, int], Awaitable[None]]

__all__ = ["DebugExecutor", "Gatekeeper", "Seam", "SeamKind", "StepHook"]
