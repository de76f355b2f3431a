"""Canonical request JSON with frozen schemas: the same text (and key) as encoding the whole request."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tinytroupe.agent.actions import action_turn_spec
from tinytroupe.llm import canonical
from tinytroupe.llm.canonical import SpliceMemo, freeze_schema, frozen_text
from tinytroupe.llm.types import LLMRequest, Message


def reference_json(request: LLMRequest, backend: dict[str, Any]) -> str:
    """The canonical text as every earlier version wrote it (what recorded keys were hashed from)."""
    dumped = request.model_dump(mode="json")
    if request.logprob_labels is not None:
        dumped["logprob_labels"] = list(request.logprob_labels)
    if request.tools is not None:
        dumped["tools"] = list(request.tools)
    payload = {"request": dumped, "backend": backend}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                      st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=25)
schemas = st.dictionaries(st.text(max_size=10), json_value, max_size=6)
texts = st.text(max_size=60)  # any characters: quotes, backslashes, NUL, non-ASCII
#: shared by every example below, so a remembered remainder served for different values would show
SHARED_MEMO = SpliceMemo(max_entries=10_000)


@settings(max_examples=300, deadline=None)
@given(schema=schemas, contents=st.lists(texts, min_size=1, max_size=3), model=st.none() | texts,
       temperature=st.none() | st.floats(0, 2), max_tokens=st.none() | st.integers(1, 10**6),
       stop=st.none() | st.lists(texts, max_size=2).map(tuple), seed=st.none() | st.integers(-(2**40), 2**40),
       schema_name=st.none() | texts, backend=st.dictionaries(st.text(max_size=8), json_value, max_size=3),
       labels=st.none() | st.lists(st.sampled_from("ABCD"), min_size=2, max_size=4, unique=True).map(tuple),
       tools=st.none() | st.lists(st.dictionaries(st.text(max_size=6), json_value, max_size=3),
                                  max_size=2).map(tuple))
def test_frozen_schema_gives_the_reference_text(schema: dict[str, Any], contents: list[str], model: str | None,
                                                 temperature: float | None, max_tokens: int | None,
                                                 stop: tuple[str, ...] | None, seed: int | None,
                                                 schema_name: str | None, backend: dict[str, Any],
                                                 labels: tuple[str, ...] | None,
                                                 tools: tuple[dict[str, Any], ...] | None) -> None:
    messages = tuple(Message(role="user", content=c) for c in contents)
    fields = dict(messages=messages, model=model, temperature=temperature, max_tokens=max_tokens, stop=stop,
                  seed=seed, schema_name=schema_name, logprob_labels=labels, tools=tools)
    frozen = freeze_schema(copy.deepcopy(schema))
    fast = LLMRequest(**fields, response_schema=frozen)  # type: ignore[arg-type]
    plain = LLMRequest(**fields, response_schema=copy.deepcopy(schema))  # type: ignore[arg-type]
    assert fast.response_schema is frozen  # kept by identity, so its text is found
    assert frozen_text(plain.response_schema) is None
    assert fast.canonical_json(backend) == reference_json(plain, backend) == plain.canonical_json(backend)
    assert fast.canonical_json(backend, SHARED_MEMO) == reference_json(plain, backend)
    assert plain.canonical_json(backend, SHARED_MEMO) == reference_json(plain, backend)
    schemaless = LLMRequest(**fields)  # type: ignore[arg-type]
    assert schemaless.canonical_json(backend, SHARED_MEMO) == reference_json(schemaless, backend)
    expected_key = hashlib.sha256(reference_json(plain, backend).encode("utf-8")).hexdigest()
    assert fast.cache_key(backend) == expected_key == plain.cache_key(backend, SHARED_MEMO)


def test_a_remembered_remainder_is_never_served_for_values_that_are_equal_but_written_differently() -> None:
    memo = SpliceMemo()
    msg = (Message(role="user", content="hi"),)
    schema = freeze_schema({"type": "object"})
    # 1 == 1.0 == True and 0.0 == -0.0 in Python, but each is written differently in JSON
    for temperature, backend in ((1, {"v": 1}), (1.0, {"v": 1.0}), (0.0, {"v": True}), (-0.0, {"v": -0.0}),
                                 (1, {"v": 1})):
        request = LLMRequest(messages=msg, temperature=temperature, response_schema=schema)
        assert request.canonical_json(backend, memo) == reference_json(request, backend)
        assert request.cache_key(backend, memo) == LLMRequest(messages=msg, temperature=temperature,
                                                              response_schema=schema).cache_key(backend)


def test_a_request_keyed_for_another_backend_is_keyed_afresh() -> None:
    request = LLMRequest(messages=(Message(role="user", content="hi"),))
    first = request.cache_key({"v": 1})
    # equal to the first identity in Python, written differently in JSON: another key
    assert request.cache_key({"v": 1.0}) != first
    assert request.cache_key({"v": 1}) == first


def test_the_splice_memo_forgets_its_oldest_remainder_when_full() -> None:
    memo = SpliceMemo(max_entries=2)
    for model in ("a", "b", "c"):
        request = LLMRequest(messages=(Message(role="user", content="hi"),), model=model)
        assert request.canonical_json({}, memo) == reference_json(request, {})
    assert len(memo._entries) == 2


def test_a_callers_own_schema_changed_between_calls_changes_the_key() -> None:
    schema: dict[str, Any] = {"type": "object", "properties": {"x": {"enum": ["a"]}}}
    msg = (Message(role="user", content="hi"),)
    first = LLMRequest(messages=msg, response_schema=schema).cache_key()
    schema["properties"]["x"]["enum"] = ["b"]  # changed in place, as a caller may do
    assert LLMRequest(messages=msg, response_schema=schema).cache_key() != first


def test_turn_schemas_are_frozen_and_shared_by_identity() -> None:
    spec = action_turn_spec(("TALK", "DONE"), 2, targets=("", "Ana"))
    assert frozen_text(spec.schema) == canonical.encode(spec.schema)
    request = LLMRequest(messages=(Message(role="user", content="x"),), response_schema=spec.schema)
    assert request.response_schema is spec.schema


def test_forgotten_frozen_schemas_are_encoded_afresh(monkeypatch: Any) -> None:
    monkeypatch.setattr(canonical, "MAX_FROZEN", 2)
    monkeypatch.setattr(canonical, "_frozen", {})
    a, b, c = (freeze_schema({"n": i}) for i in range(3))
    assert frozen_text(a) is None and frozen_text(b) == '{"n":1}' and frozen_text(c) == '{"n":2}'
    request = LLMRequest(messages=(Message(role="user", content="x"),), response_schema=a)
    assert request.canonical_json() == reference_json(request, {})


def test_messages_with_tool_calls_and_images_keep_the_reference_text() -> None:
    from tinytroupe.llm.types import ImagePart, ToolCallRequest

    messages = (Message(role="user", content="look \u2028 \x00 \"q\" \\", images=(
                    ImagePart(url="data:image/png;base64,iVBORw0K", detail="low"),)),
                Message(role="assistant", content="", tool_calls=(ToolCallRequest(id="c1", name="f",
                                                                                  arguments='{"a": 1.5e-05}'),)),
                Message(role="tool", content="r\u00e9sum\u00e9 \U0001F600", tool_call_id="c1"))
    for schema in (None, freeze_schema({"type": "object"}), {"type": "object"}):
        request = LLMRequest(messages=messages, response_schema=schema, temperature=1e-05, seed=2**40)
        assert request.canonical_json({"k": 0.5}) == reference_json(request, {"k": 0.5})


def test_a_lone_surrogate_in_a_message_is_encoded_as_before() -> None:
    request = LLMRequest(messages=(Message(role="user", content="bad \ud800 text"),))
    assert request.canonical_json() == reference_json(request, {})


def test_a_field_that_reads_like_a_splice_mark_keeps_the_reference_text() -> None:
    for name in ("messages", "response_schema", "other"):
        mark = f"\x00tinytroupe-canonical:{name}\x00"
        request = LLMRequest(messages=(Message(role="user", content=mark),), model=mark, schema_name=mark,
                             stop=(mark,), response_schema=freeze_schema({"enum": [mark]}))
        assert request.canonical_json({"m": mark}) == reference_json(request, {"m": mark})
        assert request.canonical_json({"m": mark}, SpliceMemo()) == reference_json(request, {"m": mark})


any_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=8))
any_json = st.recursive(any_json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.tuples(inner, inner),
    st.dictionaries(st.one_of(st.text(max_size=4), st.integers(-3, 3)), inner, max_size=3)), max_leaves=12)


def _encoded(value: Any) -> str:
    try:
        return canonical.encode(value)
    except TypeError as exc:  # keys of mixed types cannot be sorted: no text, as no key is made for them
        return f"refused: {exc}"


@settings(max_examples=500, deadline=None)
@given(a=any_json, b=any_json)
def test_equal_value_keys_are_equal_json_texts(a: Any, b: Any) -> None:
    # NaN, infinities, -0.0, 1 against 1.0 and True, integer keys against string ones: the memo key
    # of a backend identity may only be shared by values written alike
    for x, y in ((a, b), (a, copy.deepcopy(a)), ({"v": a}, {"v": b})):
        if canonical.value_key(x) == canonical.value_key(y):
            assert _encoded(x) == _encoded(y)
    assert canonical.value_key(a) == canonical.value_key(copy.deepcopy(a))


def test_equal_identities_written_differently_get_their_own_keys() -> None:
    request = LLMRequest(messages=(Message(role="user", content="hi"),))
    keys = {request.cache_key(ident) for ident in ({"v": 1}, {"v": 1.0}, {"v": True}, {"v": 0.0}, {"v": -0.0},
                                                   {"v": None}, {"v": float("nan")}, {"v": 2**70})}
    assert len(keys) == 8


def test_a_shared_system_message_is_written_from_the_memo_as_the_reference_has_it() -> None:
    memo = SpliceMemo(max_texts=2)
    systems = [Message(role="system", content=f"You are agent {i} \u00e9 \"q\"") for i in range(3)]
    for turn in range(3):
        for system in systems:
            request = LLMRequest(messages=(system, Message(role="user", content=f"turn {turn}")))
            assert request.canonical_json({}, memo) == reference_json(request, {})
            assert request.cache_key({}, memo) == hashlib.sha256(
                reference_json(request, {}).encode("utf-8")).hexdigest()
    assert len(memo._texts) == 2  # the oldest forgotten first; user messages never kept
