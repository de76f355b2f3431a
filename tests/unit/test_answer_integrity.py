"""Cut-off, invalid and repaired answers: re-asked, never accepted as valid, never cached (issue 9, defect 2)."""

from __future__ import annotations

import json
import logging
import sqlite3

import pytest
from helpers import turn
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from tinytroupe.agent.actions import action_batch_model
from tinytroupe.errors import LLMOutputError, StorageError
from tinytroupe.llm import LLMClient, ScriptedBackend
from tinytroupe.llm.cache import CacheWrapper, ResponseCache
from tinytroupe.llm.structured import InvalidAnswer, cut_off_problem, parse_answer, storable, strict_value
from tinytroupe.llm.types import Completion, LLMRequest, Message


class Preference(BaseModel):
    preference: str
    reason: str


ACTION_ANSWER = json.dumps(turn(("TALK", "I would pay about 20 euros, if it keeps water cold.", "Moderator"),
                                ("THINK", "Is it worth it? {maybe} [not sure]"),
                                goals="answer honestly", attention="the bottle"))

MESSAGES = [{"role": "user", "content": "Remote or office?"}]


def test_every_proper_prefix_of_an_action_answer_is_refused() -> None:
    # The defect: 335 of 382 prefixes of an action answer passed validation after repair.
    model = action_batch_model(("TALK", "THINK", "DONE"), 4)
    assert parse_answer(ACTION_ANSWER, model)  # the whole answer is fine
    accepted = []
    for n in range(1, len(ACTION_ANSWER)):
        try:
            parse_answer(ACTION_ANSWER[:n], model)
        except InvalidAnswer:
            continue
        accepted.append(n)
    assert accepted == []


def test_the_reported_cut_off_answer_is_refused_with_a_reason() -> None:
    with pytest.raises(InvalidAnswer) as info:
        parse_answer('{"preference":"remote","reason":"Mo', Preference)
    assert any("cut off" in p for p in info.value.problems)


@pytest.mark.parametrize("text", [
    '{"preference": "remote", "reason": "quiet",}',           # trailing comma
    "{'preference': 'remote', 'reason': 'quiet'}",             # single quotes
    '```json\n{"preference": "remote", "reason": "quiet"}\n```',  # fences
    'Sure! {"preference": "remote", "reason": "quiet"} Hope that helps.',  # prose around
])
def test_syntax_is_still_repaired(text: str) -> None:
    assert parse_answer(text, Preference).reason == "quiet"


@given(st.text(max_size=60).filter(lambda s: '"' not in s and "\\" not in s))
def test_a_cut_inside_any_string_value_is_detected(value: str) -> None:
    whole = json.dumps({"preference": "remote", "reason": value + "!"})
    cut = whole[: whole.rindex("!")]
    assert cut_off_problem(cut) is not None


def test_strict_value_refuses_what_needs_repair() -> None:
    assert strict_value('{"preference": "a", "reason": "b"}', Preference) is not None
    assert strict_value('{"preference": "a", "reason": "b",}', Preference) is None
    assert strict_value('{"preference": "a"}', Preference) is None


def _request(model: type[BaseModel] | None = Preference) -> LLMRequest:
    return LLMRequest(messages=(Message(role="user", content="q"),), response_model=model)


@pytest.mark.parametrize("completion, expected", [
    (Completion(text='{"preference": "a", "reason": "b"}', model="m"), True),
    (Completion(text='{"preference": "a", "reason": "b"}', model="m", finish_reason="length"), False),
    (Completion(text='{"preference": "a", "reason": "b",}', model="m"), False),
    (Completion(text='{"preference": "a", "reason": "b', model="m"), False),
    (Completion(text='{"wrong": 1}', model="m"), False),
])
def test_only_answers_valid_as_they_stand_are_storable(completion: Completion, expected: bool) -> None:
    assert storable(_request(), completion) is expected


def test_free_text_is_storable() -> None:
    assert storable(_request(None), Completion(text="hello", model="m"))


def test_finish_reason_length_is_re_asked_even_when_the_text_parses() -> None:
    whole = '{"preference": "remote", "reason": "quiet"}'
    backend = ScriptedBackend([Completion(text=whole, model="m", finish_reason="length"), whole])
    result = LLMClient(backend, max_reasks=1).complete(MESSAGES, response_model=Preference)
    assert result.value.reason == "quiet" and backend.calls == 2
    reask = backend.requests[1].messages[-1].content
    assert "cut off" in reask


def test_cut_off_answers_that_never_end_raise_with_the_raw_text() -> None:
    cut = '{"preference":"remote","reason":"Mo'
    backend = ScriptedBackend([cut], cycle=True)
    with pytest.raises(LLMOutputError) as info:
        LLMClient(backend, max_reasks=2).complete(MESSAGES, response_model=Preference)
    assert info.value.raw_text == cut and info.value.attempts == 3
    assert any("cut off" in e for e in info.value.errors)


def test_cut_off_invalid_and_repaired_answers_are_never_cached(tmp_path) -> None:
    good = '{"preference": "office", "reason": "people"}'
    replies = ['{"preference":"remote","reason":"Mo', '{"preference": "remote", "reason": "quiet",}', good]
    cache = ResponseCache(tmp_path / "cache.sqlite")
    backend = ScriptedBackend(replies)
    client = LLMClient(CacheWrapper(backend, cache), max_reasks=2)
    first = client.complete(MESSAGES, response_model=Preference)
    assert first.value.reason == "quiet"  # the repaired answer is used for this call ...
    assert len(cache) == 0  # ... but neither it nor the cut-off one was stored
    wrapper = client.backend.find(CacheWrapper)
    assert isinstance(wrapper, CacheWrapper) and wrapper.rejected == 2
    # A re-run asks the model again instead of being served a guess.
    again = client.complete(MESSAGES, response_model=Preference)
    assert again.value.reason == "people" and not again.cached and backend.calls == 3
    assert len(cache) == 1  # the valid answer is stored
    cache.close()


def test_a_full_disk_keeps_paid_answers_in_memory_and_warns(tmp_path, caplog) -> None:
    cache = ResponseCache(tmp_path / "cache.sqlite")
    assert len(cache) == 0  # opens the file
    conn = cache._conn
    assert conn is not None
    # SQLite's own limit stands in for a full disk: writes fail with SQLITE_FULL.
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    backend = ScriptedBackend(['{"preference": "office", "reason": "' + "x" * 20_000 + '"}'])
    client = LLMClient(CacheWrapper(backend, cache))
    with caplog.at_level(logging.WARNING):
        first = client.complete(MESSAGES, response_model=Preference)
        second = client.complete(MESSAGES, response_model=Preference)
    assert first.value == second.value and second.cached and backend.calls == 1
    warnings = [r.getMessage() for r in caplog.records if "could not store" in r.getMessage()]
    assert len(warnings) == 1 and "full" in warnings[0]
    cache.close()


def test_an_unreadable_cache_answers_live(tmp_path, caplog) -> None:
    class Broken(ResponseCache):
        def get(self, key: str) -> Completion | None:
            raise StorageError("the LLM response cache is damaged", cause_kind="corrupt")

    backend = ScriptedBackend(["live answer"])
    client = LLMClient(CacheWrapper(backend, Broken(tmp_path / "c.sqlite")))
    with caplog.at_level(logging.WARNING):
        assert client.complete(MESSAGES).value == "live answer"
    assert any("could not be read" in r.getMessage() for r in caplog.records)


def test_sqlite_errors_from_the_cache_never_reach_the_caller(tmp_path) -> None:
    class Locked(ResponseCache):
        def put(self, key: str, completion: Completion) -> None:
            raise sqlite3.OperationalError("database is locked")

    client = LLMClient(CacheWrapper(ScriptedBackend(["ok"]), Locked(tmp_path / "c.sqlite")))
    assert client.complete(MESSAGES).value == "ok"
