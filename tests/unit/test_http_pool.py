"""The pooled JSON transport: one session per loop, typed failures, no noise from sessions left open."""

from __future__ import annotations

import asyncio
import base64
import gc
from pathlib import Path
from typing import Any

import pytest

from tinytroupe import gc_freeze
from tinytroupe.devtools.mock_openai_server import MockFailure, MockOpenAIServer
from tinytroupe.llm.http_pool import HttpPool
from tinytroupe.provider_errors import HttpStatusError

BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    with MockOpenAIServer(replies=["hello"]) as srv:
        yield srv


def test_one_session_per_loop_and_closed_loops_are_let_go_of(server: MockOpenAIServer) -> None:
    pool = HttpPool(server.base_url, timeout=5)

    async def ask() -> str:
        body = await pool.post_json("/chat/completions", BODY)
        await pool.post_json("/chat/completions", BODY)
        return str(body["choices"][0]["message"]["content"])

    assert asyncio.run(ask()) == "hello"
    assert asyncio.run(ask()) == "hello"
    # The first loop closed without aclose(): its session was dropped when the second was made.
    assert pool.sessions_created == 2 and len(pool._sessions) == 1
    pool.close_from_outside()
    assert not pool._sessions


async def test_error_status_carries_status_message_and_headers(server: MockOpenAIServer) -> None:
    server.add_failures(MockFailure.of("rate_limit"))
    pool = HttpPool(server.base_url, timeout=5)
    try:
        with pytest.raises(HttpStatusError) as info:
            await pool.post_json("/chat/completions", BODY)
    finally:
        await pool.aclose()
    assert info.value.status_code == 429
    assert "retry-after" in info.value.headers and info.value.message


async def test_a_cut_body_is_a_value_error(server: MockOpenAIServer) -> None:
    server.add_failures(MockFailure.of("truncated_body"))
    pool = HttpPool(server.base_url, timeout=5)
    try:
        with pytest.raises(ValueError):
            await pool.post_json("/chat/completions", BODY)
    finally:
        await pool.aclose()


async def test_a_slow_server_is_a_timeout_error() -> None:
    with MockOpenAIServer(latency_s=0.5) as slow:
        pool = HttpPool(slow.base_url, timeout=0.1)
        try:
            with pytest.raises(TimeoutError):
                await pool.post_json("/chat/completions", BODY)
        finally:
            await pool.aclose()


def test_gc_holds_nest_and_leave_an_existing_freeze_alone() -> None:
    assert gc.get_freeze_count() == 0
    gc_freeze.hold()
    gc_freeze.hold()
    frozen = gc.get_freeze_count()
    assert frozen > 0
    gc_freeze.release()
    assert gc.get_freeze_count() == frozen  # one hold left
    gc_freeze.release()
    assert gc.get_freeze_count() == 0
    gc_freeze.release()  # an extra release is harmless
    gc.freeze()  # someone else's freeze (a forking server's)
    try:
        theirs = gc.get_freeze_count()
        with gc_freeze.frozen_gc():
            pass
        assert gc.get_freeze_count() == theirs
    finally:
        gc.unfreeze()
    with gc_freeze.frozen_gc(enabled=False):
        assert gc.get_freeze_count() == 0


def test_a_run_raises_the_collector_threshold_but_never_turns_collection_back_on() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        with gc_freeze.frozen_gc():
            assert gc.get_threshold() == (gc_freeze.RUN_GEN0_THRESHOLD, 10, 10)
        assert gc.get_threshold() == (700, 10, 10)
        gc.set_threshold(0)  # automatic collection off (Python's way to say so): a run keeps it off
        with gc_freeze.frozen_gc():
            assert gc.get_threshold()[0] == 0
        assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*before)


def test_the_environment_is_read_once_per_session_and_still_honoured(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    """The proxy (with NO_PROXY) and a netrc login apply as with aiohttp's trust_env, read once per session."""
    import aiohttp

    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login ana password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")

    async def ask(url: str, headers: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
        pool = HttpPool(url, headers=headers, timeout=10)
        try:
            body = await pool.post_json("/chat/completions", BODY)
            await pool.post_json("/chat/completions", BODY)
            return body, pool._request_options
        finally:
            await pool.aclose()

    with MockOpenAIServer(replies=["hello"]) as server:
        _, options = asyncio.run(ask(server.base_url, {"api-key": "k"}))  # no Authorization header: netrc login
        assert "proxy" not in options
        assert options["headers"] == {"Authorization": "Basic " + base64.b64encode(b"ana:secret").decode()}
        _, options = asyncio.run(ask(server.base_url, {"Authorization": "Bearer k"}))
        assert options == {}  # the key's header wins; no proxy for an exempt host
        monkeypatch.delenv("NO_PROXY")
        with pytest.raises(aiohttp.ClientProxyConnectionError):
            asyncio.run(ask(server.base_url, {"Authorization": "Bearer k"}))
