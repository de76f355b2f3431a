"""A real OpenAI-compatible HTTP server that answers from a script, for tests and benchmarks.

It serves ``/v1/chat/completions``, ``/v1/completions``, ``/v1/models`` and ``/v1/embeddings`` over
real HTTP (fastapi + uvicorn), with a fixed latency, scripted replies or a reply function, scripted
failures (429 with ``Retry-After``, 500, 400, a hang), an option to refuse ``json_schema``
response formats the way llama-cpp-python's server does, usage counts, and a record of every request.

Structured requests without a scripted reply get a small valid example built from their schema, so
benchmarks can send any response model.

Example:
    >>> with MockOpenAIServer(replies=["hello"]) as server:  # doctest: +SKIP
    ...     client = openai.OpenAI(base_url=server.base_url, api_key="x")
    ...     client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])

Run it standalone (port 0 picks a free one; the URL is printed)::

    python -m tinytroupe.devtools.mock_openai_server --port 8000 --latency-ms 20
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import inspect
import itertools
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

try:
    import uvicorn
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "the mock OpenAI server needs fastapi and uvicorn: pip install 'tinytroupe[local]' "
        "(or pip install fastapi uvicorn)"
    ) from exc

Reply = str | dict[str, Any] | list[Any] | BaseModel
ReplyFunction = Callable[[dict[str, Any]], Reply] | Callable[[dict[str, Any]], Awaitable[Reply]]

DEFAULT_TEXT_REPLY = "This is a mock reply."


class MockFailure(BaseModel):
    """One scripted misbehaviour, used for the next request instead of a normal answer.

    ``hang_s`` makes the server wait that long and then answer normally (use it with a shorter
    client timeout); otherwise the server answers ``status`` with an OpenAI-style error body and,
    when ``retry_after`` is set, a ``Retry-After`` header.

    Example:
        >>> MockFailure.rate_limit(2).status
        429
    """

    model_config = ConfigDict(frozen=True)

    status: int = 500
    message: str = "mock server error"
    retry_after: float | None = None
    hang_s: float | None = None

    @classmethod
    def rate_limit(cls, retry_after: float | None = 1.0) -> MockFailure:
        return cls(status=429, message="Rate limit reached for requests", retry_after=retry_after)

    @classmethod
    def server_error(cls, status: int = 500) -> MockFailure:
        return cls(status=status, message="The server had an error while processing your request")

    @classmethod
    def bad_request(cls, message: str = "Invalid value for 'messages'") -> MockFailure:
        return cls(status=400, message=message)

    @classmethod
    def hang(cls, seconds: float) -> MockFailure:
        return cls(hang_s=seconds)


class RecordedRequest(BaseModel):
    """One request the server received: path, JSON body, headers (lower-case) and the client's port."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    client_port: int | None = None


def _render(reply: Reply) -> str:
    if isinstance(reply, BaseModel):
        return reply.model_dump_json()
    if isinstance(reply, dict | list):
        return json.dumps(reply)
    return reply


def example_for_schema(schema: dict[str, Any], root: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """A small value that validates against ``schema`` (enough for pydantic-generated schemas).

    Example:
        >>> example_for_schema({"type": "object", "properties": {"n": {"type": "integer", "minimum": 3}}})
        {'n': 3}
    """
    root = root if root is not None else schema
    if depth > 20:
        return None
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return example_for_schema(root.get("$defs", {}).get(name, {}), root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return example_for_schema(options[0], root, depth + 1)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        return {name: example_for_schema(sub, root, depth + 1)
                for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        return [example_for_schema(schema.get("items", {}), root, depth + 1) for _ in range(count)]
    if kind == "integer":
        return int(schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1))
    if kind == "number":
        return float(schema.get("minimum", 0.0))
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return "x" * max(1, int(schema.get("minLength", 4)))


def _requested_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else None
    if fmt.get("type") == "json_object":
        schema = fmt.get("schema")
        return schema if isinstance(schema, dict) else {"type": "object", "properties": {}}
    tools = body.get("tools") or []
    if tools:
        params = tools[0].get("function", {}).get("parameters")
        return params if isinstance(params, dict) else None
    return None


def _tokens(text: str) -> int:
    # A rough 4-characters-per-token rule: the point is that usage is present and grows with size.
    return max(1, math.ceil(len(text) / 4))


class _State:
    """Everything the app reads and the controlling thread changes, behind one lock."""

    def __init__(self, *, replies: Sequence[Reply] | None, reply_fn: ReplyFunction | None, latency_s: float,
                 failures: Iterable[MockFailure], rejected_formats: Iterable[str], reject_tools: bool,
                 api_key: str | None, model: str, embedding_dim: int) -> None:
        self.lock = threading.Lock()
        self.replies: list[Reply] = list(replies or [])
        self.reply_index = 0
        self.reply_fn = reply_fn
        self.latency_s = latency_s
        self.failures: deque[MockFailure] = deque(failures)
        self.rejected_formats = set(rejected_formats)
        self.reject_tools = reject_tools
        self.api_key = api_key
        self.model = model
        self.embedding_dim = embedding_dim
        self.requests: list[RecordedRequest] = []
        self.ids = itertools.count(1)

    def next_failure(self) -> MockFailure | None:
        with self.lock:
            return self.failures.popleft() if self.failures else None

    async def reply_text(self, body: dict[str, Any]) -> str:
        if self.reply_fn is not None:
            out = self.reply_fn(body)
            if inspect.isawaitable(out):
                out = await out
            return _render(out)
        with self.lock:
            if self.replies:
                # Scripted replies cycle, so a benchmark can send more requests than replies.
                reply = self.replies[self.reply_index % len(self.replies)]
                self.reply_index += 1
                return _render(reply)
        schema = _requested_schema(body)
        if schema is not None:
            return json.dumps(example_for_schema(schema))
        return DEFAULT_TEXT_REPLY


def _error(status: int, message: str, *, kind: str = "invalid_request_error", code: str | None = None,
           retry_after: float | None = None) -> JSONResponse:
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else None
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": code}},
                        status_code=status, headers=headers)


def create_app(state: _State) -> FastAPI:
    """The fastapi application serving ``state`` (used by :class:`MockOpenAIServer` and the CLI)."""
    app = FastAPI(title="tinytroupe mock OpenAI server")

    async def prelude(request: Request, path: str) -> tuple[dict[str, Any], JSONResponse | None]:
        """Record the request and check the key; returns the body and an error response or None."""
        try:
            body = await request.json()
        except json.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            return {}, _error(400, "the request body must be a JSON object")
        headers = {k.lower(): v for k, v in request.headers.items()}
        record = RecordedRequest(path=path, body=body, headers=headers,
                                 client_port=request.client.port if request.client else None)
        with state.lock:
            state.requests.append(record)
        if state.api_key is not None:
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if given != state.api_key:
                # Real servers echo (part of) the wrong key; echoing all of it lets tests check redaction.
                return body, _error(401, f"Incorrect API key provided: {given}", code="invalid_api_key")
        failure = state.next_failure()
        if failure is not None:
            if failure.hang_s is not None:
                await asyncio.sleep(failure.hang_s)
            else:
                kind = "rate_limit_error" if failure.status == 429 else (
                    "server_error" if failure.status >= 500 else "invalid_request_error")
                return body, _error(failure.status, failure.message, kind=kind,
                                    retry_after=failure.retry_after)
        if state.latency_s > 0:
            await asyncio.sleep(state.latency_s)
        return body, None

    def usage(prompt: str, answer: str) -> dict[str, int]:
        p, c = _tokens(prompt), _tokens(answer)
        return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Any:
        body, failed = await prelude(request, "/v1/chat/completions")
        if failed is not None:
            return failed
        fmt_type = (body.get("response_format") or {}).get("type")
        if fmt_type in state.rejected_formats:
            allowed = " or ".join(repr(t) for t in ("text", "json_schema", "json_object")
                                  if t not in state.rejected_formats)
            # llama-cpp-python's server answers a validation error like this with HTTP 500.
            return _error(500, f"1 validation error: body.response_format.type: Input should be {allowed}",
                          kind="internal_server_error")
        if body.get("tools") and state.reject_tools:
            return _error(400, "tools are not supported by this server")
        text = await state.reply_text(body)
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        number = next(state.ids)
        message: dict[str, Any] = {"role": "assistant", "content": text}
        finish = "stop"
        if body.get("tools"):
            name = body["tools"][0].get("function", {}).get("name", "answer")
            call = {"id": f"call_mock_{number}", "type": "function",
                    "function": {"name": name, "arguments": text}}
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
            finish = "tool_calls"
        return {"id": f"chatcmpl-mock-{number}", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model") or state.model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
                "usage": usage(prompt, text)}

    @app.post("/v1/completions")
    async def completions(request: Request) -> Any:
        body, failed = await prelude(request, "/v1/completions")
        if failed is not None:
            return failed
        text = await state.reply_text(body)
        prompt = body.get("prompt", "")
        prompt = "\n".join(prompt) if isinstance(prompt, list) else str(prompt)
        return {"id": f"cmpl-mock-{next(state.ids)}", "object": "text_completion",
                "created": int(time.time()),
                "model": body.get("model") or state.model,
                "choices": [{"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}],
                "usage": usage(prompt, text)}

    @app.get("/v1/models")
    async def models() -> Any:
        return {"object": "list", "data": [{"id": state.model, "object": "model", "created": 0,
                                            "owned_by": "tinytroupe-mock"}]}

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> Any:
        body, failed = await prelude(request, "/v1/embeddings")
        if failed is not None:
            return failed
        texts = body.get("input", "")
        texts = [texts] if isinstance(texts, str) else [str(t) for t in texts]
        data = []
        for i, text in enumerate(texts):
            # Deterministic unit vectors from a hash: equal texts get equal embeddings.
            digest = hashlib.sha256(text.encode("utf-8")).digest()
            raw = [(digest[j % len(digest)] - 127.5) / 127.5 for j in range(state.embedding_dim)]
            norm = math.sqrt(sum(v * v for v in raw)) or 1.0
            data.append({"object": "embedding", "index": i, "embedding": [v / norm for v in raw]})
        tokens = sum(_tokens(t) for t in texts)
        return {"object": "list", "data": data, "model": body.get("model") or state.model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    return app


def _listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket (port 0: a free one), ready to hand to uvicorn."""
    # proto=IPPROTO_TCP matters: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets
    # that say they are TCP; without it every keep-alive answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


class MockOpenAIServer:
    """The mock server on 127.0.0.1, in a background thread, as a context manager.

    Args:
        replies: chat/completion replies in order (cycling); dicts, lists and pydantic objects
            are sent as JSON text.
        reply_fn: called with each request's JSON body instead of ``replies`` (sync or async).
        latency_s: seconds every answer is delayed (asynchronously: requests overlap).
        failures: misbehaviours for the first requests, in order (see :class:`MockFailure`).
        reject_json_schema: refuse ``response_format`` of type json_schema with HTTP 500, as
            llama-cpp-python's server does.
        rejected_formats: more response_format types to refuse (e.g. ``{"json_object"}``).
        reject_tools: refuse requests with ``tools`` (HTTP 400).
        api_key: when set, requests without ``Authorization: Bearer <api_key>`` get HTTP 401.
        model: the model name reported by ``/v1/models`` and in answers without a model.
        embedding_dim: length of the vectors from ``/v1/embeddings``.

    Example:
        >>> with MockOpenAIServer(replies=["hi"], latency_s=0.01) as server:  # doctest: +SKIP
        ...     print(server.base_url)
        http://127.0.0.1:54321/v1
    """

    def __init__(self, *, replies: Sequence[Reply] | None = None, reply_fn: ReplyFunction | None = None,
                 latency_s: float = 0.0, failures: Iterable[MockFailure] = (),
                 reject_json_schema: bool = False, rejected_formats: Iterable[str] = (),
                 reject_tools: bool = False, api_key: str | None = None, model: str = "mock-model",
                 embedding_dim: int = 8, port: int = 0) -> None:
        formats = set(rejected_formats) | ({"json_schema"} if reject_json_schema else set())
        self.state = _State(replies=replies, reply_fn=reply_fn, latency_s=latency_s, failures=failures,
                            rejected_formats=formats, reject_tools=reject_tools, api_key=api_key,
                            model=model, embedding_dim=embedding_dim)
        self._port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the mock server is not running; use it as a context manager or call start()")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the requests received so far."""
        with self.state.lock:
            return list(self.state.requests)

    def chat_requests(self) -> list[dict[str, Any]]:
        """The JSON bodies of the chat completion requests received so far."""
        return [r.body for r in self.requests if r.path == "/v1/chat/completions"]

    def add_failures(self, *failures: MockFailure) -> None:
        """Queue misbehaviours for the next requests."""
        with self.state.lock:
            self.state.failures.extend(failures)

    def set_replies(self, replies: Sequence[Reply]) -> None:
        """Replace the scripted replies (and start from the first)."""
        with self.state.lock:
            self.state.replies = list(replies)
            self.state.reply_index = 0

    def start(self, timeout: float = 10.0) -> MockOpenAIServer:
        """Start serving; returns when the server accepts connections."""
        if self._server is not None:
            raise RuntimeError("the mock server is already running")
        sock = _listening_socket("127.0.0.1", self._port)
        self._port = sock.getsockname()[1]
        # log_config=None: a library helper must not reconfigure logging.
        config = uvicorn.Config(create_app(self.state), log_config=None, log_level="warning",
                                access_log=False, timeout_graceful_shutdown=1, lifespan="off")
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                                        name=f"mock-openai-{self._port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                sock.close()
                raise RuntimeError(f"the mock OpenAI server did not start on 127.0.0.1:{self._port} "
                                   f"within {timeout} s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread (hanging requests are cut after about a second)."""
        if self._server is None:
            return
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> MockOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def spawn_mock_server(latency_ms: float = 0.0, *, model: str = "mock-model", timeout_s: float = 30.0,
                      extra_path: str | None = None) -> tuple[subprocess.Popen[str], str]:
    """Start the mock server in a child process on 127.0.0.1 (a free port); returns it and its base URL.

    A separate process keeps the server off the caller's GIL, as a real server would be. The caller
    stops it (``proc.terminate()``). ``extra_path`` is prepended to the child's PYTHONPATH (for running
    from a checkout without installing).
    """
    paths = [p for p in (extra_path, os.environ.get("PYTHONPATH")) if p]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)} if paths else None
    proc = subprocess.Popen(
        [sys.executable, "-m", "tinytroupe.devtools.mock_openai_server", "--host", "127.0.0.1", "--port", "0",
         "--latency-ms", str(latency_ms), "--model", model],
        stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "http://" not in line:
        proc.kill()
        raise RuntimeError(f"the mock server did not start (it printed {line!r})")
    base_url = line.strip().rsplit(" ", 1)[-1]
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{base_url}/models", timeout=1).status_code == 200:
                return proc, base_url
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
        time.sleep(0.05)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m tinytroupe.devtools.mock_openai_server --port N --latency-ms M``."""
    parser = argparse.ArgumentParser(description="A mock OpenAI-compatible server for tests and benchmarks.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (0: a free one)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay of every answer in ms")
    parser.add_argument("--model", default="mock-model", help="model name to report")
    parser.add_argument("--reply", action="append", default=None, help="a reply (repeat for several)")
    parser.add_argument("--reject-json-schema", action="store_true",
                        help="refuse response_format json_schema like llama-cpp-python does")
    args = parser.parse_args(argv)
    state = _State(replies=args.reply, reply_fn=None, latency_s=args.latency_ms / 1000.0, failures=(),
                   rejected_formats={"json_schema"} if args.reject_json_schema else set(), reject_tools=False,
                   api_key=None, model=args.model, embedding_dim=8)
    sock = _listening_socket(args.host, args.port)
    host, port = sock.getsockname()[:2]
    print(f"mock OpenAI server on http://{host}:{port}/v1", flush=True)
    config = uvicorn.Config(create_app(state), log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
