"""The mock OpenAI server's fault injection, seen from a real ``openai.AsyncOpenAI`` client over HTTP.

Each fault kind must reach the SDK as the failure a real server would cause: a status error, a
timeout, a connection error, a JSON decoding error, or an answer whose content is unusable.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import openai
import pytest

from tinytroupe.devtools.mock_openai_server import (
    CONTENT_FAULTS,
    FAULT_KINDS,
    MALFORMED_TEXT,
    MockFailure,
    MockOpenAIServer,
    corrupt_content,
    main,
    spawn_mock_server,
)

ANSWER = {"preference": "hybrid", "reason": "Quiet mornings at home, meetings in the office. END-OF-ANSWER"}
ANSWER_TEXT = json.dumps(ANSWER)
HI = [{"role": "user", "content": "Remote, office or hybrid?"}]


def _depth(text: str) -> int:
    """The deepest bracket nesting in ``text`` (strings ignored), without a recursive parser."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            escaped = not escaped and ch == "\\"
            if ch == '"' and not escaped:
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


@pytest.fixture
def server() -> Iterator[MockOpenAIServer]:
    with MockOpenAIServer(replies=[ANSWER]) as srv:
        yield srv


@pytest.fixture
async def client(server: MockOpenAIServer) -> AsyncIterator[openai.AsyncOpenAI]:
    c = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0, timeout=5)
    yield c
    await c.close()


async def _ask(client: openai.AsyncOpenAI) -> Any:
    return await client.chat.completions.create(model="mock-model", messages=HI)  # type: ignore[arg-type]


# -- HTTP-level faults ---------------------------------------------------------------------------------

async def test_rate_limit_is_a_429_with_a_short_retry_after(server: MockOpenAIServer,
                                                            client: openai.AsyncOpenAI) -> None:
    server.add_failures(MockFailure.of("rate_limit"))
    with pytest.raises(openai.RateLimitError) as info:
        await _ask(client)
    assert info.value.status_code == 429
    assert 0 < float(info.value.response.headers["retry-after"]) <= 0.05
    assert server.faults_injected == {"rate_limit": 1}
    assert (await _ask(client)).choices[0].message.content == ANSWER_TEXT  # the next one is answered


@pytest.mark.parametrize(("kind", "status"), [("server_error", 500), ("unavailable", 503)])
async def test_server_errors(server: MockOpenAIServer, client: openai.AsyncOpenAI, kind: str, status: int) -> None:
    server.add_failures(MockFailure.of(kind))
    with pytest.raises(openai.InternalServerError) as info:
        await _ask(client)
    assert info.value.status_code == status
    assert server.faults_injected == {kind: 1}


async def test_timeout_outlasts_the_client_timeout(server: MockOpenAIServer) -> None:
    server.add_failures(MockFailure.of("timeout", hang_s=1.5))
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0,
                                  timeout=0.3) as short:
        with pytest.raises(openai.APITimeoutError):
            await _ask(short)
    assert server.faults_injected == {"timeout": 1}


def test_stopping_ends_hanging_answers_quietly(caplog: pytest.LogCaptureFixture) -> None:
    """A server stopped during a hang answers 503 at once, with no cancelled-task traceback in the log."""
    server = MockOpenAIServer(failures=[MockFailure.hang(30)]).start()
    with httpx.Client(timeout=10) as http, ThreadPoolExecutor(1) as pool:
        pending = pool.submit(http.post, f"{server.base_url}/chat/completions",
                              json={"model": "m", "messages": HI})
        deadline = time.monotonic() + 5
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.open_connections == 1
        server.stop()
        # A 503 (not the client's ReadTimeout after 10 s, nor the normal answer after 30 s) shows that
        # stopping cut the hang short instead of waiting it out.
        assert pending.result().status_code == 503
        assert server.open_connections == 0
    assert "Exception in ASGI application" not in caplog.text


async def test_connection_reset_gives_no_response_at_all(server: MockOpenAIServer,
                                                         client: openai.AsyncOpenAI) -> None:
    server.add_failures(MockFailure.connection_reset())
    with pytest.raises(openai.APIConnectionError) as info:
        await _ask(client)
    assert not isinstance(info.value, openai.APITimeoutError)
    cause = info.value.__cause__
    # A reset reads as ReadError (ECONNRESET) or, when the RST races the read, a closed connection.
    # By name: recent openai SDKs use their own copy of httpx ("httpx2"), with its own classes.
    assert type(cause).__name__ in ("ReadError", "RemoteProtocolError"), repr(cause)
    assert server.faults_injected == {"connection_reset": 1}
    # The pool drops the dead connection: the next request is answered normally.
    assert (await _ask(client)).choices[0].message.content == ANSWER_TEXT


async def test_truncated_body_raises_json_decode_error_in_the_sdk(server: MockOpenAIServer,
                                                                  client: openai.AsyncOpenAI) -> None:
    server.add_failures(MockFailure.truncated_body(keep=0.5))
    with pytest.raises(json.JSONDecodeError):
        await _ask(client)
    assert server.faults_injected == {"truncated_body": 1}
    raw = await client.chat.completions.with_raw_response.create(model="mock-model", messages=HI)  # type: ignore[arg-type]
    assert raw.http_response.status_code == 200  # the fault was used up


async def test_truncated_body_is_a_complete_http_message_with_a_cut_json_text(server: MockOpenAIServer) -> None:
    server.add_failures(MockFailure.truncated_body(keep=0.3))
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{server.base_url}/chat/completions", json={"model": "m", "messages": HI})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.text.startswith('{"id": "chatcmpl-mock-')
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)


# -- content faults ------------------------------------------------------------------------------------

async def test_malformed_json_is_prose_in_a_valid_envelope(server: MockOpenAIServer,
                                                           client: openai.AsyncOpenAI) -> None:
    server.add_failures(MockFailure.malformed_json())
    answer = await _ask(client)
    content = answer.choices[0].message.content
    assert content == MALFORMED_TEXT
    assert answer.choices[0].finish_reason == "stop"
    with pytest.raises(json.JSONDecodeError):
        json.loads(content)
    assert server.faults_injected == {"malformed_json": 1}


@pytest.mark.parametrize(("kind", "finish"), [("truncated_content", "length"), ("truncated_content_stop", "stop")])
async def test_truncated_content_is_a_prefix_of_the_real_answer(server: MockOpenAIServer, client: openai.AsyncOpenAI,
                                                                kind: str, finish: str) -> None:
    server.add_failures(MockFailure.of(kind, keep=0.6))
    answer = await _ask(client)
    content = answer.choices[0].message.content
    assert content and ANSWER_TEXT.startswith(content) and len(content) < len(ANSWER_TEXT)
    assert not content.endswith("END-OF-ANSWER")
    assert answer.choices[0].finish_reason == finish
    with pytest.raises(json.JSONDecodeError):
        json.loads(content)
    assert server.faults_injected == {kind: 1}


async def test_wrong_schema_is_an_object_without_the_expected_fields(server: MockOpenAIServer,
                                                                     client: openai.AsyncOpenAI) -> None:
    server.add_failures(MockFailure.wrong_schema())
    value = json.loads((await _ask(client)).choices[0].message.content or "")
    assert isinstance(value, dict) and value
    assert not set(value) & set(ANSWER)


async def test_oversized_is_300k_characters_around_the_real_answer(server: MockOpenAIServer,
                                                                   client: openai.AsyncOpenAI) -> None:
    server.add_failures(MockFailure.oversized())
    content = (await _ask(client)).choices[0].message.content or ""
    assert len(content) >= 300_000
    value = json.loads(content)
    assert {k: value[k] for k in ANSWER} == ANSWER
    assert server.faults_injected == {"oversized": 1}


async def test_deep_nesting_is_1000_levels(server: MockOpenAIServer, client: openai.AsyncOpenAI) -> None:
    server.add_failures(MockFailure.deep_nesting())
    content = (await _ask(client)).choices[0].message.content or ""
    assert _depth(content) >= 1000
    assert content.endswith(ANSWER_TEXT[1:])  # the real fields are still there, after the hostile one
    assert server.faults_injected == {"deep_nesting": 1}


async def test_content_faults_reach_tool_call_arguments() -> None:
    tool = {"type": "function", "function": {"name": "answer", "parameters": {"type": "object"}}}
    with MockOpenAIServer(replies=[ANSWER], failures=[MockFailure.truncated_content(keep=0.5)]) as srv:
        async with openai.AsyncOpenAI(base_url=srv.base_url, api_key="x", max_retries=0) as c:
            answer = await c.chat.completions.create(model="m", messages=HI, tools=[tool])  # type: ignore[arg-type,list-item]
    arguments = answer.choices[0].message.tool_calls[0].function.arguments  # type: ignore[index,union-attr]
    assert ANSWER_TEXT.startswith(arguments) and arguments != ANSWER_TEXT
    assert answer.choices[0].finish_reason == "length"


async def test_text_completions_get_content_faults_too() -> None:
    with MockOpenAIServer(replies=["a plain text answer"], failures=[MockFailure.malformed_json()]) as srv:
        async with openai.AsyncOpenAI(base_url=srv.base_url, api_key="x", max_retries=0) as c:
            answer = await c.completions.create(model="m", prompt="hi")
    assert answer.choices[0].text == MALFORMED_TEXT


async def test_truncated_body_also_hits_embeddings() -> None:
    with MockOpenAIServer(failures=[MockFailure.truncated_body()]) as srv:
        async with openai.AsyncOpenAI(base_url=srv.base_url, api_key="x", max_retries=0) as c:
            with pytest.raises(json.JSONDecodeError):
                await c.embeddings.create(model="m", input=["a"])
            assert len((await c.embeddings.create(model="m", input=["a"])).data) == 1
        assert srv.faults_injected == {"truncated_body": 1}


def test_corrupt_content_keeps_plain_text_usable_for_every_content_kind() -> None:
    for kind in sorted(CONTENT_FAULTS):
        text, finish = corrupt_content("just words", MockFailure.of(kind))
        assert text != "just words" and finish in ("stop", "length"), kind


def test_cut_never_keeps_everything_or_nothing() -> None:
    for keep in (0.001, 0.5, 0.999):
        text, _ = corrupt_content("abcdef", MockFailure.truncated_content(keep=keep))
        assert 1 <= len(text) < 6


# -- random faults -------------------------------------------------------------------------------------

async def _labels(fault_seed: int, n: int = 40, **kwargs: Any) -> tuple[list[str | None], dict[str, int]]:
    """Send ``n`` sequential requests; the fault label each got, and the server's counts."""
    with MockOpenAIServer(replies=[ANSWER], fault_seed=fault_seed, fault_hang_s=0.5, **kwargs) as srv:
        async with openai.AsyncOpenAI(base_url=srv.base_url, api_key="x", max_retries=0, timeout=0.2) as c:
            for _ in range(n):
                with contextlib.suppress(openai.APIError, json.JSONDecodeError):
                    await _ask(c)
        return [r.fault for r in srv.requests], srv.faults_injected


async def test_random_faults_follow_the_seed_and_the_rate() -> None:
    first, counts = await _labels(3, fault_rate=0.5)
    again, _ = await _labels(3, fault_rate=0.5)
    other, _ = await _labels(4, fault_rate=0.5)
    assert first == again != other
    injected = [label for label in first if label is not None]
    assert 8 <= len(injected) <= 32  # 40 draws at 50 %
    assert sum(counts.values()) == len(injected)
    assert set(injected) <= set(FAULT_KINDS)


async def test_random_faults_only_of_the_chosen_kinds() -> None:
    labels, counts = await _labels(1, fault_rate=1.0, fault_kinds=["server_error", "wrong_schema"])
    assert set(labels) == {"server_error", "wrong_schema"}
    assert sum(counts.values()) == 40


async def test_fault_when_limits_random_faults_to_chosen_requests() -> None:
    def only_marked(body: dict[str, Any]) -> bool:
        return "FAULT ME" in json.dumps(body.get("messages"))

    with MockOpenAIServer(replies=[ANSWER], fault_rate=1.0, fault_kinds=["server_error"],
                          fault_when=only_marked) as srv:
        async with openai.AsyncOpenAI(base_url=srv.base_url, api_key="x", max_retries=0) as c:
            assert (await _ask(c)).choices[0].message.content == ANSWER_TEXT
            with pytest.raises(openai.InternalServerError):
                await c.chat.completions.create(model="m", messages=[{"role": "user", "content": "FAULT ME"}])
        assert srv.faults_injected == {"server_error": 1}


async def test_set_faults_switches_random_faults_on_and_off(server: MockOpenAIServer,
                                                            client: openai.AsyncOpenAI) -> None:
    server.set_faults(1.0, ["unavailable"], seed=0)
    with pytest.raises(openai.InternalServerError):
        await _ask(client)
    server.set_faults(0.0)
    assert (await _ask(client)).choices[0].message.content == ANSWER_TEXT
    assert server.faults_injected == {"unavailable": 1}


async def test_scripted_failures_come_before_random_ones() -> None:
    with MockOpenAIServer(replies=[ANSWER], fault_rate=1.0, fault_kinds=["malformed_json"],
                          failures=[MockFailure.server_error(500)]) as srv:
        async with openai.AsyncOpenAI(base_url=srv.base_url, api_key="x", max_retries=0) as c:
            with pytest.raises(openai.InternalServerError):
                await _ask(c)
            assert (await _ask(c)).choices[0].message.content == MALFORMED_TEXT
        assert srv.faults_injected == {"server_error": 1, "malformed_json": 1}


def test_bad_fault_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kind 'teapot'"):
        MockOpenAIServer(fault_rate=0.1, fault_kinds=["teapot"])
    with pytest.raises(ValueError, match="between 0 and 1"):
        MockOpenAIServer(fault_rate=1.5)
    with pytest.raises(ValueError, match="unknown fault kind"):
        MockFailure(kind="teapot")
    with pytest.raises(ValueError, match="unknown fault kind"):
        spawn_mock_server(fault_rate=0.1, fault_kinds=["teapot"])
    # a list handed to add_failures is refused at the call, not answered as HTTP 500 by the next request
    server = MockOpenAIServer()
    with pytest.raises(TypeError, match=r"unpack a list: add_failures\(\*failures\)"):
        server.add_failures([MockFailure.rate_limit(1)])  # type: ignore[arg-type]
    assert not server.state.failures


def test_old_style_failures_keep_their_meaning_and_get_labels() -> None:
    assert MockFailure.rate_limit(2).retry_after == 2
    assert MockFailure.server_error(503).label == "unavailable"
    assert MockFailure.hang(1).label == "timeout"
    assert MockFailure(status=404, message="no such model").label == "http_404"
    assert MockFailure.bad_request().label == "http_400"


# -- the standalone server -----------------------------------------------------------------------------

def test_cli_refuses_unknown_fault_kinds(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--faults", "rate_limit,teapot"])
    assert info.value.code == 2
    assert "unknown fault kind(s) teapot" in capsys.readouterr().err


def test_spawned_server_injects_faults_and_reports_them() -> None:
    proc, base_url = spawn_mock_server(fault_rate=1.0, fault_kinds=["unavailable"], fault_seed=5)
    try:
        with httpx.Client(timeout=5) as http:
            statuses = [http.post(f"{base_url}/chat/completions", json={"model": "m", "messages": HI}).status_code
                        for _ in range(3)]
            stats = http.get(base_url.removesuffix("/v1") + "/mock/stats").json()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if proc.stdout is not None:
            proc.stdout.close()
    assert statuses == [503, 503, 503]
    assert stats["faults_injected"] == {"unavailable": 3}
    assert stats["requests"]["/v1/chat/completions"] == 3


def test_a_refused_response_format_is_answered_as_openai_answers_a_model_without_it() -> None:
    with MockOpenAIServer(rejected_formats={"json_schema"}, format_refusal_status=400) as srv:
        answer = httpx.post(f"{srv.base_url}/chat/completions", json={
            "model": "m", "messages": HI, "response_format": {"type": "json_schema", "json_schema": {
                "name": "a", "schema": {"type": "object"}}}})
    # OpenAI's body names the refused parameter in ``param`` too (clients read it, not only the message)
    assert answer.status_code == 400 and answer.json() == {"error": {
        "message": "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.",
        "type": "invalid_request_error", "param": "response_format", "code": None}}
