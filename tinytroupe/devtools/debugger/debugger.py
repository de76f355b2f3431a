"""``Debugger(world)``: breakpoints, stepping by turn or by step, inspection and edits of a running world.

Example (a scripted two-agent world, paused after Ana speaks, her age changed, then run to the end):
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.environment import TinyWorld
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> talk = {"actions": [{"type": "TALK", "content": "Hello!"}, {"type": "DONE"}]}
    >>> world = TinyWorld("Cafe", [TinyPerson("Ana"), TinyPerson("Ben")], communication_display=False,
    ...                   client=LLMClient(ScriptedBackend([talk], cycle=True)), parallelize=False)
    >>> dbg = Debugger(world)
    >>> dbg.break_on("agent=Ana action=TALK").id
    1
    >>> pause = dbg.run(2)
    >>> pause.reason, pause.agent, pause.hits[0].summary
    ('breakpoint', 'Ana', "step 1: Ana TALK: 'Hello!'")
    >>> dbg.edit("Ana", "persona.age", 42).after
    42
    >>> dbg.prompt("Ana").answer.startswith('{"actions"')
    True
    >>> dbg.clear()
    >>> dbg.continue_().reason
    'finished'
    >>> dbg.detach()
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

from tinytroupe import scope
from tinytroupe.devtools.debugger.breakpoints import Breakpoint, Hit
from tinytroupe.devtools.debugger.calls import TurnLog, install
from tinytroupe.devtools.debugger.inspection import DebuggerInspection
from tinytroupe.devtools.debugger.pausing import Pause, Resume, RunControl
from tinytroupe.devtools.debugger.seams import DebugExecutor, Seam
from tinytroupe.environment.world import TinyWorld
from tinytroupe.errors import InvalidArgument, InvalidState, NotFound
from tinytroupe.events import Event, EventBus

if TYPE_CHECKING:
    from collections.abc import Iterator

logger = logging.getLogger(__name__)

#: events kept for :meth:`Debugger.events`
MAX_EVENTS = 1000
StopAt = Literal["breakpoint", "step", "turn"]


class Debugger(DebuggerInspection):
    """Breakpoints on a world's events, stepping by agent turn or world step, and a look inside.

    Attach it to worlds (``Debugger(world)``, :meth:`attach`, or :meth:`catching_worlds` for worlds a
    scenario builds), set breakpoints (:meth:`break_on`), then :meth:`run` (or :meth:`start` any
    coroutine that runs them): it returns a :class:`Pause` at the first breakpoint met, or when the run
    ends. While paused, look (:meth:`show`, :meth:`state`, :meth:`memories`, :meth:`prompt`,
    :meth:`next_prompt`, :meth:`events`) and change (:meth:`edit`, :meth:`delete`, traced), then go on:
    :meth:`continue_`, :meth:`step`, :meth:`turn`, or :meth:`quit`.

    With no breakpoint and no stepping, turns run as they would without the debugger (only the
    events and LLM calls are recorded, bounded). Dependency-aware runs step synchronously while it is
    attached, and provider batches need it detached.

    Args:
        world: a world to attach to now (more with :meth:`attach`).
        breakpoints: breakpoints to set now (:class:`Breakpoint` s or specs such as ``"agent=Ana"``).
        max_events: how many recent events are kept for :meth:`events`.
    """

    def __init__(self, world: TinyWorld | None = None, *, breakpoints: Iterable[Breakpoint | str] = (),
                 max_events: int = MAX_EVENTS) -> None:
        self._worlds: list[TinyWorld] = []
        self._events: deque[Event] = deque(maxlen=max_events)
        self._breakpoints: list[Breakpoint] = []
        self._next_id = 1
        self._hits: list[Hit] = []
        #: breakpoints met while no run was started from the debugger (nobody to hand a pause to)
        self.unattended_hits: list[Hit] = []
        self._mode = Resume()
        self._control = RunControl()
        self.log = TurnLog()
        self._buses: dict[int, tuple[EventBus, int]] = {}
        self._restore: dict[int, Callable[[], None]] = {}
        for bp in breakpoints:
            self.break_on(bp)
        if world is not None:
            self.attach(world)

    # ------------------------------------------------------------------ attaching

    def attach(self, world: TinyWorld) -> Debugger:
        """Debug ``world`` too: its turns run through the debugger, its events and calls are recorded.

        Raises:
            InvalidState: another debugger is attached to it.
        """
        if world in self._worlds:
            return self
        if isinstance(world.executor, DebugExecutor):
            raise InvalidState(f"world {world.name!r} already has a debugger attached; detach it first")
        world.executor = DebugExecutor(world.executor, self)
        world.step_end_hooks = (*world.step_end_hooks, self._after_step)
        self._worlds.append(world)
        bus = world.bus
        if id(bus) not in self._buses:
            self._buses[id(bus)] = (bus, bus.subscribe(self._on_event))
        self._install_recorders()
        return self

    def detach(self) -> None:
        """Give the worlds back as they were (their executors, hooks, buses and clients)."""
        for world in self._worlds:
            if isinstance(world.executor, DebugExecutor) and world.executor.debugger is self:
                world.executor = world.executor.inner
            world.step_end_hooks = tuple(h for h in world.step_end_hooks if h != self._after_step)
        for bus, token in self._buses.values():
            bus.unsubscribe(token)
        for restore in reversed(self._restore.values()):
            restore()
        self._worlds, self._buses, self._restore = [], {}, {}

    @contextmanager
    def catching_worlds(self) -> Iterator[Debugger]:
        """Attach to every world created inside the block (a scenario's, built by its runner)."""
        catcher = _WorldCatcher(self, scope.current())
        token = scope.enter(catcher)
        try:
            yield self
        finally:
            scope.leave(token)

    @property
    def worlds(self) -> list[TinyWorld]:
        return list(self._worlds)

    def _install_recorders(self) -> None:
        for world in self._worlds:
            for client in (world.client, *(a.client for a in world.agents)):
                if id(client) not in self._restore:
                    self._restore[id(client)] = install(client, self.log.add, self._turn_of)

    def _on_event(self, event: Event) -> None:
        self._events.append(event)
        for bp in self._breakpoints:
            if bp.matches(event):
                self._hits.append(Hit.of(bp, event))

    # ------------------------------------------------------------------ breakpoints

    def break_on(self, spec: Breakpoint | str | None = None, **conditions: Any) -> Breakpoint:
        """Set a breakpoint: a spec (``"agent=Ana action=TALK"``, ``"text=coffee"``, ``"step=3"``,
        ``"error"``), a :class:`Breakpoint`, or the conditions as keywords (``agent=``, ``action=``,
        ``kind=``, ``text=``, ``step=``, ``error=True``). Returns it, numbered.

        Raises:
            InvalidArgument: no condition, an unknown one, or both a spec and keywords.
        """
        if spec is not None and conditions:
            raise InvalidArgument("give a breakpoint as a spec or as keywords, not both")
        if isinstance(spec, Breakpoint):
            bp = spec.model_copy(update={"id": self._next_id})
        elif isinstance(spec, str):
            bp = Breakpoint.parse(spec, id=self._next_id)
        else:
            unknown = set(conditions) - {"agent", "action", "kind", "text", "step", "error"}
            if unknown:
                raise InvalidArgument(f"unknown breakpoint condition(s): {', '.join(sorted(unknown))}")
            bp = Breakpoint(id=self._next_id, **conditions)
        self._next_id += 1
        self._breakpoints.append(bp)
        return bp

    @property
    def breakpoints(self) -> list[Breakpoint]:
        return list(self._breakpoints)

    def clear(self, id: int | None = None) -> None:
        """Remove breakpoint ``id`` (None: all of them).

        Raises:
            NotFound: there is no breakpoint ``id``.
        """
        if id is None:
            self._breakpoints = []
            return
        kept = [b for b in self._breakpoints if b.id != id]
        if len(kept) == len(self._breakpoints):
            listed = ", ".join(f"#{b.id}" for b in self._breakpoints) or "none"
            raise NotFound(f"no breakpoint #{id}; breakpoints: {listed}")
        self._breakpoints = kept

    # ------------------------------------------------------------------ running and stepping

    def run(self, steps: int, *, stop_at: StopAt = "breakpoint", agent: str | None = None,
            **run_kwargs: Any) -> Pause:
        """Run the world ``steps`` steps (``world.arun``'s other arguments in ``run_kwargs``) in the
        background, until the first breakpoint met, or (``stop_at``) the end of the first step, or of the
        first turn (of ``agent``); returns that :class:`Pause` or, when the run ended, its outcome.

        Raises:
            InvalidState: not exactly one world is attached (use :meth:`start`), or a run is going.
        """
        if len(self._worlds) != 1:
            raise InvalidState(f"run() needs exactly one attached world, the debugger has {len(self._worlds)}; "
                               "use start(coroutine) to run several")
        return self.start(self._worlds[0].arun(steps, **run_kwargs), stop_at=stop_at, agent=agent)

    def start(self, run: Coroutine[Any, Any, Any], *, stop_at: StopAt = "breakpoint",
              agent: str | None = None) -> Pause:
        """Run any coroutine (a scenario, several worlds' runs) in the background; see :meth:`run`."""
        self._mode = self._resume_for(stop_at, agent)
        self._install_recorders()
        return self._finish(self._control.launch(run))

    def continue_(self) -> Pause:
        """Go on to the next breakpoint met (or the end)."""
        return self._go(Resume("continue"))

    def step(self) -> Pause:
        """Go on to the end of the current (or next) world step, or an earlier breakpoint."""
        return self._go(Resume("step"))

    def turn(self, agent: str | None = None) -> Pause:
        """Go on until the next agent turn (``agent``'s, when given) has ended, or an earlier breakpoint."""
        return self._go(self._resume_for("turn", agent))

    def interrupt(self) -> None:
        """Ask the running run to pause at the end of its current world step; callable from any thread (a
        dashboard's pause button), it returns at once. A run that is paused or over is left as it is."""
        if self._control.active and self._control.paused is None:
            self._mode = Resume("step")

    def quit(self) -> Pause:
        """Stop the paused run (it is cancelled where it paused); the debugger stays attached."""
        return self._finish(self._control.stop())

    @property
    def paused(self) -> Pause | None:
        """The current pause, or None (not started, or over)."""
        return self._control.paused

    @property
    def result(self) -> Any:
        """What the last run returned (or the exception it raised)."""
        return self._control.result

    def _resume_for(self, stop_at: StopAt, agent: str | None) -> Resume:
        if agent is not None:
            self.agent(agent)  # NotFound: say so now, not after a run that never stops
        mode = "continue" if stop_at == "breakpoint" else stop_at
        return Resume(mode, agent)

    def _go(self, resume: Resume) -> Pause:
        self._mode = resume
        return self._finish(self._control.resume(resume))

    def _finish(self, pause: Pause) -> Pause:
        if pause.over and self._hits:  # met after the last seam (e.g. by an extraction after the steps)
            pause = pause.model_copy(update={"hits": [*pause.hits, *self._hits]})
            self._hits = []
        return pause

    # ------------------------------------------------------------------ the seams

    @property
    def engaged(self) -> bool:
        """Whether a turn seam may pause: breakpoints set or met, or stepping by turn."""
        return bool(self._breakpoints or self._hits) or self._mode.mode == "turn"

    @property
    def by_turn(self) -> bool:
        return self._mode.mode == "turn"

    async def gate(self, seam: Seam) -> None:
        """At a seam: pause when a breakpoint was met or the stepping asks for it."""
        hits, self._hits = self._hits, []
        reason = "breakpoint" if hits else self._stop_for(seam)
        if reason is None:
            return
        if not self._control.active:
            if hits:
                self.unattended_hits.extend(hits)
                logger.warning("debugger: %d breakpoint hit(s) at %s, but the run was not started from the "
                               "debugger (use Debugger.run or start), so it does not pause", len(hits),
                               seam.describe())
            return
        self._install_recorders()
        pause = Pause(reason=reason, where=seam.describe(), world=seam.world, step=seam.step, agent=seam.agent,
                      hits=hits)
        self._mode = await self._control.pause(pause)

    def _stop_for(self, seam: Seam) -> Literal["step", "turn"] | None:
        mode = self._mode
        if mode.mode == "step" and seam.kind == "after_step":
            return "step"
        if mode.mode == "turn" and seam.kind in ("after_turn", "after_turns") and (
                mode.agent is None or mode.agent in seam.agents):
            return "turn"
        return None

    async def _after_step(self, world: object, step: int) -> None:
        if self._mode.mode != "continue" or self._hits:
            await self.gate(Seam("after_step", getattr(world, "name", "?"), step))


class _WorldCatcher(scope.Registry):
    """A scope that attaches the debugger to each world created while it is current."""

    def __init__(self, debugger: Debugger, parent: scope.Scope | None) -> None:
        super().__init__(parent=parent)
        self.debugger = debugger

    def register(self, obj: object) -> None:
        super().register(obj)
        if isinstance(obj, TinyWorld):
            self.debugger.attach(obj)


__all__ = ["Debugger", "StopAt"]
