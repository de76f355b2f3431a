"""The mock server's HTTP app: OpenAI's chat and text completions, models and embeddings endpoints
(plus ``/mock/stats``) over a :class:`~tinytroupe.devtools.mock_openai_server.state._State`, playing its
faults at the HTTP level (status codes, hangs, resets, cut bodies) and in the content.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import socket
import struct
import time
from typing import Any, NamedTuple

from tinytroupe.devtools.mock_openai_server.azure_batch_app import AzureBatchEndpoints
from tinytroupe.devtools.mock_openai_server.batch_app import BatchEndpoints
from tinytroupe.devtools.mock_openai_server.faults import CONTENT_FAULTS, MockFailure, _cut, corrupt_content
from tinytroupe.devtools.mock_openai_server.logprobs import answer_logprobs
from tinytroupe.devtools.mock_openai_server.replies import RecordedRequest, _tokens, scripted_tool_calls
from tinytroupe.devtools.mock_openai_server.state import MISSING_SERVER_DEPENDENCY, _State
from tinytroupe.devtools.mock_openai_server.vision import content_problem, received_images, text_of
from tinytroupe.errors import InvalidState

try:
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, Response
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(MISSING_SERVER_DEPENDENCY) from exc


def _error_body(message: str, kind: str = "invalid_request_error", code: str | None = None,
                param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _error(status: int, message: str, *, kind: str = "invalid_request_error", code: str | None = None,
           retry_after: float | None = None) -> JSONResponse:
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else None
    return JSONResponse(_error_body(message, kind, code), status_code=status, headers=headers)


async def _reset_connection(request: Request) -> None:
    """Reset the TCP connection that carried ``request``: the client gets no response byte, only an RST."""
    # uvicorn hands the app the bound ``receive`` of its per-request cycle object, which holds the
    # transport; ASGI itself has no way to drop a connection without answering.
    cycle = getattr(request.receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise InvalidState("connection_reset needs uvicorn's HTTP protocol objects, which were not found")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            # Linger on, timeout 0: closing sends RST instead of FIN, which the client reads as a reset.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    # Let the protocol see the loss, so that uvicorn drops whatever the handler returns afterwards.
    for _ in range(200):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0.001)


async def _hang(state: _State, seconds: float) -> bool:
    """Wait ``seconds``, or less when the server stops (then returns True)."""
    # Short sleeps instead of one long one: uvicorn would otherwise cancel the sleeping handler at
    # shutdown and log the cancellation as "Exception in ASGI application" with a traceback.
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if state.stopping.is_set():
            return True
        await asyncio.sleep(min(left, 0.05))
    return False


def _truncated_body(payload: dict[str, Any], failure: MockFailure) -> Response:
    """HTTP 200 carrying the first part of ``payload``'s JSON (a complete HTTP message, a cut JSON text)."""
    # json.dumps escapes non-ASCII, so cutting the text never splits a UTF-8 sequence.
    text = _cut(json.dumps(payload), failure.keep if failure.keep is not None else 0.5)
    return Response(content=text.encode("ascii"), media_type="application/json")


class _Prelude(NamedTuple):
    body: dict[str, Any]
    response: Response | None  # answer at once with this (an error, or nothing after a reset)
    fault: MockFailure | None  # a body or content fault for the endpoint to apply
    record: RecordedRequest | None


class _Endpoints:
    """The endpoints of one app, over one state; :func:`create_app` routes requests to them."""

    def __init__(self, state: _State) -> None:
        self.state = state

    async def prelude(self, request: Request, path: str) -> _Prelude:
        """Record the request, check the key and play HTTP-level faults."""
        try:
            body = await request.json()
        except json.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            return _Prelude({}, _error(400, "the request body must be a JSON object"), None, None)
        headers = {k.lower(): v for k, v in request.headers.items()}
        record = RecordedRequest(path=path, body=body, headers=headers,
                                 client_port=request.client.port if request.client else None)
        with self.state.lock:
            self.state.requests.append(record)
        if self.state.api_key is not None:
            # Azure OpenAI sends the key as ``api-key``; everyone else as a bearer token.
            given = (request.headers.get("api-key")
                     or request.headers.get("authorization", "").removeprefix("Bearer ").strip())
            if given != self.state.api_key:
                # Real servers echo (part of) the wrong key; echoing all of it lets tests check redaction.
                return _Prelude(body, _error(401, f"Incorrect API key provided: {given}", code="invalid_api_key"),
                                None, record)
        failure = self.state.next_failure(path, body)
        if failure is not None:
            if failure.kind == "connection_reset":
                self.state.count_fault(record, failure)
                await _reset_connection(request)
                return _Prelude(body, Response(status_code=500), None, record)  # never reaches the client
            if failure.kind == "truncated_body" or failure.kind in CONTENT_FAULTS:
                if self.state.latency_s > 0:
                    await asyncio.sleep(self.state.latency_s)
                return _Prelude(body, None, failure, record)
            self.state.count_fault(record, failure)
            if failure.hang_s is not None:
                if await _hang(self.state, failure.hang_s):
                    return _Prelude(body, _error(503, "the mock server is shutting down", kind="server_error"),
                                    None, record)
            else:
                kind = "rate_limit_error" if failure.status == 429 else (
                    "server_error" if failure.status >= 500 else "invalid_request_error")
                return _Prelude(body, _error(failure.status, failure.message, kind=kind,
                                             retry_after=failure.retry_after), None, record)
        if self.state.latency_s > 0:
            await asyncio.sleep(self.state.latency_s)
        return _Prelude(body, None, None, record)

    def usage(self, prompt: str, answer: str) -> dict[str, int]:
        p, c = _tokens(prompt), _tokens(answer)
        return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}

    def corrupt(self, pre: _Prelude, text: str, finish: str) -> tuple[str, str]:
        """``text`` and ``finish`` after the prelude's content fault, if it has one."""
        if pre.fault is None or pre.fault.kind not in CONTENT_FAULTS or pre.record is None:
            return text, finish
        self.state.count_fault(pre.record, pre.fault)
        return corrupt_content(text, pre.fault)

    def deliver(self, pre: _Prelude, payload: dict[str, Any]) -> Any:
        """``payload`` as the answer, or cut short when the prelude drew ``truncated_body``."""
        if pre.fault is None or pre.fault.kind != "truncated_body" or pre.record is None:
            return payload
        self.state.count_fault(pre.record, pre.fault)
        return _truncated_body(payload, pre.fault)

    async def azure_chat_completions(self, request: Request, deployment: str) -> Any:
        """Azure OpenAI's path for chat completions: the deployment names the model."""
        if not request.query_params.get("api-version"):
            return _error(404, "Resource not found (Azure OpenAI needs the api-version query parameter)")
        return await self.chat_completions(request)

    async def chat_completions(self, request: Request) -> Any:
        pre = await self.prelude(request, "/v1/chat/completions")
        if pre.response is not None:
            return pre.response
        status, payload = await self.chat_answer(pre.body, pre)
        if status != 200:
            return JSONResponse(payload, status_code=status)
        return self.deliver(pre, payload)

    async def chat_answer(self, body: dict[str, Any], pre: _Prelude | None) -> tuple[int, dict[str, Any]]:
        """The status and JSON body answering one chat request (live, or a line of a batch when ``pre`` is None)."""
        if self.state.reject_logprobs and ("logprobs" in body or "top_logprobs" in body):
            # OpenAI's answer for a model without them (400), live and in a batch line alike
            field = "logprobs" if "logprobs" in body else "top_logprobs"
            return 400, _error_body(f"Unsupported parameter: '{field}' is not supported with this model.",
                                    code="unsupported_parameter", param=field)
        fmt_type = (body.get("response_format") or {}).get("type")
        if fmt_type in self.state.rejected_formats and self.state.format_refusal_status != 500:
            # OpenAI's answer for a model without this form (400), live and in a batch line alike
            return self.state.format_refusal_status, _error_body(
                f"Invalid parameter: 'response_format' of type '{fmt_type}' is not supported with this model.",
                param="response_format")
        if fmt_type in self.state.rejected_formats:
            allowed = " or ".join(repr(t) for t in ("text", "json_schema", "json_object")
                                  if t not in self.state.rejected_formats)
            # llama-cpp-python's server answers a validation error like this with HTTP 500.
            return 500, _error_body(f"1 validation error: body.response_format.type: Input should be {allowed}",
                                    "internal_server_error")
        if body.get("tools") and self.state.reject_tools:
            return 400, _error_body("tools are not supported by this server")
        problem = content_problem(body)
        if problem is not None:
            return 400, _error_body(f"Invalid content: {problem}")
        text, finish = await self.state.reply_text(body), "stop"
        logprobs = None
        if body.get("logprobs") is True and self.state.logprobs and not body.get("tools"):
            text, logprobs = answer_logprobs(body, text, scripted=self.state.scripted)
        if pre is not None:
            text, finish = self.corrupt(pre, text, finish)
        prompt = "\n".join(text_of(m.get("content")) for m in body.get("messages", []))
        number = next(self.state.ids)
        message: dict[str, Any] = {"role": "assistant", "content": text}
        offered = body.get("tool_choice") == "auto"  # native tool calls: the model may call one, or answer
        asked = scripted_tool_calls(text, number) if body.get("tools") and offered else None
        if asked is not None:  # a scripted native tool call: {"tool_calls": [{"name", "arguments"}]}
            message = {"role": "assistant", "content": None, "tool_calls": asked}
            finish = "tool_calls" if finish == "stop" else finish
        elif body.get("tools") and not offered:  # structured output as a forced call of the first tool
            name = body["tools"][0].get("function", {}).get("name", "answer")
            call = {"id": f"call_mock_{number}", "type": "function",
                    "function": {"name": name, "arguments": text}}
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
            finish = "tool_calls" if finish == "stop" else finish
        self.state.batch.count_completed(body, in_batch=pre is None)
        return 200, {
            "id": f"chatcmpl-mock-{number}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model") or self.state.model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": logprobs}],
            "usage": self.usage(prompt, text)}

    async def completions(self, request: Request) -> Any:
        pre = await self.prelude(request, "/v1/completions")
        if pre.response is not None:
            return pre.response
        body = pre.body
        text, finish = self.corrupt(pre, await self.state.reply_text(body), "stop")
        prompt = body.get("prompt", "")
        prompt = "\n".join(prompt) if isinstance(prompt, list) else str(prompt)
        return self.deliver(pre, {
            "id": f"cmpl-mock-{next(self.state.ids)}", "object": "text_completion", "created": int(time.time()),
            "model": body.get("model") or self.state.model,
            "choices": [{"index": 0, "text": text, "finish_reason": finish, "logprobs": None}],
            "usage": self.usage(prompt, text)})

    async def models(self) -> Any:
        return {"object": "list", "data": [{"id": self.state.model, "object": "model", "created": 0,
                                            "owned_by": "tinytroupe-mock"}]}

    async def stats(self) -> Any:
        """Counts for a server in another process: requests by path and the faults injected."""
        with self.state.lock:
            by_path: dict[str, int] = {}
            for r in self.state.requests:
                by_path[r.path] = by_path.get(r.path, 0) + 1
            images = sum(len(received_images(r.body)) for r in self.state.requests
                         if r.path.endswith("/chat/completions") and content_problem(r.body) is None)
            counts = {"requests": by_path, "faults_injected": dict(self.state.faults_injected), "images": images}
        return {**counts, **self.state.batch.stats()}

    async def embeddings(self, request: Request) -> Any:
        # Content faults have no message to act on here: an embeddings request drawing one is answered normally.
        pre = await self.prelude(request, "/v1/embeddings")
        if pre.response is not None:
            return pre.response
        body = pre.body
        texts = body.get("input", "")
        texts = [texts] if isinstance(texts, str) else [str(t) for t in texts]
        data = []
        for i, text in enumerate(texts):
            # Deterministic unit vectors from a hash: equal texts get equal embeddings.
            digest = hashlib.sha256(text.encode("utf-8")).digest()
            raw = [(digest[j % len(digest)] - 127.5) / 127.5 for j in range(self.state.embedding_dim)]
            norm = math.sqrt(sum(v * v for v in raw)) or 1.0
            data.append({"object": "embedding", "index": i, "embedding": [v / norm for v in raw]})
        tokens = sum(_tokens(t) for t in texts)
        return self.deliver(pre, {"object": "list", "data": data, "model": body.get("model") or self.state.model,
                             "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})


def create_app(state: _State) -> FastAPI:
    """The fastapi application serving ``state`` (used by :class:`MockOpenAIServer` and the CLI)."""
    app = FastAPI(title="tinytroupe mock OpenAI server")
    endpoints = _Endpoints(state)
    app.post("/v1/chat/completions")(endpoints.chat_completions)
    app.post("/openai/deployments/{deployment}/chat/completions")(endpoints.azure_chat_completions)
    app.post("/v1/completions")(endpoints.completions)
    app.get("/v1/models")(endpoints.models)
    app.get("/mock/stats")(endpoints.stats)
    app.post("/v1/embeddings")(endpoints.embeddings)
    BatchEndpoints(state, endpoints).route(app)
    AzureBatchEndpoints(state, endpoints).route(app)
    return app


__all__ = ["create_app"]
