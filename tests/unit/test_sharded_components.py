"""Agents with their own turn components in sharded steps: emotions, tool use and a changed set of
built-in components are rebuilt in the workers from their specs, and give the same events and states as
the local executor, in this process (``test_sharded_executor``'s pickling shards) and in worker processes;
components that cannot be rebuilt (bound to their world, or undeclared) are refused, naming them."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
from collections.abc import Iterator
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest
from helpers import START, agent_of, is_action_request
from sharding_support import ComponentScript, NameScript, ScriptFactory, comparable, signature, usage
from test_sharded_executor import InProcessShards

from tinytroupe.agent import TinyPerson
from tinytroupe.agent.emotions import EmotionComponent
from tinytroupe.agent.portable import build_component, component_spec, restore_components
from tinytroupe.agent.state_models import AgentState
from tinytroupe.agent.turn import TurnComponent
from tinytroupe.config import EmotionsSettings, Settings
from tinytroupe.environment import LocalExecutor, TinyWorld
from tinytroupe.environment.distributed import ShardedExecutor, ShardRequest, ShardResult, ShardWorker
from tinytroupe.environment.executors import Executor
from tinytroupe.errors import InvalidState, ScenarioError, SimulationError
from tinytroupe.events import Event
from tinytroupe.llm import LLMClient, LLMRequest
from tinytroupe.llm.client_spec import ClientSpec
from tinytroupe.llm.factory import build_client
from tinytroupe.tools import TinyToolUse
from tinytroupe.tools.word_processor import TinyWordProcessor

NAMES = ["Feeler", "Writer", "Plain", "Lean"]


def make_agents() -> list[TinyPerson]:
    feeler = TinyPerson("Feeler", persona={"big_five": {"neuroticism": "high", "extraversion": "low"}})
    feeler.add_component(EmotionComponent(baseline={"pleasure": 0.1}, settings=EmotionsSettings(half_life_minutes=30)))
    writer = TinyPerson("Writer").add_mental_faculty(TinyToolUse([TinyWordProcessor()]))
    lean = TinyPerson("Lean")
    lean.remove_component("repetition_filter")
    return [feeler, writer, TinyPerson("Plain"), lean]


def run_world(executor: Executor, *, steps: int = 3) -> tuple[TinyWorld, list[Event], LLMClient]:
    client = build_client(Settings(), backend=ScriptFactory(ComponentScript(NAMES))())
    events: list[Event] = []
    client.bus.subscribe(events.append)
    world = TinyWorld("Room", make_agents(), initial_datetime=START, client=client, seed=7, executor=executor,
                      parallelize=True)
    world.broadcast("Good morning! Tell your neighbour your plans.", "Host")
    world.run(steps, timedelta_per_step=timedelta(minutes=5))
    return world, events, client


def assert_same_as_local(executor: Executor) -> None:
    local_world, local_events, local_client = run_world(LocalExecutor())
    world, events, client = run_world(executor)
    kinds = [e.kind for e in events]
    assert kinds.count("emotion") == 3 and kinds.count("tool_call") == 3  # the components ran in the workers
    assert comparable(events) == comparable(local_events)
    assert [a.to_state() for a in world.agents] == [a.to_state() for a in local_world.agents]
    assert usage(client) == usage(local_client)
    feeler, writer = world.agents[0], world.agents[1]
    # the driver's components hold what the workers' turns left in them
    mood = feeler.get_component("emotions")
    assert isinstance(mood, EmotionComponent) and mood.state.turns == 3 and mood.state.current.arousal > 0.1
    tools = writer.get_component("tool_use")
    assert isinstance(tools, TinyToolUse) and tools.get_statistics()["calls"] == 3
    assert len(tools.tools[0].get_state()["documents"]) == 3
    assert [c.name for c in world.agents[3].components] == ["memory", "action_quality", "mental_faculties"]


def test_components_rebuilt_in_workers_match_the_local_executor() -> None:
    assert_same_as_local(InProcessShards(2, ClientSpec.from_settings(
        Settings(), backend_factory=ScriptFactory(ComponentScript(NAMES)))))


class WalkScript(NameScript):
    """Everyone walks somewhere (the door, Cy the closet) and TALKs to nobody in particular."""

    def __call__(self, request: LLMRequest) -> Any:
        answer = super().__call__(request)
        if is_action_request(request) and isinstance(answer, dict):
            answer["actions"][0]["target"] = ""
            answer["actions"] = [{"type": "MOVE_TO", "content": "closet" if agent_of(request) == "Cy" else "door",
                                  "target": ""}, *answer["actions"]]
        return answer


def test_a_spatial_world_s_memories_travel_with_its_agents() -> None:
    """The world writes each agent's spatial memory in the driver before the turns; the workers' copies show
    it in the prompt ("Where you are", which the scripted answers hash) and the routing stays the driver's."""
    from test_spatial_world import hall

    from tinytroupe.environment import SpatialWorld

    names = ["Ana", "Ben", "Cy"]

    def run(executor: Executor) -> tuple[SpatialWorld, list[Event]]:
        client = build_client(Settings(), backend=ScriptFactory(WalkScript(names))())
        events: list[Event] = []
        client.bus.subscribe(events.append)
        positions = {"Ana": (1, 1), "Ben": (3, 3), "Cy": (7, 4)}
        world = SpatialWorld("Hall", [TinyPerson(n) for n in names], hall(), positions=positions, seed=7,
                             initial_datetime=START, client=client, communication_display=False, executor=executor)
        world.run(4, timedelta_per_step=timedelta(minutes=1))
        return world, events

    local_world, local_events = run(LocalExecutor())
    world, events = run(InProcessShards(2, ClientSpec.from_settings(Settings(), backend_factory=ScriptFactory(
        WalkScript(names)))))
    assert signature(events) == signature(local_events) and world.errors == []
    assert [a.to_state() for a in world.agents] == [a.to_state() for a in local_world.agents]
    assert world.positions == local_world.positions != {"Ana": (1, 1), "Ben": (3, 3), "Cy": (7, 4)}
    memory = world.agents[0].get_component("spatial_memory")
    assert memory is world._memories["Ana"] and "Ben" in memory.last_seen  # type: ignore[union-attr]


# ------------------------------------------------------------------------------------------ worker processes


def _serve(conn: Connection, spec: ClientSpec) -> None:
    """A worker process: one ShardWorker answering the requests that come on ``conn`` until None comes."""
    worker = ShardWorker(spec)
    loop = asyncio.new_event_loop()
    try:
        while (request := conn.recv()) is not None:
            if request == "modules":
                conn.send(sorted(sys.modules))
                continue
            try:
                conn.send(loop.run_until_complete(worker.run_turns(request)))
            except Exception as exc:
                conn.send(exc)
    finally:
        loop.close()


class ProcessShards(ShardedExecutor):
    """ShardWorkers in processes of their own (spawned: they import only what unpickling needs), reached by
    pipes; messages are pickled as a transport pickles them."""

    name = "processes"

    def __init__(self, num_workers: int, spec: ClientSpec) -> None:
        super().__init__(num_workers)
        self.spec = spec
        self.processes: dict[int, tuple[Any, Connection]] = {}

    async def _prepare(self) -> None:
        context = multiprocessing.get_context("spawn")
        for w in range(self.num_workers):
            if w not in self.processes:
                ours, theirs = context.Pipe()
                process = context.Process(target=_serve, args=(theirs, self.spec), daemon=True)
                process.start()
                theirs.close()
                self.processes[w] = (process, ours)

    def ask(self, worker: int, message: Any) -> Any:
        conn = self.processes[worker][1]
        conn.send(message)
        if not conn.poll(120):
            raise TimeoutError(f"worker process {worker} did not answer within 120 s")
        return conn.recv()

    async def _call(self, worker: int, request: ShardRequest) -> ShardResult:
        answer = await asyncio.to_thread(self.ask, worker, request)
        if isinstance(answer, BaseException):
            raise answer
        assert isinstance(answer, ShardResult)
        return answer

    def close(self) -> None:
        for process, conn in self.processes.values():
            conn.send(None)
            process.join(30)
            conn.close()
            if process.is_alive():
                process.kill()
        self.processes.clear()


@pytest.fixture
def processes() -> Iterator[ProcessShards]:
    executor = ProcessShards(2, ClientSpec.from_settings(Settings(), backend_factory=ScriptFactory(
        ComponentScript(NAMES))))
    try:
        yield executor
    finally:
        executor.close()


def test_components_rebuilt_in_worker_processes_match_the_local_executor(processes: ProcessShards) -> None:
    assert_same_as_local(processes)
    assert all(process.pid != os.getpid() and process.is_alive() for process, _ in processes.processes.values())


def test_a_worker_process_imports_no_module_a_state_names(processes: ProcessShards) -> None:
    """A portable component whose module the worker process has not imported is refused there: only
    tinytroupe's own modules are imported from a state."""
    from portable_component import Counter  # a module of the tests, which nothing sends to the workers

    client = build_client(Settings(), backend=ScriptFactory(ComponentScript(NAMES))())
    agents = [TinyPerson("Plain").add_component(Counter())]
    world = TinyWorld("Room", agents, initial_datetime=START, client=client, executor=processes)
    with pytest.raises(SimulationError, match=r"portable_component is not imported in this process") as info:
        world.run(1)
    assert isinstance(info.value.__cause__, ScenarioError)
    assert "portable_component" not in processes.ask(0, "modules")


# ------------------------------------------------------------------------------------------ refusals


def test_components_bound_to_their_world_or_undeclared_are_refused_naming_them() -> None:
    """Workers rebuild agents from state: a component they cannot rebuild would be missing from the turn,
    so the step refuses, names each such component and says why and what to do."""
    from tinytroupe.environment.market_tool import MarketAccess
    from tinytroupe.environment.scheduler.prompt import UpcomingEvents
    from tinytroupe.tools.calendar import TinyCalendar

    client = build_client(Settings(), backend=ScriptFactory(NameScript(NAMES))())
    agents = [TinyPerson(n) for n in NAMES[:2]]
    spec = ClientSpec.from_settings(Settings(), backend_factory=ScriptFactory(NameScript(NAMES)))
    executor = InProcessShards(2, spec)
    world = TinyWorld("Room", agents, initial_datetime=START, client=client, executor=executor)
    agents[1].add_component(UpcomingEvents())
    agents[1].add_component(type("Mood", (TurnComponent,), {"name": "mood"})())
    with pytest.raises(InvalidState, match=r"'Writer' has turn components that cannot run in a worker process "
                                           r"\('upcoming_events': it asks its world's scheduler.*'mood': Mood does "
                                           r"not declare itself portable.*local executor"):
        world.run(1)
    agents[1].remove_component("upcoming_events")
    agents[1].remove_component("mood")
    agents[0].add_mental_faculty(MarketAccess())  # portable TinyToolUse, but a subclass reading its world
    with pytest.raises(InvalidState, match=r"'Feeler'.*'market': it shows the world's market"):
        world.run(1)
    assert executor.created == 0  # refused before any worker started
    calendar = TinyPerson("Cal").add_mental_faculty(TinyToolUse([TinyCalendar(owner="Cal")]))
    assert "delivers invitations to other agents" in (calendar.get_component("tool_use").portability_problem() or "")
    assert "other than the defaults" in (TinyToolUse([TinyWordProcessor(max_documents=5)]).portability_problem() or "")


# ------------------------------------------------------------------------------------------ the specs


def test_specs_rebuild_the_same_components_in_the_same_order() -> None:
    feeler, writer, _, lean = make_agents()
    state = feeler.state_model()
    assert state.component_specs is not None and [s.name for s in state.component_specs][-1] == "emotions"
    assert AgentState.parse(state.to_dict()) == state  # specs survive the JSON round trip
    assert TinyPerson("Plain").state_model().component_specs is None  # the built-in ones: nothing to say
    assert "component_specs" not in TinyPerson("Plain").to_state()

    copy = TinyPerson("Feeler")
    restore_components(copy, state)
    assert [component_spec(c) for c in copy.components] == state.component_specs
    rebuilt = copy.get_component("emotions")
    assert isinstance(rebuilt, EmotionComponent) and rebuilt.spec_args() == {
        "baseline": {"pleasure": 0.1, "arousal": 0.0, "dominance": 0.0},
        "settings": EmotionsSettings(half_life_minutes=30).model_dump(mode="json")}

    # a worker's copy follows the driver's: a faculty that is a component joins, a removed component goes
    into = TinyPerson("Writer").add_component(EmotionComponent())
    restore_components(into, writer.state_model())
    assert [c.name for c in into.components] == [c.name for c in writer.components]
    assert [f.name for f in into.mental_faculties] == ["tool_use"]
    assert isinstance(into.get_component("tool_use"), TinyToolUse)
    same = TinyPerson("Lean")
    kept = same.get_component("memory")
    restore_components(same, lean.state_model())
    assert [c.name for c in same.components] == ["memory", "action_quality", "mental_faculties"]
    assert same.get_component("memory") is kept  # components with the same spec stay, state and all


def test_a_spec_that_cannot_be_rebuilt_is_refused_by_the_worker() -> None:
    state = TinyPerson("Ana").add_component(type("Mood", (TurnComponent,), {"name": "mood"})()).state_model()
    assert state.component_specs is not None
    (mood,) = [s for s in state.component_specs if s.name == "mood"]
    assert not mood.portable and mood.args is None
    with pytest.raises(InvalidState, match=r"'mood'.*cannot be rebuilt in a worker process"):
        restore_components(TinyPerson("Ana"), state)
    forged = mood.model_copy(update={"portable": True, "args": {}, "module": "os", "qualname": "system"})
    with pytest.raises(ScenarioError, match=r"os\.system, which is not a TurnComponent"):
        build_component(forged)
    elsewhere = forged.model_copy(update={"module": "some_plugin.components", "qualname": "Mood"})
    with pytest.raises(ScenarioError, match=r"some_plugin\.components is not imported in this process"):
        build_component(elsewhere)
    assert "some_plugin" not in sys.modules


def test_a_grounding_faculty_with_shared_sources_is_refused_and_one_without_travels(tmp_path: Path) -> None:
    """A world's shared documents are not in the faculty's saved state: a worker's copy would consult
    less, so the step refuses; the faculty's own folders and embedder kind travel in its state."""
    from tinytroupe.agent import FilesAndWebGroundingFaculty
    from tinytroupe.grounding.store import DocumentStore

    (tmp_path / "menu.md").write_text("Soup on Mondays.")
    shared = DocumentStore("world:Room")
    own = FilesAndWebGroundingFaculty([tmp_path], embedder="hash", top_k=2)
    rebuilt = FilesAndWebGroundingFaculty()
    rebuilt.set_state(own.get_state())
    assert (rebuilt.folders_paths, rebuilt.embedder, rebuilt.top_k) == ([str(tmp_path)], "hash", 2)
    assert own.faculty_portability_problem() is None

    client = build_client(Settings(), backend=ScriptFactory(NameScript(NAMES))())
    agents = [TinyPerson(n) for n in NAMES[:2]]
    spec = ClientSpec.from_settings(Settings(), backend_factory=ScriptFactory(NameScript(NAMES)))
    executor = InProcessShards(2, spec)
    world = TinyWorld("Room", agents, initial_datetime=START, client=client, executor=executor)
    agents[0].add_mental_faculty(FilesAndWebGroundingFaculty([tmp_path], retrievers=[shared], embedder=False))
    with pytest.raises(InvalidState, match=r"'Feeler'.*mental faculty 'Local Files and Web Grounding'.*shared "
                                           r"sources \(world:Room\).*local executor"):
        world.run(1)
    assert executor.created == 0
