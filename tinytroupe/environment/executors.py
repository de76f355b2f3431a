"""Executors: where agent turns run. The world decides what happens; an executor decides where.

:class:`LocalExecutor` (the default) runs turns as asyncio tasks in this process under a bound on
turns in flight. Other executors (e.g. one on Ray) implement the same contract:

- ``run_turns(agents, ...)`` returns one :class:`~tinytroupe.environment.engine.TurnOutcome` per
  agent, in the order given;
- when it returns, every agent is in the state it would have after acting locally: memory,
  cognitive state and action buffer updated, and its events handed to ``agent._publish`` in the
  order they happened (the world holds them back and publishes them in agent order).

Example:
    >>> LocalExecutor().name
    'local'
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence

from tinytroupe.agent.person import TinyPerson
from tinytroupe.environment.engine import TurnDeadlines, TurnOutcome, run_turn
from tinytroupe.llm.batch import batch_active


class Executor(ABC):
    """Runs agent turns."""

    name: str = "executor"

    @abstractmethod
    async def run_turns(self, agents: Sequence[TinyPerson], *, step: int, world: str, timeout: float | None,
                        max_workers: int | None) -> list[TurnOutcome]:
        """Run one turn of each agent (concurrently where possible); failures come back as records."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release workers or connections."""


class LocalExecutor(Executor):
    """Turns as asyncio tasks in this process, at most ``max_workers`` at once.

    In batch mode (:func:`~tinytroupe.llm.batch.batch_mode`) every turn runs at once, so that each
    one's call is queued for the step's batch, and without ``timeout``: a batch answers within its
    completion window, not in seconds.
    """

    name = "local"

    async def run_turns(self, agents: Sequence[TinyPerson], *, step: int, world: str, timeout: float | None,
                        max_workers: int | None) -> list[TurnOutcome]:
        if batch_active():
            max_workers, timeout = None, None
        if len(agents) == 1:
            return [await run_turn(agents[0], step=step, world=world, timeout=timeout, semaphore=None)]
        semaphore = asyncio.Semaphore(max_workers) if max_workers else None
        # one timer for the turns' timeouts, not one each (gather runs each turn in its own task)
        deadlines = TurnDeadlines(timeout) if timeout is not None else None
        try:
            return list(await asyncio.gather(*(
                run_turn(a, step=step, world=world, timeout=timeout, semaphore=semaphore, deadlines=deadlines)
                for a in agents)))
        finally:
            if deadlines is not None:
                deadlines.close()


__all__ = ["Executor", "LocalExecutor"]
