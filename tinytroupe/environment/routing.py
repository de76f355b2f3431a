"""Action routing: how a world turns its agents' actions into other agents' stimuli (TALK to its
listener, or to everyone; REACH_OUT makes two agents accessible to each other; SHOW shows an image), and
tells a speaker whose TALK reached nobody.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from tinytroupe.agent.actions import Action
from tinytroupe.agent.person import TinyPerson
from tinytroupe.events import Event, EventBus, WarningEvent

# The world's logger: these lines are the world's account of its conversation.
logger = logging.getLogger("tinytroupe.environment.world")


class ActionRouting:
    """Mixin of :class:`~tinytroupe.environment.TinyWorld`: routes the actions of a turn.

    Subclasses narrow who may reach whom with :meth:`_can_reach` (a social network: along relations)
    and may route TALK their own way by overriding :meth:`_handle_talk`.
    """

    if TYPE_CHECKING:
        name: str
        name_to_agent: dict[str, TinyPerson]
        broadcast_if_no_target: bool

        @property
        def bus(self) -> EventBus: ...

        def broadcast(self, speech: str, source: TinyPerson | str | None = None) -> None: ...

        @property
        def current_step(self) -> int: ...

        def reachable_names(self, agent: str) -> list[str]: ...

    #: where the world's own routing events go instead of its bus while it orders events itself
    #: (dependency-aware stepping publishes a step's events when the step is complete)
    _event_sink: Callable[[Event], None] | None = None

    def _emit(self, event: Event) -> None:
        sink = self._event_sink
        if sink is not None:
            sink(event)
        else:
            self.bus.publish(event)

    def _handle_actions(self, agent: TinyPerson, actions: list[Action]) -> None:
        for action in actions:
            if action.type == "TALK":
                self._handle_talk(agent, action)
            elif action.type == "REACH_OUT":
                self._handle_reach_out(agent, action)
            elif action.type == "SHOW":
                self._handle_show(agent, action)

    def _handle_talk(self, source: TinyPerson, action: Action) -> None:
        target = self.name_to_agent.get(action.target.strip()) if action.target else None
        if target is not None and target is not source:
            target.listen(action.content, source)
        elif self.broadcast_if_no_target:
            self.broadcast(action.content, source)
        elif target is source:
            self._talk_not_delivered(source, action, "that is the speaker's own name")
        elif action.target.strip():
            self._talk_not_delivered(source, action, f"nobody named {action.target.strip()!r} is here")
        else:
            self._talk_not_delivered(source, action, "no listener was named, and here only a named listener hears")

    def _talk_not_delivered(self, source: TinyPerson, action: Action, why: str) -> None:
        """A TALK that reached nobody: the speaker learns it (a SOCIAL stimulus, so the next turn can
        react), and the log and the bus (``talk_not_delivered``, shown by the live display) say so.
        ``why`` is one clause that reads well after "nobody heard it:"."""
        target = action.target.strip()
        to = f" to {target}" if target else ""
        source.socialize(f"Nobody heard what you just said{to}: {why}.")
        message = f"{source.name}'s message{to} was not delivered: {why}"
        logger.info("world %r: %s", self.name, message)
        self._emit(WarningEvent(code="talk_not_delivered", message=message, world=self.name,
                                agent=source.name, step=self.current_step,
                                data={"target": target, "content": action.content}))

    def _handle_reach_out(self, source: TinyPerson, action: Action) -> None:
        target = self.name_to_agent.get(action.target.strip())
        if target is None or target is source:
            source.socialize(f"You tried to reach out to {action.target!r}, but nobody by that name is here.")
            return
        if not self._can_reach(source, target):
            source.socialize(f"You tried to reach out to {target.name}, but you have no relation that allows it.")
            return
        source.make_agent_accessible(target)
        target.make_agent_accessible(source)
        source.socialize(f"{target.name} was successfully reached out, and is now available for interaction.",
                         target)
        target.socialize(f"{source.name} reached out to you, and is now available for interaction.", source)

    def _handle_show(self, source: TinyPerson, action: Action) -> None:
        """SHOW: the image the source remembers (by id, or file name) reaches the target, or everyone around,
        as a VISUAL stimulus carrying the image; the source learns when there is no such image or viewer."""
        wanted = action.content.strip().strip("()").removeprefix("image ").split(":", 1)[0].strip()
        attachment = next((i.attachment for i in reversed(source.memory.items()) if i.attachment is not None
                           and wanted in (i.attachment.id, i.attachment.name)), None)
        if attachment is None:
            source.socialize(f"You tried to show the image {wanted!r}, but you remember no image by that id.")
            return
        caption = f"{source.name} shows you an image"
        target = self.name_to_agent.get(action.target.strip()) if action.target.strip() else None
        if target is not None and target is not source:
            target.see_attachment(attachment, caption, source)
        elif not action.target.strip():
            for name in self.reachable_names(source.name):
                viewer = self.name_to_agent.get(name)
                if viewer is not None and viewer is not source:
                    viewer.see_attachment(attachment, caption, source)
        else:
            source.socialize(f"You tried to show an image to {action.target.strip()!r}, but nobody by that name "
                             "is here.")

    def _can_reach(self, source: TinyPerson, target: TinyPerson) -> bool:
        return True


__all__ = ["ActionRouting"]
