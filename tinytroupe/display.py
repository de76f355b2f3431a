"""Showing a simulation live in the terminal (or a notebook), as a subscriber of the event bus.

:class:`ConsoleDisplay` prints conversations, thoughts, broadcasts, step banners and failed turns as
their events are published. ``tinytroupe run`` attaches one for the whole study; a world run from a
script or notebook attaches one for the duration of each ``run``/``broadcast`` (TinyTroupe's
``communication_display``, see :func:`display_for`). It lives at the bottom layer, next to the events
it reads, so that worlds can use it; ``tinytroupe.visualization.ConsoleDisplay`` is the same class.

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

from tinytroupe.events import (
    ActionEvent,
    AgentErrorEvent,
    BatchEvent,
    Event,
    EventBus,
    StepEvent,
    StimulusEvent,
    ToolCallEvent,
    WarningEvent,
)
from tinytroupe.terminal import show

#: :class:`WarningEvent` codes the display shows: what the user would otherwise wonder about (a
#: message that reached nobody, an action the world refused); other warnings are for logs and monitors.
SHOWN_WARNINGS = frozenset({"talk_not_delivered", "action_rejected"})
#: who speaks to everyone from outside the simulation (a scenario's moderator, a story's narrator): what
#: they say is shown once; what agents hear from each other is shown as their TALK instead
BROADCAST_SOURCES = frozenset({None, "Moderator", "Narrator"})


class ConsoleDisplay:
    """Prints conversations, thoughts, broadcasts, step banners and errors as they happen.

    Args:
        console: where to print (default: a rich Console on the standard output, looked up at each
            print, so pytest's ``capsys`` and Jupyter's cell output both see it).
        show_thoughts: print THINK actions too.
        max_content_length: cut long contents.
        world: show only the events of the world with this name (None: every event on the bus).
    """

    #: whether this display shows every agent's events of the worlds it shows; an agent's own
    #: display (:class:`~tinytroupe.agent.person_display.AgentDisplay`) shows that agent only, so
    #: it never stands in for a world's display
    shows_every_agent = True

    def __init__(self, console: Console | None = None, *, show_thoughts: bool = True,
                 max_content_length: int = 400, world: str | None = None) -> None:
        self.console = console or Console()
        self.show_thoughts = show_thoughts
        self.max_content_length = max_content_length
        self.world = world
        self._last_broadcast: tuple[str | None, str] | None = None
        self._token: int | None = None
        self._bus: EventBus | None = None

    def attach(self, bus: EventBus) -> ConsoleDisplay:
        self._bus = bus
        self._token = bus.subscribe(self, kinds=["action", "stimulus", "step", "agent_error", "warning", "batch",
                                                       "tool_call"])
        return self

    def detach(self) -> None:
        if self._bus is not None and self._token is not None:
            self._bus.unsubscribe(self._token)
        self._bus, self._token = None, None

    def shows(self, world: str | None) -> bool:
        """Whether this display prints the events of ``world``."""
        return self.world is None or self.world == world

    def _cut(self, text: str) -> str:
        text = " ".join(text.split())
        return text if len(text) <= self.max_content_length else text[: self.max_content_length - 1] + "…"

    def __call__(self, event: Event) -> None:
        if not self.shows(event.world):
            return
        if isinstance(event, ActionEvent):
            if event.action_type == "TALK":
                target = f" → {show(event.target)}" if event.target else ""
                self.console.print(f"[bold cyan]{show(event.agent or '?')}[/]{target}: "
                                   f"{show(self._cut(event.content))}")
            elif event.action_type == "THINK" and self.show_thoughts:
                self.console.print(f"[dim italic]{show(event.agent or '?')} thinks: "
                                   f"{show(self._cut(event.content))}[/]")
            elif event.action_type == "REACH_OUT":
                self.console.print(f"[magenta]{show(event.agent or '?')} reaches out to "
                                   f"{show(event.target or 'someone')}[/]")
            elif event.action_type not in ("TALK", "THINK", "DONE"):
                self.console.print(f"[magenta]{show(event.agent or '?')} {event.action_type}[/] "
                                   f"{show(event.target or '')} {show(self._cut(event.content))}")
        elif isinstance(event, StimulusEvent):
            # A broadcast reaches every agent; show it once.
            if event.stimulus_type == "CONVERSATION" and event.source in BROADCAST_SOURCES:
                key = (event.source, event.content)
                if key != self._last_broadcast:
                    self._last_broadcast = key
                    self.console.print(f"[bold yellow]{show(event.source or 'Someone')}[/] (to everyone): "
                                       f"{show(self._cut(event.content))}")
        elif isinstance(event, StepEvent):
            if event.phase == "start":
                self._last_broadcast = None
                self.console.rule(f"[dim]{show(event.world or '')} · step {event.step} · {event.sim_time or ''}",
                                  style="dim")
        elif isinstance(event, AgentErrorEvent):
            self.console.print(f"[bold red]! {show(event.agent or '?')} step {event.step}: "
                               f"{show(event.error_type)}: {show(self._cut(event.message))}[/]")
        elif isinstance(event, BatchEvent):
            done = f" {event.completed}/{event.total} done" + (f", {event.failed} failed" if event.failed else "")
            what = {"submitted": "submitted", "resumed": "resumed from the run file", "progress": event.status,
                    "done": event.status}[event.phase]
            self.console.print(f"[dim]batch {show(event.batch_id)}: {show(what)}"
                               f"{done if event.phase in ('progress', 'done') else f' ({event.total} requests)'}[/]")
        elif isinstance(event, ToolCallEvent):
            self.console.print(tool_call_line(event, self.max_content_length))
        elif isinstance(event, WarningEvent) and event.code in SHOWN_WARNINGS:
            self.console.print(f"[yellow]({show(self._cut(event.message))})[/]")


def tool_call_line(event: ToolCallEvent, max_length: int = 120) -> str:
    """One tool call as the live view shows it (rich markup), arguments and error cut to fit.

    Example:
        >>> from rich.console import Console
        >>> console = Console(width=100, color_system=None)
        >>> console.print(tool_call_line(ToolCallEvent(agent="Lisa", tool="word_processor", action="WRITE_DOCUMENT",
        ...                                            arguments="title='Plan'", duration_s=0.012)))
        🔧 Lisa WRITE_DOCUMENT(title='Plan') → ok 12 ms
    """
    def cut(text: str, limit: int) -> str:
        text = " ".join(text.split())
        return text if len(text) <= limit else text[: limit - 1] + "…"

    ms = f"{event.duration_s * 1000:.0f} ms"
    head = f"🔧 {show(event.agent or '?')} {show(event.action)}({show(cut(event.arguments, max(20, max_length // 3)))})"
    if event.ok:
        return f"[blue]{head}[/] → [green]ok[/] {ms}"
    return f"[blue]{head}[/] → [red]error: {show(cut(event.error or '', max_length))}[/] {ms}"


def display_for(bus: EventBus, world: str | None) -> ConsoleDisplay | None:
    """The :class:`ConsoleDisplay` on ``bus`` that already shows ``world``'s events, if any.

    A world attaches its own display only when this is None, so a conversation is never printed
    twice (``tinytroupe run`` attaches one for the whole study; so may a user).

    Example:
        >>> bus = EventBus()
        >>> display_for(bus, "Room") is None
        True
        >>> _ = ConsoleDisplay(world="Hall").attach(bus)
        >>> display_for(bus, "Room") is None
        True
        >>> shown = ConsoleDisplay().attach(bus)
        >>> display_for(bus, "Room") is shown
        True
    """
    for callback in bus.subscribers():
        if isinstance(callback, ConsoleDisplay) and callback.shows_every_agent and callback.shows(world):
            return callback
    return None


__all__ = ["SHOWN_WARNINGS", "ConsoleDisplay", "display_for", "tool_call_line"]
