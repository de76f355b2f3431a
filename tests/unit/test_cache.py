"""The SQLite response cache and the cache wrapper."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import run_in_threads
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from tinytroupe.errors import ConfigError, LLMTransportError, StorageError
from tinytroupe.llm import CallContext, LLMClient, LLMRequest, Message, ScriptedBackend
from tinytroupe.llm.cache import SCHEMA_VERSION, TOUCH_FLUSH_EVERY, CacheWrapper, ResponseCache
from tinytroupe.llm.types import Completion, Usage


def _completion(text: str = "hello", **kw: object) -> Completion:
    return Completion(text=text, model="m", backend="scripted",
                      usage=Usage(prompt_tokens=3, completion_tokens=2), **kw)


def _request(content: str = "hi", **kw: object) -> LLMRequest:
    return LLMRequest(messages=(Message(role="user", content=content),), **kw)


CTX = CallContext()
CacheFactory = Callable[..., ResponseCache]


@pytest.fixture
def new_cache() -> Iterator[CacheFactory]:
    """Makes caches (in memory by default) and closes them after the test."""
    made: list[ResponseCache] = []

    def make(path: str | Path = ":memory:", **kw: int) -> ResponseCache:
        cache = ResponseCache(path, **kw)
        made.append(cache)
        return cache

    yield make
    for cache in made:
        cache.close()


# -- ResponseCache --------------------------------------------------------------------------------


def test_get_put_hits_and_misses(new_cache: CacheFactory) -> None:
    cache = new_cache(":memory:")
    assert cache.get("a") is None
    cache.put("a", _completion("x"))
    got = cache.get("a")
    assert got is not None and got.text == "x" and got.usage.total_tokens == 5
    stats = cache.stats()
    assert stats["hits"] == 1 and stats["misses"] == 1 and stats["entries"] == 1
    assert stats["bytes"] == len(_completion("x").model_dump_json().encode()) + 1


def test_put_replaces_and_keeps_byte_total_exact(new_cache: CacheFactory) -> None:
    cache = new_cache(":memory:")
    cache.put("a", _completion("short"))
    cache.put("a", _completion("a much longer answer " * 10))
    stats = cache.stats()
    assert stats["entries"] == 1
    assert stats["bytes"] == len(_completion("a much longer answer " * 10).model_dump_json()) + 1
    assert cache.get("a").text.startswith("a much longer")  # type: ignore[union-attr]


def test_stores_json_never_pickle(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with ResponseCache(path) as cache:
        cache.put("k", _completion("hello"))
    conn = sqlite3.connect(path)
    (raw,) = conn.execute("SELECT completion FROM responses WHERE key = 'k'").fetchone()
    (version,) = conn.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
    (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
    conn.close()
    assert json.loads(raw)["text"] == "hello"
    assert int(version) == SCHEMA_VERSION
    assert mode == "wal"


def test_file_is_opened_lazily(new_cache: CacheFactory, tmp_path: Path) -> None:
    path = tmp_path / "sub" / "cache.sqlite"
    cache = new_cache(path)
    assert not path.exists() and not path.parent.exists()
    assert cache.get("nothing") is None
    assert path.exists()
    cache.close()


def test_lru_eviction_by_entries_removes_least_recently_used(new_cache: CacheFactory) -> None:
    cache = new_cache(":memory:", max_entries=3)
    for k in "abc":
        cache.put(k, _completion(k))
    assert cache.get("a") is not None  # a is now more recent than b and c
    cache.put("d", _completion("d"))
    assert "b" not in cache
    assert all(k in cache for k in "acd")
    cache.get("c")
    cache.put("e", _completion("e"))
    assert "a" not in cache and all(k in cache for k in "cde")
    assert cache.stats()["evictions"] == 2 and cache.stats()["entries"] == 3


def test_lru_eviction_by_bytes(new_cache: CacheFactory) -> None:
    one = len(_completion("x" * 100).model_dump_json()) + 1
    cache = new_cache(":memory:", max_bytes=3 * one + 10)
    for k in "abc":
        cache.put(k, _completion("x" * 100))
    cache.get("a")
    cache.put("d", _completion("x" * 100))
    assert "b" not in cache and all(k in cache for k in "acd")
    assert cache.stats()["bytes"] <= 3 * one + 10
    # One big entry pushes out several small ones, least recently used first.
    cache.get("c")
    cache.get("a")
    cache.put("big", _completion("x" * (2 * 100 + 50)))
    assert "d" not in cache and "c" not in cache and "a" in cache and "big" in cache
    assert cache.stats()["bytes"] <= 3 * one + 10


def test_completion_bigger_than_the_whole_cache_is_not_stored(new_cache: CacheFactory) -> None:
    cache = new_cache(":memory:", max_bytes=200)
    cache.put("small", _completion("s"))
    cache.put("huge", _completion("x" * 1000))
    assert "huge" not in cache and "small" in cache


def test_lru_order_survives_reopen(new_cache: CacheFactory, tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    cache = new_cache(path, max_entries=2)
    cache.put("a", _completion("a"))
    cache.put("b", _completion("b"))
    cache.get("a")  # touch kept in memory, written on close
    cache.close()
    reopened = new_cache(path, max_entries=2)
    reopened.put("c", _completion("c"))
    assert "b" not in reopened and "a" in reopened and "c" in reopened
    reopened.close()


def test_hits_do_not_write_until_a_flush(new_cache: CacheFactory) -> None:
    cache = new_cache(":memory:")
    cache.put("a", _completion())
    assert cache._conn is not None
    writes = cache._conn.total_changes
    for _ in range(TOUCH_FLUSH_EVERY - 1):
        assert cache.get("a") is not None
    assert cache._conn.total_changes == writes  # the hit path stays read-only
    cache.get("a")  # the batch is full: one write of the pending touch
    assert cache._conn.total_changes == writes + 1


def test_persistence_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with ResponseCache(path) as cache:
        cache.put("k", _completion("persisted"))
    with ResponseCache(path) as again:
        got = again.get("k")
        assert got is not None and got.text == "persisted"
        assert again.stats()["entries"] == 1


def test_clear_and_close_then_reuse(new_cache: CacheFactory, tmp_path: Path) -> None:
    cache = new_cache(tmp_path / "c.sqlite")
    cache.put("a", _completion())
    cache.clear()
    assert cache.stats()["entries"] == 0 and cache.stats()["bytes"] == 0
    cache.close()
    cache.put("b", _completion())  # opens again
    assert "b" in cache
    cache.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with ResponseCache(path) as cache:
        cache.put("a", _completion())
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '999' WHERE name = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(ConfigError, match="newer tinytroupe"):
        ResponseCache(path).get("a")


def test_not_a_database_is_a_storage_error_saying_it_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StorageError, match="file is not a database; the file is damaged") as caught:
        ResponseCache(path).get("a")
    assert caught.value.cause_kind == "corrupt" and caught.value.path == str(path)


def test_unreadable_row_is_dropped_and_counted_as_miss(new_cache: CacheFactory) -> None:
    cache = new_cache(":memory:")
    cache.put("a", _completion())
    assert cache._conn is not None
    cache._conn.execute("UPDATE responses SET completion = '{\"nope\": 1}' WHERE key = 'a'")
    assert cache.get("a") is None
    assert "a" not in cache and cache.stats()["misses"] == 1


def test_thread_safety(new_cache: CacheFactory) -> None:
    cache = new_cache(":memory:", max_entries=50)

    def work(n: int) -> None:
        for i in range(100):
            cache.put(f"{n}-{i}", _completion(str(i)))
            cache.get(f"{n}-{i}")
            cache.get(f"{n}-{i - 1}")

    assert run_in_threads(work, 6) == []
    stats = cache.stats()
    assert stats["entries"] == 50 and stats["evictions"] == 600 - 50
    assert stats["hits"] + stats["misses"] == 1200


# -- cache keys -----------------------------------------------------------------------------------


class _Answer(BaseModel):
    score: int


def test_cache_key_is_sensitive_to_what_decides_the_answer() -> None:
    ident = {"backend": "scripted", "model": "m"}
    base = _request().cache_key(ident)
    variants = [
        _request(model="other").cache_key(ident),
        _request(temperature=0.7).cache_key(ident),
        _request(seed=1).cache_key(ident),
        _request(max_tokens=10).cache_key(ident),
        _request(response_schema=_Answer.model_json_schema(), schema_name="_Answer").cache_key(ident),
        _request("hi!").cache_key(ident),
        _request().cache_key({"backend": "scripted", "model": "m2"}),
        _request().cache_key({"backend": "openai", "model": "m", "base_url": "http://127.0.0.1:1"}),
    ]
    assert len({base, *variants}) == len(variants) + 1
    assert _request(temperature=0.7).cache_key(ident) != _request(temperature=0.8).cache_key(ident)


_KNOWN_KEY_SCRIPT = """
from tinytroupe.llm import LLMRequest, Message
req = LLMRequest(messages=(Message(role="system", content="Be brief."), Message(role="user", content="hi")),
                 model="gpt-4o-mini", temperature=0.0, max_tokens=16)
print(req.cache_key({"backend": "openai", "model": "gpt-4o-mini"}))
"""

_KNOWN_CANONICAL = (
    '{"backend":{"backend":"openai","model":"gpt-4o-mini"},"request":{"max_tokens":16,"messages":'
    '[{"content":"Be brief.","role":"system"},{"content":"hi","role":"user"}],"model":"gpt-4o-mini",'
    '"response_schema":null,"schema_name":null,"seed":null,"stop":null,"temperature":0.0,"top_p":null}}'
)


def test_cache_key_is_stable_across_processes() -> None:
    # The key must not depend on the process (hash seeds, dict order): compute it in two
    # processes with different hash seeds and compare with the written-down canonical form.
    keys = {
        subprocess.run([sys.executable, "-c", _KNOWN_KEY_SCRIPT], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip()
        for seed in ("1", "2")
    }
    assert keys == {hashlib.sha256(_KNOWN_CANONICAL.encode()).hexdigest()}
    msgs = (Message(role="system", content="Be brief."), Message(role="user", content="hi"))
    req = LLMRequest(messages=msgs,
                     model="gpt-4o-mini", temperature=0.0, max_tokens=16)
    assert req.canonical_json({"model": "gpt-4o-mini", "backend": "openai"}) == _KNOWN_CANONICAL


def test_cache_key_ignores_the_response_model_class() -> None:
    schema = _Answer.model_json_schema()
    a = _request(response_schema=schema, schema_name="_Answer", response_model=_Answer)
    b = _request(response_schema=schema, schema_name="_Answer")
    assert a.cache_key() == b.cache_key()


_text = st.text(max_size=40)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | _text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_text, children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None)
@given(
    contents=st.lists(st.tuples(st.sampled_from(["system", "user", "assistant"]), _text),
                      min_size=1, max_size=4),
    temperature=st.none() | st.floats(min_value=0, max_value=2, allow_nan=False),
    identity=st.dictionaries(_text, _json_values, max_size=4),
)
def test_cache_key_is_deterministic_and_canonical(
    contents: list[tuple[str, str]], temperature: float | None, identity: dict[str, object]
) -> None:
    msgs = tuple(Message(role=r, content=c) for r, c in contents)
    req = LLMRequest(messages=msgs, temperature=temperature)
    rebuilt = LLMRequest.model_validate_json(req.model_dump_json())
    shuffled_identity = dict(reversed(list(identity.items())))
    assert req.cache_key(identity) == rebuilt.cache_key(shuffled_identity)
    canonical = req.canonical_json(identity)
    assert json.loads(canonical) == {"request": req.model_dump(mode="json"), "backend": identity}
    # canonical = sorted keys, no whitespace between tokens: re-serialising changes nothing
    assert canonical == json.dumps(json.loads(canonical), sort_keys=True, separators=(",", ":"),
                                   ensure_ascii=False)


# -- CacheWrapper ---------------------------------------------------------------------------------


async def test_wrapper_hit_and_miss(new_cache: CacheFactory) -> None:
    backend = ScriptedBackend(["one", "two"])
    wrapper = CacheWrapper(backend, new_cache(":memory:"))
    first = await wrapper.generate(_request(), CTX)
    second = await wrapper.generate(_request(), CTX)
    assert (first.text, first.cached) == ("one", False)
    assert (second.text, second.cached) == ("one", True)
    assert second.usage == first.usage
    third = await wrapper.generate(_request("other"), CTX)
    assert third.text == "two" and not third.cached
    assert backend.calls == 2 and (wrapper.hits, wrapper.misses) == (1, 2)


async def test_wrapper_keys_include_backend_identity(new_cache: CacheFactory) -> None:
    cache = new_cache(":memory:")
    a = CacheWrapper(ScriptedBackend(["from a"], model="a"), cache)
    b = CacheWrapper(ScriptedBackend(["from b"], model="b"), cache)
    assert (await a.generate(_request(), CTX)).text == "from a"
    got = await b.generate(_request(), CTX)
    assert got.text == "from b" and not got.cached


async def test_failed_calls_are_never_cached(new_cache: CacheFactory) -> None:
    backend = ScriptedBackend([LLMTransportError("boom", retryable=True), "fine"])
    wrapper = CacheWrapper(backend, new_cache(":memory:"))
    with pytest.raises(LLMTransportError, match="boom"):
        await wrapper.generate(_request(), CTX)
    assert wrapper.cache.stats()["entries"] == 0
    got = await wrapper.generate(_request(), CTX)
    assert got.text == "fine" and not got.cached and backend.calls == 2


async def test_concurrent_identical_requests_pay_once(new_cache: CacheFactory) -> None:
    backend = ScriptedBackend(["answer", "second answer"], latency_s=0.05)
    wrapper = CacheWrapper(backend, new_cache(":memory:"))
    results = await asyncio.gather(*(wrapper.generate(_request(), CTX) for _ in range(10)))
    assert backend.calls == 1
    assert {r.text for r in results} == {"answer"}
    assert sum(not r.cached for r in results) == 1
    assert (wrapper.hits, wrapper.misses) == (9, 1)


async def test_concurrent_identical_requests_share_a_failure(new_cache: CacheFactory) -> None:
    backend = ScriptedBackend([LLMTransportError("down"), "ok"], latency_s=0.02)
    wrapper = CacheWrapper(backend, new_cache(":memory:"))
    results = await asyncio.gather(*(wrapper.generate(_request(), CTX) for _ in range(3)),
                                   return_exceptions=True)
    assert all(isinstance(r, LLMTransportError) for r in results)
    assert backend.calls == 1 and wrapper.cache.stats()["entries"] == 0
    assert (await wrapper.generate(_request(), CTX)).text == "ok"


async def _leader_and_follower(wrapper: CacheWrapper) -> tuple[asyncio.Task[Completion], asyncio.Task[Completion]]:
    """Two identical calls: the second waits for the first's answer (the first still in flight)."""
    leader = asyncio.create_task(wrapper.generate(_request(), CTX))
    await asyncio.sleep(0.01)
    follower = asyncio.create_task(wrapper.generate(_request(), CTX))
    await asyncio.sleep(0.01)
    return leader, follower


async def test_a_cancelled_leader_does_not_cancel_the_followers(new_cache: CacheFactory) -> None:
    backend = ScriptedBackend(["slow"], latency_s=0.05)
    wrapper = CacheWrapper(backend, new_cache(":memory:"))
    leader, follower = await _leader_and_follower(wrapper)
    leader.cancel()
    got = await follower
    assert leader.cancelled()
    # the cancelled call never took its scripted reply, so the follower (now the caller) gets it
    assert got.text == "slow" and not got.cached and backend.calls == 2


async def test_a_follower_cancelled_with_its_leader_stays_cancelled(new_cache: CacheFactory) -> None:
    # Cancelled together (a step or a run stopped): the follower must not take its leader's place and
    # pay for a call whose answer nobody waits for.
    backend = ScriptedBackend(["slow", "again"], latency_s=0.05)
    wrapper = CacheWrapper(backend, new_cache(":memory:"))
    leader, follower = await _leader_and_follower(wrapper)
    leader.cancel()
    follower.cancel()
    await asyncio.gather(leader, follower, return_exceptions=True)
    assert leader.cancelled() and follower.cancelled()
    assert backend.calls == 1 and wrapper.misses == 1


def test_client_over_cache_reports_cached_and_charges_nothing(tmp_path: Path) -> None:
    backend = ScriptedBackend(['{"score": 3}'])
    client = LLMClient(CacheWrapper(backend, ResponseCache(tmp_path / "c.sqlite")))
    events: list[object] = []
    client.bus.subscribe(events.append, kinds=["llm_call"])
    first = client.complete([{"role": "user", "content": "rate"}], response_model=_Answer)
    second = client.complete([{"role": "user", "content": "rate"}], response_model=_Answer)
    assert first.value == second.value == _Answer(score=3)
    assert (first.cached, second.cached) == (False, True)
    assert [e.cache_hit for e in events] == [False, True]  # type: ignore[attr-defined]
    total = client.get_cost_stats()["total"]
    assert total["calls"] == 2 and total["cached_calls"] == 1
    assert total["total_tokens"] == first.usage.total_tokens
    client.close()


def test_replay_from_a_warm_cache_file_without_the_model(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    warm = LLMClient(CacheWrapper(ScriptedBackend(["remembered"]), ResponseCache(path)))
    assert warm.complete([{"role": "user", "content": "q"}]).value == "remembered"
    warm.close()
    cold_backend = ScriptedBackend([])  # would fail if called
    replay = LLMClient(CacheWrapper(cold_backend, ResponseCache(path)))
    again = replay.complete([{"role": "user", "content": "q"}])
    assert again.value == "remembered" and again.cached and cold_backend.calls == 0
    replay.close()


# -- read-ahead for replays ----------------------------------------------------------------------


async def test_prefetched_answers_are_served_from_one_read(new_cache: CacheFactory,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    cache = new_cache(":memory:")
    backend = ScriptedBackend(["never"])
    wrapper = CacheWrapper(backend, cache)
    requests = [_request(f"q{i}") for i in range(3)]
    keys = [r.cache_key(backend.identity()) for r in requests]
    for i, key in enumerate(keys):
        cache.put(key, _completion(f"a{i}"))
    wrapper.prefetch([*keys, "not-stored"])

    def one_by_one(key: str) -> None:
        raise AssertionError("a prefetched answer was read again by key")

    monkeypatch.setattr(cache, "get", one_by_one)
    answers = [await wrapper.generate(r, CTX) for r in requests]
    assert [(a.text, a.cached) for a in answers] == [("a0", True), ("a1", True), ("a2", True)]
    assert backend.calls == 0 and wrapper.hits == 3 and cache.stats()["hits"] == 3
    assert cache._touches.keys() == set(keys)  # served answers count as used for the LRU order
    monkeypatch.undo()
    # served once each: asked again, the answer comes from the file as usual
    assert (await wrapper.generate(requests[0], CTX)).text == "a0" and cache.stats()["hits"] == 4


async def test_a_damaged_prefetched_row_is_dropped_and_asked_afresh(new_cache: CacheFactory) -> None:
    cache = new_cache(":memory:")
    backend = ScriptedBackend(["fresh"])
    wrapper = CacheWrapper(backend, cache)
    request = _request("q")
    key = request.cache_key(backend.identity())
    cache.put(key, _completion("old"))
    assert cache._conn is not None
    cache._conn.execute("UPDATE responses SET completion = '{\"nope\": 1}' WHERE key = ?", (key,))
    wrapper.prefetch([key])
    answer = await wrapper.generate(request, CTX)
    assert (answer.text, answer.cached) == ("fresh", False) and backend.calls == 1


def test_prefetch_is_bounded(new_cache: CacheFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    from tinytroupe.llm.cache import wrapper as wrapper_module

    monkeypatch.setattr(wrapper_module, "MAX_PREFETCH", 4)
    wrapper = CacheWrapper(ScriptedBackend(["x"]), new_cache(":memory:"))
    wrapper.prefetch(f"k{i}" for i in range(10))
    wrapper.prefetch(["more"])
    assert wrapper._prefetch_keys == ["k0", "k1", "k2", "k3"]


async def test_hits_never_share_an_answer_object(new_cache: CacheFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # one answer from the file (read afresh each time, marked in place), one kept in memory because
    # the file refused it (copied for each hit): no caller's result is another's, or the kept one
    cache = new_cache(":memory:")
    backend = ScriptedBackend(["stored", "kept"])
    wrapper = CacheWrapper(backend, cache)
    stored_request = _request("from the file")
    paid = await wrapper.generate(stored_request, CTX)

    def refuse(key: str, completion: Completion) -> None:
        raise StorageError("database or disk is full", cause_kind="disk_full")

    monkeypatch.setattr(cache, "put", refuse)
    kept_request = _request("kept in memory")
    kept_paid = await wrapper.generate(kept_request, CTX)
    wrapper.prefetch([stored_request.cache_key(backend.identity())])
    for request, first in ((stored_request, paid), (kept_request, kept_paid)):
        hits = [await wrapper.generate(request, CTX) for _ in range(2)]
        assert hits[0] is not hits[1] and all(h is not first for h in hits)
        assert all(h.cached and h.attempts == 1 and h.latency_s >= 0 and h.text == first.text for h in hits)
        assert all({"cached", "attempts", "latency_s"} <= h.model_fields_set for h in hits)
        assert not first.cached  # the paid answer (the one kept in memory, too) is never marked
    assert backend.calls == 2 and (wrapper.hits, wrapper.misses) == (4, 2)
    assert not wrapper._unsaved[kept_request.cache_key(backend.identity())].cached


class _Count(BaseModel):
    n: int


def test_requests_and_completions_keep_their_memos_without_declared_private_attributes() -> None:
    request = LLMRequest(messages=(Message(role="user", content="hi"),))
    answer = Completion(text='{"n": 1}', model="m")
    # nothing declared: pydantic runs no private-attribute hook for each (a request and an answer per call)
    assert request.__pydantic_private__ is None
    assert Completion.model_validate_json(answer.model_dump_json()).__pydantic_private__ is None
    key = request.cache_key({"backend": "x"})
    fresh = LLMRequest(messages=request.messages)
    assert request.cache_key({"backend": "x"}) == key == fresh.cache_key({"backend": "x"})
    assert request.cache_key({"backend": "y"}) != key  # remembered for one identity only
    assert request.model_dump() == LLMRequest(messages=request.messages).model_dump()
    value = _Count(n=1)
    answer.mark_checked(_Count, None, value)
    # as a declared private attribute: copied with the answer, never dumped, checked per context
    assert answer.model_copy(update={"cached": True}).checked_value(_Count) is value
    assert answer.checked_value(_Count, {"other": 1}) is None and answer.checked_value(Usage) is None
    assert "_checked" not in answer.model_dump_json()
    assert answer.model_dump() == Completion(**answer.model_dump()).model_dump()
