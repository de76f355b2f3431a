"""The run context: what the worlds and agents of one run share.

A :class:`RunContext` bundles the LLM client, the event bus, the settings, the seed and the simulated
clock's start. ``control.begin()`` (a :class:`~tinytroupe.control.Simulation`) builds one for its run;
a :class:`~tinytroupe.environment.TinyWorld` holds the context it was given (or follows the current
one) and hands it to its agents. With no simulation active, :func:`current_context` is the *default*
context: the process's default client, its bus and the settings in force.

The bus is its own object: an agent or world with a client of its own still publishes to its
context's bus, so everything a run does lands in one trace. Usage accounting is a bus subscriber
(:meth:`~tinytroupe.llm.usage.UsageLedger.attach`), so calls made on other machines (Ray) count once,
when their events are published on the driver's bus.

Example:
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> client = LLMClient(ScriptedBackend(["hello"]))
    >>> ctx = RunContext.for_client(client, seed=7)
    >>> with using_context(ctx):
    ...     current_context() is ctx
    True
    >>> current_context() is ctx
    False
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from tinytroupe import scope
from tinytroupe.config import Settings, current_settings
from tinytroupe.errors import InvalidArgumentType
from tinytroupe.events import EventBus
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.default import process_default_client

if TYPE_CHECKING:  # annotation only: a context without a run file never loads the storage module
    from tinytroupe.storage.document_chunks import DocumentTables
    from tinytroupe.storage.knowledge_graphs import KnowledgeGraphRows
    from tinytroupe.storage.mailboxes import MailStore
    from tinytroupe.storage.market_ledger import MarketLedger
    from tinytroupe.storage.memory_segments import MemorySegmentStore


@dataclass(frozen=True, slots=True)
class RunContext:
    """What one run's worlds and agents share (frozen: a changed part makes a new context).

    Args:
        client: the LLM client of worlds and agents that were given none.
        bus: where every event of the run is published (traces, monitors and usage subscribe here).
        settings: the settings the run's defaults come from.
        seed: the seed of worlds' random generators (agent order, interventions); None: unseeded.
        clock_start: the simulated clock's start for worlds given no ``initial_datetime`` (a
            simulation's run file records it, so a re-run builds the same prompts).
        simulation_id: the id of the simulation that built the context (None for the default one).
        bus_follows_client: the default context's bus is its client's, so :meth:`with_client`
            moves to the new client's bus; a simulation's keeps its own.
        memory_store: where agents' episodic memories spill the items they evict (the cold tier,
            ``docs/memory.md``): the run file's segment table of a simulation, None without a run file.
        mail_store: the simulated mailboxes of ``TinyEmail`` (``docs/tools.md``): the run file's mail
            tables of a simulation, None without a run file (the tool then keeps its mail in memory).
        market_ledger: the trades of ``TinyMarketplace`` worlds (``docs/worlds.md``): the run file's
            ledger of a simulation, None without a run file (a marketplace then keeps one in memory).
        knowledge_graphs: the agents' and worlds' knowledge graphs (``docs/grounding.md``): the run file's
            ``kg_*`` tables of a simulation, None without a run file (graphs then live in memory only).
        document_tables: the documents and chunks of document stores (``docs/grounding.md``): the run
            file's tables of a simulation, None without a run file (stores then keep them in memory).
    """

    client: LLMClient
    bus: EventBus
    settings: Settings
    seed: int | None = None
    clock_start: datetime | None = None
    simulation_id: str | None = None
    bus_follows_client: bool = False
    memory_store: MemorySegmentStore | None = None
    mail_store: MailStore | None = None
    market_ledger: MarketLedger | None = None
    knowledge_graphs: KnowledgeGraphRows | None = None
    document_tables: DocumentTables | None = None

    @classmethod
    def for_client(cls, client: LLMClient, *, settings: Settings | None = None, seed: int | None = None,
                   clock_start: datetime | None = None) -> RunContext:
        """A context around ``client``, publishing on its bus (settings: those in force).

        Example:
            >>> from tinytroupe.llm import LLMClient, ScriptedBackend
            >>> client = LLMClient(ScriptedBackend(["x"]))
            >>> RunContext.for_client(client).bus is client.bus
            True
        """
        settings = settings if settings is not None else current_settings()
        return cls(client=client, bus=client.bus, settings=settings,
                   seed=seed if seed is not None else settings.simulation.seed, clock_start=clock_start,
                   bus_follows_client=True)

    def with_client(self, client: LLMClient | None, *, keep_bus: bool = False) -> RunContext:
        """This context with another client (``None``: this one unchanged).

        A simulation's context keeps its bus, so the new client's calls are still traced with the
        run; the default context's bus follows the client unless ``keep_bus`` (an agent with a client
        of its own inside a world keeps publishing where its world does).

        Example:
            >>> from tinytroupe.llm import LLMClient, ScriptedBackend
            >>> a, b = LLMClient(ScriptedBackend(["x"])), LLMClient(ScriptedBackend(["y"]))
            >>> RunContext.for_client(a).with_client(b).bus is b.bus
            True
            >>> RunContext.for_client(a).with_client(b, keep_bus=True).bus is a.bus
            True
            >>> shared = RunContext(client=a, bus=a.bus, settings=Settings())
            >>> shared.with_client(b).bus is a.bus
            True
        """
        if client is None or client is self.client:
            return self
        bus = client.bus if self.bus_follows_client and not keep_bus else self.bus
        return dataclasses.replace(self, client=client, bus=bus, bus_follows_client=False)


class ContextScope(scope.Registry):
    """A scope that carries a :class:`RunContext` (see :func:`using_context`)."""

    def __init__(self, context: RunContext, parent: scope.Scope | None = None) -> None:
        super().__init__(parent=parent)
        self.context = context


def scoped_context() -> RunContext | None:
    """The context of the innermost active scope that carries one (a simulation or :func:`using_context`)."""
    for active in scope.active_scopes():
        found = getattr(active, "context", None)
        if isinstance(found, RunContext):
            return found
    return None


def current_context() -> RunContext:
    """The context in force: the innermost :func:`using_context` or running simulation's, else the default.

    The default context is built on each call from the process's default client and the settings in
    force, so a later ``set_default_client`` or ``set_settings`` is seen by worlds that follow it.
    """
    found = scoped_context()
    if found is not None:
        return found
    return RunContext.for_client(process_default_client())


@contextmanager
def using_context(context: RunContext) -> Iterator[RunContext]:
    """Make ``context`` current inside the block (worlds and agents created inside are registered in it).

    Like a running simulation, it is current for the whole process (every thread) while the block
    runs: worlds are built and stepped on any thread. Give a world ``context=`` to pin one instead.

    Raises:
        InvalidArgumentType: ``context`` is not a :class:`RunContext`.
    """
    if not isinstance(context, RunContext):
        raise InvalidArgumentType(f"using_context needs a RunContext, got {type(context).__name__}")
    token = scope.enter(ContextScope(context, parent=scope.current()))
    try:
        yield context
    finally:
        scope.leave(token)


__all__ = ["ContextScope", "RunContext", "current_context", "scoped_context", "using_context"]
