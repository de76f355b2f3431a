"""A simple trace: every event written as one JSON line, as a bus subscriber.

Example:
    >>> import io
    >>> from tinytroupe.events import EventBus, WarningEvent
    >>> bus, buf = EventBus(), io.StringIO()
    >>> writer = JsonlTraceWriter(buf).attach(bus)
    >>> bus.publish(WarningEvent(code="x", message="y"))
    >>> writer.count
    1
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import IO

from tinytroupe.events import Event, EventBus


class JsonlTraceWriter:
    """Writes each event it receives as a JSON line to a file path or an open text stream."""

    def __init__(self, target: str | Path | IO[str]) -> None:
        self._owns = isinstance(target, str | Path)
        if isinstance(target, str | Path):
            self._fh: IO[str] = open(target, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
        else:
            self._fh = target
        self._lock = threading.Lock()
        self._bus: EventBus | None = None
        self._token: int | None = None
        self.count = 0

    def attach(self, bus: EventBus) -> JsonlTraceWriter:
        self._bus, self._token = bus, bus.subscribe(self)
        return self

    def __call__(self, event: Event) -> None:
        line = event.model_dump_json()
        with self._lock:
            self._fh.write(line + "\n")
            self.count += 1

    def close(self) -> None:
        if self._bus is not None and self._token is not None:
            self._bus.unsubscribe(self._token)
            self._bus = None
        with self._lock:
            if self._owns:
                self._fh.close()
            else:
                self._fh.flush()


__all__ = ["JsonlTraceWriter"]
