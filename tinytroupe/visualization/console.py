"""Showing a simulation live in the terminal, as a subscriber of the event bus.

Example:
    >>> from tinytroupe.events import EventBus, ActionEvent
    >>> from rich.console import Console
    >>> bus = EventBus()
    >>> display = ConsoleDisplay(Console(width=80, color_system=None)).attach(bus)
    >>> bus.publish(ActionEvent(agent="Ana", action_type="TALK", content="Hello!", target="Ben"))
    Ana → Ben: Hello!
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from tinytroupe.events import ActionEvent, AgentErrorEvent, Event, EventBus, StepEvent, StimulusEvent


class ConsoleDisplay:
    """Prints conversations, thoughts, broadcasts, step banners and errors as they happen.

    Args:
        console: where to print (a new rich Console when None).
        show_thoughts: print THINK actions too.
        max_content_length: cut long contents.
    """

    def __init__(self, console: Console | None = None, *, show_thoughts: bool = True,
                 max_content_length: int = 400) -> None:
        self.console = console or Console()
        self.show_thoughts = show_thoughts
        self.max_content_length = max_content_length
        self._last_broadcast: tuple[str | None, str] | None = None
        self._token: int | None = None
        self._bus: EventBus | None = None

    def attach(self, bus: EventBus) -> ConsoleDisplay:
        self._bus = bus
        self._token = bus.subscribe(self, kinds=["action", "stimulus", "step", "agent_error"])
        return self

    def detach(self) -> None:
        if self._bus is not None and self._token is not None:
            self._bus.unsubscribe(self._token)
        self._bus, self._token = None, None

    def _cut(self, text: str) -> str:
        text = " ".join(text.split())
        return text if len(text) <= self.max_content_length else text[: self.max_content_length - 1] + "…"

    def __call__(self, event: Event) -> None:
        if isinstance(event, ActionEvent):
            if event.action_type == "TALK":
                target = f" → {escape(event.target)}" if event.target else ""
                self.console.print(f"[bold cyan]{escape(event.agent or '?')}[/]{target}: "
                                   f"{escape(self._cut(event.content))}")
            elif event.action_type == "THINK" and self.show_thoughts:
                self.console.print(f"[dim italic]{escape(event.agent or '?')} thinks: "
                                   f"{escape(self._cut(event.content))}[/]")
            elif event.action_type == "REACH_OUT":
                self.console.print(f"[magenta]{escape(event.agent or '?')} reaches out to "
                                   f"{escape(event.target or 'someone')}[/]")
            elif event.action_type not in ("TALK", "THINK", "DONE"):
                self.console.print(f"[magenta]{escape(event.agent or '?')} {event.action_type}[/] "
                                   f"{escape(event.target or '')} {escape(self._cut(event.content))}")
        elif isinstance(event, StimulusEvent):
            # A broadcast reaches every agent; show it once.
            if event.stimulus_type == "CONVERSATION" and event.source in (None, "Moderator"):
                key = (event.source, event.content)
                if key != self._last_broadcast:
                    self._last_broadcast = key
                    self.console.print(f"[bold yellow]{escape(event.source or 'Someone')}[/] (to everyone): "
                                       f"{escape(self._cut(event.content))}")
        elif isinstance(event, StepEvent):
            if event.phase == "start":
                self._last_broadcast = None
                self.console.rule(f"[dim]{escape(event.world or '')} · step {event.step} · {event.sim_time or ''}",
                                  style="dim")
        elif isinstance(event, AgentErrorEvent):
            self.console.print(f"[bold red]! {escape(event.agent or '?')} step {event.step}: "
                               f"{escape(event.error_type)}: {escape(self._cut(event.message))}[/]")


__all__ = ["ConsoleDisplay"]
