"""What the memory monitor records: alerts (:class:`MemoryAlert`), snapshots (:class:`MemorySnapshot`),
per-agent statistics (:class:`AgentMemoryStats`) and the trend rule (:func:`trend_of`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TypedDict

from pydantic import BaseModel, Field, model_validator

from tinytroupe.errors import InvalidArgumentType
from tinytroupe.events import EventBus, MemoryEvent

Severity = Literal["info", "warning", "critical"]
#: ``increasing`` / ``decreasing`` / ``stable``; ``insufficient_data`` with fewer than two snapshots
Trend = Literal["increasing", "decreasing", "stable", "insufficient_data"]

#: the order of MemoryAlert's positional arguments (the roadmap's dataclass order)
_ALERT_POSITIONAL = ("timestamp", "agent_name", "alert_type", "severity", "message", "memory_stats")
#: earlier names of MemoryAlert fields, still accepted when constructing one
_ALERT_OLD_NAMES = {"kind": "alert_type", "agent": "agent_name"}


class _HasBus(Protocol):
    name: str

    @property
    def bus(self) -> EventBus: ...


class _HasStats(Protocol):
    name: str

    def get_memory_stats(self) -> Mapping[str, Any]: ...


class MemoryAlert(BaseModel):
    """One alert: when, about whom, what, how severe, with the memory figures at that moment.

    Fields, in the order positional arguments take them: ``timestamp`` (aware, UTC), ``agent_name``,
    ``alert_type`` (``threshold``, ``abnormal_growth``, ``ineffective_consolidation``, or your own),
    ``severity`` (``info``, ``warning``, ``critical``), ``message``, ``memory_stats``; then ``value``
    (the figure that crossed the line) and ``step``. ``kind``, ``agent`` and ``wall_time`` are the
    earlier names of ``alert_type``, ``agent_name`` and ``timestamp`` (read-only, and accepted when
    constructing).

    Example:
        >>> alert = MemoryAlert(datetime(2025, 1, 6, 9, tzinfo=UTC), "Ana", "threshold", "warning",
        ...                     "Ana: episodic memory 80% full (80/100)", {"usage_ratio": 0.8})
        >>> alert.agent_name, alert.kind, alert.memory_stats["usage_ratio"]
        ('Ana', 'threshold', 0.8)
        >>> print(str(alert)[:10], str(alert)[30:])
        [WARNING]  threshold: Ana: episodic memory 80% full (80/100)
    """

    timestamp: datetime = Field(default_factory=lambda: datetime.now(UTC))
    agent_name: str | None = None
    alert_type: str
    severity: Severity
    message: str
    memory_stats: dict[str, Any] = Field(default_factory=dict)
    value: float = 0.0
    step: int | None = None

    def __init__(self, *args: Any, **data: Any) -> None:
        # The roadmap's MemoryAlert is a dataclass, which takes its fields positionally too.
        if len(args) > len(_ALERT_POSITIONAL):
            raise InvalidArgumentType(f"MemoryAlert takes at most {len(_ALERT_POSITIONAL)} positional arguments "
                                      f"({', '.join(_ALERT_POSITIONAL)}), got {len(args)}")
        for name, value in zip(_ALERT_POSITIONAL, args, strict=False):
            if name in data:
                raise InvalidArgumentType(f"MemoryAlert got {name!r} both positionally and by keyword")
            data[name] = value
        super().__init__(**data)

    @model_validator(mode="before")
    @classmethod
    def _accept_earlier_names(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for old, new in _ALERT_OLD_NAMES.items():
            if old in data:
                data.setdefault(new, data.pop(old))
        if "wall_time" in data:
            wall = data.pop("wall_time")
            data.setdefault("timestamp", datetime.fromtimestamp(float(wall), UTC))
        return data

    @property
    def kind(self) -> str:
        """Earlier name of :attr:`alert_type`."""
        return self.alert_type

    @property
    def agent(self) -> str | None:
        """Earlier name of :attr:`agent_name`."""
        return self.agent_name

    @property
    def wall_time(self) -> float:
        """:attr:`timestamp` as seconds since the epoch (its earlier form)."""
        return self.timestamp.timestamp()

    def __str__(self) -> str:
        # Local time for people reading a console; the field itself stays UTC for files.
        when = self.timestamp.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        return f"[{self.severity.upper()}] {when} {self.alert_type}: {self.message}"


class MemorySnapshot(BaseModel):
    """An agent's memory figures at one moment.

    ``source`` says where they came from: ``event`` (a :class:`~tinytroupe.events.MemoryEvent` on
    the bus; ``operation`` is the event's) or ``agent`` (:meth:`MemoryMonitor.record_snapshot` read
    ``agent.get_memory_stats()``; ``stats`` and ``consolidation_metrics`` then hold what it returned).

    Example:
        >>> snap = MemorySnapshot(agent="Ana", wall_time=0.0, step=None, operation="snapshot", episodic_size=5,
        ...                       semantic_size=0, max_size=10, usage_ratio=0.5, consolidations=0, evictions=0)
        >>> snap.figures()["usage_ratio"], snap.timestamp.year
        (0.5, 1970)
    """

    agent: str
    wall_time: float
    step: int | None
    operation: str
    episodic_size: int
    semantic_size: int
    max_size: int
    usage_ratio: float
    consolidations: int
    evictions: int
    source: Literal["event", "agent"] = "event"
    sim_time: str | None = None
    items_in: int = 0
    items_out: int = 0
    duration_s: float = 0.0
    automatic: bool | None = None
    stats: dict[str, Any] = Field(default_factory=dict)
    consolidation_metrics: dict[str, Any] | None = None

    @property
    def timestamp(self) -> datetime:
        """:attr:`wall_time` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.wall_time, UTC)

    def figures(self) -> dict[str, Any]:
        """The figures an alert carries: the agent's whole stats when known, else the event's."""
        base = {"episodic_size": self.episodic_size, "semantic_size": self.semantic_size,
                "max_size": self.max_size, "usage_ratio": self.usage_ratio,
                "consolidations": self.consolidations, "evictions": self.evictions}
        return {**self.stats, **base}

    @classmethod
    def from_event(cls, event: MemoryEvent) -> MemorySnapshot:
        return cls(agent=event.agent or "?", wall_time=event.wall_time, step=event.step,
                   operation=event.operation, episodic_size=event.episodic_size,
                   semantic_size=event.semantic_size, max_size=event.max_size, usage_ratio=event.usage_ratio,
                   consolidations=event.consolidations, evictions=event.evictions, source="event",
                   sim_time=event.sim_time, items_in=event.items_in, items_out=event.items_out,
                   duration_s=event.duration_s,
                   automatic=event.automatic if event.operation == "consolidate" else None)

    @classmethod
    def from_agent(cls, agent: _HasStats) -> MemorySnapshot:
        stats = dict(agent.get_memory_stats())
        metrics_of = getattr(agent, "get_consolidation_metrics", None)
        metrics = dict(metrics_of()) if callable(metrics_of) else None
        size = int(stats.get("episodic_size", 0))
        max_size = int(stats.get("max_episodic_size", stats.get("max_size", 0)))
        ratio = stats.get("usage_ratio")
        env = getattr(agent, "environment", None)
        step = getattr(env, "current_step", None)
        now = getattr(env, "current_datetime", None)
        return cls(agent=agent.name, wall_time=time.time(), step=step if isinstance(step, int) else None,
                   operation="snapshot", episodic_size=size, semantic_size=int(stats.get("semantic_size", 0)),
                   max_size=max_size,
                   usage_ratio=float(ratio) if ratio is not None else (size / max_size if max_size else 0.0),
                   consolidations=int(stats.get("consolidations", 0)), evictions=int(stats.get("evictions", 0)),
                   source="agent", sim_time=now.isoformat() if isinstance(now, datetime) else None,
                   stats=stats, consolidation_metrics=metrics)


class AgentMemoryStats(TypedDict):
    """What :meth:`MemoryMonitor.get_agent_stats` returns (None: no snapshot yet)."""

    agent_name: str
    total_snapshots: int
    current_memory_size: int | None
    max_memory_size: int | None
    peak_memory_size: int | None
    average_memory_size: float | None
    usage_ratio: float | None
    semantic_size: int | None
    consolidations: int | None
    evictions: int | None
    memory_trend: Trend
    growth_per_snapshot: float | None
    semantic_trend: Trend
    total_alerts: int
    alerts_by_severity: dict[str, int]
    alerts_by_type: dict[str, int]
    first_snapshot: str | None
    last_snapshot: str | None


def _slope(values: list[float]) -> float:
    """Least-squares slope per snapshot: a trend that one noisy snapshot does not flip."""
    n = len(values)
    if n < 2:
        return 0.0
    mx, my = (n - 1) / 2, sum(values) / n
    den = sum((i - mx) ** 2 for i in range(n))
    return sum((i - mx) * (v - my) for i, v in enumerate(values)) / den


def trend_of(values: list[float], scale: float = 0.0) -> Trend:
    """Direction of a series: its fitted change over the snapshots against a tolerance.

    The tolerance is one item or 1% of ``scale`` (the memory's bound), whichever is larger, so a
    full memory that evicts and refills reads as ``stable``.

    Example:
        >>> trend_of([1, 11, 21]), trend_of([50, 50, 51], scale=1000), trend_of([9, 5, 1]), trend_of([3])
        ('increasing', 'stable', 'decreasing', 'insufficient_data')
    """
    if len(values) < 2:
        return "insufficient_data"
    change = _slope(values) * (len(values) - 1)
    tolerance = max(1.0, 0.01 * scale)
    if change > tolerance:
        return "increasing"
    if change < -tolerance:
        return "decreasing"
    return "stable"


__all__ = ["AgentMemoryStats", "MemoryAlert", "MemorySnapshot", "Severity", "Trend", "trend_of"]
