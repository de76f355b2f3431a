"""The dashboard's controls: play, pause, step, stop, inject a message, edit an agent while paused.

A :class:`DashboardController` drives a run under the debugger (:class:`~tinytroupe.devtools.debugger.Debugger`,
the one pause mechanism): :meth:`~DashboardController.drive` starts the run and, at each pause, waits
for the next command from the page; the buttons call :meth:`~DashboardController.command` from the
server's threads. *Pause* asks the running run to stop at the end of its current step
(``Debugger.interrupt``), *step* runs exactly one more world step, *play* runs on (to the end, or the
next breakpoint), *stop* cancels the run where it is. Injections and edits are made on the paused
world, so each lands between two steps, is published on the run's bus (a stimulus, a ``state_edit``)
and is in the trace.

Every change of state is published as the hub's status (the page shows it and enables the buttons).

Example (a scripted two-agent world, paused after its first step, Ana's age changed, then one step):
    >>> import threading
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.devtools.debugger import Debugger
    >>> from tinytroupe.environment import TinyWorld
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> from tinytroupe.dashboard.hub import EventHub
    >>> talk = {"actions": [{"type": "TALK", "content": "Hello!"}, {"type": "DONE"}]}
    >>> world = TinyWorld("Cafe", [TinyPerson("Ana"), TinyPerson("Ben")], communication_display=False,
    ...                   client=LLMClient(ScriptedBackend([talk], cycle=True)), parallelize=False)
    >>> hub = EventHub().attach(world.bus)
    >>> control = DashboardController(Debugger(world), hub)
    >>> runner = threading.Thread(target=control.drive, args=(world.arun(3),), kwargs={"start_paused": True})
    >>> runner.start()
    >>> control.wait_for("paused")["step"]
    1
    >>> control.edit("Ana", "persona.age", 42).after
    42
    >>> control.command("step")["state"] in ("running", "paused")
    True
    >>> control.wait_for("paused")["step"]
    2
    >>> _ = control.command("stop"); runner.join(); control.wait_for("stopped")["state"]
    'stopped'
    >>> control.debugger.detach()
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Coroutine
from typing import Any, Literal

from tinytroupe.dashboard.hub import EventHub
from tinytroupe.devtools.debugger import Debugger, Pause
from tinytroupe.errors import InvalidArgument, InvalidState, NotFound
from tinytroupe.events import StateEditEvent

Action = Literal["play", "pause", "step", "stop"]
InjectKind = Literal["message", "thought", "goal"]
OVER = ("finished", "failed", "stopped")


class DashboardController:
    """The dashboard's buttons over one run driven by ``debugger``; the status goes to ``hub``."""

    def __init__(self, debugger: Debugger, hub: EventHub) -> None:
        self.debugger = debugger
        self.hub = hub
        self._commands: queue.Queue[Action] = queue.Queue()
        self._lock = threading.RLock()
        self._state = "idle"
        self._stop_asked = False
        self.outcome: Pause | None = None
        self._changed = threading.Condition()
        self._publish("idle")

    # ------------------------------------------------------------------ the run (the driving thread)

    def drive(self, run: Coroutine[Any, Any, Any], *, start_paused: bool = False) -> Pause:
        """Run ``run`` (a coroutine that runs the debugged worlds) under the debugger, obeying the page's
        commands, until it ends; its outcome (``finished``, ``failed``, ``quit``). Blocks: call it on the
        thread that would have run the simulation. ``start_paused``: pause at the end of the first step.

        ``debugger.result`` is what the run returned (or the exception it raised).
        """
        self._publish("running")
        pause = self.debugger.start(run, stop_at="step" if start_paused else "breakpoint")
        while not pause.over:
            if self._stop_asked:
                pause = self.debugger.quit()
                break
            self._publish("paused", pause)
            action = self._commands.get()
            if action == "stop":
                pause = self.debugger.quit()
                break
            self._publish("running")
            pause = self.debugger.step() if action == "step" else self.debugger.continue_()
        self.outcome = pause
        state = {"finished": "finished", "failed": "failed"}.get(pause.reason, "stopped")
        self._publish(state, pause)
        return pause

    # ------------------------------------------------------------------ the buttons (any thread)

    @property
    def state(self) -> str:
        """``idle``, ``running``, ``pausing``, ``paused``, ``finished``, ``failed`` or ``stopped``."""
        return self._state

    def command(self, action: Action) -> dict[str, Any]:
        """Play, pause, step or stop; returns the status right after (the run answers asynchronously).

        Raises:
            InvalidArgument: an unknown action. InvalidState: the run is over (or was never started).
        """
        if action not in ("play", "pause", "step", "stop"):
            raise InvalidArgument(f"unknown control action {action!r}; one of: play, pause, step, stop")
        with self._lock:
            state = self._state
            if state in OVER or state == "idle":
                raise InvalidState(f"the run is {state}: there is nothing to {action}")
            if state == "paused":
                if action != "pause":
                    self._commands.put(action)
                    self._publish("stopping" if action == "stop" else "running")
            elif action == "stop":
                self._stop_asked = True
                self.debugger.interrupt()
                self._publish("stopping")
            elif action in ("pause", "step") and state == "running":
                self.debugger.interrupt()
                self._publish("pausing")
        return self.hub.status

    def _paused(self, doing: str) -> None:
        if self._state != "paused":
            raise InvalidState(f"pause the run before you {doing} (it is {self._state})")

    def inject(self, text: str, *, kind: InjectKind = "message", target: str | None = None,
               world: str | None = None, source: str | None = None) -> int:
        """While paused: ``target`` (an agent; None: everyone in ``world``, default the first) hears ``text``
        (``message``, from ``source``), thinks it (``thought``) or adopts it as a goal (``goal``). Returns how
        many agents it reached; each perception is published as a stimulus event.

        Raises:
            InvalidState: the run is not paused. InvalidArgument: empty text or an unknown kind.
            NotFound: no such agent or world.
        """
        if not text.strip():
            raise InvalidArgument("the text to inject is empty")
        if kind not in ("message", "thought", "goal"):
            raise InvalidArgument(f"unknown injection kind {kind!r}; one of: message, thought, goal")
        with self._lock:
            self._paused("inject a message")
            if target is not None:
                agent = self.debugger.agent(target)
                {"message": lambda: agent.listen(text, source), "thought": lambda: agent.think(text),
                 "goal": lambda: agent.internalize_goal(text)}[kind]()
                return 1
            worlds = self.debugger.worlds
            chosen = [w for w in worlds if world is None or w.name == world][:1]
            if not chosen:
                raise NotFound(f"no world {world!r}; worlds: {', '.join(w.name for w in worlds) or 'none'}")
            w = chosen[0]
            {"message": lambda: w.broadcast(text, source), "thought": lambda: w.broadcast_thought(text),
             "goal": lambda: w.broadcast_internal_goal(text)}[kind]()
            return len([a for a in w.agents if kind != "message" or a.name != source])

    def edit(self, agent: str, path: str, value: Any) -> StateEditEvent:
        """While paused: set the part of ``agent``'s state at ``path`` (``Debugger.edit``: validated, traced).

        Raises:
            InvalidState: the run is not paused; and whatever ``Debugger.edit`` raises.
        """
        with self._lock:
            self._paused("edit an agent")
            return self.debugger.edit(agent, path, value)

    def delete(self, agent: str, path: str) -> StateEditEvent:
        """While paused: remove the part of ``agent``'s state at ``path`` (``Debugger.delete``)."""
        with self._lock:
            self._paused("edit an agent")
            return self.debugger.delete(agent, path)

    def next_prompt(self, agent: str) -> list[dict[str, Any]]:
        """While paused: the messages ``agent``'s next turn would send now (edits included)."""
        with self._lock:
            self._paused("look at the next prompt")
            return self.debugger.next_prompt(agent)

    def wait_for(self, state: str, timeout: float = 30.0) -> dict[str, Any]:
        """Block until the status is ``state`` (or the run is over); the status.

        Raises:
            InvalidState: it did not come within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._state != state and self._state not in OVER:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise InvalidState(f"the run did not become {state!r} within {timeout} s (it is {self._state})")
                self._changed.wait(left)
        return self.hub.status

    def _publish(self, state: str, pause: Pause | None = None) -> None:
        # Under the buttons' lock: a button's status and the run's never overtake each other.
        with self._lock, self._changed:
            self._state = state
            details: dict[str, Any] = {"state": state, "controls": True}
            if pause is not None:
                details.update(reason=pause.reason, where=pause.where, world=pause.world, step=pause.step,
                               agent=pause.agent, error=pause.error,
                               hits=[f"#{h.breakpoint.id} {h.summary}" for h in pause.hits])
            if state in ("running", "pausing", "stopping"):
                details["step"] = max((w.current_step for w in self.debugger.worlds), default=None)
            self.hub.set_status(**details)
            self._changed.notify_all()


__all__ = ["Action", "DashboardController", "InjectKind"]
