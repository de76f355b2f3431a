"""The turn protocol: named phases in order, components plugged into them, and what a failure in each does."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import DONE_TURN, TurnCounter, policy_client, turn

from tinytroupe import TinyPerson
from tinytroupe.agent.actions import ActionBatch
from tinytroupe.agent.turn import Turn, TurnComponent, TurnPhase
from tinytroupe.errors import InvalidArgument, InvalidArgumentType, NotFound
from tinytroupe.events import Event


class Recorder(TurnComponent):
    """Writes down each phase with what the turn holds at that point."""

    name = "recorder"

    def __init__(self) -> None:
        self.log: list[tuple[str, Any]] = []

    async def perceive(self, turn: Turn) -> None:
        assert turn.view is not None
        self.log.append(("perceive", [i.content for i in turn.view.new]))

    async def retrieve(self, turn: Turn) -> None:
        assert turn.view is not None
        turn.view.sections["Your notebook"] = "the launch is on Friday"
        self.log.append(("retrieve", turn.preview))

    async def decide(self, turn: Turn) -> None:
        assert turn.batch is not None
        self.log.append(("decide", [a.type for a in turn.batch.actions]))

    async def act(self, turn: Turn) -> None:
        self.log.append(("act", [a.type for a in turn.actions]))

    async def maintain(self, turn: Turn) -> None:
        self.log.append(("maintain", len(turn.actions)))


def talker(_name: str, _request: object) -> object:
    return turn(("TALK", "Friday it is"), ("THINK", "good"))  # a lone agent talks to no one in particular


def test_phases_run_in_order_and_a_section_reaches_the_prompt() -> None:
    client, backend = policy_client(talker)
    recorder = Recorder()
    ana = TinyPerson("Ana", client=client).add_component(recorder)
    assert [c.name for c in ana.components] == ["memory", "action_quality", "repetition_filter", "mental_faculties",
                                                 "recorder"]
    ana.listen_and_act("When is the launch?", source="Ben")
    assert recorder.log == [("perceive", ["When is the launch?"]), ("retrieve", False),
                            ("decide", ["TALK", "THINK", "DONE"]), ("act", ["TALK", "THINK", "DONE"]),
                            ("maintain", 3)]
    prompt = backend.requests[-1].messages[-1].content
    assert "# Your notebook\nthe launch is on Friday" in prompt
    assert [phase.value for phase in TurnPhase] == ["perceive", "retrieve", "decide", "act", "maintain"]


def test_a_preview_runs_only_the_retrieve_hooks_and_says_so() -> None:
    recorder = Recorder()
    ana = TinyPerson("Ana", client=policy_client(talker)[0]).add_component(recorder)
    ana.listen("hello")
    messages = ana.build_prompt()
    assert recorder.log == [("retrieve", True)]  # perceive appraises (changes state): not in a preview
    assert "# Your notebook" in messages[-1].content
    ana.act()
    assert recorder.log[1] == ("perceive", ["hello"])  # the real turn still perceives what is new


def test_a_faculty_can_preview_the_prompt_from_inside_a_turn() -> None:
    from tinytroupe.agent.faculties import MentalFaculty

    seen: list[int] = []

    class Peek(TurnComponent):
        name = "peek"

        async def act(self, turn: Turn) -> None:
            seen.append(len(await turn.agent.abuild_prompt()))

    TinyPerson("Ana", client=policy_client(talker)[0]).add_component(Peek()).act()
    assert seen == [2]
    assert issubclass(MentalFaculty, object)


def test_a_decide_hook_changes_what_is_committed() -> None:
    class OnlyThoughts(TurnComponent):
        name = "only_thoughts"

        async def decide(self, turn: Turn) -> None:
            assert turn.batch is not None
            kept = [a for a in turn.batch.actions if a.type in ("THINK", "DONE")]
            turn.batch = ActionBatch(actions=kept, cognitive_state=turn.batch.cognitive_state)

    ana = TinyPerson("Ana", client=policy_client(talker)[0]).add_component(OnlyThoughts())
    actions = ana.act(return_actions=True)
    assert actions is not None and [a.type for a in actions] == ["THINK", "DONE"]
    assert [i.type for i in ana.memory.items() if i.kind == "action"] == ["THINK", "DONE"]


def test_a_failing_upkeep_is_a_warning_and_a_failing_retrieval_fails_the_turn_before_anything_is_committed() -> None:
    class BrokenUpkeep(TurnComponent):
        name = "broken_upkeep"

        async def maintain(self, turn: Turn) -> None:
            raise RuntimeError("disk on fire")

    client, _ = policy_client(talker)
    ana = TinyPerson("Ana", client=client).add_component(BrokenUpkeep())
    warnings: list[Event] = []
    ana.bus.subscribe(warnings.append, kinds=["warning"])
    actions = ana.act(return_actions=True)
    assert actions is not None and len(actions) == 3  # the turn happened
    assert [w.code for w in warnings] == ["component_failed"]  # type: ignore[attr-defined]
    assert "broken_upkeep" in warnings[0].message and "disk on fire" in warnings[0].message  # type: ignore[attr-defined]

    class BrokenRecall(TurnComponent):
        name = "broken_recall"

        async def retrieve(self, turn: Turn) -> None:
            raise RuntimeError("index lost")

    ben = TinyPerson("Ben", client=policy_client(lambda n, r: DONE_TURN)[0]).add_component(BrokenRecall())
    with pytest.raises(RuntimeError, match="index lost"):
        ben.act()
    assert [i for i in ben.memory.items() if i.kind == "action"] == [] and ben.turns == 0


def test_components_are_named_once_and_can_be_taken_out() -> None:
    ana = TinyPerson("Ana", client=policy_client(talker)[0])
    with pytest.raises(InvalidArgument, match="already has a component named 'memory'"):
        ana.add_component(type("Memory2", (TurnComponent,), {"name": "memory"})())
    with pytest.raises(InvalidArgumentType, match="TurnComponent"):
        ana.add_component("recorder")  # type: ignore[arg-type]
    with pytest.raises(NotFound, match="no component named 'tools'"):
        ana.remove_component("tools")
    removed = ana.remove_component("repetition_filter")
    assert removed.name == "repetition_filter" and ana.get_component("repetition_filter") is None
    # without the filter, a repeated line is kept
    ana.client = policy_client(lambda n, r: turn(("THINK", "hmm"), ("THINK", "hmm")))[0]
    actions = ana.act(return_actions=True)
    assert actions is not None and [a.type for a in actions] == ["THINK", "THINK", "DONE"]


class Tally(TurnCounter):
    """A component with state: how many turns it saw."""

    name = "tally"


def test_a_component_s_state_is_saved_with_the_agent_and_restored_into_the_same_component(
        caplog: pytest.LogCaptureFixture) -> None:
    ana = TinyPerson("Ana", client=policy_client(talker)[0]).add_component(Tally())
    ana.act()
    ana.act()
    state = ana.to_state()
    assert state["components"] == {"tally": {"turns": 2}}
    copy = TinyPerson("Ana").add_component(Tally())
    copy.load_state(state)
    assert copy.get_component("tally").turns == 2  # type: ignore[union-attr]
    assert "components" not in TinyPerson("Bo").to_state()  # nothing to save: the key is left out
    bare = TinyPerson("Ana")
    bare.load_state(state)  # the component is code: an agent without it says so and loads the rest
    assert "turn component 'tally' was not restored" in caplog.text
    assert bare.turns == 2
