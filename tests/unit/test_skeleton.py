"""Skeleton fill-in driven by a fake generator: valid JSON for several schema shapes, no llama_cpp."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Literal

import pytest
from pydantic import BaseModel, Field
from skeleton_support import ActionBatch

from tinytroupe.llm.skeleton import Generator, SkeletonFiller, UnsupportedSchemaError


class FakeGenerator:
    """Answers ``generate`` by the JSON key being filled and ``choose`` by a policy; records calls."""

    def __init__(self, values: dict[str, list[str]] | None = None, *, default: str = "text",
                 choose: Callable[[str, Sequence[str]], str] | None = None) -> None:
        self.values = {k: list(v) for k, v in (values or {}).items()}
        self.default = default
        self.policy = choose or (lambda prompt, options: options[-1])
        self.generated: list[tuple[str, int, tuple[str, ...]]] = []
        self.choices: list[tuple[str, tuple[str, ...]]] = []

    @staticmethod
    def _key(prompt: str) -> str:
        # The last '"key": ' before the cursor names the value being filled.
        tail = prompt.rsplit('": ', 1)
        return tail[0].rsplit('"', 1)[-1] if len(tail) == 2 else ""

    def generate(self, prompt: str, max_tokens: int, stop: Sequence[str]) -> str:
        self.generated.append((prompt, max_tokens, tuple(stop)))
        queue = self.values.get(self._key(prompt))
        return queue.pop(0) if queue else self.default

    def choose(self, prompt: str, options: Sequence[str]) -> str:
        self.choices.append((prompt, tuple(options)))
        return self.policy(prompt, options)


class Rating(BaseModel):
    score: int = Field(ge=1, le=5)
    confidence: float = Field(ge=0.0, le=1.0)
    recommend: bool
    comment: str | None = None
    tags: list[str] = Field(default_factory=list, max_length=3)


class Address(BaseModel):
    city: str = Field(max_length=12)
    country: str


class Person(BaseModel):
    name: str
    home: Address
    previous: list[Address] = Field(min_length=1, max_length=2)
    mood: Literal["happy", "sad"] | None = None


def fill(schema_model: type[BaseModel], gen: Generator, prompt: str = "Answer: ") -> tuple[str, object]:
    result = SkeletonFiller(gen).fill(prompt, schema_model.model_json_schema())
    assert json.loads(result.text) == result.value
    return result.text, schema_model.model_validate_json(result.text)


def test_generator_protocol_is_satisfied_by_the_fake() -> None:
    assert isinstance(FakeGenerator(), Generator)


def test_action_list_stops_after_done_and_enums_match_loosely() -> None:
    gen = FakeGenerator({"type": ["talk", "THINKING", "Done."], "content": ['Hi "Tom"\\', "hmm", ""],
                         "target": ["Tom", "", ""], "goals": ["rest"], "emotions": ["calm\tbut tired"]})
    text, batch = fill(ActionBatch, gen)
    assert isinstance(batch, ActionBatch)
    assert [a.type for a in batch.actions] == ["TALK", "THINK", "DONE"]
    assert batch.actions[0].content == 'Hi "Tom"\\'  # quotes and backslashes are escaped, not lost
    assert batch.emotions == "calm\tbut tired"
    assert text.startswith('{"actions": [{"type": "TALK"')
    assert gen.choices == []  # DONE ends the list: no continue/stop decision and no enum fallback needed


def test_action_list_without_done_is_capped_and_forced_to_end_with_done() -> None:
    gen = FakeGenerator({"type": ["TALK"] * 20})
    _, batch = fill(ActionBatch, gen)
    assert isinstance(batch, ActionBatch)
    assert len(batch.actions) == 6
    assert batch.actions[-1].type == "DONE"
    assert all(a.type == "TALK" for a in batch.actions[:-1])


def test_unmatched_enum_falls_back_to_a_constrained_choice() -> None:
    gen = FakeGenerator({"type": ["xyzzy", "DONE"]}, choose=lambda p, o: "THINK" if "THINK" in o else o[0])
    _, batch = fill(ActionBatch, gen)
    assert isinstance(batch, ActionBatch)
    assert [a.type for a in batch.actions] == ["THINK", "DONE"]
    assert gen.choices[0][1] == ("TALK", "THINK", "DONE")
    assert gen.choices[0][0].endswith('{"actions": [{"type": "')  # the choice continues the open string


def test_numbers_are_parsed_and_clamped_and_booleans_read() -> None:
    gen = FakeGenerator({"score": ["about 9 stars"], "confidence": ["-0.3"], "recommend": ["Yes"],
                         "comment": ["ok"], "tags": ["a", "b", "c", "d"]},
                        choose=lambda p, o: "," if o == (",", "]") or list(o) == [",", "]"] else o[0])
    _, rating = fill(Rating, gen)
    assert isinstance(rating, Rating)
    assert rating.score == 5 and rating.confidence == 0.0 and rating.recommend is True
    assert rating.comment == "ok"
    assert rating.tags == ["a", "b", "c"]  # maxItems bounds the list even when the model wants more


def test_number_without_digits_uses_a_ladder_inside_the_bounds() -> None:
    gen = FakeGenerator({"score": ["great"], "confidence": ["very"], "recommend": ["maybe"]},
                        choose=lambda p, o: o[-1] if "]" not in o else "]")
    _, rating = fill(Rating, gen)
    assert isinstance(rating, Rating)
    assert rating.score == 5 and rating.confidence == 1.0
    assert rating.recommend is False  # "maybe" is no boolean: choose() picked the last option, "false"
    ladders = [options for _, options in gen.choices if "1" in options]
    assert ladders and ladders[0] == ("1", "2", "3", "4", "5")
    assert rating.tags == ["text"]


def test_nested_objects_refs_min_items_and_max_length() -> None:
    gen = FakeGenerator({"name": ["Ana"], "city": ["Lisbon, the capital of Portugal", "Porto", "Braga"],
                         "mood": ["sad-ish"]}, choose=lambda p, o: "]")
    text, person = fill(Person, gen)
    assert isinstance(person, Person)
    assert person.home.city == "Lisbon, the"  # cut to maxLength 12 and stripped
    assert len(person.previous) == 1  # minItems 1 forced one item, then the model chose "]"
    assert person.mood == "sad"  # the non-null branch of the optional Literal, fuzzy-matched
    assert '"home": {"city": ' in text


def test_string_budget_comes_from_max_length_or_field_defaults() -> None:
    gen = FakeGenerator()
    fill(ActionBatch, gen)
    budgets = {FakeGenerator._key(p): n for p, n, stop in gen.generated if stop == ('"', "\n")}
    assert budgets["content"] == 96 and budgets["target"] == 16 and budgets["goals"] == 48
    gen = FakeGenerator(choose=lambda p, o: "]" if "]" in o else o[0])
    fill(Person, gen)
    city_budget = next(n for p, n, _ in gen.generated if p.endswith('"city": "'))
    assert city_budget == 6  # ceil(12 / 3) + 2


def test_each_value_extends_the_previous_prompt() -> None:
    gen = FakeGenerator()
    fill(ActionBatch, gen, prompt="Lisa's log\nAnswer: ")
    prompts = [p for p, _, _ in gen.generated]
    assert all(prompts[i + 1].startswith(prompts[i]) for i in range(len(prompts) - 1))
    assert prompts[0] == 'Lisa\'s log\nAnswer: {"actions": [{"type": "'


def test_free_form_objects() -> None:
    gen = FakeGenerator()
    empty_ok = {"type": "object", "additionalProperties": {"type": "string"}}
    assert SkeletonFiller(gen).fill("", empty_ok).text == "{}"
    must_have = {"type": "object", "title": "Scores", "additionalProperties": {"type": "integer"},
                 "minProperties": 1}
    with pytest.raises(UnsupportedSchemaError, match="Scores"):
        SkeletonFiller(gen).fill("", must_have)


def test_list_of_strings_top_level_and_const_and_integer_enum() -> None:
    gen = FakeGenerator(default="x", choose=lambda p, o: "," if "," in o else o[0])
    schema = {"type": "object", "properties": {
        "kind": {"const": "survey"},
        "level": {"enum": [1, 2, 3]},
        "words": {"type": "array", "items": {"type": "string"}, "maxItems": 4}}}
    result = SkeletonFiller(gen).fill("", schema)
    assert result.value == {"kind": "survey", "level": 1, "words": ["x", "x", "x", "x"]}
    # level: a guess ("x" matches nothing) and a constrained choice; four strings; three "continue"s
    assert result.calls == 2 + 4 + 3


def test_recursive_schema_stops_at_the_depth_limit() -> None:
    class Node(BaseModel):
        label: str
        child: Node | None = None

    gen = FakeGenerator()
    result = SkeletonFiller(gen, max_depth=4).fill("", Node.model_json_schema())
    node = Node.model_validate_json(result.text)
    depth = 0
    while node.child is not None:
        node, depth = node.child, depth + 1
    assert 0 < depth <= 4
