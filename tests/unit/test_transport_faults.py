"""Transport-level failures of an OpenAI-compatible server become typed, retryable errors (issue 9, defect 1).

A tiny raw HTTP server on 127.0.0.1 sends exactly the broken bytes each test needs (a body cut off in
transit, a closed connection, an answer without the chat-completion shape), then a good answer.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest
from pydantic import BaseModel

from tinytroupe.errors import LLMTransportError
from tinytroupe.llm import LLMClient
from tinytroupe.llm.openai_backend import OpenAIBackend
from tinytroupe.llm.retry import RetryWrapper

GOOD = {"id": "c1", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": '{"mood": "fine"}'},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}
HI = [{"role": "user", "content": "How do you feel?"}]


class Mood(BaseModel):
    mood: str


def _http(body: bytes, *, length: int | None = None) -> bytes:
    head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            f"{len(body) if length is None else length}\r\nConnection: close\r\n\r\n")
    return head.encode() + body


Answer = Callable[[int], bytes | None]  # request number -> raw bytes to send (None: close at once)


class RawServer:
    """Answers request ``n`` with ``answer(n)`` verbatim; counts requests."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests = 0
        self.server: asyncio.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length")), 0)
        await reader.readexactly(length)
        self.requests += 1
        raw = self.answer(self.requests)
        if raw is not None:
            writer.write(raw)
            await writer.drain()
        writer.close()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


async def _no_wait(seconds: float) -> None:
    return None


@pytest.fixture
def good_after_first() -> Callable[[bytes | None], Answer]:
    def make(first: bytes | None) -> Answer:
        return lambda n: first if n == 1 else _http(json.dumps(GOOD).encode())
    return make


BODY = json.dumps(GOOD).encode()
FAULTS = {
    # The body arrives whole as far as HTTP goes, but its JSON stops mid-way: the SDK raises JSONDecodeError.
    "truncated_json_body": _http(BODY[: len(BODY) // 2]),
    # The server promises more bytes than it sends, then hangs up.
    "short_body": _http(BODY[:40], length=len(BODY)),
    # The connection closes before any answer.
    "connection_closed": None,
    "no_choices": _http(json.dumps({**GOOD, "choices": []}).encode()),
    "no_message": _http(json.dumps({**GOOD, "choices": [{"index": 0, "finish_reason": "stop"}]}).encode()),
    "not_json": _http(b"<html>502 Bad Gateway</html>"),
    "json_list": _http(b"[1, 2, 3]"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_fault_is_a_retryable_transport_error(fault: str,
                                                    good_after_first: Callable[[bytes | None], Answer]) -> None:
    async with RawServer(good_after_first(FAULTS[fault])) as url:
        backend = OpenAIBackend(model="m", base_url=url, api_key="sk-test", timeout=5)
        try:
            with pytest.raises(LLMTransportError) as info:
                await LLMClient(backend, max_reasks=0).acomplete(HI, response_model=Mood)
            assert info.value.retryable, info.value
            assert info.value.__cause__ is None  # the SDK's exception (which may quote a key) is not chained
        finally:
            await backend.aclose()


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_fault_is_retried_and_the_answer_arrives(fault: str,
                                                       good_after_first: Callable[[bytes | None], Answer]) -> None:
    server = RawServer(good_after_first(FAULTS[fault]))
    async with server as url:
        backend = OpenAIBackend(model="m", base_url=url, api_key="sk-test", timeout=5)
        try:
            client = LLMClient(RetryWrapper(backend, max_attempts=3, sleep=_no_wait), max_reasks=0)
            result = await client.acomplete(HI, response_model=Mood)
        finally:
            await backend.aclose()
    assert result.value.mood == "fine" and result.attempts == 2 and server.requests == 2


async def test_a_key_echoed_in_a_broken_body_is_redacted() -> None:
    key = "sk-live-abcdefghijklmnop0123456789"
    body = json.dumps({"error": f"bad key {key}", "choices": None}).encode()
    async with RawServer(lambda n: _http(body)) as url:
        backend = OpenAIBackend(model="m", base_url=url, api_key=key, timeout=5)
        try:
            with pytest.raises(LLMTransportError) as info:
                await LLMClient(backend, max_reasks=0).acomplete(HI)
        finally:
            await backend.aclose()
    assert key not in str(info.value)

