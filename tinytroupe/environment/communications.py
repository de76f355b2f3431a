"""What a world shows and keeps of its conversation: the live display while it runs or broadcasts,
and TinyTroupe's communications buffer (:meth:`pop_and_display_latest_communications`), both fed by
the event buses of the world and its agents.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console

from tinytroupe.agent.person import TinyPerson
from tinytroupe.display import ConsoleDisplay, display_for
from tinytroupe.events import ActionEvent, Event, EventBus, StepEvent, StimulusEvent
from tinytroupe.terminal import print_plain, printable

# The world's logger: the buffer's warning is about the world.
logger = logging.getLogger("tinytroupe.environment.world")

#: a buffered communication: its dict, or the action or stimulus event it is made of
_Entry = dict[str, Any] | ActionEvent | StimulusEvent
#: its rendering when it repeats the one before (a one-item tuple; None: its own)
_Rendering = tuple[str | None] | None


class WorldCommunications:
    """Mixin of :class:`~tinytroupe.environment.TinyWorld`: the live display and the communications buffer.

    Class attributes:
        MAX_COMMUNICATIONS: communications kept for :meth:`pop_and_display_latest_communications`
            between two pops (older ones are dropped, with one warning in the log).
    """

    MAX_COMMUNICATIONS = 10_000

    if TYPE_CHECKING:
        name: str
        agents: list[TinyPerson]
        communication_display: bool | None
        max_additional_targets_to_display: int | None
        _display_setting: bool
        _step: int

        @property
        def bus(self) -> EventBus: ...

    def _init_communications(self) -> None:
        # What pop_and_display_latest_communications returns: bounded, oldest dropped first.
        self._communications: deque[tuple[_Entry, _Rendering]] = deque(maxlen=self.MAX_COMMUNICATIONS)
        self._comm_lock = threading.Lock()
        self._comm_last: tuple[Any, ...] | None = None
        self._comm_repeats = 0
        self._comm_overflow_warned = False
        self._recording: list[tuple[EventBus, int]] = []
        self._recording_depth = 0

    def displays_communications(self) -> bool:
        """Whether runs and broadcasts of this world show the conversation live.

        Decided by, first to last: ``communication_display=`` given to this world, the class switch
        ``TinyWorld.communication_display`` (TinyTroupe's), ``[Simulation] COMMUNICATION_DISPLAY``
        (``TINYTROUPE_SIMULATION__COMMUNICATION_DISPLAY=false`` turns it off, e.g. for a test run).

        Example:
            >>> from tinytroupe.environment import TinyWorld
            >>> TinyWorld("Quiet room", communication_display=False).displays_communications()
            False
        """
        flag = self.communication_display
        return self._display_setting if flag is None else bool(flag)

    @contextmanager
    def _showing_communications(self) -> Iterator[None]:
        """Print this world's events while the body runs, unless display is off or a display that
        shows them is already on the bus (``tinytroupe run``'s, a user's, an outer run's)."""
        attached: list[ConsoleDisplay] = []
        if self.displays_communications():
            # Agents with their own client publish on their own bus.
            buses = {id(b): b for b in [self.bus, *(a.bus for a in self.agents)]}
            for bus in buses.values():
                if display_for(bus, self.name) is None:
                    attached.append(ConsoleDisplay(world=self.name).attach(bus))
        try:
            yield
        finally:
            for display in attached:
                display.detach()

    @contextmanager
    def _recording_communications(self) -> Iterator[None]:
        """Collect this world's communications from the event buses of the world and its agents
        while the body runs (runs and broadcasts; an agent told something directly is not recorded)."""
        with self._comm_lock:
            self._recording_depth += 1
            if self._recording_depth == 1:
                buses = {id(b): b for b in [self.bus, *(a.bus for a in self.agents)]}
                self._recording = [(b, b.subscribe(self._on_communication, kinds=["action", "stimulus", "step"]))
                                   for b in buses.values()]
        try:
            yield
        finally:
            with self._comm_lock:
                self._recording_depth -= 1
                if self._recording_depth == 0:
                    recording, self._recording = self._recording, []
                    for bus, token in recording:
                        bus.unsubscribe(token)

    def _on_communication(self, event: Event) -> None:
        if event.world != self.name:
            return
        # Actions and stimuli (most of a run's events) are buffered as the events themselves, their
        # dicts built when the buffer is read: a run pays for none nobody pops. The exact classes are
        # compared first (several events per turn): isinstance, a call, only for a subclass.
        if type(event) is ActionEvent or (type(event) is not StimulusEvent and isinstance(event, ActionEvent)):
            if event.action_type != "DONE":
                self._buffer(event, ("action", event.agent, event.action_type, event.content), event.target,
                             event.agent, collapsible=True)
        elif type(event) is StimulusEvent or isinstance(event, StimulusEvent):
            self._buffer(event, ("stimuli", event.source, event.stimulus_type, event.content), event.agent,
                         event.source, collapsible=True)
        elif isinstance(event, StepEvent) and event.phase == "start":
            when = f" ({event.sim_time.replace('T', ' ')})" if event.sim_time else ""
            self._push_communication({"kind": "step", "rendering": f"{self.name} step {event.step}{when}",
                                      "content": None, "source": None, "target": None, "step": event.step})

    def _record_intervention(self, intervention: object) -> None:
        name = getattr(intervention, "name", None) or type(intervention).__name__
        why = getattr(intervention, "precondition_justification", None)
        text = f"intervention {name} applied"
        if callable(why):
            text += f": {' '.join(str(why()).split())}"
        self._push_communication({"kind": "intervention", "rendering": text, "content": None, "source": None,
                                  "target": None, "step": self._step})

    def _push_communication(self, communication: dict[str, Any]) -> None:
        content = communication["content"] or {}
        body = content.get("action") or (content.get("stimuli") or [{}])[0]
        key = (communication["kind"], communication["source"], body.get("type"), body.get("content"))
        self._buffer(communication, key, communication["target"], communication["source"],
                     collapsible=communication["kind"] in ("action", "stimuli"))

    def _buffer(self, entry: _Entry, key: tuple[Any, ...], target: str | None, source: str | None,
                *, collapsible: bool) -> None:
        """Keep a communication (its dict, or the event it is made of) for the next pop."""
        # The same message reaching several listeners in a row collapses to "+ --> name" lines.
        with self._comm_lock:
            repeated = key == self._comm_last and target is not None and collapsible
            self._comm_last = key
            rendering: _Rendering = None
            if repeated:
                self._comm_repeats += 1
                limit = self.max_additional_targets_to_display
                indent = " " * len(str(source or "someone"))
                if limit is None or self._comm_repeats <= limit:
                    rendering = (f"{indent} + --> {target}",)
                elif self._comm_repeats == limit + 1:
                    rendering = (f"{indent} + --> (and more)",)
                else:
                    rendering = (None,)
            else:
                self._comm_repeats = 0
            if len(self._communications) == self._communications.maxlen and not self._comm_overflow_warned:
                self._comm_overflow_warned = True
                logger.warning("world %r keeps the last %d communications for pop_and_display_latest_communications; "
                               "older ones are dropped (pop them more often, or raise TinyWorld.MAX_COMMUNICATIONS)",
                               self.name, self._communications.maxlen)
            self._communications.append((entry, rendering))

    def pop_and_display_latest_communications(self, console: Console | None = None) -> list[dict[str, Any]]:
        """Print the communications recorded since the last pop, and return them (TinyTroupe's buffer).

        Recorded are the step banners, applied interventions, actions (DONE left out) and stimuli of
        :meth:`run` and of broadcasts. Each is ``{"kind": "step" | "intervention" | "action" | "stimuli",
        "rendering", "content", "source", "target", "step"}``; ``content`` is TinyTroupe's
        ``{"action": {...}}`` or ``{"stimuli": [{...}]}``. ``rendering`` is None for listeners beyond
        ``max_additional_targets_to_display`` (they are not printed).

        Example:
            >>> from rich.console import Console
            >>> from tinytroupe.agent import TinyPerson
            >>> from tinytroupe.environment import TinyWorld
            >>> from tinytroupe.llm import LLMClient, ScriptedBackend
            >>> world = TinyWorld("Room", [TinyPerson("Ana"), TinyPerson("Ben")], client=LLMClient(ScriptedBackend([])))
            >>> world.broadcast("Welcome!", source="Host")
            >>> [c["target"] for c in world.pop_and_display_latest_communications(Console(width=60))]
            Host --> Ana: [CONVERSATION] Welcome!
                 + --> Ben
            ['Ana', 'Ben']
        """
        with self._comm_lock:
            buffered = list(self._communications)
            self._communications.clear()
            self._comm_last, self._comm_repeats = None, 0
        communications = [_communication(entry, rendering) for entry, rendering in buffered]
        console = console or Console()
        for communication in communications:
            rendering = communication["rendering"]
            if rendering is None:
                continue
            if communication["kind"] == "step":
                console.rule(printable(rendering), style="dim")
            else:
                console.print(printable(rendering), markup=False, highlight=False)
        return communications

    def clear_communications_buffer(self) -> None:
        """Drop the communications recorded since the last pop, unseen."""
        with self._comm_lock:
            self._communications.clear()
            self._comm_last, self._comm_repeats = None, 0

    def pretty_current_interactions(self, simplified: bool = True, skip_system: bool = True,
                                    max_content_length: int | None = None, first_n: int | None = None,
                                    last_n: int | None = None, include_omission_info: bool = True) -> str:
        """Every agent's :meth:`TinyPerson.pretty_current_interactions`, one block per agent."""
        return "\n\n".join(a.pretty_current_interactions(simplified, skip_system, max_content_length, first_n, last_n,
                                                          include_omission_info) for a in self.agents)

    def pp_current_interactions(self, simplified: bool = True, skip_system: bool = True,
                                max_content_length: int | None = None, first_n: int | None = None,
                                last_n: int | None = None, include_omission_info: bool = True, *,
                                console: Console | None = None) -> None:
        """Print :meth:`pretty_current_interactions` (to ``console``, default a new rich Console)."""
        text = self.pretty_current_interactions(simplified, skip_system, max_content_length, first_n, last_n,
                                                include_omission_info)
        print_plain(text, console)


def _communication(entry: _Entry, rendering: _Rendering) -> dict[str, Any]:
    """The dict of a buffered communication (TinyTroupe's shape)."""
    communication: dict[str, Any]
    if isinstance(entry, ActionEvent):
        to = f" -> {entry.target}" if entry.target else ""
        action = {"type": entry.action_type, "content": entry.content, "target": entry.target or ""}
        communication = {"kind": "action", "rendering": f"{entry.agent} acts: [{entry.action_type}]{to} "
                         f"{entry.content}", "content": {"action": action}, "source": entry.agent,
                         "target": entry.target, "step": entry.step}
    elif isinstance(entry, StimulusEvent):
        stimulus = {"type": entry.stimulus_type, "content": entry.content, "source": entry.source or ""}
        communication = {"kind": "stimuli", "rendering": f"{entry.source or 'someone'} --> {entry.agent}:"
                         f" [{entry.stimulus_type}] {entry.content}", "content": {"stimuli": [stimulus]},
                         "source": entry.source, "target": entry.agent, "step": entry.step}
    else:
        communication = entry
    if rendering is not None:
        communication["rendering"] = rendering[0]
    return communication


__all__ = ["WorldCommunications"]
