"""The one table from provider failures (openai SDK, httpx) to our errors, shared by chat and embeddings."""

from __future__ import annotations

import pickle

import httpx
import openai
import pytest
from pydantic import BaseModel

from tinytroupe.embeddings.openai import OpenAIEmbedder
from tinytroupe.errors import LLMOutputError, LLMRateLimitError, LLMTransportError
from tinytroupe.llm import LLMClient, ScriptedBackend
from tinytroupe.llm.backend import Backend
from tinytroupe.llm.openai_backend import OpenAIBackend
from tinytroupe.llm.types import CallContext, Completion, LLMRequest
from tinytroupe.provider_errors import Endpoint, exception_kind, provider_error, status_kind, status_retryable

KEY = "sk-secret-key-1234567890"
_REQUEST = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")


def _status(status: int, message: str = "nope", headers: dict[str, str] | None = None) -> openai.APIStatusError:
    response = httpx.Response(status, request=_REQUEST, headers=headers or {})
    return openai.APIStatusError(message, response=response, body=None)


def _chat() -> OpenAIBackend:
    return OpenAIBackend(model="m", base_url="http://127.0.0.1:9/v1", api_key=KEY)


def _embedder() -> OpenAIEmbedder:
    return OpenAIEmbedder("text-embedding-3-small", base_url="http://127.0.0.1:9/v1", api_key=KEY)


@pytest.mark.parametrize(("status", "kind", "retryable"), [
    (400, "rejected", False), (401, "auth", False), (403, "auth", False), (404, "not_found", False),
    (408, "rejected", True), (409, "rejected", True), (422, "rejected", False), (429, "rate_limit", True),
    (500, "server", True), (502, "server", True), (503, "server", True),
])
def test_status_table(status: int, kind: str, retryable: bool) -> None:
    assert status_kind(status) == kind
    assert status_retryable(status) is retryable


@pytest.mark.parametrize(("exc", "kind"), [
    (openai.APITimeoutError(request=_REQUEST), "timeout"),
    (httpx.ReadTimeout("slow", request=_REQUEST), "timeout"),
    (openai.APIConnectionError(request=_REQUEST), "connection"),
    (httpx.ConnectError("refused", request=_REQUEST), "connection"),
    (_status(500), "status"),
    (httpx.HTTPStatusError("bad", request=_REQUEST, response=httpx.Response(502, request=_REQUEST)), "status"),
    (openai.APIResponseValidationError(response=httpx.Response(200, request=_REQUEST), body=None), "unusable"),
    (ValueError("Expecting value: line 1 column 1"), "garbled"),
    (KeyError("x"), None),
])
def test_exception_table(exc: BaseException, kind: str | None) -> None:
    assert exception_kind(exc) == kind


_FAILURES = [
    openai.APITimeoutError(request=_REQUEST),
    openai.APIConnectionError(request=_REQUEST),
    _status(400), _status(401), _status(403), _status(404), _status(408), _status(429, headers={"retry-after": "3"}),
    _status(500), _status(503),
    openai.APIResponseValidationError(response=httpx.Response(200, request=_REQUEST), body=None),
    ValueError("Unterminated string starting at: line 1 column 9"),
]


@pytest.mark.parametrize("exc", _FAILURES, ids=lambda e: f"{type(e).__name__}-{getattr(e, 'status_code', '')}")
def test_chat_and_embeddings_share_the_rules(exc: Exception) -> None:
    chat, emb = _chat()._transport_error(exc), _embedder()._transport_error(exc)
    assert (chat.retryable, chat.status_code, chat.retry_after) == (emb.retryable, emb.status_code, emb.retry_after)
    # The embedder's SDK has already retried: its 429 is final, chat's RetryWrapper decides later.
    assert isinstance(emb, LLMRateLimitError) is (emb.status_code == 429)
    assert not isinstance(chat, LLMRateLimitError)
    for err in (chat, emb):
        assert KEY not in str(err)


def test_messages_carry_the_callers_advice() -> None:
    assert "MAX_COMPLETION_TOKENS" in str(_chat()._transport_error(openai.APITimeoutError(request=_REQUEST)))
    assert "batch_size" in str(_embedder()._transport_error(openai.APITimeoutError(request=_REQUEST)))
    assert "model name 'm'" in str(_chat()._transport_error(_status(404)))
    assert "embedding model name" in str(_embedder()._transport_error(_status(404)))


def test_the_key_is_masked_in_the_servers_text() -> None:
    end = Endpoint(where="the server", base_url="http://x/v1", timeout=1, secret=KEY)
    err = provider_error(_status(401, f"Incorrect API key provided: {KEY}"), end)
    assert KEY not in str(err) and "refused the credentials (HTTP 401)" in str(err)
    assert isinstance(err, LLMTransportError) and not err.retryable


def test_retry_after_and_rate_limit_class() -> None:
    end = Endpoint(where="s", base_url="http://x/v1", timeout=1)
    assert provider_error(_status(429, headers={"retry-after-ms": "1500"}), end).retry_after == 1.5
    final = provider_error(_status(429), Endpoint(where="s", base_url="http://x/v1", timeout=1, retries_done=True))
    assert isinstance(final, LLMRateLimitError) and final.status_code == 429


def test_anything_else_is_an_unusable_answer_never_a_raw_exception() -> None:
    err = provider_error(RuntimeError("boom"), Endpoint(where="s", base_url="http://x/v1", timeout=1))
    assert type(err) is LLMTransportError and err.retryable and "unusable answer (RuntimeError: boom)" in str(err)


class _Down(Backend):
    async def generate(self, request: LLMRequest, context: CallContext) -> Completion:
        raise provider_error(openai.APIConnectionError(request=_REQUEST),
                             Endpoint(where="s", base_url="http://x/v1", timeout=1))


def test_llm_errors_carry_the_calls_agent_world_and_purpose() -> None:
    client = LLMClient(_Down())
    with pytest.raises(LLMTransportError) as info:
        client.complete([{"role": "user", "content": "hi"}], agent="Ana", world="Cafe", purpose="action")
    assert (info.value.agent, info.value.world, info.value.purpose) == ("Ana", "Cafe", "action")
    copied = pickle.loads(pickle.dumps(info.value))
    assert (copied.agent, copied.world, copied.purpose, copied.retryable) == ("Ana", "Cafe", "action", True)


def test_output_errors_carry_the_call_too() -> None:
    class Answer(BaseModel):
        n: int

    client = LLMClient(ScriptedBackend(["not json"] * 3), max_reasks=1)
    with pytest.raises(LLMOutputError) as info:
        client.complete([{"role": "user", "content": "hi"}], response_model=Answer, agent="Bo", purpose="extraction")
    assert (info.value.agent, info.value.world, info.value.purpose) == ("Bo", None, "extraction")
