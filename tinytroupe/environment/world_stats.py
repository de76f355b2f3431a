"""What a world reports about its runs: step metrics (``get_parallel_metrics``), LLM usage of its agents
(``get_cost_stats``), and TinyTroupe's statics over the worlds of the current scope
(``get_environment_by_name``, ``get_global_cost_stats``).
"""

from __future__ import annotations

import typing
from typing import TYPE_CHECKING, Any

from rich.console import Console

from tinytroupe import scope
from tinytroupe.agent.person import TinyPerson
from tinytroupe.context import current_context
from tinytroupe.environment.engine import StepMetrics
from tinytroupe.llm.backend import BackendWrapper
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.concurrency import ConcurrencyLimit
from tinytroupe.llm.usage import TINYTROUPE_USAGE_KEYS, as_tinytroupe_stats, format_cost_stats
from tinytroupe.terminal import print_plain

if TYPE_CHECKING:
    from tinytroupe.environment.world import TinyWorld


class WorldStats:
    """Mixin of :class:`~tinytroupe.environment.TinyWorld`: metrics, usage and TinyTroupe's world lookups."""

    if TYPE_CHECKING:
        name: str
        agents: list[TinyPerson]
        step_metrics: list[StepMetrics]

        @property
        def client(self) -> LLMClient: ...

    def get_parallel_metrics(self) -> dict[str, Any]:
        """Per-step wall time, LLM calls, errors, timeouts and speed-up, with totals, and the client's
        concurrency limit (``concurrency``: now, its maximum, how often adaptive concurrency moved it)."""
        steps = [m.as_dict() for m in self.step_metrics]
        wall = sum(m.wall_s for m in self.step_metrics)
        turns = sum(m.turn_time_sum_s for m in self.step_metrics)
        return {
            "steps": steps,
            "total_wall_s": wall,
            "total_turn_time_s": turns,
            "speedup": turns / wall if wall > 0 else 1.0,
            "llm_calls": sum(m.llm_calls for m in self.step_metrics),
            "errors": sum(m.errors for m in self.step_metrics),
            "timeouts": sum(m.timeouts for m in self.step_metrics),
            # the client's limit on calls in flight: where adaptive concurrency left it, and how it moved
            "concurrency": self._concurrency_metrics(),
        }

    def _concurrency_metrics(self) -> dict[str, Any] | None:
        backend = self.client.backend
        limiter = backend.find(ConcurrencyLimit) if isinstance(backend, BackendWrapper) else None
        return limiter.metrics() if isinstance(limiter, ConcurrencyLimit) else None

    def get_cost_stats(self) -> dict[str, Any]:
        """LLM usage of this world's agents (calls and tokens)."""
        stats = self.client.get_cost_stats()
        return {"world": stats["by_world"].get(self.name, {}),
                "agents": {a.name: stats["by_agent"].get(a.name, {}) for a in self.agents}}

    def pretty_print_cost_stats(self, console: Console | None = None) -> None:
        self.client.pretty_print_cost_stats(console)

    @staticmethod
    def get_environment_by_name(name: str) -> TinyWorld | None:
        """The world called ``name`` in the current scope, or None.

        Not a class-level registry: under a simulation (``control.begin``) it looks among the worlds
        created while it runs; inside ``tinytroupe.scope.session()`` among those created there;
        otherwise among the live worlds created outside any scope. The newest wins a shared name.

        Example:
            >>> from tinytroupe import scope
            >>> from tinytroupe.environment import TinyWorld
            >>> with scope.session():
            ...     room = TinyWorld("Room")
            ...     TinyWorld.get_environment_by_name("Room") is room
            True
        """
        # Every world is a WorldStats, and nothing else is.
        return typing.cast("TinyWorld | None", scope.find(WorldStats, name))

    @staticmethod
    def get_global_cost_stats() -> dict[str, Any]:
        """TinyTroupe's usage figures across the worlds of the current scope (see
        :meth:`get_environment_by_name`), from the LLM client of the current run context.

        ``base_stats`` (the client's totals, TinyTroupe's keys and ours), ``total_agents``,
        ``total_steps``, ``total_environments`` and ``per_environment`` (totals divided by the number
        of worlds, None without worlds) are TinyTroupe's; ``by_world`` adds what each world really used.

        Example:
            >>> from tinytroupe import scope
            >>> with scope.session():
            ...     stats = WorldStats.get_global_cost_stats()
            >>> stats["total_environments"], stats["per_environment"]
            (0, None)
        """
        stats = current_context().client.get_cost_stats()
        base = as_tinytroupe_stats(stats["total"])
        worlds = typing.cast("list[TinyWorld]", scope.registered(WorldStats))
        return {
            "base_stats": base,
            "total_agents": sum(len(w.agents) for w in worlds),
            "total_steps": sum(w.current_step for w in worlds),
            "total_environments": len(worlds),
            "per_environment": {k: base[k] / len(worlds) for k in TINYTROUPE_USAGE_KEYS} if worlds else None,
            "by_world": {name: as_tinytroupe_stats(row) for name, row in stats["by_world"].items()},
        }

    @staticmethod
    def pretty_print_global_cost_stats(console: Console | None = None) -> None:
        """Print :meth:`get_global_cost_stats`."""
        stats = WorldStats.get_global_cost_stats()
        title = (f"Global LLM usage ({stats['total_environments']} worlds, {stats['total_agents']} agents, "
                 f"{stats['total_steps']} steps)")
        text = format_cost_stats(title, stats["base_stats"], "Average per world", stats["per_environment"])
        print_plain(text, console)


__all__ = ["WorldStats"]
