"""Knowledge graphs in an agent's turn: beliefs extracted from what it perceives and says, and a "What you
know" prompt section drawn from its graph and a shared one (``docs/grounding.md``, "Knowledge graphs").

Both are opt-in turn components, so an agent without them makes no extra model call:

* :class:`BeliefExtraction` (``maintain``): once at least ``batch_size`` new memories (stimuli, and its
  own TALK and THINK) have gathered since the last extraction, one structured call
  (:func:`~tinytroupe.grounding.graph.extraction.aextract`) turns up to ``max_items_per_call`` of them
  into entities and relations, merged into the agent's own graph (``agent:NAME``; in the run file
  under a simulation) and, when given, submitted to a shared world graph. ``max_calls`` caps the calls
  over the whole run. Sources are memory ids (``NAME#m12``).
* :class:`KnowledgeRecall` (``retrieve``): the neighbourhoods of the entities the new stimuli name, from
  the agent's beliefs and the shared graphs, within ``budget_tokens``.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> facts = {"entities": [{"name": "Ben", "type": "person"}, {"name": "Acme", "type": "organisation"}],
    ...          "relations": [{"subject": "Ben", "predicate": "works_at", "object": "Acme", "source": "Ana#m1"}]}
    >>> done = {"actions": [{"type": "DONE"}]}
    >>> ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend([done, facts, done])))
    >>> _ = add_knowledge_graph(ana, batch_size=1)
    >>> ana.listen_and_act("Ben works at Acme now.")
    >>> ana.listen_and_act("Is Ben around?")
    >>> print(ana.get_component("beliefs").graph.neighbourhood("Ben").lines())
    ['Ben (person) works at Acme (organisation).']
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from tinytroupe.agent.turn import Turn, TurnComponent
from tinytroupe.embeddings.port import Embedder
from tinytroupe.errors import InvalidArgument, InvalidState
from tinytroupe.grounding.graph.extraction import SourceText, aextract
from tinytroupe.grounding.graph.retrieval import SECTION_TITLE, knowledge_section
from tinytroupe.grounding.graph.shared import SharedGraph
from tinytroupe.grounding.graph.sqlite_store import graph_store_for
from tinytroupe.grounding.graph.store import GraphStore

if TYPE_CHECKING:
    from tinytroupe.agent.memory.episodic import MemoryItem
    from tinytroupe.agent.person import TinyPerson

logger = logging.getLogger(__name__)

#: the action types whose content is something the agent said or thought (other actions carry no facts)
SAID = frozenset({"TALK", "THINK"})
#: entity names of the agent's graph shown to the extraction call, so it reuses them
MAX_KNOWN_NAMES = 30
#: why the knowledge components stay with the local executor
_GRAPHS_OUTSIDE = ("its knowledge graphs live outside the agent's state (the run file, shared graphs), so a worker "
                   "process would read and write copies of its own")


class BeliefExtraction(TurnComponent):
    """Builds the agent's own knowledge graph from its new memories, in budgeted batches (``maintain``).

    Args:
        graph: the agent's graph (None: made on first use, ``agent:NAME`` in the run file of a simulation).
        world_graph: a shared graph the extractions are also submitted to.
        batch_size: new memories to wait for before extracting (fewer calls, each with more context).
        max_items_per_call: memories one call reads at most.
        max_calls_per_turn: calls one turn's upkeep makes at most (a backlog is worked off over turns).
        max_calls: calls over the agent's life at most (None: no cap).
        max_item_chars: characters of one memory shown at most.
        actions: the agent's action types read besides every stimulus (default: TALK and THINK).
        embedder, similarity_threshold: the optional similarity rule of the merge, for a graph made here.
    """

    name = "beliefs"

    def __init__(self, graph: GraphStore | None = None, *, world_graph: SharedGraph | None = None,
                 batch_size: int = 8, max_items_per_call: int = 24, max_calls_per_turn: int = 1,
                 max_calls: int | None = None, max_item_chars: int = 400, actions: Collection[str] = SAID,
                 embedder: Embedder | None = None, similarity_threshold: float = 0.92) -> None:
        if batch_size < 1 or max_items_per_call < batch_size or max_calls_per_turn < 1:
            raise InvalidArgument("need batch_size >= 1, max_items_per_call >= batch_size and max_calls_per_turn "
                                  f">= 1; got {batch_size}, {max_items_per_call}, {max_calls_per_turn}")
        self._graph = graph
        self.world_graph = world_graph
        self.batch_size = batch_size
        self.max_items_per_call = max_items_per_call
        self.max_calls_per_turn = max_calls_per_turn
        self.max_calls = max_calls
        self.max_item_chars = max_item_chars
        self.actions = frozenset(actions)
        self.embedder = embedder
        self.similarity_threshold = similarity_threshold
        #: the newest memory id already read (or passed over)
        self.extracted_upto = 0
        #: extraction calls made so far
        self.calls = 0
        #: the step of the latest extraction (a resumed run reads the graph back as it was then)
        self.step: int | None = None
        self._resume = False

    @property
    def graph(self) -> GraphStore:
        """The agent's graph.

        Raises:
            InvalidState: it is made on the first turn and none was given.
        """
        if self._graph is None:
            raise InvalidState("the beliefs graph is made at the agent's first turn; pass graph= to have it earlier")
        return self._graph

    def graph_of(self, agent: TinyPerson) -> GraphStore:
        """The agent's graph, made (or read back, for a restored state) on first use."""
        if self._graph is None:
            self._graph = graph_store_for(agent.context, f"agent:{agent.name}", embedder=self.embedder,
                                          similarity_threshold=self.similarity_threshold,
                                          upto_step=self.step, resume=self._resume)
        return self._graph

    def pending(self, agent: TinyPerson) -> list[MemoryItem]:
        """The memories not read yet that extraction reads: stimuli, and the agent's TALK and THINK."""
        return [item for item in agent.memory.after(self.extracted_upto)
                if item.kind == "stimulus" or item.type in self.actions]

    async def maintain(self, turn: Turn) -> None:
        if turn.preview:
            return
        agent = turn.agent
        graph = self.graph_of(agent)
        for _ in range(self.max_calls_per_turn):
            items = self.pending(agent)
            if len(items) < self.batch_size or (self.max_calls is not None and self.calls >= self.max_calls):
                return
            chunk = items[: self.max_items_per_call]
            texts = [SourceText(id=f"{agent.name}#m{item.id}", text=item.describe(agent.name, self.max_item_chars))
                     for item in chunk]
            known = [e.name for e in graph.mentioned(" ".join(t.text for t in texts))[:MAX_KNOWN_NAMES]]
            found = await aextract(turn.client, texts, perspective=agent.name, known=known, agent=agent.name,
                                   world=turn.world, step=turn.step)
            self.calls += 1
            self.extracted_upto, self.step = chunk[-1].id, turn.step
            report = graph.merge(found, step=turn.step)
            if self.world_graph is not None:
                self.world_graph.submit(found, author=agent.name, step=turn.step)
            logger.debug("%s: beliefs from %d memories: %s", agent.name, len(chunk), report)

    def portability_problem(self) -> str | None:
        return _GRAPHS_OUTSIDE

    def get_state(self) -> dict[str, Any]:
        return {"extracted_upto": self.extracted_upto, "calls": self.calls, "step": self.step}

    def set_state(self, state: dict[str, Any]) -> None:
        self.extracted_upto = int(state.get("extracted_upto", 0))
        self.calls = int(state.get("calls", 0))
        step = state.get("step")
        self.step = int(step) if step is not None else None
        self._resume = True  # a graph made from now on is read back from the run file, as it was at ``step``


class KnowledgeRecall(TurnComponent):
    """Adds "What you know" (``retrieve``): what the graphs say about the entities the new stimuli name.

    Args:
        graphs: shared graphs to read besides the agent's beliefs (a world's :class:`SharedGraph` or a
            plain store, such as one built from documents).
        beliefs: read the agent's :class:`BeliefExtraction` graph too, when it has one.
        budget_tokens: the most the section may take (estimated tokens).
        depth: hops around each mentioned entity.
    """

    name = "knowledge"

    def __init__(self, graphs: Sequence[GraphStore | SharedGraph] = (), *, beliefs: bool = True,
                 budget_tokens: int = 200, depth: int = 1) -> None:
        if budget_tokens < 0 or depth < 0:
            raise InvalidArgument(f"budget_tokens and depth must be >= 0, got {budget_tokens} and {depth}")
        self.graphs = list(graphs)
        self.beliefs = beliefs
        self.budget_tokens = budget_tokens
        self.depth = depth

    def portability_problem(self) -> str | None:
        return _GRAPHS_OUTSIDE

    def graphs_for(self, agent: TinyPerson, step: int | None) -> list[GraphStore]:
        """The graphs read for ``agent`` at ``step``: its beliefs first, then the shared ones (settled)."""
        found: list[GraphStore] = []
        own = agent.get_component("beliefs") if self.beliefs else None
        if isinstance(own, BeliefExtraction):
            found.append(own.graph_of(agent))
        found += [g.settled(step) if isinstance(g, SharedGraph) else g for g in self.graphs]
        return found

    async def retrieve(self, turn: Turn) -> None:
        view = turn.view
        assert view is not None  # set in perceive
        text = "\n".join(item.content for item in view.new)
        if not text.strip():
            return
        section = knowledge_section(self.graphs_for(turn.agent, turn.step), text, budget_tokens=self.budget_tokens,
                                    depth=self.depth)
        if section:
            view.sections[SECTION_TITLE] = section


def add_knowledge_graph(agent: TinyPerson, *, world_graph: SharedGraph | None = None, extract: bool = True,
                        recall: bool = True, budget_tokens: int = 200, depth: int = 1,
                        **extraction: Any) -> TinyPerson:
    """Give ``agent`` beliefs (``extract``) and the "What you know" section (``recall``), sharing ``world_graph``.

    ``extraction``: :class:`BeliefExtraction`'s options (``batch_size``, ``max_calls``...). Returns the agent.
    """
    if extract:
        agent.add_component(BeliefExtraction(world_graph=world_graph, **extraction))
    if recall:
        agent.add_component(KnowledgeRecall([world_graph] if world_graph is not None else [],
                                            budget_tokens=budget_tokens, depth=depth))
    return agent


__all__ = ["SAID", "BeliefExtraction", "KnowledgeRecall", "add_knowledge_graph"]
