"""A run's events, from wherever they are: a run file's trace, the ``trace.jsonl`` that ``tinytroupe run``
writes, a list of events (models or dicts, e.g. the dashboard's feed) or a live bus.

Every event becomes a plain dict with an ``id``: its place in the run's trace (a run file's ``pos``, the line
of an event log, 0 first; the dashboard's ``_i``; the order of a list or of publication). Insights cite
events by that id, and the id is what every table of :mod:`tinytroupe.analysis` carries.

Example:
    >>> from tinytroupe.events import ActionEvent, EventBus
    >>> bus = EventBus(); recorder = EventRecorder(bus)
    >>> bus.publish(ActionEvent(agent="Ana", action_type="TALK", content="Hi Ben", target="Ben", step=1))
    >>> run = RunEvents.load(recorder)
    >>> [(u["id"], u["agent"], u["content"]) for u in run.utterances()]
    [(0, 'Ana', 'Hi Ben')]
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tinytroupe.errors import ConfigError, InvalidArgument, InvalidArgumentType, NotFound
from tinytroupe.events import Event, EventBus

#: actions whose content is something an agent said or wrote for others to read
SPEECH_ACTIONS = frozenset({"TALK"})


class EventRecorder:
    """A bus subscriber that keeps every event it receives, in order: a live run, analysed as it goes.

    Args:
        bus: the bus to subscribe to (None: call :meth:`attach` later).
        max_events: how many events are kept (the oldest leave first; None: all).
    """

    def __init__(self, bus: EventBus | None = None, *, max_events: int | None = None) -> None:
        self.events: list[Event] = []
        self.dropped = 0
        self.max_events = max_events
        self._bus: tuple[EventBus, int] | None = None
        if bus is not None:
            self.attach(bus)

    def attach(self, bus: EventBus) -> EventRecorder:
        self.detach()
        self._bus = (bus, bus.subscribe(self))
        return self

    def detach(self) -> None:
        if self._bus is not None:
            bus, token = self._bus
            bus.unsubscribe(token)
            self._bus = None

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        if self.max_events is not None and len(self.events) > self.max_events:
            del self.events[0]
            self.dropped += 1


class RunEvents:
    """The events of one run as dicts in trace order, each with its ``id``.

    Build it with :meth:`load`; ``events`` is the list, ``by_id`` finds one.
    """

    def __init__(self, events: Iterable[dict[str, Any]], *, origin: str = "events") -> None:
        self.events: list[dict[str, Any]] = list(events)
        self.origin = origin
        self._by_id = {e["id"]: e for e in self.events}
        if len(self._by_id) != len(self.events):
            raise InvalidArgument(f"events of {origin} have duplicate ids; each event needs its own place in the trace")

    @classmethod
    def load(cls, source: Any, *, run_id: int | None = None) -> RunEvents:
        """The events of ``source``: a run file or ``.jsonl`` event log (path), an :class:`EventRecorder`,
        a list of events (``Event`` models or dicts; a dict's ``id``, ``pos`` or ``_i`` is kept as its id)
        or a :class:`RunEvents` (returned as is).

        Raises:
            ConfigError: the path is not a readable run file or event log.
            InvalidArgumentType: ``source`` is none of these (a bare bus: record it with an ``EventRecorder``).
        """
        if isinstance(source, RunEvents):
            return source
        if isinstance(source, str | Path):
            path = Path(source)
            return cls(_from_jsonl(path) if path.suffix == ".jsonl" else _from_run_file(path, run_id), origin=str(path))
        if isinstance(source, EventRecorder):
            return cls(_numbered(source.events, first=source.dropped), origin="a live bus")
        if isinstance(source, EventBus):
            raise InvalidArgumentType("a bus holds no history: attach an EventRecorder(bus) before the run and "
                                      "pass the recorder")
        if isinstance(source, Sequence):
            return cls(_numbered(source), origin="a list of events")
        raise InvalidArgumentType(f"cannot read events from a {type(source).__name__}: give a run file, a .jsonl "
                                  "event log, an EventRecorder or a list of events")

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.events)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._by_id

    def by_id(self, event_id: int) -> dict[str, Any]:
        """The event with this id.

        Raises:
            NotFound: no event of the run has it.
        """
        try:
            return self._by_id[event_id]
        except KeyError:
            raise NotFound(f"no event with id {event_id} in {self.origin}") from None

    def of_kind(self, *kinds: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("kind") in kinds]

    def utterances(self) -> list[dict[str, Any]]:
        """What agents said (``TALK`` actions with text), in order."""
        return [e for e in self.events if e.get("kind") == "action" and e.get("action_type") in SPEECH_ACTIONS
                and e.get("agent") and str(e.get("content") or "").strip()]

    def agents(self) -> list[str]:
        return sorted({str(e["agent"]) for e in self.events if e.get("agent")})

    def steps(self) -> list[int]:
        return sorted({int(e["step"]) for e in self.events if e.get("step") is not None})


def _numbered(events: Sequence[Event | dict[str, Any]], first: int = 0) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for n, event in enumerate(events, start=first):
        if isinstance(event, Event):
            out.append({"id": n, **event.model_dump(mode="json")})
        elif isinstance(event, dict):
            if "kind" not in event:
                raise InvalidArgument(f"event {n} has no 'kind'; events are Event models or their dicts")
            own = next((event[k] for k in ("id", "pos", "_i") if isinstance(event.get(k), int)), n)
            out.append({**event, "id": own})
        else:
            raise InvalidArgumentType(f"event {n} is a {type(event).__name__}; events are Event models or dicts")
    return out


def _from_run_file(path: Path, run_id: int | None) -> list[dict[str, Any]]:
    from tinytroupe.storage.trace_store import Trace

    with Trace(path, run_id=run_id) as trace:
        return [{"id": e["pos"], **e} for e in trace.events()]


def _from_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise ConfigError(f"no event log at {str(path)!r}: give the trace.jsonl that tinytroupe run writes")
    out: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError as exc:
                raise ConfigError(f"{path}:{line_no + 1}: not a JSON event ({exc})") from exc
            if not isinstance(event, dict) or "kind" not in event:
                raise ConfigError(f"{path}:{line_no + 1}: not an event (a JSON object with a 'kind')")
            out.append({**event, "id": line_no})
    return out


__all__ = ["SPEECH_ACTIONS", "EventRecorder", "RunEvents"]
