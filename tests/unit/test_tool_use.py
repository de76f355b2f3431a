"""TinyToolUse: agents use tools inside their turns (scripted backend, real threads and event loop)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from pydantic import BaseModel, Field

from tinytroupe.agent import TinyPerson
from tinytroupe.agent.actions import Action
from tinytroupe.errors import InvalidArgument, InvalidArgumentType, ScenarioError, ToolArgumentError
from tinytroupe.events import Event, ToolCallEvent, WarningEvent
from tinytroupe.llm import LLMClient, ScriptedBackend
from tinytroupe.tools import PipelineStep, TinyTool, TinyToolUse, ToolCall, ToolPipeline, tool_action
from tinytroupe.tools.rendering import render_operations
from tinytroupe.tools.turn_calls import plan_calls

# ---------------------------------------------------------------------------------------- tools


class AddArgs(BaseModel):
    a: int = Field(description="the first number")
    b: int


class Total(BaseModel):
    total: int


class Calculator(TinyTool):
    def __init__(self) -> None:
        super().__init__("calculator", "adds numbers")
        self.calls = 0

    @tool_action("ADD", "add two integers")
    def add(self, call: ToolCall, args: AddArgs) -> Total:
        self.calls += 1
        return Total(total=args.a + args.b)


class OtherCalculator(Calculator):
    def __init__(self) -> None:
        TinyTool.__init__(self, "other_calculator", "adds too")


class NapArgs(BaseModel):
    ms: int
    label: str = ""


class Nap(BaseModel):
    label: str
    started: float
    ended: float


class Sleeper(TinyTool):
    """Sleeps in a worker thread (a sync tool) and records when each call started and ended."""

    def __init__(self) -> None:
        super().__init__("sleeper", "waits")
        self.spans: list[tuple[str, float, float]] = []
        self._lock = threading.Lock()

    @tool_action("NAP", "sleep for ms milliseconds")
    def nap(self, call: ToolCall, args: NapArgs) -> Nap:
        started = time.perf_counter()
        time.sleep(args.ms / 1000)
        ended = time.perf_counter()
        with self._lock:
            self.spans.append((args.label, started, ended))
        return Nap(label=args.label, started=started, ended=ended)

    @tool_action("ECHO", "say a text back")
    async def echo(self, call: ToolCall, args: Text) -> Echoed:
        with self._lock:
            self.spans.append(("echo", time.perf_counter(), time.perf_counter()))
        return Echoed(text=args.text, earlier=len(call.earlier))


class Text(BaseModel):
    text: str


class Echoed(BaseModel):
    text: str
    earlier: int = 0


class Boom(TinyTool):
    def __init__(self) -> None:
        super().__init__("boom", "always fails")

    @tool_action("EXPLODE", "fail")
    def explode(self, call: ToolCall, args: Text) -> Total:
        raise RuntimeError(f"kaput: {args.text}")


class Diary(TinyTool):
    def __init__(self, owner: str | None = "Ana") -> None:
        super().__init__("diary", "a private diary", owner=owner)
        self.entries: list[str] = []

    @tool_action("WRITE_DIARY", "write an entry")
    def write(self, call: ToolCall, args: Text) -> Echoed:
        self.entries.append(args.text)
        return Echoed(text=args.text)

    def get_state(self) -> dict[str, Any]:
        return {"entries": list(self.entries)} if self.entries else {}

    def set_state(self, state: Any) -> None:
        self.entries = list(state.get("entries", []))


class Mailer(TinyTool):
    def __init__(self) -> None:
        super().__init__("mailer", "sends real email", real_world_side_effects=True)
        self.sent: list[str] = []

    @tool_action("SEND_REAL_EMAIL", "send an email to the real world")
    def send(self, call: ToolCall, args: Text) -> Echoed:
        self.sent.append(args.text)
        return Echoed(text="sent")


# ---------------------------------------------------------------------------------------- helpers


def turn(*actions: tuple[str, str]) -> dict[str, Any]:
    return {"actions": [{"type": t, "content": c} for t, c in actions] + [{"type": "DONE"}]}


def agent(name: str, replies: list[Any], *tools: TinyTool, **options: Any) -> tuple[TinyPerson, ScriptedBackend]:
    backend = ScriptedBackend(replies)
    person = TinyPerson(name, client=LLMClient(backend)).add_mental_faculty(TinyToolUse(list(tools), **options))
    return person, backend


def collect(person: TinyPerson, *kinds: str) -> list[Event]:
    seen: list[Event] = []
    person.bus.subscribe(seen.append, kinds=list(kinds))
    return seen


def tool_results(person: TinyPerson) -> list[str]:
    return [i.content for i in person.memory.items() if i.kind == "stimulus" and i.type == "TOOL_RESULT"]


# ---------------------------------------------------------------------------------------- interface


def test_tool_actions_join_the_prompt_described_from_their_schemas() -> None:
    lisa, _ = agent("Lisa", [], Calculator())
    system = lisa.build_prompt()[0].content
    assert "- ADD: add two integers [tool calculator]. Content: an object {a: int (the first number), b: int}" in system
    assert "Their content is an object of arguments" in system
    assert "${N.field}" in system  # the rule on references
    assert "ADD" in lisa.actions_registry.types
    assert [c.name for c in lisa.components][-1] == "tool_use"  # the faculty takes part in the turn


def test_descriptions_shrink_to_fit_the_tools_budget() -> None:
    ops = [op for tool in (Calculator(), Sleeper(), Boom()) for op in tool.operations.values()]
    rich = render_operations(ops, 1000)
    assert "(the first number)" in rich["ADD"] and "label?: str" in rich["NAP"]
    tight = render_operations(ops, 40)
    assert sum(len(k) + len(v) + 4 for k, v in tight.items()) <= 40 * 4
    assert all(v for v in tight.values())
    small = TinyPerson("Tiny", client=LLMClient(ScriptedBackend([])), prompt_token_budget=1000)
    small.add_mental_faculty(TinyToolUse([Calculator(), Sleeper(), Boom()]))
    assert small.prompt_budget.tools == 100
    system = small.build_prompt()[0].content
    lines = [line for line in system.splitlines() if line.startswith(("- ADD:", "- NAP:", "- ECHO:", "- EXPLODE:"))]
    rule = next(line for line in system.splitlines() if "${N.field}" in line)
    assert len(lines) == 4 and sum(len(line) + 1 for line in [*lines, rule]) <= 100 * 4
    assert "[tool sleeper]" in lines[1]


def test_the_faculty_checks_its_tools() -> None:
    with pytest.raises(InvalidArgumentType, match="TinyTool"):
        TinyToolUse(["calculator"])  # type: ignore[list-item]
    with pytest.raises(InvalidArgument, match="both handle ADD"):
        TinyToolUse([Calculator(), OtherCalculator()])
    with pytest.raises(InvalidArgument, match="at least one tool"):
        TinyToolUse([])
    from tinytroupe.agent import TinyToolUse as FromAgent

    assert FromAgent is TinyToolUse


# ---------------------------------------------------------------------------------------- results and errors


def test_a_result_is_perceived_next_turn_and_published_as_an_event() -> None:
    lisa, backend = agent("Lisa", [turn(("ADD", '{"a": 2, "b": 3}')), turn()], calc := Calculator())
    events = collect(lisa, "tool_call")
    lisa.listen_and_act("What is 2 + 3?")
    assert calc.calls == 1  # run once: the generic faculty hook leaves it to the component
    assert tool_results(lisa) == ['your ADD (tool action 1 of your last turn, tool calculator) returned: {"total":5}']
    (event,) = events
    assert isinstance(event, ToolCallEvent)
    assert (event.tool, event.action, event.agent, event.number, event.ok) == ("calculator", "ADD", "Lisa", 1, True)
    assert event.duration_s >= 0 and event.error is None and event.result_chars == len('{"total":5}')
    lisa.act()
    assert 'a tool answered you: your ADD' in backend.requests[-1].messages[-1].content


def test_wrong_arguments_are_asked_again_once_with_the_exact_error() -> None:
    bad = turn(("ADD", '{"a": "two"}'))
    good = turn(("ADD", '{"a": 2, "b": 2}'))
    lisa, backend = agent("Lisa", [bad, good], Calculator())
    lisa.listen_and_act("2 + 2?")
    assert backend.calls == 2
    feedback = backend.requests[1].messages[-1].content
    assert "tool action 1 (ADD)" in feedback
    assert "a: Input should be a valid integer" in feedback and "b: Field required" in feedback
    assert backend.requests[1].messages[-2].role == "assistant"  # the wrong answer, shown back
    assert tool_results(lisa) == ['your ADD (tool action 1 of your last turn, tool calculator) returned: {"total":4}']
    assert lisa.get_component("tool_use").get_statistics()["reasks"] == 1  # type: ignore[union-attr]


def test_arguments_still_wrong_after_the_reask_become_an_error_observation() -> None:
    bad = turn(("ADD", "not json"), ("THINK", "hm"))
    lisa, backend = agent("Lisa", [bad, bad], calc := Calculator())
    events = collect(lisa, "tool_call")
    actions = lisa.listen_and_act("2 + 2?", return_actions=True)
    assert backend.calls == 2  # one re-ask, no more
    assert actions is not None and [a.type for a in actions] == ["ADD", "THINK", "DONE"]  # the turn went on
    assert calc.calls == 0
    (text,) = tool_results(lisa)
    assert text.startswith("your ADD (tool action 1 of your last turn, tool calculator) failed: the arguments must")
    assert events[0].ok is False and events[0].error_type == "ToolArgumentError"  # type: ignore[attr-defined]


def test_without_reask_a_wrong_call_is_reported_at_once() -> None:
    lisa, backend = agent("Lisa", [turn(("ADD", '{"a": 1}'))], Calculator(), reask=False)
    lisa.listen_and_act("1 + ?")
    assert backend.calls == 1
    assert "failed: b: Field required" in tool_results(lisa)[0]


def test_a_tool_that_raises_is_an_error_observation_a_warning_and_an_event() -> None:
    script = turn(("EXPLODE", "now"), ("ADD", '{"a": 1, "b": 1}'))
    lisa, _ = agent("Lisa", [script], Boom(), Calculator())
    events = collect(lisa, "tool_call", "warning")
    lisa.listen_and_act("go")
    results = tool_results(lisa)
    assert "failed: RuntimeError: kaput: now" in results[0]
    assert results[1].endswith('returned: {"total":2}')  # the other call of the turn still ran
    calls = [e for e in events if isinstance(e, ToolCallEvent)]
    warnings = [e for e in events if isinstance(e, WarningEvent)]
    assert [(c.action, c.ok, c.error_type) for c in calls] == [("EXPLODE", False, "ToolExecutionError"),
                                                              ("ADD", True, None)]
    assert [w.code for w in warnings] == ["tool_failed"] and "kaput" in warnings[0].message


# ---------------------------------------------------------------------------------------- concurrency


def test_independent_calls_of_a_turn_run_at_the_same_time() -> None:
    naps = [("NAP", f'{{"ms": 100, "label": "n{i}"}}') for i in range(4)]
    lisa, _ = agent("Lisa", [turn(*naps)], sleeper := Sleeper())
    events = collect(lisa, "tool_call")
    lisa.listen_and_act("rest")
    spans = sleeper.spans
    assert len(spans) == 4
    # overlap: every call started before any ended (one after another, each would start after the last ended)
    assert max(start for _, start, _ in spans) < min(end for _, _, end in spans)
    assert [e.number for e in events] == [1, 2, 3, 4]  # published in call order  # type: ignore[attr-defined]


def test_events_keep_call_order_when_a_later_call_ends_first() -> None:
    script = turn(("NAP", '{"ms": 120, "label": "slow"}'), ("NAP", '{"ms": 1, "label": "fast"}'))
    lisa, _ = agent("Lisa", [script], sleeper := Sleeper())
    events = collect(lisa, "tool_call")
    lisa.listen_and_act("rest")
    assert [label for label, _, _ in sleeper.spans] == ["fast", "slow"]  # they ended in this order
    assert [e.number for e in events] == [1, 2]  # type: ignore[attr-defined]
    assert ['"slow"' in t for t in tool_results(lisa)] == [True, False]


# ---------------------------------------------------------------------------------------- references


def test_a_call_using_an_earlier_result_waits_for_it_and_gets_its_value() -> None:
    script = turn(("NAP", '{"ms": 80, "label": "first"}'), ("ECHO", '{"text": "${1.label} then ${1.ms_missing}"}'))
    lisa, _ = agent("Lisa", [script], Sleeper(), reask=False)
    lisa.listen_and_act("go")
    assert "has no field 'ms_missing'" in tool_results(lisa)[1]  # a bad field is caught before anything runs

    script = turn(("NAP", '{"ms": 80, "label": "first"}'), ("ECHO", '{"text": "${1.label} then more"}'),
                  ("ADD", '{"a": 1, "b": 2}'), ("NAP", '{"ms": 1, "label": "${2.text}"}'))
    lisa, _ = agent("Ben", [script], sleeper := Sleeper(), Calculator())
    events = collect(lisa, "tool_call")
    lisa.listen_and_act("go")
    by_label = {label: (start, end) for label, start, end in sleeper.spans}
    assert by_label["echo"][0] >= by_label["first"][1]  # the echo started after the nap it uses ended
    assert by_label["first then more"][0] >= by_label["echo"][1]
    results = tool_results(lisa)
    assert '"text":"first then more","earlier":1' in results[1]  # the referenced result came in call.earlier
    assert '"label":"first then more"' in results[3]
    assert events[1].waited_s > 0.05  # type: ignore[attr-defined]


def test_a_whole_reference_keeps_the_value_type() -> None:
    script = turn(("ADD", '{"a": 2, "b": 3}'), ("ADD", '{"a": "${1.total}", "b": 10}'))
    lisa, _ = agent("Lisa", [script], Calculator())
    lisa.listen_and_act("go")
    assert tool_results(lisa)[1].endswith('returned: {"total":15}')


@pytest.mark.parametrize(("content", "message"), [
    ('{"a": "${2.total}", "b": 1}', "refers to call 2, which comes later"),
    ('{"a": "${1.total}", "b": 1}', "refers to itself"),
    ('{"a": "${x.total}", "b": 1}', "is not a reference"),
    ('{"a": "${9.total}", "b": 1}', "refers to call 9"),
])
def test_bad_references_are_argument_errors(content: str, message: str) -> None:
    calc = Calculator()
    planned = plan_calls([Action(type="ADD", content=content), Action(type="ADD", content='{"a": 1, "b": 1}')],
                         {"ADD": calc})
    assert isinstance(planned[0].error, ToolArgumentError) and message in str(planned[0].error)
    assert planned[0].error.tool == "calculator"


def test_a_reference_to_an_invalid_or_failed_call_fails_too() -> None:
    planned = plan_calls([Action(type="ADD", content="{}"), Action(type="ADD", content='{"a": "${1.total}", "b": 1}')],
                         {"ADD": Calculator()})
    assert "is itself invalid" in str(planned[1].error)
    lisa, _ = agent("Lisa", [turn(("EXPLODE", "x"), ("ADD", '{"a": "${1.total}", "b": 1}'))], Boom(), Calculator())
    lisa.listen_and_act("go")
    assert "uses the result of tool action 1, which failed" in tool_results(lisa)[1]


# ---------------------------------------------------------------------------------------- pipelines


class Topic(BaseModel):
    topic: str


class Draft(BaseModel):
    title: str
    words: int
    note: str | None = None


class Doc(BaseModel):
    title: str
    body: str


class Written(BaseModel):
    path: str
    chars: int


class Studio(TinyTool):
    def __init__(self) -> None:
        super().__init__("studio", "drafts and writes")

    @tool_action("DRAFT", "draft a title for a topic")
    def draft(self, call: ToolCall, args: Topic) -> Draft:
        return Draft(title=args.topic.title(), words=len(args.topic.split()))

    @tool_action("WRITE", "write a document")
    def write(self, call: ToolCall, args: Doc) -> Written:
        return Written(path=f"/docs/{args.title}.md", chars=len(args.body))


def test_a_pipeline_feeds_one_result_into_the_next_and_is_a_tool_agents_call() -> None:
    studio = Studio()
    pipe = ToolPipeline("draft_and_write", "draft a title, then write the document", Topic, [
        PipelineStep(studio, "DRAFT", {"topic": "input.topic"}),
        PipelineStep(studio, "WRITE", {"title": "1.title", "body": "input.topic"})])
    assert pipe.result_model is Written and not pipe.side_effects
    lisa, _ = agent("Lisa", [turn(("DRAFT_AND_WRITE", "tea time"))], pipe.as_tool())
    lisa.listen_and_act("write")
    assert tool_results(lisa)[0].endswith('returned: {"path":"/docs/Tea Time.md","chars":8}')


@pytest.mark.parametrize(("steps", "error", "message"), [
    (lambda s: [PipelineStep(s, "DRAFT", {"topic": "input.subject"})], InvalidArgument, "Topic has no field 'subject'"),
    (lambda s: [PipelineStep(s, "DRAFT", {"topic": "input.topic"}), PipelineStep(s, "WRITE", {"title": "1.words",
     "body": "input.topic"})], InvalidArgumentType, "'1.words' is int, which does not fit str"),
    (lambda s: [PipelineStep(s, "DRAFT", {"topic": "input.topic"}), PipelineStep(s, "WRITE", {"title": "1.note",
     "body": "input.topic"})], InvalidArgumentType, "does not fit str"),
    (lambda s: [PipelineStep(s, "DRAFT", {"topic": "input.topic"}), PipelineStep(s, "WRITE", {"title": "1.title"})],
     InvalidArgument, "required argument(s) body are given no value"),
    (lambda s: [PipelineStep(s, "DRAFT", {"topic": "2.title"})], InvalidArgument, "the first step reads only"),
    (lambda s: [PipelineStep(s, "DRAFT", {"topic": "input.topic"}), PipelineStep(s, "WRITE", {"title": "2.path",
     "body": "input.topic"})], InvalidArgument, "names step 2; a step reads only the pipeline's input or earlier"),
    (lambda s: [PipelineStep(s, "PUBLISH", {})], InvalidArgument, "no action 'PUBLISH'"),
    (lambda s: [PipelineStep(s, "WRITE", {"title": "input.topic"}, {"body": 3})], InvalidArgument,
     "the fixed value 3 does not fit"),
    (lambda s: [PipelineStep(s, "WRITE", {"titel": "input.topic"})], InvalidArgument, "Doc has no such field"),
])
def test_pipeline_mistakes_are_errors_when_it_is_built(steps: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as caught:
        ToolPipeline("p", "a pipeline", Topic, steps(Studio()))
    assert message in str(caught.value)


# ---------------------------------------------------------------------------------------- permissions


def test_refusals_for_ownership_and_side_effects_are_observations() -> None:
    script = turn(("WRITE_DIARY", "secret"), ("SEND_REAL_EMAIL", "hi"))
    lisa, _ = agent("Lisa", [script], diary := Diary(owner="Ana"), mailer := Mailer())
    events = collect(lisa, "tool_call")
    lisa.listen_and_act("go")
    results = tool_results(lisa)
    assert "failed: this tool belongs to Ana" in results[0]
    assert "side effects are not allowed" in results[1]
    assert diary.entries == [] and mailer.sent == []
    assert [e.error_type for e in events] == ["ToolPermissionError"] * 2  # type: ignore[attr-defined]
    ana, _ = agent("Ana", [script], diary, mailer, allow_side_effects=True)
    ana.listen_and_act("go")
    assert diary.entries == ["secret"] and mailer.sent == ["hi"]


# ---------------------------------------------------------------------------------------- state


def test_tool_state_is_saved_and_restored_with_the_agent(tmp_path: Any) -> None:
    lisa, _ = agent("Lisa", [turn(("WRITE_DIARY", "day one"))], Diary(owner=None))
    lisa.listen_and_act("write")
    state = lisa.state_model()
    assert state.components["tool_use"]["tools"] == {"diary": {"entries": ["day one"]}}
    again, _ = agent("Lisa", [], fresh := Diary(owner=None))
    again.apply_state(state)
    assert fresh.entries == ["day one"]
    assert again.get_component("tool_use").get_statistics()["calls"] == 1  # type: ignore[union-attr]
    # a saved specification rebuilds the faculty and its tools (built with no arguments)
    path = tmp_path / "lisa.agent.json"
    lisa.save_specification(path)
    loaded = TinyPerson.load_specification(path)
    (faculty,) = loaded.mental_faculties
    assert isinstance(faculty, TinyToolUse)
    (tool,) = faculty.tools
    assert isinstance(tool, Diary) and tool.entries == ["day one"] and tool.owner is None
    assert loaded.get_component("tool_use") is faculty


def test_a_tool_that_needs_arguments_cannot_be_rebuilt_from_a_specification() -> None:
    studio = Studio()
    pipe = ToolPipeline("p", "d", Topic, [PipelineStep(studio, "DRAFT", {"topic": "input.topic"})])
    spec = TinyToolUse([pipe.as_tool()]).to_spec()
    with pytest.raises(ScenarioError, match="needs arguments"):
        TinyToolUse.from_spec(spec)


# ---------------------------------------------------------------------------------------- outside a turn


def test_process_action_runs_one_call_now() -> None:
    lisa, _ = agent("Lisa", [], Calculator())
    faculty = lisa.get_component("tool_use")
    assert isinstance(faculty, TinyToolUse)
    assert faculty.process_action(lisa, Action(type="ADD", content='{"a": 4, "b": 4}')) is True
    assert faculty.process_action(lisa, Action(type="TALK", content="hi")) is False
    assert tool_results(lisa)[0].endswith('returned: {"total":8}')


def test_calls_run_on_any_event_loop() -> None:
    planned = plan_calls([Action(type="ADD", content='{"a": 1, "b": 2}')], {"ADD": Calculator()})
    from tinytroupe.tools.turn_calls import run_calls

    (outcome,) = asyncio.run(run_calls(planned))
    assert outcome.ok and outcome.result == Total(total=3)


def test_tool_arguments_may_be_longer_than_a_plain_action() -> None:
    long_text = "x" * 1500
    lisa, backend = agent("Lisa", [turn(("WRITE_DIARY", long_text))], diary := Diary(owner=None))
    lisa.listen_and_act("write")
    assert diary.entries == [long_text] and backend.calls == 1
    schema = backend.requests[0].response_schema
    assert schema is not None and schema["$defs"]["LLMAction"]["properties"]["content"]["maxLength"] == 2000
    plain = TinyPerson("Ben", client=LLMClient(ScriptedBackend([turn(("THINK", "hm"))])))
    assert plain._content_chars() == 600
