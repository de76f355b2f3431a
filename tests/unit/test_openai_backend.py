"""OpenAIBackend against the mock OpenAI server, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from tinytroupe.devtools.mock_openai_server import MockFailure, MockOpenAIServer
from tinytroupe.errors import ConfigError, LLMRateLimitError, LLMTransportError
from tinytroupe.llm import LLMClient
from tinytroupe.llm.openai_backend import OpenAIBackend, parse_retry_after
from tinytroupe.llm.retry import RetryWrapper
from tinytroupe.llm.types import CallContext, LLMRequest, Message

KEY = "sk-test-very-secret-key-0123456789"
HI = [{"role": "user", "content": "How do you feel?"}]


class Mood(BaseModel):
    mood: str
    intensity: int


class SleepRecorder:
    """Stands in for asyncio.sleep in RetryWrapper: records the waits, waits for nothing."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def server() -> Iterator[MockOpenAIServer]:
    with MockOpenAIServer(replies=["Fine, thanks."], api_key=KEY) as srv:
        yield srv


@pytest.fixture
async def backend(server: MockOpenAIServer) -> AsyncIterator[OpenAIBackend]:
    b = OpenAIBackend(model="mock-model", base_url=server.base_url, api_key=KEY, timeout=5)
    yield b
    await b.aclose()


def _client(backend: OpenAIBackend, sleep: SleepRecorder | None = None, max_attempts: int = 3) -> LLMClient:
    return LLMClient(RetryWrapper(backend, max_attempts=max_attempts, sleep=sleep or SleepRecorder()),
                     max_reasks=0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- plain text and request mapping ------------------------------------------------------------------

async def test_plain_text_maps_request_fields_and_usage(server: MockOpenAIServer,
                                                         backend: OpenAIBackend) -> None:
    messages = (Message(role="system", content="Be brief."), Message(role="user", content="hi"))
    request = LLMRequest(messages=messages,
                         temperature=0.3, top_p=0.9, max_tokens=42, stop=("END",), seed=7)
    completion = await backend.generate(request, CallContext())
    assert completion.text == "Fine, thanks."
    assert completion.model == "mock-model"
    assert completion.backend == "openai"
    assert completion.finish_reason == "stop"
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0
    body = server.chat_requests()[-1]
    assert body["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    assert (body["temperature"], body["top_p"], body["max_tokens"], body["stop"], body["seed"]) == (
        0.3, 0.9, 42, ["END"], 7)
    assert "response_format" not in body and "tools" not in body


async def test_backend_defaults_apply_when_request_leaves_them_unset(server: MockOpenAIServer) -> None:
    b = OpenAIBackend(model="m2", base_url=server.base_url, api_key=KEY, temperature=0.1, max_tokens=9)
    try:
        await b.generate(LLMRequest(messages=(Message(role="user", content="x"),)), CallContext())
        body = server.chat_requests()[-1]
        assert (body["model"], body["temperature"], body["max_tokens"]) == ("m2", 0.1, 9)
    finally:
        await b.aclose()


# -- structured output -------------------------------------------------------------------------------

async def test_structured_json_schema_is_strict(server: MockOpenAIServer, backend: OpenAIBackend) -> None:
    server.set_replies([{"mood": "calm", "intensity": 3}])
    result = await _client(backend).acomplete(HI, response_model=Mood)
    assert result.value == Mood(mood="calm", intensity=3)
    fmt = server.chat_requests()[-1]["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "Mood" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["additionalProperties"] is False
    assert sorted(fmt["json_schema"]["schema"]["required"]) == ["intensity", "mood"]
    assert backend.structured_mode == "json_schema"


async def test_auto_falls_back_to_json_object_and_remembers(caplog: pytest.LogCaptureFixture) -> None:
    with MockOpenAIServer(reject_json_schema=True) as srv:
        b = OpenAIBackend(model="m", base_url=srv.base_url, api_key=KEY)
        client = _client(b)
        with caplog.at_level(logging.INFO, logger="tinytroupe.llm.openai_backend"):
            first = await client.acomplete(HI, response_model=Mood)
            second = await client.acomplete(HI, response_model=Mood)
        await b.aclose()
        bodies = srv.chat_requests()
    assert isinstance(first.value, Mood) and isinstance(second.value, Mood)
    # First call: json_schema refused, then json_object; second call goes straight to json_object.
    kinds = [body["response_format"]["type"] for body in bodies]
    assert kinds == ["json_schema", "json_object", "json_object"]
    assert bodies[1]["response_format"]["schema"]["properties"]["mood"]["type"] == "string"
    system = bodies[1]["messages"][0]
    assert system["role"] == "system" and '"intensity"' in system["content"]
    assert b.structured_mode == "json_object"
    switches = [r for r in caplog.records if "from now on" in r.getMessage()]
    assert len(switches) == 1 and switches[0].levelno == logging.INFO


async def test_auto_falls_back_on_openais_http_400_for_a_model_without_json_schema() -> None:
    with MockOpenAIServer(reject_json_schema=True, format_refusal_status=400) as srv:
        b = OpenAIBackend(model="m", base_url=srv.base_url, api_key=KEY)
        result = await _client(b).acomplete(HI, response_model=Mood)
        await b.aclose()
        bodies = srv.chat_requests()
        strict = OpenAIBackend(model="m", base_url=srv.base_url, api_key=KEY, structured_output="json_schema")
        with pytest.raises(LLMTransportError) as info:
            await strict.generate(LLMRequest(messages=(Message(role="user", content="x"),),
                                             response_schema=Mood.model_json_schema()), CallContext())
        await strict.aclose()
    assert isinstance(result.value, Mood) and b.structured_mode == "json_object"
    assert [body["response_format"]["type"] for body in bodies] == ["json_schema", "json_object"]
    assert info.value.status_code == 400 and "not supported with this model" in str(info.value)


async def test_auto_falls_back_to_tools_then_prompt() -> None:
    with MockOpenAIServer(rejected_formats={"json_schema", "json_object"}) as srv:
        b = OpenAIBackend(model="m", base_url=srv.base_url, api_key=KEY)
        result = await _client(b).acomplete(HI, response_model=Mood)
        await b.aclose()
        last = srv.chat_requests()[-1]
    assert isinstance(result.value, Mood)
    assert b.structured_mode == "tools"
    assert last["tool_choice"] == {"type": "function", "function": {"name": "Mood"}}
    assert last["tools"][0]["function"]["parameters"]["properties"]["intensity"]["type"] == "integer"

    with MockOpenAIServer(rejected_formats={"json_schema", "json_object"}, reject_tools=True,
                          replies=['{"mood": "ok", "intensity": 1}']) as srv:
        b = OpenAIBackend(model="m", base_url=srv.base_url, api_key=KEY)
        result = await _client(b).acomplete(HI, response_model=Mood)
        await b.aclose()
        last = srv.chat_requests()[-1]
    assert result.value == Mood(mood="ok", intensity=1)
    assert b.structured_mode == "prompt"
    assert "response_format" not in last and "tools" not in last
    assert "JSON schema" in last["messages"][0]["content"]


async def test_tools_mode_returns_the_arguments(server: MockOpenAIServer) -> None:
    server.set_replies([{"mood": "curious", "intensity": 5}])
    b = OpenAIBackend(model="m", base_url=server.base_url, api_key=KEY, structured_output="tools")
    try:
        result = await _client(b).acomplete(HI, response_model=Mood)
    finally:
        await b.aclose()
    assert result.value == Mood(mood="curious", intensity=5)
    assert json.loads(result.text) == {"mood": "curious", "intensity": 5}
    assert server.chat_requests()[-1]["tools"][0]["function"]["name"] == "Mood"


async def test_explicit_mode_does_not_fall_back() -> None:
    with MockOpenAIServer(reject_json_schema=True) as srv:
        b = OpenAIBackend(model="m", base_url=srv.base_url, api_key=KEY, structured_output="json_schema")
        with pytest.raises(LLMTransportError) as info:
            await b.generate(LLMRequest(messages=(Message(role="user", content="x"),),
                                        response_schema=Mood.model_json_schema(), schema_name="Mood"),
                             CallContext())
        await b.aclose()
        assert len(srv.chat_requests()) == 1
    assert info.value.status_code == 500


# -- errors and retries ------------------------------------------------------------------------------

async def test_429_retry_after_is_honoured(server: MockOpenAIServer, backend: OpenAIBackend) -> None:
    server.add_failures(MockFailure.rate_limit(retry_after=3))
    sleep = SleepRecorder()
    result = await _client(backend, sleep).acomplete(HI)
    assert result.value == "Fine, thanks."
    assert result.attempts == 2
    assert len(sleep.waits) == 1 and sleep.waits[0] >= 3.0


async def test_500_then_success(server: MockOpenAIServer, backend: OpenAIBackend) -> None:
    server.add_failures(MockFailure.server_error(500), MockFailure.server_error(503))
    sleep = SleepRecorder()
    result = await _client(backend, sleep).acomplete(HI)
    assert result.attempts == 3
    assert len(sleep.waits) == 2 and len(server.chat_requests()) == 3


async def test_timeout_then_success(server: MockOpenAIServer) -> None:
    server.add_failures(MockFailure.hang(2.0))
    b = OpenAIBackend(model="m", base_url=server.base_url, api_key=KEY, timeout=0.3)
    try:
        result = await _client(b).acomplete(HI)
        assert (result.value, result.attempts) == ("Fine, thanks.", 2)
        server.add_failures(MockFailure.hang(2.0))
        with pytest.raises(LLMTransportError) as info:
            await b.generate(LLMRequest(messages=(Message(role="user", content="x"),)), CallContext())
    finally:
        await b.aclose()
    assert info.value.retryable and info.value.status_code is None
    assert "0.3 s" in str(info.value) and "TIMEOUT" in str(info.value)


async def test_400_is_raised_at_once(server: MockOpenAIServer, backend: OpenAIBackend) -> None:
    server.add_failures(MockFailure.bad_request("messages must not be empty"))
    sleep = SleepRecorder()
    with pytest.raises(LLMTransportError) as info:
        await _client(backend, sleep).acomplete(HI)
    assert info.value.status_code == 400 and not info.value.retryable
    assert "messages must not be empty" in str(info.value)
    assert sleep.waits == [] and len(server.chat_requests()) == 1


async def test_401_names_the_key_variable_and_hides_the_key(server: MockOpenAIServer) -> None:
    wrong = "sk-wrong-but-still-secret-987654321"
    b = OpenAIBackend(model="m", base_url=server.base_url, api_key=wrong)
    sleep = SleepRecorder()
    try:
        with pytest.raises(LLMTransportError) as info:
            await _client(b, sleep).acomplete(HI)
    finally:
        await b.aclose()
    message = str(info.value)
    assert info.value.status_code == 401 and not info.value.retryable
    assert "OPENAI_API_KEY" in message
    # The mock echoes the wrong key in its body, as real servers partly do: it must be redacted.
    assert wrong not in message and "secret" not in message
    assert wrong not in json.dumps(b.identity())
    assert sleep.waits == []


async def test_404_points_at_model_and_url(server: MockOpenAIServer, backend: OpenAIBackend) -> None:
    server.add_failures(MockFailure(status=404, message="The model does not exist"))
    with pytest.raises(LLMTransportError) as info:
        await _client(backend).acomplete(HI)
    assert info.value.status_code == 404 and not info.value.retryable
    assert "'mock-model'" in str(info.value) and server.base_url in str(info.value)


async def test_connection_error_names_the_url() -> None:
    url = f"http://127.0.0.1:{_free_port()}/v1"
    b = OpenAIBackend(model="m", base_url=url, api_key=KEY)
    sleep = SleepRecorder()
    try:
        with pytest.raises(LLMTransportError) as info:
            await _client(b, sleep, max_attempts=2).acomplete(HI)
    finally:
        await b.aclose()
    assert info.value.retryable and url in str(info.value)
    assert "2 attempts" in str(info.value) and len(sleep.waits) == 1
    assert KEY not in str(info.value)


async def test_persistent_429_gives_up_as_rate_limit_error(server: MockOpenAIServer,
                                                             backend: OpenAIBackend) -> None:
    server.add_failures(*[MockFailure.rate_limit(retry_after=1)] * 3)
    with pytest.raises(LLMRateLimitError) as info:
        await _client(backend, max_attempts=3).acomplete(HI)
    assert info.value.status_code == 429 and info.value.retry_after == 1.0
    assert "3 attempts" in str(info.value)
    assert len(server.chat_requests()) == 3


# -- pooling, identity, configuration ----------------------------------------------------------------

async def test_one_pooled_client_is_reused(server: MockOpenAIServer, backend: OpenAIBackend) -> None:
    client = _client(backend)
    for _ in range(5):
        await client.acomplete(HI)
    assert backend.clients_created == 1
    assert backend.pool.session() is backend.pool.session()
    # Every request came over the same kept-alive connection: one pool, not a client per call.
    ports = {r.client_port for r in server.requests}
    assert len(ports) == 1
    auth = {r.headers["authorization"] for r in server.requests}
    assert auth == {f"Bearer {KEY}"}


def test_identity_never_holds_the_key() -> None:
    b = OpenAIBackend(model="gpt-x", base_url="http://127.0.0.1:9/v1", api_key=KEY)
    assert b.identity() == {"backend": "openai", "api_type": "openai", "model": "gpt-x",
                            "base_url": "http://127.0.0.1:9/v1"}
    assert KEY not in repr(b.identity()) and b.default_model == "gpt-x"


def test_ollama_defaults() -> None:
    b = OpenAIBackend(model="llama3.2", api_type="ollama")
    assert b.identity()["base_url"] == "http://localhost:11434/v1"
    assert b._api_key == "ollama"


def test_missing_key_for_openai_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        OpenAIBackend(model="gpt-x")
    # A local server needs no real key.
    assert OpenAIBackend(model="m", base_url="http://127.0.0.1:8080/v1").identity()["model"] == "m"


def test_azure_needs_endpoint_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ConfigError, match="AZURE_OPENAI_ENDPOINT"):
        OpenAIBackend(model="dep", api_type="azure", azure_api_key="k")
    with pytest.raises(ConfigError, match="AZURE_OPENAI_API_KEY"):
        OpenAIBackend(model="dep", api_type="azure", azure_endpoint="https://x.openai.azure.com")
    b = OpenAIBackend(model="dep", api_type="azure", azure_endpoint="https://x.openai.azure.com/",
                      azure_api_key="k")
    assert b.identity()["base_url"] == "https://x.openai.azure.com"


@pytest.mark.parametrize(("headers", "expected"), [
    ({"retry-after": "2"}, 2.0),
    ({"retry-after-ms": "1500"}, 1.5),
    ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
    ({"retry-after": "soon"}, None),
    ({}, None),
])
def test_parse_retry_after(headers: dict[str, Any], expected: float | None) -> None:
    assert parse_retry_after(headers) == expected


def test_an_ollama_backend_says_so_and_needs_a_model_of_its_own() -> None:
    from tinytroupe.config import load_settings
    from tinytroupe.errors import ConfigError
    from tinytroupe.llm.factory import build_backend

    with pytest.raises(ConfigError, match="needs a model you have pulled"):
        build_backend(load_settings(openai__api_type="ollama"))
    backend = build_backend(load_settings(openai__api_type="ollama", openai__model="llama3.1:8b"))
    assert backend.name == "ollama"  # run headers, usage and the trace say ollama, not openai
    from tinytroupe.llm.factory import build_client

    client = build_client(load_settings(openai__api_type="ollama", openai__model="llama3.1:8b"))
    assert client.describe()["backend"] == "ollama"  # what the run header prints
    assert backend.identity()["api_type"] == "ollama" and backend.identity()["model"] == "llama3.1:8b"


# -- the lean transport ----------------------------------------------------------------------------

async def test_azure_speaks_the_deployment_path_with_an_api_key_header(server: MockOpenAIServer) -> None:
    root = server.base_url.removesuffix("/v1")
    azure = OpenAIBackend(model="my-deployment", api_type="azure", azure_endpoint=root, azure_api_key=KEY,
                          azure_api_version="2024-10-21", timeout=5)
    try:
        value = (await _client(azure).acomplete(HI)).value
    finally:
        await azure.aclose()
    assert value == "Fine, thanks."
    request = server.requests[-1]
    assert request.path == "/v1/chat/completions"  # the mock serves Azure's path with the same handler
    assert request.headers["api-key"] == KEY and "authorization" not in request.headers


async def test_azure_with_a_wrong_key_is_an_auth_error_without_the_key(server: MockOpenAIServer) -> None:
    azure = OpenAIBackend(model="d", api_type="azure", azure_endpoint=server.base_url.removesuffix("/v1"),
                          azure_api_key="wrong-key-0123456789", timeout=5)
    try:
        with pytest.raises(LLMTransportError) as info:
            await _client(azure, max_attempts=1).acomplete(HI)
    finally:
        await azure.aclose()
    assert info.value.status_code == 401 and "AZURE_OPENAI_API_KEY" in str(info.value)
    assert "wrong-key-0123456789" not in str(info.value)


def test_sessions_left_open_leave_no_noise_at_exit(server: MockOpenAIServer) -> None:
    # A user's script calls the backend from asyncio.run twice and from the sync facade, and never
    # closes anything: nothing may be printed about unclosed sessions or connectors.
    script = f"""
import asyncio
from tinytroupe.llm import LLMClient
from tinytroupe.llm.openai_backend import OpenAIBackend
backend = OpenAIBackend(model="m", base_url={server.base_url!r}, api_key={KEY!r}, timeout=5)
client = LLMClient(backend)
for _ in range(2):
    print(asyncio.run(client.acomplete([{{"role": "user", "content": "hi"}}])).value)
print(client.complete([{{"role": "user", "content": "hi"}}]).value)
"""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["Fine,", "thanks."] * 3
    assert done.stderr == ""


async def test_transport_errors_from_aiohttp_are_typed_and_retryable() -> None:
    import aiohttp

    from tinytroupe.provider_errors import exception_kind

    assert exception_kind(TimeoutError()) == "timeout"
    assert exception_kind(aiohttp.ServerDisconnectedError()) == "connection"
    assert exception_kind(aiohttp.ClientPayloadError("cut")) == "garbled"
    assert exception_kind(ValueError("not json")) == "garbled"
