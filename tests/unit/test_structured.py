"""Parsing, repairing and validating structured answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from tinytroupe.llm.structured import (
    InvalidAnswer,
    load_json,
    parse_answer,
    reask_message,
    schema_for,
    strict_schema,
)


class Item(BaseModel):
    name: str
    qty: int = Field(ge=0)


class Order(BaseModel):
    customer: str
    items: list[Item]
    note: str | None = None


GOOD = '{"customer": "Ana", "items": [{"name": "tea", "qty": 2}]}'


def test_strict_json_is_not_marked_repaired() -> None:
    value, repaired = load_json(GOOD)
    assert value["customer"] == "Ana" and repaired is False
    assert parse_answer(GOOD, Order).items[0] == Item(name="tea", qty=2)


@pytest.mark.parametrize(
    "text",
    [
        '{"customer": "Ana", "items": [{"name": "tea", "qty": 2},],}',  # trailing commas
        '```json\n{"customer": "Ana", "items": [{"name": "tea", "qty": 2}]}\n```',  # fences
        '```\n{"customer": "Ana", "items": [{"name": "tea", "qty": 2}]}\n```',  # bare fences
        'Sure! Here it is:\n{"customer": "Ana", "items": [{"name": "tea", "qty": 2}]}\nEnjoy.',  # prose
        "{'customer': 'Ana', 'items': [{'name': 'tea', 'qty': 2}]}",  # single quotes
    ],
)
def test_common_breakage_is_repaired(text: str) -> None:
    order = parse_answer(text, Order)
    assert order == Order(customer="Ana", items=[Item(name="tea", qty=2)])


def test_a_cut_off_answer_is_not_repaired() -> None:
    # Closing the brackets would accept an order whose further items were lost (issue 9, defect 2).
    with pytest.raises(InvalidAnswer, match="cut off"):
        parse_answer('{"customer": "Ana", "items": [{"name": "tea", "qty": 2}', Order)


def test_fenced_strict_json_needs_no_repair() -> None:
    _, repaired = load_json('```json\n{"a": 1}\n```')
    assert repaired is False
    _, repaired = load_json('{"a": 1,}')
    assert repaired is True


@pytest.mark.parametrize("text", ["", "   ", "I cannot help with that.", "no json here at all"])
def test_text_without_json_is_invalid_not_empty(text: str) -> None:
    with pytest.raises(InvalidAnswer) as info:
        parse_answer(text, Order)
    assert any("JSON" in p for p in info.value.problems)


def test_too_long_answer_is_refused_before_parsing() -> None:
    with pytest.raises(InvalidAnswer, match="characters long; the limit is 100"):
        load_json('{"a": "' + "x" * 200 + '"}', max_chars=100)


def test_too_deep_nesting_is_refused() -> None:
    deep = '{"a": ' * 10 + "1" + "}" * 10
    assert load_json(deep, max_depth=10)[0]["a"]["a"]
    with pytest.raises(InvalidAnswer, match="nested more than 9 levels"):
        load_json(deep, max_depth=9)


@pytest.mark.parametrize("text", ["[" * 5000 + "]" * 5000, '{"a":' * 3000 + "1" + "}" * 3000, "[" * 5000])
def test_pathological_nesting_is_an_invalid_answer_not_a_crash(text: str) -> None:
    # thousands of brackets overflow the parser's recursion; that must still be a re-askable answer
    with pytest.raises(InvalidAnswer, match="nested more than"):
        load_json(text)


def test_validation_errors_name_the_field_path() -> None:
    bad = '{"customer": "Ana", "items": [{"name": "tea", "qty": 2}, {"name": "cake", "qty": -1}]}'
    with pytest.raises(InvalidAnswer) as info:
        parse_answer(bad, Order)
    (problem,) = info.value.problems
    assert problem.startswith("items.1.qty:") and "greater than or equal to 0" in problem and "-1" in problem


def test_missing_field_and_wrong_type_are_both_listed() -> None:
    with pytest.raises(InvalidAnswer) as info:
        parse_answer('{"items": "none"}', Order)
    problems = info.value.problems
    assert any(p.startswith("customer:") and "required" in p.lower() for p in problems)
    assert any(p.startswith("items:") for p in problems)


def test_long_inputs_are_shortened_in_problems() -> None:
    with pytest.raises(InvalidAnswer) as info:
        parse_answer(json.dumps({"customer": 1, "items": "z" * 500}), Order)
    assert all(len(p) < 200 for p in info.value.problems)


def test_top_level_non_object_fails_validation() -> None:
    with pytest.raises(InvalidAnswer, match=r"\(top level\)"):
        parse_answer("[1, 2]", Order)


def test_reask_message_lists_problems_and_schema() -> None:
    msg = reask_message(["items.1.qty: too small", "customer: missing"], schema_for(Order))
    assert "- items.1.qty: too small" in msg and "- customer: missing" in msg
    assert '"customer"' in msg and "JSON" in msg
    assert "schema" not in reask_message(["x"], None)
    many = reask_message([f"problem {i}" for i in range(30)], None)
    assert "problem 9" in many and "problem 10" not in many


def test_strict_schema_closes_every_object() -> None:
    schema = strict_schema(schema_for(Order))
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"customer", "items", "note"}
    item = schema["$defs"]["Item"]
    assert item["additionalProperties"] is False and item["required"] == ["name", "qty"]
    assert "title" not in schema and "default" not in json.dumps(schema)
    assert "title" in schema_for(Order)  # the original is untouched


class Job(BaseModel):
    title: str = Field(title="Job title")
    default: bool = False


def test_strict_schema_keeps_fields_named_title_or_default() -> None:
    # a persona's occupation has a "title" field: dropping it as if it were the schema's annotation made the
    # model unable to answer it, and every answer then failed validation
    schema = strict_schema(schema_for(Job))
    assert set(schema["properties"]) == {"title", "default"} and schema["required"] == ["title", "default"]
    assert "title" not in schema["properties"]["title"] and "default" not in schema["properties"]["default"]


_leaf = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=20)
_json: Any = st.recursive(
    _leaf, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None)
@given(value=st.dictionaries(st.text(max_size=8), _json, max_size=5), fence=st.booleans(),
       prose=st.booleans())
def test_valid_objects_round_trip_through_wrapping(value: dict[str, Any], fence: bool, prose: bool) -> None:
    text = json.dumps(value)
    if fence:
        text = f"```json\n{text}\n```"
    if prose and not fence:
        text = f"Here you go:\n{text}"
    loaded, _ = load_json(text)
    assert loaded == value


def test_schema_is_built_once_per_class() -> None:
    assert schema_for(Order) is schema_for(Order)
    assert schema_for(Item) is not schema_for(Order)
    assert schema_for(Item) == Item.model_json_schema()
