"""Emotion charts: each agent's PAD state over its turns, from the :class:`~tinytroupe.events.EmotionEvent` s
on a bus (or from a run's trace, by feeding the events to :meth:`EmotionTimeline.record`).

:class:`EmotionTimeline` subscribes to a bus and keeps the events per agent; it gives the series as
data (JSON-ready), an inline SVG line chart (pleasure, arousal, dominance from -1 to 1, by event
number) and an ASCII sparkline for terminals.

Example:
    >>> from tinytroupe.events import EmotionEvent, EventBus
    >>> bus = EventBus(); timeline = EmotionTimeline(bus)
    >>> for a in (0.0, 0.6, 0.3):
    ...     bus.publish(EmotionEvent(agent="Ana", pleasure=-a, arousal=a, dominance=0.0, label="anxious"))
    >>> timeline.series("Ana")["arousal"]
    [0.0, 0.6, 0.3]
    >>> timeline.to_svg("Ana").startswith("<svg")
    True
"""

from __future__ import annotations

from typing import Any

from tinytroupe.errors import InvalidArgumentType, NotFound
from tinytroupe.events import EmotionEvent, Event, EventBus
from tinytroupe.visualization.svg_charts import svg_line_chart

_DIMENSIONS = ("pleasure", "arousal", "dominance")
_BARS = " ▁▂▃▄▅▆▇█"


class EmotionTimeline:
    """The emotion events of each agent, in the order they were published (bounded per agent).

    Args:
        bus: subscribe to it now (None: feed events with :meth:`record`).
        max_events_per_agent: the most kept per agent; the oldest leave first.
    """

    def __init__(self, bus: EventBus | None = None, *, max_events_per_agent: int = 10_000) -> None:
        self.max_events_per_agent = max_events_per_agent
        self._events: dict[str, list[EmotionEvent]] = {}
        self._bus = bus
        self._sub = bus.subscribe(self.record, kinds=["emotion"]) if bus is not None else None

    def record(self, event: Event) -> None:
        """Keep ``event`` if it is an :class:`EmotionEvent` of an agent (others are ignored)."""
        if not isinstance(event, Event):
            raise InvalidArgumentType(f"record takes an Event, got {type(event).__name__}")
        if isinstance(event, EmotionEvent) and event.agent is not None:
            kept = self._events.setdefault(event.agent, [])
            kept.append(event)
            del kept[: max(0, len(kept) - self.max_events_per_agent)]

    def close(self) -> None:
        """Stop listening to the bus."""
        if self._bus is not None and self._sub is not None:
            self._bus.unsubscribe(self._sub)
            self._sub = None

    @property
    def agents(self) -> list[str]:
        return sorted(self._events)

    def _of(self, agent: str) -> list[EmotionEvent]:
        if agent not in self._events:
            raise NotFound(f"no emotion events of {agent!r} (agents with some: {', '.join(self.agents) or 'none'})")
        return self._events[agent]

    def series(self, agent: str) -> dict[str, Any]:
        """``agent``'s states as parallel lists: pleasure, arousal, dominance, label, cause, step, sim_time.

        Raises:
            NotFound: no emotion event of that agent was seen.
        """
        events = self._of(agent)
        data: dict[str, Any] = {d: [getattr(e, d) for e in events] for d in _DIMENSIONS}
        data.update(label=[e.label for e in events], cause=[e.cause for e in events],
                    step=[e.step for e in events], sim_time=[e.sim_time for e in events])
        return data

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Every agent's :meth:`series`, by name."""
        return {agent: self.series(agent) for agent in self.agents}

    def to_svg(self, agent: str, *, width: int = 640, height: int = 280) -> str:
        """An inline SVG line chart of ``agent``'s pleasure, arousal and dominance by event number."""
        data = self.series(agent)
        xs = list(range(1, len(data["pleasure"]) + 1))
        return svg_line_chart(f"{agent}: emotional state", "event", "PAD (-1..1)", xs,
                              [(d, data[d]) for d in _DIMENSIONS], y_min=-1.0, y_max=1.0,
                              refs=[("neutral", 0.0)], width=width, height=height)

    def ascii_chart(self, agent: str, *, width: int = 60) -> str:
        """One sparkline per dimension (the last ``width`` events; low bar -1, full bar +1).

        Example:
            >>> t = EmotionTimeline()
            >>> t.record(EmotionEvent(agent="Bo", pleasure=1.0, arousal=-1.0, dominance=0.0, label="relaxed"))
            >>> print(t.ascii_chart("Bo"))
            pleasure  █  +1.00
            arousal      -1.00
            dominance ▄  +0.00
        """
        data = self.series(agent)
        lines = []
        for d in _DIMENSIONS:
            values = data[d][-width:]
            bars = "".join(_BARS[round((v + 1.0) / 2.0 * (len(_BARS) - 1))] for v in values)
            lines.append(f"{d:<9} {bars}  {values[-1]:+.2f}")
        return "\n".join(lines)


__all__ = ["EmotionTimeline"]
