"""TinyTroupe's class-level lookups and usage figures on :class:`~tinytroupe.agent.person.TinyPerson`.

``get_agent_by_name``, ``has_agent``, ``add_agent``, ``clear_agents``, ``all_agents_names`` and the
global cost statistics. None of them reads a class-level registry: they ask the current scope
through :mod:`tinytroupe.agent.registry` (see there, and ``docs/tinytroupe-compatibility.md``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from rich.console import Console

from tinytroupe.agent import registry
from tinytroupe.agent.person_core import PersonCore
from tinytroupe.context import current_context
from tinytroupe.errors import InvalidArgumentType
from tinytroupe.llm.usage import TINYTROUPE_USAGE_KEYS, as_tinytroupe_stats, format_cost_stats
from tinytroupe.terminal import print_plain

if TYPE_CHECKING:  # annotations only: person.py builds on this module
    from tinytroupe.agent.person import TinyPerson


class RegistryMethods(PersonCore):
    """The lookup part of :class:`~tinytroupe.agent.person.TinyPerson` (static methods only)."""

    @staticmethod
    def get_agent_by_name(name: str) -> TinyPerson | None:
        """The agent called ``name`` in the current scope, or None.

        Not a class-level registry: under a simulation (``control.begin``) it looks among the agents
        created while it runs and those of its worlds; inside ``tinytroupe.scope.session()`` among the
        agents created there; otherwise among the live agents created outside any scope. Agents nobody
        holds any more are gone, and so are those hidden by :meth:`clear_agents`. When two live agents
        share the name, the newest is returned.

        Example:
            >>> from tinytroupe import scope
            >>> from tinytroupe.agent import TinyPerson
            >>> with scope.session():
            ...     lisa = TinyPerson("Lisa")
            ...     TinyPerson.get_agent_by_name("Lisa") is lisa, TinyPerson.get_agent_by_name("Nobody")
            (True, None)
        """
        return cast("TinyPerson | None", registry.find(name))  # every PersonCore is a TinyPerson

    @staticmethod
    def has_agent(agent_name: str) -> bool:
        """Whether :meth:`get_agent_by_name` finds an agent called ``agent_name``.

        Example:
            >>> from tinytroupe import scope
            >>> from tinytroupe.agent import TinyPerson
            >>> with scope.session():
            ...     lisa = TinyPerson("Lisa")
            ...     TinyPerson.has_agent("Lisa"), TinyPerson.has_agent("Ben")
            (True, False)
        """
        return registry.find(agent_name) is not None

    @staticmethod
    def add_agent(agent: TinyPerson) -> None:
        """Make ``agent`` findable by name in the current scope.

        Agents register themselves when created, so this is needed only for an agent created in another
        scope, or one hidden by :meth:`clear_agents`. Unlike TinyTroupe, a name already taken is not an
        error (names need not be unique; the newest agent wins a lookup), and adding an agent twice
        changes nothing.

        Raises:
            InvalidArgumentType: ``agent`` is not a TinyPerson.

        Example:
            >>> from tinytroupe import scope
            >>> from tinytroupe.agent import TinyPerson
            >>> lisa = TinyPerson("Lisa")
            >>> with scope.session():
            ...     before = TinyPerson.has_agent("Lisa")
            ...     TinyPerson.add_agent(lisa)
            ...     before, TinyPerson.get_agent_by_name("Lisa") is lisa
            (False, True)
        """
        if not isinstance(agent, PersonCore):
            raise InvalidArgumentType(f"add_agent takes a TinyPerson, got {type(agent).__name__}")
        registry.add(agent)

    @staticmethod
    def clear_agents() -> None:
        """Forget, for lookups by name, every agent of the current scope (TinyTroupe's registry reset).

        Only the current scope is cleared: the running simulation's, the ``scope.session()``'s, or,
        outside both, the agents created outside any scope. The agents themselves are untouched (a
        world still holds and runs its agents); agents created afterwards are found as usual, and
        :meth:`add_agent` brings a cleared one back.

        Example:
            >>> from tinytroupe import scope
            >>> from tinytroupe.agent import TinyPerson
            >>> with scope.session():
            ...     lisa = TinyPerson("Lisa")
            ...     TinyPerson.clear_agents()
            ...     TinyPerson.has_agent("Lisa"), TinyPerson.all_agents_names()
            (False, [])
        """
        registry.clear()

    @staticmethod
    def all_agents_names() -> list[str]:
        """The names of the live agents of the current scope (see :meth:`get_agent_by_name`)."""
        return [a.name for a in registry.agents()]

    @staticmethod
    def get_global_cost_stats() -> dict[str, Any]:
        """TinyTroupe's global usage figures, from the LLM client of the current run context.

        ``base_stats`` holds the client's totals under TinyTroupe's keys (``input_tokens``,
        ``output_tokens``, ``total_tokens``, ``model_calls``, ``cached_calls``) and ours;
        ``total_agents`` counts the agents of the current scope and ``per_agent`` divides the
        totals by it (None without agents), as TinyTroupe does. ``by_agent`` adds what each agent
        really used. Agents given their own ``client=`` are not in these figures.

        Example:
            >>> from tinytroupe import scope
            >>> from tinytroupe.agent import TinyPerson
            >>> with scope.session():
            ...     stats = TinyPerson.get_global_cost_stats()
            >>> stats["total_agents"], stats["per_agent"]
            (0, None)
        """
        stats = current_context().client.get_cost_stats()
        base = as_tinytroupe_stats(stats["total"])
        agents = len(registry.agents())
        return {
            "base_stats": base,
            "total_agents": agents,
            "per_agent": {k: base[k] / agents for k in TINYTROUPE_USAGE_KEYS} if agents else None,
            "by_agent": {name: as_tinytroupe_stats(row) for name, row in stats["by_agent"].items()},
        }

    @staticmethod
    def pretty_print_global_cost_stats(console: Console | None = None) -> None:
        """Print :meth:`get_global_cost_stats`."""
        stats = RegistryMethods.get_global_cost_stats()
        text = format_cost_stats(f"Global LLM usage ({stats['total_agents']} agents)", stats["base_stats"],
                                 "Average per agent", stats["per_agent"])
        print_plain(text, console)


__all__ = ["RegistryMethods"]
