"""MockLLM: rules, seeded variation, the fallback, strict mode, cassettes, live mode and assertions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tinytroupe.agent import TinyPerson
from tinytroupe.context import current_context
from tinytroupe.devtools.mock_llm import Cassette, CassetteMiss, MockLLM
from tinytroupe.environment import TinyWorld
from tinytroupe.errors import InvalidArgument, InvalidState, LLMTransportError
from tinytroupe.extraction import ResultsExtractor
from tinytroupe.llm import LLMClient, ScriptedBackend

ASK = [{"role": "user", "content": "What do you think of the price?"}]


def talk(text: str) -> dict[str, object]:
    return {"actions": [{"type": "TALK", "content": text}]}


def said(person: TinyPerson) -> list[str]:
    return [a.content for a in person.pop_latest_actions() if a.type == "TALK"]


def ask(mock: MockLLM, text: str, **kwargs: object) -> object:
    return mock.client.complete([{"role": "user", "content": text}], **kwargs).value  # type: ignore[arg-type]


class CountingBackend(ScriptedBackend):
    """The "real" backend of these tests: numbered answers, so a test sees which call answered."""

    def __init__(self) -> None:
        super().__init__(lambda request: f"real answer {self.calls}")

    @property
    def prompt_token_hint(self) -> int | None:
        return 1234


def test_rules_match_by_purpose_agent_prompt_and_schema() -> None:
    mock = MockLLM()
    mock.respond("by purpose", purpose="chat")
    mock.respond("by agent", agent="Ana")
    mock.respond("by prompt", prompt=r"pri[cz]e")
    assert mock.client.complete(ASK).value == "by prompt"  # the rule added last is tried first
    assert mock.client.complete([{"role": "user", "content": "hi"}], agent="Ana").value == "by agent"
    assert mock.client.complete([{"role": "user", "content": "hi"}]).value == "by purpose"
    mock.respond(talk("from the schema rule"), schema="ActionTurn")
    with mock.install():
        ana = TinyPerson("Ana")
        ana.listen_and_act("hello", communication_display=False)
    assert said(ana) == ["from the schema rule"]


def test_several_replies_come_in_order_then_the_next_rule_answers() -> None:
    mock = MockLLM()
    mock.respond("fallback rule")
    mock.respond("first", "second")
    assert [ask(mock, "x") for _ in range(3)] == ["first", "second", "fallback rule"]
    cycling = MockLLM()
    cycling.respond("a", "b", cycle=True)
    assert [ask(cycling, "x") for _ in range(3)] == ["a", "b", "a"]
    limited = MockLLM()
    limited.respond("later")
    limited.respond("once", times=1)
    assert [ask(limited, "x") for _ in range(2)] == ["once", "later"]


def test_placeholders_are_filled_from_the_call_and_the_seed() -> None:
    mock = MockLLM(seed=5)
    mock.respond({"rating": "{int:1..10}", "reason": "{agent} ({purpose}) says {one_of:yes|no}; {{literal}}"})
    from pydantic import BaseModel

    class Rating(BaseModel):
        rating: int
        reason: str

    value = mock.client.complete(ASK, response_model=Rating, purpose="extraction", agent="Ana").value
    assert 1 <= value.rating <= 10
    assert value.reason in ("Ana (extraction) says yes; {literal}", "Ana (extraction) says no; {literal}")


def test_the_same_seed_repeats_the_variation_and_another_seed_changes_it() -> None:
    def answers(seed: int) -> list[object]:
        mock = MockLLM(seed=seed)
        mock.respond("calm", "excited", "bored", choose=True)
        mock.respond("{int:1..1000}", purpose="extraction")
        return [ask(mock, f"question {i}") for i in range(8)] + [ask(mock, "n", purpose="extraction")]

    assert answers(1) == answers(1)
    assert answers(1) != answers(2)
    assert set(answers(3)[:8]) <= {"calm", "excited", "bored"} and len(set(answers(3)[:8])) > 1


def test_bad_templates_and_patterns_are_refused_when_the_rule_is_made() -> None:
    mock = MockLLM()
    with pytest.raises(InvalidArgument, match=r"unknown placeholder \{mood\}"):
        mock.respond({"text": "I feel {mood}"})
    with pytest.raises(InvalidArgument, match=r"LOW\.\.HIGH"):
        mock.respond("{int:9..1}")
    with pytest.raises(InvalidArgument, match="not a valid regular expression"):
        mock.respond("x", prompt="(")
    with pytest.raises(InvalidArgument, match="at least one reply"):
        mock.respond()


def test_the_fallback_answers_any_schema_and_strict_mode_refuses() -> None:
    mock = MockLLM()
    with mock.install():
        world = TinyWorld("Room", [TinyPerson("Ana"), TinyPerson("Ben")], communication_display=False)
        world.broadcast("Hello!")
        world.run(1)
        results = ResultsExtractor().extract_results_from_agents(world.agents, fields={"rating": "int"})
    assert [isinstance(r["rating"], int) for r in results] == [True, True]
    assert {a.answered_by for a in mock.requests} == {"fallback"} and mock.problems() == []
    strict = MockLLM(strict=True)
    with pytest.raises(LLMTransportError, match="no mock_llm rule answers the request of purpose 'chat'"):
        strict.client.complete(ASK)
    assert len(strict.problems()) == 1 and strict.requests[0].answered_by == "unanswered"


def test_install_makes_the_mock_current_only_inside_the_block() -> None:
    mock = MockLLM(seed=9)
    with mock.install():
        assert current_context().client is mock.client and current_context().seed == 9
        world = TinyWorld("Room", [TinyPerson("Ana")])
        assert world.client is mock.client
    assert current_context().client is not mock.client
    assert world.current_datetime.date().isoformat() == "2025-01-06"  # a fixed clock: stable prompts


def test_assert_asked_filters_and_says_what_was_asked() -> None:
    mock = MockLLM()
    mock.client.complete(ASK, purpose="extraction", agent="Ana")
    mock.client.complete([{"role": "user", "content": "Hello"}], purpose="action", agent="Ben")
    assert len(mock.assert_asked(purpose="extraction", agent="Ana", contains="price")) == 1
    assert len(mock.assert_asked(pattern=r"Hel+o", times=1)) == 1
    mock.assert_not_asked(agent="Carl")
    with pytest.raises(AssertionError) as failure:
        mock.assert_asked(purpose="extraction", agent="Ben")
    message = str(failure.value)
    assert "expected a request with purpose='extraction' agent='Ben' at least once, found 0" in message
    assert "1. purpose='extraction' agent='Ana' (fallback): ...'What do you think of the price?'" in message
    with pytest.raises(AssertionError, match="found 1"):
        mock.assert_not_asked(agent="Ben")


def test_a_cassette_records_new_episodes_and_replays_them(tmp_path: Path) -> None:
    path = tmp_path / "tape.json"
    real = CountingBackend()
    first = MockLLM(real_backend=real)
    first.use_cassette(path, record="once")  # no file yet: records
    assert [ask(first, "a"), ask(first, "a"), ask(first, "b")] == ["real answer 1", "real answer 2", "real answer 3"]
    first.finish()
    assert [len(e["answers"]) for e in json.loads(path.read_text())["entries"]] == [2, 1]
    replay = MockLLM(real_backend=real)
    replay.use_cassette(path, record="none")
    # a key's answers in their order, then the last one again
    assert [ask(replay, "a"), ask(replay, "a"), ask(replay, "a"), ask(replay, "b")] == [
        "real answer 1", "real answer 2", "real answer 2", "real answer 3"]
    more = MockLLM(real_backend=real)
    more.use_cassette(path, record="new_episodes")
    assert [ask(more, "b"), ask(more, "c")] == ["real answer 3", "real answer 4"]
    more.finish()
    assert real.calls == 4 and len(Cassette(path)) == 3
    again = MockLLM(real_backend=real)
    again.use_cassette(path, record="all")
    assert ask(again, "c") == "real answer 5"
    again.finish()
    assert len(Cassette(path)) == 1


def test_a_miss_names_the_request_and_what_changed(tmp_path: Path) -> None:
    path = tmp_path / "tape.yaml"
    recorder = MockLLM(real_backend=CountingBackend())
    recorder.use_cassette(path)
    recorder.client.complete([{"role": "user", "content": "Rate the blue bottle"}], purpose="extraction", agent="Ana")
    recorder.finish()
    assert yaml.safe_load(path.read_text())["entries"][0]["agent"] == "Ana"  # YAML by its suffix
    replay = MockLLM()
    replay.use_cassette(path, record="none")
    with pytest.raises(CassetteMiss) as miss:
        replay.client.complete([{"role": "user", "content": "Rate the red bottle"}], purpose="extraction", agent="Ana")
    text = str(miss.value)
    assert "no answer for the request of purpose 'extraction', agent 'Ana'" in text
    assert "message 0 (user) changed at character 9: 'Rate the blue bottle' -> 'Rate the red bottle'" in text
    assert "--mock-llm-record=new_episodes" in text and replay.problems() == [text]


def test_bad_cassettes_and_modes_are_refused(tmp_path: Path) -> None:
    mock = MockLLM()
    with pytest.raises(InvalidArgument, match="record mode 'sometimes'"):
        mock.use_cassette(tmp_path / "x.json", record="sometimes")
    (tmp_path / "bad.json").write_text(json.dumps({"version": 1, "entries": [{"key": "k"}]}))
    with pytest.raises(InvalidArgument, match="is not a tinytroupe cassette"):
        mock.use_cassette(tmp_path / "bad.json")
    (tmp_path / "old.json").write_text(json.dumps({"version": 99, "entries": []}))
    with pytest.raises(InvalidArgument, match="format version 99"):
        mock.use_cassette(tmp_path / "old.json")
    recorder = MockLLM()  # no real backend
    recorder.use_cassette(tmp_path / "new.json")
    with pytest.raises(InvalidState, match="needs a real backend"):
        ask(recorder, "x")


def test_live_mode_asks_the_real_backend_and_still_records_requests() -> None:
    real = CountingBackend()
    mock = MockLLM(real_backend=lambda: real, live=True)
    mock.respond("ignored when live")
    assert ask(mock, "hello") == "real answer 1"
    assert mock.backend.prompt_token_hint == 1234
    assert mock.assert_asked(contains="hello")[0].answered_by == "live"
    assert LLMClient(MockLLM().backend).prompt_token_hint is None  # scripted: no preference
