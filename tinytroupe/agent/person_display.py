"""Showing what one :class:`~tinytroupe.agent.person.TinyPerson` perceives and does, TinyTroupe's
``communication_display``, for an agent used outside any world.

Inside a world the world's display decides (``TinyWorld(..., communication_display=...)``); an agent
outside any world prints nothing unless asked: per call (``act(communication_display=True)``,
``listen(..., communication_display=True)`` ...) or for every agent with the class switch
``TinyPerson.communication_display = True`` (TinyTroupe's default; ours is None, off). Printing is a
subscriber of the agent's event bus attached for the length of the call, like a world's display, so
nothing else in the agent knows about the console.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from rich.console import Console

from tinytroupe import html_views
from tinytroupe.agent.person_core import PersonCore
from tinytroupe.display import ConsoleDisplay
from tinytroupe.events import Event, StimulusEvent
from tinytroupe.terminal import show

#: how each kind of stimulus is introduced (speech is shown as ``source → agent``)
_STIMULUS_VERBS = {
    "VISUAL": "sees",
    "THOUGHT": "thinks",
    "INTERNAL_GOAL_FORMULATION": "sets a goal",
    "SOCIAL": "notices",
    "LOCATION": "is now at",
    "DOCUMENT": "reads",
    "TOOL_RESULT": "gets a tool result",
}


class AgentDisplay(ConsoleDisplay):
    """A :class:`ConsoleDisplay` of one agent's events that also shows what the agent perceives.

    Example:
        >>> from tinytroupe.events import EventBus, StimulusEvent
        >>> bus = EventBus()
        >>> shown = AgentDisplay("Lisa", Console(width=80, color_system=None), max_content_length=12).attach(bus)
        >>> bus.publish(StimulusEvent(agent="Lisa", stimulus_type="CONVERSATION", content="Hello Lisa, how are you?",
        ...                           source="Ben"))
        Ben → Lisa: Hello Lisa,…
        >>> bus.publish(StimulusEvent(agent="Ben", stimulus_type="CONVERSATION", content="not Lisa's"))
    """

    shows_every_agent = False

    def __init__(self, agent: str, console: Console | None = None, *, max_content_length: int = 400) -> None:
        super().__init__(console, max_content_length=max_content_length)
        self.agent = agent

    def __call__(self, event: Event) -> None:
        if event.agent != self.agent:
            return
        if isinstance(event, StimulusEvent):
            content = show(self._cut(event.content))
            if event.stimulus_type == "CONVERSATION":
                self.console.print(f"[bold yellow]{show(event.source or 'Someone')}[/] → {show(self.agent)}: {content}")
            else:
                verb = _STIMULUS_VERBS.get(event.stimulus_type, event.stimulus_type.lower())
                self.console.print(f"[dim]{show(self.agent)} {verb}: {content}[/]")
            return
        super().__call__(event)


class _NoDisplay:
    """A context that does nothing (``contextlib.nullcontext`` makes one per use; this one is shared)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NO_DISPLAY = _NoDisplay()


class DisplayMethods(PersonCore):
    """The display part of :class:`~tinytroupe.agent.person.TinyPerson`."""

    #: TinyTroupe's class-wide switch. None (default) and False: an agent outside any world prints
    #: nothing; True: it prints what it perceives and does, as in TinyTroupe. A call's own
    #: ``communication_display=`` wins over it.
    communication_display: bool | None = None

    def _shows(self, communication_display: bool | None) -> bool:
        flag = communication_display if communication_display is not None else type(self).communication_display
        # In a world, the world's display shows the agent's events (once, in the world's order).
        return bool(flag) and self.environment is None

    def _displaying(self, communication_display: bool | None,
                    max_content_length: int | None) -> AbstractContextManager[None]:
        """Print this agent's events while the body runs, when :meth:`_shows` says so and no display
        on the bus shows them already."""
        if not self._shows(communication_display):
            return _NO_DISPLAY  # the usual case (agents in a world): no generator to start and finish
        return self._display_attached(max_content_length)

    @contextmanager
    def _display_attached(self, max_content_length: int | None) -> Iterator[None]:
        bus = self.bus
        # A display of every event is there already (tinytroupe run's, a user's): it shows the actions.
        # Another agent's AgentDisplay does not count: it shows that agent only.
        if any(isinstance(cb, ConsoleDisplay) and cb.shows_every_agent and cb.shows(None)
               for cb in bus.subscribers()):
            yield
            return
        limit = max_content_length if max_content_length is not None else self.max_content_display_length
        display = AgentDisplay(self.name, max_content_length=max(1, limit)).attach(bus)
        try:
            yield
        finally:
            display.detach()

    #: remembered events shown by the notebook view
    HTML_RECENT = 8

    def _repr_html_(self) -> str:
        """The notebook view: who the agent is, how they are doing, and what they perceived and did last.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> view = TinyPerson("Ana <3").define("age", 34)._repr_html_()
            >>> "Ana &lt;3" in view, "34" in view, "<b>goals</b>" in view  # empty state fields left out
            (True, True, False)
        """
        state = self.cognitive_state
        mind = html_views.fields([("goals", state.goals), ("attention", state.attention),
                                  ("emotions", state.emotions), ("context", ", ".join(state.context))])
        recent = [(item.step, item.describe(self.name)) for item in self.memory.recent(self.HTML_RECENT)]
        stats = self.get_memory_stats()  # type: ignore[attr-defined]  # the memory part of TinyPerson
        memory = html_views.fields([("episodic items", stats["episodic_size"]),
                                    ("semantic items", stats["semantic_size"])])
        where = self.environment.name if self.environment is not None else None
        return html_views.card(
            self.name, self.minibio(extended=False),  # type: ignore[attr-defined]  # the persona part
            ("State", mind), ("Memory", memory), ("World", html_views.text(where) if where else ""),
            ("Recent", html_views.table(["step", "event"], recent) if recent else ""))

    def iso_datetime(self) -> str | None:
        """The simulated time of the agent's world as ISO 8601 text, or None outside a world (or before
        its clock is set), as in TinyTroupe.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> TinyPerson("Lisa").iso_datetime() is None
            True
        """
        now = self._now()
        return now.isoformat() if now is not None else None


__all__ = ["AgentDisplay", "DisplayMethods"]
