"""TinyTroupe's calendar helpers on a world: run or skip steps of a minute, hour, day, week, month (four
weeks) or year (365 days) each.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tinytroupe.agent.actions import Action


class WorldCalendar:
    """Mixin of :class:`~tinytroupe.environment.TinyWorld`: one step per calendar unit.

    TinyTroupe's ``run_*`` return None; ours return the per-step actions when ``return_actions=True``.
    """

    if TYPE_CHECKING:
        _step: int
        _datetime: datetime

        def run(self, steps: int, timedelta_per_step: timedelta | None = None, return_actions: bool = False,
                randomize_agents_order: bool = True,
                parallelize: bool | None = None) -> list[dict[str, list[Action]]] | None: ...

    def run_minutes(self, minutes: int, randomize_agents_order: bool = True, parallelize: bool | None = None, *,
                    return_actions: bool = False) -> list[dict[str, list[Action]]] | None:
        """Run ``minutes`` steps of one simulated minute each.

        Example:
            >>> from datetime import datetime
            >>> from tinytroupe.environment import TinyWorld
            >>> from tinytroupe.llm import LLMClient, ScriptedBackend
            >>> world = TinyWorld("Room", initial_datetime=datetime(2025, 1, 6, 9),
            ...                   client=LLMClient(ScriptedBackend([])), communication_display=False)
            >>> _ = world.run_minutes(2)
            >>> world.current_datetime
            datetime.datetime(2025, 1, 6, 9, 2)
        """
        return self.run(minutes, timedelta(minutes=1), return_actions, randomize_agents_order, parallelize)

    def run_hours(self, hours: int, randomize_agents_order: bool = True, parallelize: bool | None = None, *,
                  return_actions: bool = False) -> list[dict[str, list[Action]]] | None:
        """Run ``hours`` steps of one simulated hour each."""
        return self.run(hours, timedelta(hours=1), return_actions, randomize_agents_order, parallelize)

    def run_days(self, days: int, randomize_agents_order: bool = True, parallelize: bool | None = None, *,
                 return_actions: bool = False) -> list[dict[str, list[Action]]] | None:
        """Run ``days`` steps of one simulated day each."""
        return self.run(days, timedelta(days=1), return_actions, randomize_agents_order, parallelize)

    def run_weeks(self, weeks: int, randomize_agents_order: bool = True, parallelize: bool | None = None, *,
                  return_actions: bool = False) -> list[dict[str, list[Action]]] | None:
        """Run ``weeks`` steps of one simulated week each."""
        return self.run(weeks, timedelta(weeks=1), return_actions, randomize_agents_order, parallelize)

    def run_months(self, months: int, randomize_agents_order: bool = True, parallelize: bool | None = None, *,
                   return_actions: bool = False) -> list[dict[str, list[Action]]] | None:
        """Run ``months`` steps of four simulated weeks each (TinyTroupe's month)."""
        return self.run(months, timedelta(weeks=4), return_actions, randomize_agents_order, parallelize)

    def run_years(self, years: int, randomize_agents_order: bool = True, parallelize: bool | None = None, *,
                  return_actions: bool = False) -> list[dict[str, list[Action]]] | None:
        """Run ``years`` steps of 365 simulated days each."""
        return self.run(years, timedelta(days=365), return_actions, randomize_agents_order, parallelize)

    def skip(self, steps: int, timedelta_per_step: timedelta | None = None) -> None:
        """Advance the clock (and step counter) without anyone acting.

        Example:
            >>> from datetime import datetime
            >>> from tinytroupe.environment import TinyWorld
            >>> world = TinyWorld("Room", initial_datetime=datetime(2025, 1, 6, 9))
            >>> world.skip_months(1)
            >>> world.current_datetime, world.current_step
            (datetime.datetime(2025, 2, 3, 9, 0), 1)
        """
        for _ in range(steps):
            self._step += 1
            if timedelta_per_step is not None:
                self._datetime += timedelta_per_step

    def skip_minutes(self, minutes: int) -> None:
        self.skip(minutes, timedelta(minutes=1))

    def skip_hours(self, hours: int) -> None:
        self.skip(hours, timedelta(hours=1))

    def skip_days(self, days: int) -> None:
        self.skip(days, timedelta(days=1))

    def skip_weeks(self, weeks: int) -> None:
        self.skip(weeks, timedelta(weeks=1))

    def skip_months(self, months: int) -> None:
        self.skip(months, timedelta(weeks=4))

    def skip_years(self, years: int) -> None:
        self.skip(years, timedelta(days=365))


__all__ = ["WorldCalendar"]
