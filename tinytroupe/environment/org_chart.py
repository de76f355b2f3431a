"""An org chart: who holds which role and who reports to whom, as a networkx ``DiGraph`` (an edge runs
from a manager to a direct report), and the reporting-line policy that says who may reach whom.

Everyone has at most one manager; the chart may have several roots (people without a manager) and
never has a cycle. :class:`ReachPolicy` says, for a person, how far up and down the chain a message
may go and whether peers (people with the same manager) are reachable; :meth:`OrgChart.line` names
the reporting line between two people (what the workplace's message metrics count).

Example:
    >>> chart = OrgChart()
    >>> chart.add("Ceo", "chief executive")
    >>> chart.add("Ana", "engineering manager", reports_to="Ceo")
    >>> chart.add("Ben", "engineer", reports_to="Ana")
    >>> chart.add("Cy", "engineer", reports_to="Ana")
    >>> chart.chain_of_command("Ben")
    ['Ana', 'Ceo']
    >>> chart.line("Ben", "Cy"), chart.line("Ceo", "Ben")
    ('peer', 'skip_level_down')
    >>> chart.can_reach("Ben", "Ceo", ReachPolicy.preset("direct"))
    False
    >>> chart.can_reach("Ben", "Ceo", ReachPolicy.preset("skip_level"))
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field

from tinytroupe.errors import InvalidArgument

#: the reporting line between two people, from the first one's side
Line = Literal["self", "manager", "report", "peer", "skip_level_up", "skip_level_down", "other"]
LINES: tuple[Line, ...] = ("manager", "report", "peer", "skip_level_up", "skip_level_down", "other")

PresetName = Literal["direct", "skip_level", "chain", "open"]


class ReachPolicy(BaseModel):
    """Who may reach whom along the org chart.

    ``up``: how many levels up the chain a person reaches (1: the direct manager only; 0: nobody
    above); ``down``: how many levels down (1: direct reports); ``peers``: people with the same
    manager; ``anyone``: no restriction at all (the other fields are then ignored). Presets:
    ``direct`` (manager, reports, peers), ``skip_level`` (two levels each way, and peers), ``chain``
    (the whole chain both ways, and peers) and ``open`` (anyone).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    up: int = Field(1, ge=0, le=1000)
    down: int = Field(1, ge=0, le=1000)
    peers: bool = True
    anyone: bool = False

    @classmethod
    def preset(cls, name: str) -> ReachPolicy:
        """The policy called ``name`` (``direct``, ``skip_level``, ``chain`` or ``open``).

        Raises:
            InvalidArgument: an unknown name (the message lists the known ones).
        """
        presets = {"direct": cls(), "skip_level": cls(up=2, down=2), "chain": cls(up=1000, down=1000),
                   "open": cls(anyone=True)}
        if name not in presets:
            raise InvalidArgument(f"unknown reach policy {name!r}; use one of {', '.join(presets)} or a ReachPolicy")
        return presets[name]


def as_policy(policy: ReachPolicy | str | Mapping[str, object]) -> ReachPolicy:
    """``policy`` as a :class:`ReachPolicy`: a preset name, a mapping of its fields, or the policy itself.

    Raises:
        InvalidArgument: an unknown preset, or a mapping that does not fit (the field is named).
    """
    if isinstance(policy, ReachPolicy):
        return policy
    if isinstance(policy, str):
        return ReachPolicy.preset(policy)
    try:
        return ReachPolicy.model_validate(dict(policy))
    except Exception as exc:  # pydantic's ValidationError, or a mapping that is not one
        raise InvalidArgument(f"bad reach policy {policy!r}: {exc}") from None


class OrgChart:
    """Roles and reporting lines of a workplace (see the module docstring)."""

    def __init__(self) -> None:
        self.graph: nx.DiGraph = nx.DiGraph()

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.graph.has_node(name)

    def __len__(self) -> int:
        return int(self.graph.number_of_nodes())

    # ------------------------------------------------------------------ building

    def add(self, name: str, role: str = "", reports_to: str | None = None) -> None:
        """Put ``name`` in the chart with ``role``, reporting to ``reports_to`` (None: a root).

        Raises:
            InvalidArgument: ``name`` is there already, or ``reports_to`` names nobody in the chart
                or ``name`` itself.
        """
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgument(f"a person in the org chart needs a name, got {name!r}")
        if name in self:
            raise InvalidArgument(f"{name!r} is in the org chart already; set_manager changes whom they report to")
        self._check_manager(name, reports_to)
        self.graph.add_node(name, role=role)
        if reports_to is not None:
            self.graph.add_edge(reports_to, name)

    def set_manager(self, name: str, reports_to: str | None) -> None:
        """Make ``name`` report to ``reports_to`` (None: nobody), keeping the chart free of cycles.

        Raises:
            InvalidArgument: an unknown name, or a change that would make someone their own manager.
        """
        self._require(name)
        self._check_manager(name, reports_to)
        if reports_to is not None and reports_to in nx.descendants(self.graph, name):
            chain = self.chain_of_command(reports_to)
            path = " -> ".join([reports_to, *chain[: chain.index(name) + 1]])
            raise InvalidArgument(f"{name!r} cannot report to {reports_to!r}, who is below {name!r} in the org chart "
                                  f"(reporting line {path}); the org chart may not have a cycle")
        for manager in list(self.graph.predecessors(name)):
            self.graph.remove_edge(manager, name)
        if reports_to is not None:
            self.graph.add_edge(reports_to, name)

    def remove(self, name: str) -> None:
        """Take ``name`` out; their direct reports then report to ``name``'s manager (or nobody)."""
        self._require(name)
        manager = self.manager_of(name)
        reports = self.reports_of(name)
        self.graph.remove_node(name)
        for report in reports:
            if manager is not None:
                self.graph.add_edge(manager, report)

    def _check_manager(self, name: str, reports_to: str | None) -> None:
        if reports_to is None:
            return
        if reports_to == name:
            raise InvalidArgument(f"{name!r} cannot report to themselves")
        if reports_to not in self:
            raise InvalidArgument(f"{name!r} is to report to {reports_to!r}, who is not in the org chart; add "
                                  f"{reports_to!r} first (known: {', '.join(sorted(self.graph.nodes)) or 'nobody'})")

    def _require(self, name: str) -> None:
        if name not in self:
            raise InvalidArgument(f"{name!r} is not in the org chart (known: "
                                  f"{', '.join(sorted(self.graph.nodes)) or 'nobody'})")

    # ------------------------------------------------------------------ reading

    def role_of(self, name: str) -> str:
        self._require(name)
        return str(self.graph.nodes[name].get("role", ""))

    def set_role(self, name: str, role: str) -> None:
        self._require(name)
        self.graph.nodes[name]["role"] = role

    def manager_of(self, name: str) -> str | None:
        """``name``'s direct manager, or None for a root."""
        self._require(name)
        return next(iter(self.graph.predecessors(name)), None)

    def reports_of(self, name: str) -> list[str]:
        """``name``'s direct reports, sorted."""
        self._require(name)
        return sorted(self.graph.successors(name))

    def chain_of_command(self, name: str) -> list[str]:
        """``name``'s managers, nearest first, up to a root."""
        chain: list[str] = []
        manager = self.manager_of(name)
        while manager is not None:
            chain.append(manager)
            manager = self.manager_of(manager)
        return chain

    def roots(self) -> list[str]:
        """The people who report to nobody, sorted."""
        return sorted(n for n in self.graph.nodes if self.graph.in_degree(n) == 0)

    def is_above(self, manager: str, person: str) -> bool:
        """Whether ``manager`` is somewhere up ``person``'s chain of command."""
        return manager in self.chain_of_command(person)

    def levels_between(self, upper: str, lower: str) -> int | None:
        """How many levels ``upper`` is above ``lower`` (1: direct manager), or None if not above."""
        chain = self.chain_of_command(lower)
        return chain.index(upper) + 1 if upper in chain else None

    def line(self, source: str, target: str) -> Line:
        """The reporting line from ``source`` to ``target`` (``manager``: target is source's manager)."""
        if source == target:
            return "self"
        up = self.levels_between(target, source)
        if up is not None:
            return "manager" if up == 1 else "skip_level_up"
        down = self.levels_between(source, target)
        if down is not None:
            return "report" if down == 1 else "skip_level_down"
        manager = self.manager_of(source)
        if manager is not None and manager == self.manager_of(target):
            return "peer"
        return "other"

    def can_reach(self, source: str, target: str, policy: ReachPolicy) -> bool:
        """Whether ``source`` may reach ``target`` under ``policy`` (people outside the chart: only
        when the policy lets anyone reach anyone)."""
        if policy.anyone:
            return True
        if source not in self or target not in self or source == target:
            return False
        up = self.levels_between(target, source)
        if up is not None:
            return up <= policy.up
        down = self.levels_between(source, target)
        if down is not None:
            return down <= policy.down
        return policy.peers and self.line(source, target) == "peer"

    def reachable(self, source: str, policy: ReachPolicy, among: Iterable[str]) -> list[str]:
        """Those of ``among`` whom ``source`` may reach, in ``among``'s order."""
        return [name for name in among if name != source and self.can_reach(source, name, policy)]

    # ------------------------------------------------------------------ as data

    def to_rows(self) -> list[tuple[str, str, str | None]]:
        """``(name, role, reports_to)`` per person, managers before their reports, names sorted within a level."""
        rows: list[tuple[str, str, str | None]] = []
        for generation in nx.topological_generations(self.graph):
            for name in sorted(generation):
                rows.append((name, self.role_of(name), self.manager_of(name)))
        return rows

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, str | None]]) -> OrgChart:
        """A chart from ``(name, role, reports_to)`` rows in any order.

        Raises:
            InvalidArgument: a name twice, a manager nobody lists, or a cycle (the people in it named).
        """
        rows = list(rows)
        names = [r[0] for r in rows]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise InvalidArgument(f"the org chart lists {', '.join(map(repr, twice))} more than once")
        unknown = sorted({str(m) for _, _, m in rows if m is not None and m not in names})
        if unknown:
            raise InvalidArgument(f"the org chart names managers who are not in it: {', '.join(map(repr, unknown))}")
        graph: nx.DiGraph = nx.DiGraph()
        graph.add_nodes_from((name, {"role": role}) for name, role, _ in rows)
        graph.add_edges_from((manager, name) for name, _, manager in rows if manager is not None)
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            cycle = None
        if cycle:
            people = " -> ".join(f"{b} reports to {a}" for a, b in cycle)
            raise InvalidArgument(f"the org chart has a cycle ({people}); someone must be at the top")
        chart = cls()
        chart.graph = graph
        return chart


__all__ = ["LINES", "Line", "OrgChart", "ReachPolicy", "as_policy"]
