"""A worker's copy of an agent (:func:`~tinytroupe.agent.portable.restore_components` then ``apply_state``)
must be the driver's agent exactly: the same action types in the same order (the prompt lists them), no
component state the driver's agent does not have, and no module imported because a state names it."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel
from sharding_support import ComponentScript, ScriptFactory
from test_sharded_components import NAMES, run_world
from test_sharded_executor import InProcessShards

from tinytroupe.agent import TinyPerson
from tinytroupe.agent.emotions import EmotionComponent
from tinytroupe.agent.faculties import MentalFaculty
from tinytroupe.agent.portable import import_portable, restore_components
from tinytroupe.agent.turn import TurnComponent
from tinytroupe.config import Settings
from tinytroupe.environment import LocalExecutor
from tinytroupe.errors import ScenarioError
from tinytroupe.llm.client_spec import ClientSpec
from tinytroupe.tools import TinyToolUse
from tinytroupe.tools.base import TinyTool, ToolCall, tool_action
from tinytroupe.tools.word_processor import TinyWordProcessor


def worker_copy(state_of: TinyPerson, into: TinyPerson | None = None) -> TinyPerson:
    """What a ShardWorker does with a request's state."""
    copy = into if into is not None else TinyPerson(state_of.name)
    state = state_of.state_model()
    restore_components(copy, state)
    return copy.apply_state(state)


def test_a_worker_copy_keeps_the_drivers_order_of_faculties_and_action_types() -> None:
    """A plain faculty added before the tool use: the copy's prompt lists RECALL before the tools' actions too."""
    ana = TinyPerson("Ana")
    ana.add_mental_faculty(MentalFaculty("recall", actions={"RECALL": "remember something; content is what"}))
    ana.add_mental_faculty(TinyToolUse([TinyWordProcessor()]))
    copy = worker_copy(ana)
    assert list(copy.actions_registry.descriptions()) == list(ana.actions_registry.descriptions())
    assert [f.name for f in copy.mental_faculties] == ["recall", "tool_use"]
    assert copy.state_model() == ana.state_model()


def test_a_faculty_whose_component_the_driver_removed_does_not_take_part_in_the_copys_turns() -> None:
    ana = TinyPerson("Ana").add_mental_faculty(TinyToolUse([TinyWordProcessor()]))
    ana.remove_component("tool_use")  # the faculty stays (its actions are in the prompt), its hooks do not run
    copy = worker_copy(ana)
    assert [c.name for c in copy.components] == [c.name for c in ana.components]
    assert [f.name for f in copy.mental_faculties] == ["tool_use"]


def test_a_cached_copy_takes_a_fresh_component_from_the_driver() -> None:
    """The driver's agent gets a fresh emotions component (no state yet: its state says nothing of it); the
    worker's cached copy, whose component had turns, must not keep the old mood."""
    ana = TinyPerson("Ana").add_component(EmotionComponent(baseline={"pleasure": 0.2}))
    copy = worker_copy(ana)
    old = copy.get_component("emotions")
    assert isinstance(old, EmotionComponent)
    old.set_state({"current": {"pleasure": -0.9, "arousal": 0.8, "dominance": 0.0}, "turns": 5})
    ana.remove_component("emotions")
    ana.add_component(EmotionComponent(baseline={"pleasure": 0.2}))
    worker_copy(ana, into=copy)
    assert copy.get_component("emotions").get_state() == {}  # type: ignore[union-attr]
    assert copy.state_model() == ana.state_model()


class AddArgs(BaseModel):
    a: int
    b: int


class Sum(BaseModel):
    total: int


class Adder(TinyTool):
    """A portable tool that keeps no state."""

    portable = True

    def __init__(self) -> None:
        super().__init__("adder", "adds numbers")

    @tool_action("ADD", "add two integers a and b")
    def add(self, call: ToolCall, args: AddArgs) -> Sum:
        return Sum(total=args.a + args.b)


def test_a_cached_copy_takes_a_fresh_tool_use_from_the_driver() -> None:
    """A fresh tool use of stateless tools saves no state; the cached copy's counters must not stay."""
    copy = worker_copy(TinyPerson("Ana").add_mental_faculty(TinyToolUse([Adder()])))
    used = copy.get_component("tool_use")
    assert isinstance(used, TinyToolUse)
    used.set_state({"stats": {"calls": 3, "errors": 1}})
    fresh = TinyPerson("Ana").add_mental_faculty(TinyToolUse([Adder()]))  # the next run's agent
    worker_copy(fresh, into=copy)
    assert used.get_statistics() == {"calls": 0, "errors": 0, "reasks": 0}
    assert copy.state_model() == fresh.state_model()


def test_a_reused_executor_gives_a_new_world_of_the_same_name_what_the_local_executor_gives() -> None:
    """The workers cache agents by world and name: a second run with fresh agents (a repeat of an
    experiment) must not start from the first run's emotions."""
    executor = InProcessShards(2, ClientSpec.from_settings(Settings(), backend_factory=ScriptFactory(
        ComponentScript(NAMES))))
    run_world(executor, steps=2)
    world, _, _ = run_world(executor, steps=2)
    local, _, _ = run_world(LocalExecutor(), steps=2)
    assert [a.to_state() for a in world.agents] == [a.to_state() for a in local.agents]


@pytest.fixture
def lazy_module() -> Iterator[list[str]]:
    """A module already imported whose ``__getattr__`` (PEP 562) would import what it is asked for."""
    asked: list[str] = []
    module = types.ModuleType("lazy_plugin")

    def lazy(name: str) -> object:
        asked.append(name)
        raise AttributeError(name)

    module.__getattr__ = lazy  # type: ignore[method-assign]
    sys.modules["lazy_plugin"] = module
    try:
        yield asked
    finally:
        del sys.modules["lazy_plugin"]


def test_looking_up_a_states_class_runs_no_module_getattr(lazy_module: list[str]) -> None:
    with pytest.raises(ScenarioError, match=r"lazy_plugin\.submodule\.Mood, which is not a TurnComponent"):
        import_portable("lazy_plugin", "submodule.Mood", TurnComponent, what="turn component 'mood'")
    assert lazy_module == []


def test_specs_the_worker_cannot_follow_are_refused_saying_why(tmp_path: Path) -> None:
    from tinytroupe.agent.portable import build_component, component_spec
    from tinytroupe.agent.state_models import ComponentSpec
    from tinytroupe.errors import InvalidState

    state = TinyPerson("Ana").add_component(EmotionComponent()).state_model()
    assert state.component_specs is not None
    emotions = state.component_specs[-1]
    with pytest.raises(ScenarioError, match=r"this tinytroupe has no module tinytroupe\.agent\.moods.*same "
                                            r"tinytroupe version everywhere"):
        build_component(emotions.model_copy(update={"module": "tinytroupe.agent.moods"}))
    undeclared = ComponentSpec(name="turn", module="tinytroupe.agent.turn", qualname="TurnComponent", args={})
    with pytest.raises(ScenarioError, match=r"'turn' is a TurnComponent, which does not declare itself portable"):
        build_component(undeclared)
    renamed = build_component(emotions.model_copy(update={"name": "mood"}))
    assert isinstance(renamed, EmotionComponent) and renamed.name == "mood"

    writer = TinyPerson("Writer").add_mental_faculty(TinyToolUse([TinyWordProcessor()]))
    saved = writer.state_model()
    without = saved.model_copy(update={"mental_faculties": []})
    with pytest.raises(InvalidState, match=r"'tool_use' is a mental faculty, but the agent's state has no faculty"):
        restore_components(TinyPerson("Writer"), without)
    exporting = TinyToolUse([TinyWordProcessor(exporter=str(tmp_path))])
    assert "has an exporter or an enricher" in (exporting.portability_problem() or "")
    assert component_spec(exporting).portable is False

