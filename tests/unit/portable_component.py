"""A portable turn component in a module of the tests (not tinytroupe's): a worker process that has not
imported this module must refuse to rebuild it (see ``test_sharded_components``)."""

from __future__ import annotations

from typing import Any

from tinytroupe.agent.turn import Turn, TurnComponent


class Counter(TurnComponent):
    """Counts the agent's turns."""

    name = "counter"
    portable = True

    def __init__(self) -> None:
        self.turns = 0

    async def act(self, turn: Turn) -> None:
        self.turns += 1

    def get_state(self) -> dict[str, Any]:
        return {"turns": self.turns}

    def set_state(self, state: dict[str, Any]) -> None:
        self.turns = int(state.get("turns", 0))
