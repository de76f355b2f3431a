"""Activity scheduling: which agents take a turn in a step, by their routines and an activity
probability, so that idle agents cost no model call.

An agent acts in a step when the world clock is within its :class:`Routine` (its days and hours; no
routine: always) and its draw for that step is below the routine's ``activity``; with
``wake_on_events``, an agent to whom the step brought the start of a scheduled event acts too, even
outside its routine (a 19:00 board meeting pulls in a 9-to-5 worker). Whatever reaches an idle
agent waits in its memory for its next turn.

The draws are reproducible: each is a hash of (seed, step, agent name), so the same seed gives the
same active sets in any order of evaluation, in a resumed run, and in a replay from the run file.
The seed is the world's (``RunContext.seed`` by default), or one drawn once from the world's
generator and kept in the state when the world has none.

Example:
    >>> from datetime import datetime
    >>> office = Routine.office_hours()
    >>> [office.within(datetime(2025, 1, d, h)) for d, h in [(6, 9), (6, 17), (11, 10)]]  # Mon 9, Mon 17, Sat 10
    [True, False, False]
    >>> night = Routine(days=["FR"], hours=["22:00-06:00"])
    >>> night.within(datetime(2025, 1, 11, 5))  # Saturday early morning: Friday's night shift
    True
    >>> ActivitySchedule(seed=7).draw("Ana", 3) == ActivitySchedule(seed=7).draw("Ana", 3)
    True
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from tinytroupe.errors import InvalidArgument
from tinytroupe.state import StateModel

if TYPE_CHECKING:
    from tinytroupe.agent.person import TinyPerson
    from tinytroupe.environment.world import TinyWorld

Weekday = Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
DAYS: tuple[Weekday, ...] = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class Routine(BaseModel):
    """When an agent is about: ``days`` (RFC 5545 codes, ``MO`` ... ``SU``; None: every day), ``hours``
    (``"09:00-17:00"``; ``"22:00-06:00"`` runs past midnight and belongs to the day it starts; None: all
    day) and ``activity``, the chance it acts in a step within them. Times are the world clock's wall time.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    days: list[Weekday] | None = Field(None, min_length=1)
    hours: list[str] | None = Field(None, min_length=1)
    activity: float = Field(1.0, ge=0.0, le=1.0)
    _windows: list[tuple[int, int]] = PrivateAttr(default_factory=list)

    @field_validator("days", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return [d.strip().upper() if isinstance(d, str) else d for d in value] if isinstance(value, list) else value

    @model_validator(mode="after")
    def _parse_hours(self) -> Routine:
        self._windows = [_window(text) for text in self.hours or []]
        return self

    @classmethod
    def office_hours(cls, activity: float = 1.0) -> Routine:
        """Weekdays, 09:00 to 17:00."""
        return cls(days=list(DAYS[:5]), hours=["09:00-17:00"], activity=activity)

    def within(self, at: datetime) -> bool:
        """Whether ``at`` (a wall time) is within the routine's days and hours."""
        day, yesterday = DAYS[at.weekday()], DAYS[(at - timedelta(days=1)).weekday()]
        days = set(self.days) if self.days is not None else set(DAYS)
        if not self._windows:
            return day in days
        minute = at.hour * 60 + at.minute
        for start, end in self._windows:
            if start < end and day in days and start <= minute < end:
                return True
            if start > end and ((day in days and minute >= start) or (yesterday in days and minute < end)):
                return True
        return False


def _window(text: str) -> tuple[int, int]:
    match = _HOURS.match(text)
    if match is None:
        raise InvalidArgument(f"hours: {text!r} is not a span like '09:00-17:00'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise InvalidArgument(f"hours: {text!r} has a time that does not exist (00:00 to 24:00)")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == end % (24 * 60):
        raise InvalidArgument(f"hours: {text!r} is empty; leave 'hours' out for the whole day")
    return start, end


class ActivityState(StateModel):
    """An :class:`ActivitySchedule` as data."""

    routines: dict[str, Routine] = Field(default_factory=dict)
    default: Routine | None = None
    seed: int | None = None
    wake_on_events: bool = True
    turns: int = 0
    idle: int = 0


class ActivitySchedule:
    """Who acts in each step (see the module docstring).

    Args:
        routines: per agent name, its routine.
        default: the routine of agents without one (None: they act in every step).
        seed: the draws' seed (default: the world's seed when attached).
        wake_on_events: an agent to whom the step brought a scheduled event's start acts.
    """

    def __init__(self, routines: Mapping[str, Routine] | None = None, *, default: Routine | None = None,
                 seed: int | None = None, wake_on_events: bool = True) -> None:
        self.routines: dict[str, Routine] = dict(routines or {})
        self.default = default
        self.seed = seed
        self.wake_on_events = wake_on_events
        #: turns taken and turns skipped (idle agents) since the start
        self.turns = 0
        self.idle = 0

    def __repr__(self) -> str:
        return f"ActivitySchedule(routines={len(self.routines)}, turns={self.turns}, idle={self.idle})"

    def attach(self, world: TinyWorld) -> Self:
        """Decide who acts in ``world``'s steps (``world.activity``); the seed defaults to the world's."""
        if self.seed is None:
            self.seed = world.seed if world.seed is not None else world.random.getrandbits(63)
        world.activity = self
        return self

    def set_routine(self, name: str, routine: Routine | None) -> Self:
        """Give agent ``name`` a routine (None: the default one)."""
        if routine is None:
            self.routines.pop(name, None)
        else:
            self.routines[name] = routine
        return self

    def routine_of(self, name: str) -> Routine | None:
        return self.routines.get(name, self.default)

    def draw(self, name: str, step: int) -> float:
        """Agent ``name``'s draw in ``step``: uniform in [0, 1), the same for the same seed, step and name."""
        digest = hashlib.blake2b(f"{self.seed}\x1f{step}\x1f{name}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64

    def would_act(self, name: str, at: datetime, step: int, inside: dict[int, bool] | None = None) -> bool:
        """Whether ``name`` acts in ``step`` at clock ``at`` by its routine and draw alone (``inside``
        remembers, per routine, whether ``at`` is within it: most agents share a few routines)."""
        routine = self.routine_of(name)
        if routine is None:
            return True
        key = id(routine)
        within = inside.get(key) if inside is not None else None
        if within is None:
            within = routine.within(at)
            if inside is not None:
                inside[key] = within
        return within and (routine.activity >= 1.0 or self.draw(name, step) < routine.activity)

    def select(self, world: TinyWorld, woken: Iterable[str] = ()) -> list[TinyPerson]:
        """The agents of ``world`` that act in its current step, in the world's order; counts the rest idle."""
        if self.seed is None:
            self.attach(world)
        at, step = world.current_datetime, world.current_step
        pulled = set(woken) if self.wake_on_events else set()
        inside: dict[int, bool] = {}
        acting = [a for a in world.agents if a.name in pulled or self.would_act(a.name, at, step, inside)]
        self.turns += len(acting)
        self.idle += len(world.agents) - len(acting)
        return acting

    def get_state(self) -> dict[str, Any]:
        """Routines, seed and counts, JSON-ready (saved with the world)."""
        return ActivityState(routines=self.routines, default=self.default, seed=self.seed,
                             wake_on_events=self.wake_on_events, turns=self.turns, idle=self.idle).to_dict()

    def set_state(self, state: Mapping[str, Any]) -> Self:
        """Restore :meth:`get_state` output (in place).

        Raises:
            InvalidArgument: ``state`` does not fit (the message names the field).
        """
        parsed = ActivityState.parse(state)
        self.routines, self.default, self.seed = dict(parsed.routines), parsed.default, parsed.seed
        self.wake_on_events, self.turns, self.idle = parsed.wake_on_events, parsed.turns, parsed.idle
        return self


__all__ = ["DAYS", "ActivitySchedule", "ActivityState", "Routine", "Weekday"]
