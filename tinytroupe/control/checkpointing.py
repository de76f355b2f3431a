"""A simulation's checkpoints: its whole state (random generator, worlds with their agents, tracked
agents) written atomically to the run file, by hand or every N steps, and restored into worlds and
agents with the same names.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tinytroupe.agent.person import TinyPerson
from tinytroupe.control.run_file import STATE_FORMAT
from tinytroupe.control.state_models import SimulationInfo, SimulationState
from tinytroupe.environment.world import TinyWorld
from tinytroupe.errors import InvalidArgumentType, SimulationError
from tinytroupe.events import CheckpointEvent, Event, EventBus, StepEvent
from tinytroupe.storage.checkpoints import Checkpoint, CheckpointStore
from tinytroupe.storage.trace_store import TraceStore


class SimulationCheckpoints:
    """Mixin of :class:`~tinytroupe.control.Simulation`: checkpoint, restore and automatic checkpoints."""

    if TYPE_CHECKING:
        id: str
        seed: int | None
        path: Path
        random: random.Random
        bus: EventBus
        checkpoints: CheckpointStore
        trace_store: TraceStore
        checkpoint_every: int
        last_checkpoint: Checkpoint | None
        _active: bool
        _lock: threading.RLock
        _agents: Any
        _steps_since_checkpoint: int

        @property
        def worlds(self) -> list[TinyWorld]: ...

    def state_model(self) -> SimulationState:
        """Everything a checkpoint holds: the random generator, every world (with its agents and
        their memories and clocks) and the tracked agents outside worlds."""
        version, internal, gauss = self.random.getstate()
        in_worlds = {a.name for w in self.worlds for a in w.agents}
        return SimulationState.model_construct(
            format=STATE_FORMAT,
            simulation=SimulationInfo(id=self.id, seed=self.seed, random_state=(version, list(internal), gauss)),
            worlds=[w.state_model() for w in self.worlds],
            agents=[a.state_model() for a in self._agents.values() if a.name not in in_worlds],
            trace_events=self.trace_store.count)

    def to_state(self) -> dict[str, Any]:
        """:meth:`state_model` as JSON-ready data (what a checkpoint stores)."""
        return self.state_model().to_dict()

    def checkpoint(self, label: str | None = None) -> Checkpoint:
        """Write a checkpoint now (atomically: a crash mid-write leaves the previous one usable).

        Raises:
            SimulationError: the simulation is not running.
            StorageError: the run file cannot be written (full disk, read-only, locked).
        """
        if not self._active:
            raise SimulationError(f"simulation {self.id!r} is not running; call control.begin() first")
        with self._lock:
            start = time.perf_counter()
            state = self.to_state()
            step = max((w.current_step for w in self.worlds), default=None)
            self.trace_store.flush()  # events up to here are durable before the checkpoint names them
            cp = self.checkpoints.save(self.id, state, step=step, label=label)
            self._steps_since_checkpoint = 0
            self.last_checkpoint = cp
        self.bus.publish(CheckpointEvent(label=label, step=step, size_bytes=cp.json_bytes,
                                         duration_s=time.perf_counter() - start))
        return cp

    def restore(self, *objects: TinyWorld | TinyPerson, checkpoint: Checkpoint | None = None) -> Checkpoint:
        """Load a checkpoint (default: the latest) into worlds and agents with the same names.

        With no ``objects``, every world registered with this simulation whose name the checkpoint
        knows is restored. The simulation's random generator is restored too. Explicit on purpose:
        a re-run script rebuilds its worlds from the start and gets its answers from the cache.

        Raises:
            CheckpointError: the checkpoint's stored bytes are damaged; the error names the newest
                intact older checkpoint (``previous_id``) to restore instead.
            SimulationError: there is no checkpoint, or it lacks a world or agent asked for.
            InvalidArgument: the checkpoint's state is malformed (the message names the field).
            InvalidArgumentType: an object to restore is neither a world nor an agent.
        """
        cp = checkpoint if checkpoint is not None else self.checkpoints.latest(self.id)
        if cp is None:
            raise SimulationError(f"simulation {self.id!r} has no checkpoint in {str(self.path)!r}; "
                                  "call checkpoint() (or begin(auto_checkpoint=True)) first")
        # CheckpointError when damaged, naming an intact earlier one; InvalidArgument when malformed
        state = SimulationState.parse(self.checkpoints.load(cp))
        worlds = {w.name: w for w in state.worlds}
        agents = {a.name: a for a in state.agents}
        for w in worlds.values():
            for a in w.agents or []:
                agents.setdefault(a.name, a)
        targets = list(objects) if objects else [w for w in self.worlds if w.name in worlds]
        for obj in targets:
            if isinstance(obj, TinyWorld):
                if obj.name not in worlds:
                    raise SimulationError(f"checkpoint #{cp.id} has no world named {obj.name!r} "
                                          f"(it has: {', '.join(worlds) or 'none'})")
                obj.apply_state(worlds[obj.name])
            elif isinstance(obj, TinyPerson):
                if obj.name not in agents:
                    raise SimulationError(f"checkpoint #{cp.id} has no agent named {obj.name!r}")
                resolve = obj.environment.get_agent_by_name if isinstance(obj.environment, TinyWorld) else None
                obj.apply_state(agents[obj.name], resolve)
            else:
                raise InvalidArgumentType(f"only worlds and agents can be restored, got {type(obj).__name__}")
        version, internal, gauss = state.simulation.random_state
        self.random.setstate((version, tuple(internal), gauss))
        return cp

    def step_barrier(self, world: TinyWorld) -> str | None:
        """Scope hook of dependency-aware stepping: why ``world``'s steps must stay synchronous while this
        simulation runs (an automatic checkpoint at a step's end must hold every agent at that step, not
        ahead of it), or None."""
        if self._active and self.checkpoint_every:
            return (f"simulation {self.id!r} checkpoints every {self.checkpoint_every} step(s), "
                    "with every agent at the step's end")
        return None

    def _on_step(self, event: Event) -> None:
        if not isinstance(event, StepEvent) or event.phase != "end" or not self.checkpoint_every:
            return
        self._steps_since_checkpoint += 1
        if self._steps_since_checkpoint >= self.checkpoint_every:
            self.checkpoint(label=f"auto: {event.world} step {event.step}")


__all__ = ["SimulationCheckpoints"]
