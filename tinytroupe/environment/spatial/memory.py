"""What a spatial world gives each of its agents: the action types of the place (:class:`SpatialActions`,
a mental faculty: ``MOVE_TO`` and whatever a store or a park adds) and a spatial memory
(:class:`SpatialMemory`, a turn component): where the agent is, who and what is in sight, and where it
last saw each person and thing, shown in its prompt as the section "Where you are", newest sightings
first and cut to a token budget.

The world writes into the memory when it perceives (once per step); the component only reads its own
state when the prompt is built, so an agent whose turn runs in another process takes its spatial
memory along with its state.

Example:
    >>> memory = SpatialMemory()
    >>> memory.observe("(2, 3)", {"Ben": ["(4, 3)", 1, "09:10"]}, step=1)
    >>> memory.observe("(2, 4)", {}, step=2)
    >>> print(memory.section())
    You are at (2, 4).
    Nobody and nothing in sight.
    Where you last saw them:
    - Ben: at (4, 3), step 1 (09:10)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tinytroupe.agent.faculties import MentalFaculty
from tinytroupe.agent.turn import Turn, TurnComponent
from tinytroupe.llm.tokens import CHARS_PER_TOKEN

MOVE_TO = ("walk somewhere; content is where: a place's or thing's name, or coordinates such as 3,4 (or name a "
           "person in target to walk to them). You walk a few steps each turn until you arrive")

#: the title of the prompt section the spatial memory adds
SECTION_TITLE = "Where you are"


class SpatialActions(MentalFaculty):
    """The action types a spatial world adds to its agents (the world routes them, not the faculty)."""

    def __init__(self, actions: Mapping[str, str] | None = None) -> None:
        super().__init__("spatial_actions", actions=actions if actions is not None else {"MOVE_TO": MOVE_TO})

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> SpatialActions:
        return cls(spec.get("actions") or None)


class SpatialMemory(TurnComponent):
    """Where the agent is, what it sees now, and where it last saw each person and thing.

    Args:
        max_remembered: sightings kept (the oldest is forgotten first).
        budget_tokens: the most the prompt section may take (estimated tokens); the oldest sightings go first.
    """

    name = "spatial_memory"
    portable = True  # the world writes it before the turn, in the driver; the turn only reads it

    def __init__(self, max_remembered: int = 50, budget_tokens: int = 200) -> None:
        self.max_remembered = max_remembered
        self.budget_tokens = budget_tokens
        self.here = ""
        #: names in sight at the last perception -> [where, step, time, position as data]
        self.in_sight: dict[str, list[Any]] = {}
        #: name -> [where, step, time, position as data] of the last sighting
        self.last_seen: dict[str, list[Any]] = {}

    def observe(self, here: str, in_sight: dict[str, list[Any]], step: int) -> None:
        """Record one perception: the agent is at ``here`` and sees ``in_sight``: name -> ``[where, step,
        time]`` (the world adds the position as data, for walking back there)."""
        self.here = here
        self.in_sight = in_sight  # the world makes a new one each time: kept, not copied
        last = self.last_seen
        last.update(in_sight)
        if len(last) > self.max_remembered:  # forget the oldest sightings
            keep = sorted(last.items(), key=lambda item: item[1][1])[-self.max_remembered:]
            self.last_seen = dict(keep)

    def last_position(self, name: str) -> Any:
        """Where ``name`` was last seen, as the world's position data (None: never seen, or not recorded)."""
        seen = self.last_seen.get(name)
        return seen[3] if seen is not None and len(seen) > 3 else None

    def section(self) -> str:
        """The prompt section's text, within :attr:`budget_tokens`."""
        lines = [f"You are at {self.here}." if self.here else "You have not been placed anywhere yet."]
        if self.in_sight:
            lines.append("In sight: " + "; ".join(f"{n} at {s[0]}" for n, s in self.in_sight.items()) + ".")
        else:
            lines.append("Nobody and nothing in sight.")
        budget = self.budget_tokens * CHARS_PER_TOKEN - sum(len(line) + 1 for line in lines)
        remembered = []
        # newest first (a stable sort: among the same step, the order they were seen in)
        for name, seen in sorted(self.last_seen.items(), key=lambda item: -item[1][1]):
            where, step, when = seen[:3]
            if name in self.in_sight:
                continue
            line = f"- {name}: at {where}, step {step}" + (f" ({when})" if when else "")
            budget -= len(line) + 1
            if budget < 0:
                break
            remembered.append(line)
        if remembered:
            lines += ["Where you last saw them:", *remembered]
        return "\n".join(lines)

    async def retrieve(self, turn: Turn) -> None:
        assert turn.view is not None  # set in perceive
        turn.view.sections[SECTION_TITLE] = self.section()

    def spec_args(self) -> dict[str, Any]:
        return {"max_remembered": self.max_remembered, "budget_tokens": self.budget_tokens}

    def get_state(self) -> dict[str, Any]:
        return {"here": self.here, "in_sight": {name: list(seen) for name, seen in self.in_sight.items()},
                "last_seen": {name: list(seen) for name, seen in self.last_seen.items()}}

    def set_state(self, state: dict[str, Any]) -> None:
        self.here = str(state.get("here", ""))
        self.in_sight = {name: list(seen) for name, seen in (state.get("in_sight") or {}).items()}
        self.last_seen = {name: list(seen) for name, seen in (state.get("last_seen") or {}).items()}


__all__ = ["MOVE_TO", "SECTION_TITLE", "SpatialActions", "SpatialMemory"]
