"""The Ray executor: agent turns in Ray actors, across processes, or across machines of a Ray cluster.

Also importable as ``tinytroupe.environment.ray_executor``, its path before the distributed package.

``RayExecutor(num_workers=N)`` keeps ``N`` Ray actors, each a
:class:`~tinytroupe.environment.distributed.worker.ShardWorker` owning a fixed shard of the agents
(round-robin by first sight, sticky across steps). Each actor builds its own LLM client from a
:class:`~tinytroupe.llm.client_spec.ClientSpec` (the driver's settings, or a picklable backend factory
for the scripted/demo backends), so every actor reaches the same endpoint. Per step the driver ships
each actor its agents' states, the actor runs their turns with asyncio and ships back new states and
events, and the driver applies them (see :mod:`tinytroupe.environment.distributed.driver`): the world
cannot tell a Ray step from a local one, and with a seed and a request-determined backend both give
the same events and states.

Ray is optional (the ``distributed`` extra) and imported only when the executor starts. Without an
``address`` the executor starts a quiet local Ray instance (no dashboard, worker logs not forwarded,
listening on 127.0.0.1); with one (``"auto"`` or ``"ray://head:10001"`` ...) it joins that cluster.
See ``docs/distributed.md``.

Example:
    >>> executor = RayExecutor(num_workers=2)   # starts nothing yet
    >>> executor.name, executor.num_workers
    ('ray', 2)
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import sys
import threading
from collections.abc import Mapping
from typing import Any

from tinytroupe.config import current_settings
from tinytroupe.environment.distributed.driver import ShardedExecutor
from tinytroupe.environment.distributed.messages import ShardRequest, ShardResult
from tinytroupe.environment.distributed.worker import ShardWorker
from tinytroupe.errors import ConfigError, InvalidArgument, SimulationError
from tinytroupe.llm.client_spec import ClientSpec

logger = logging.getLogger(__name__)

INSTALL_HINT = 'pip install -e ".[distributed]" (or pip install "ray>=2.9")'
#: Ray reads this when it is imported: "0" makes a local instance use the loopback address only
_LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def import_ray(*, local: bool = False) -> Any:
    """The ``ray`` module, or a :class:`ConfigError` saying how to install it.

    With ``local`` and Ray not imported yet, Ray is told to keep a local instance on 127.0.0.1.
    """
    if local and "ray" not in sys.modules:
        os.environ.setdefault(_LOOPBACK_ENV, "0")
    try:
        import ray
    except ImportError as exc:
        raise ConfigError(f"the Ray executor needs the 'ray' package, which is not installed; install it with "
                          f"{INSTALL_HINT}, or use the local executor (--executor local)", key="executor") from exc
    return ray


class RayExecutor(ShardedExecutor):
    """Agent turns in ``num_workers`` Ray actors.

    Args:
        num_workers: Ray actors, each owning a fixed shard of the agents.
        address: a Ray cluster to join (``"auto"``, ``"ray://host:10001"``, ``"host:6379"``); None starts a
            local instance when Ray is not initialised yet (an initialised Ray is always reused).
        client_spec: how actors build their LLM client (default: from the settings current at the first
            step; the scripted backend needs an explicit spec with a backend factory).
        num_cpus: CPUs of a local instance (default: enough for the workers).
        worker_cpus: CPUs Ray reserves for each actor.
        init_kwargs: more ``ray.init`` arguments (e.g. ``runtime_env``), over the quiet defaults.

    Turns in flight are ``max_workers`` (the world's) split evenly over the workers; each actor's LLM client
    has its own concurrency limit from the settings.
    """

    name = "ray"

    def __init__(self, num_workers: int = 2, *, address: str | None = None, client_spec: ClientSpec | None = None,
                 num_cpus: int | None = None, worker_cpus: float = 1.0,
                 init_kwargs: Mapping[str, Any] | None = None) -> None:
        if num_workers < 1:
            raise InvalidArgument(f"num_workers must be at least 1, got {num_workers}")
        if worker_cpus < 0:
            raise InvalidArgument(f"worker_cpus must not be negative, got {worker_cpus}")
        super().__init__(num_workers)
        self.address = address
        self.client_spec = client_spec
        self.num_cpus = num_cpus
        self.worker_cpus = worker_cpus
        self.init_kwargs = dict(init_kwargs or {})
        self._actors: list[Any | None] = [None] * num_workers
        self._remote_class: Any = None
        self._started_ray = False
        self._start_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RayExecutor(num_workers={self.num_workers}, address={self.address!r})"

    # ------------------------------------------------------------------ lifecycle

    def init_args(self) -> dict[str, Any]:
        """The ``ray.init`` arguments used when this executor starts Ray (quiet and local by default)."""
        args: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                "logging_level": logging.WARNING}
        if self.address is not None:
            args["address"] = self.address
        else:
            args["num_cpus"] = self.num_cpus if self.num_cpus is not None else max(
                1, math.ceil(self.num_workers * self.worker_cpus))
        args.update(self.init_kwargs)
        return args

    def start(self) -> RayExecutor:
        """Initialise Ray if needed and create the missing actors (idempotent; blocking).

        Worlds call it on their first step; call it yourself to pay Ray's start-up before the run.
        """
        ray = import_ray(local=self.address is None)
        with self._start_lock:
            if not ray.is_initialized():
                ray.init(**self.init_args())
                self._started_ray = True
            if self.client_spec is None:
                self.client_spec = ClientSpec.from_settings(current_settings())
            if self._remote_class is None:
                self._remote_class = ray.remote(num_cpus=self.worker_cpus)(ShardWorker)
            for i, actor in enumerate(self._actors):
                if actor is None:
                    self._actors[i] = self._remote_class.remote(self.client_spec)
        return self

    @property
    def started(self) -> bool:
        return all(a is not None for a in self._actors)

    async def aclose(self) -> None:
        """Kill the actors (and shut Ray down if this executor started it)."""
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        """Sync twin of :meth:`aclose`."""
        ray = sys.modules.get("ray")
        with self._start_lock:
            actors, self._actors = self._actors, [None] * self.num_workers
            if ray is None or not ray.is_initialized():
                return
            for actor in actors:
                if actor is not None:
                    ray.kill(actor)
            if self._started_ray:
                ray.shutdown()
                self._started_ray = False
                self._remote_class = None

    # ------------------------------------------------------------------ transport

    async def _prepare(self) -> None:
        if self.client_spec is None:
            # Here, not in the thread below: the caller's settings context is the one that counts.
            self.client_spec = ClientSpec.from_settings(current_settings())
        if not self.started:
            await asyncio.to_thread(self.start)

    async def _call(self, worker: int, request: ShardRequest) -> ShardResult:
        actor = self._actors[worker]
        if actor is None:
            raise SimulationError(f"Ray worker {worker} is not running; call start() first")
        result: ShardResult = await actor.run_turns.remote(request)
        return result

    def _is_lost(self, exc: BaseException) -> bool:
        ray = sys.modules.get("ray")
        if ray is None:
            return False
        errors = ray.exceptions
        return isinstance(exc, errors.RayActorError | errors.WorkerCrashedError | errors.NodeDiedError
                          | errors.ObjectLostError)

    def _forget(self, worker: int) -> None:
        self._actors[worker] = None


__all__ = ["INSTALL_HINT", "RayExecutor", "import_ray"]
