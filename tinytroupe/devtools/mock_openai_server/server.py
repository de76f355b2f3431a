"""Running the mock server: in this process on a background thread (:class:`MockOpenAIServer`), in a child
process (:func:`spawn_mock_server`), or from the shell (:func:`main`).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import httpx

from tinytroupe.devtools.mock_openai_server.app import create_app
from tinytroupe.devtools.mock_openai_server.batches import BatchFailFunction
from tinytroupe.devtools.mock_openai_server.faults import (
    DEFAULT_FAULT_HANG_S,
    DEFAULT_FAULT_RETRY_AFTER,
    FAULT_KINDS,
    MockFailure,
    _check_kind,
)
from tinytroupe.devtools.mock_openai_server.replies import RecordedRequest, Reply, ReplyFunction
from tinytroupe.devtools.mock_openai_server.state import MISSING_SERVER_DEPENDENCY, FaultFilter, _State
from tinytroupe.errors import InvalidArgumentType, InvalidState

try:
    import uvicorn
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(MISSING_SERVER_DEPENDENCY) from exc


class _Server(uvicorn.Server):
    """uvicorn's server, telling the app when it is asked to stop (also by Ctrl+C or SIGTERM)."""

    def __init__(self, config: uvicorn.Config, state: _State) -> None:
        super().__init__(config)
        self.state = state

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.state.stopping.set()
        super().handle_exit(sig, frame)


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
        format_refusal_status: the HTTP status of those refusals, live and in batch lines alike: 500
            (default) with llama-cpp-python's validation error, any other with OpenAI's ``Invalid
            parameter: 'response_format' of type 'json_schema' is not supported with this model.``
        reject_tools: refuse requests with ``tools`` (HTTP 400).
        api_key: when set, requests without ``Authorization: Bearer <api_key>`` get HTTP 401.
        model: the model name reported by ``/v1/models`` and in answers without a model.
        embedding_dim: length of the vectors from ``/v1/embeddings``.
        fault_rate: the share (0 to 1) of chat and text completions that get a random fault.
        fault_kinds: the kinds drawn from (default: all of :data:`FAULT_KINDS`), equally likely.
        fault_seed: seeds the draws (which requests fail, with what, and where answers are cut).
        fault_hang_s: how long a ``timeout`` fault keeps the client waiting before answering.
        fault_retry_after: the ``Retry-After`` seconds of a random ``rate_limit`` fault.
        fault_when: only requests whose JSON body this returns True for may get a random fault
            (e.g. only extraction calls); scripted failures ignore it.
        batch_latency_s: seconds a batch (``/v1/batches``) waits before its lines are answered.
        batch_expire_after: answer only this many lines of each batch, then end it ``expired`` (the
            rest go to its error file as ``batch_expired``); None answers them all.
        batch_fail_when: called with each batch line's request body; an HTTP status it returns makes
            that line an error-file line with that status.
        logprobs: answer requests asking for ``logprobs`` with plausible ones (see
            :mod:`~tinytroupe.devtools.mock_openai_server.logprobs`); False answers ``"logprobs": null``.
        reject_logprobs: refuse requests with ``logprobs`` or ``top_logprobs`` with HTTP 400, as OpenAI
            does for a model without them, live and in batch lines alike.

    Example:
        >>> with MockOpenAIServer(replies=["hi"], latency_s=0.01) as server:
        ...     print(server.base_url)  # doctest: +ELLIPSIS
        http://127.0.0.1:.../v1
    """

    def __init__(self, *, replies: Sequence[Reply] | None = None, reply_fn: ReplyFunction | None = None,
                 latency_s: float = 0.0, failures: Iterable[MockFailure] = (),
                 reject_json_schema: bool = False, rejected_formats: Iterable[str] = (),
                 format_refusal_status: int = 500, reject_tools: bool = False, api_key: str | None = None,
                 model: str = "mock-model",
                 embedding_dim: int = 8, port: int = 0, fault_rate: float = 0.0,
                 fault_kinds: Iterable[str] | None = None, fault_seed: int | None = None,
                 fault_hang_s: float = DEFAULT_FAULT_HANG_S, fault_retry_after: float = DEFAULT_FAULT_RETRY_AFTER,
                 fault_when: FaultFilter | None = None, batch_latency_s: float = 0.0,
                 batch_expire_after: int | None = None, batch_fail_when: BatchFailFunction | None = None,
                 logprobs: bool = True, reject_logprobs: bool = False) -> None:
        formats = set(rejected_formats) | ({"json_schema"} if reject_json_schema else set())
        self.state = _State(replies=replies, reply_fn=reply_fn, latency_s=latency_s, failures=failures,
                            rejected_formats=formats, format_refusal_status=format_refusal_status,
                            reject_tools=reject_tools, api_key=api_key,
                            model=model, embedding_dim=embedding_dim, fault_rate=fault_rate,
                            fault_kinds=fault_kinds, fault_seed=fault_seed, fault_hang_s=fault_hang_s,
                            fault_retry_after=fault_retry_after, fault_when=fault_when,
                            batch_latency_s=batch_latency_s, batch_expire_after=batch_expire_after,
                            batch_fail_when=batch_fail_when, logprobs=logprobs, reject_logprobs=reject_logprobs)
        self._port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise InvalidState("the mock server is not running; use it as a context manager or call start()")
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

    @property
    def open_connections(self) -> int:
        """How many client connections the server holds open now (keep-alive ones included)."""
        if self._server is None:
            return 0
        return len(self._server.server_state.connections)

    def chat_requests(self) -> list[dict[str, Any]]:
        """The JSON bodies of the chat completion requests received so far."""
        return [r.body for r in self.requests if r.path == "/v1/chat/completions"]

    def stats(self) -> dict[str, Any]:
        """What ``GET /mock/stats`` reports about batches: their statuses, the batch requests completed, and
        ``completed_twice``: completions of a request body (live or batched) beyond its first."""
        return self.state.batch.stats()

    def add_failures(self, *failures: MockFailure) -> None:
        """Queue misbehaviours for the next requests.

        Raises:
            InvalidArgumentType: an argument is not a :class:`MockFailure` (a list: unpack it with ``*``).
        """
        wrong = next((f for f in failures if not isinstance(f, MockFailure)), None)
        if wrong is not None:  # found here, not as an HTTP 500 of the next request
            raise InvalidArgumentType(f"add_failures takes MockFailure objects, got a {type(wrong).__name__}"
                                      + (" (unpack a list: add_failures(*failures))" if isinstance(wrong, list | tuple)
                                         else ""))
        with self.state.lock:
            self.state.failures.extend(failures)

    def set_faults(self, rate: float, kinds: Iterable[str] | None = None, seed: int | None = None) -> None:
        """Change the random faults from now on (rate 0 turns them off); the generator restarts from ``seed``."""
        self.state.set_faults(rate, kinds, seed)

    @property
    def faults_injected(self) -> dict[str, int]:
        """How many faults were injected so far, by label (a kind of :data:`FAULT_KINDS`, or
        ``http_<status>`` for a scripted status without a kind)."""
        with self.state.lock:
            return dict(self.state.faults_injected)

    def set_replies(self, replies: Sequence[Reply]) -> None:
        """Replace the scripted replies (and start from the first)."""
        with self.state.lock:
            self.state.replies = list(replies)
            self.state.reply_index = 0

    def start(self, timeout: float = 10.0) -> MockOpenAIServer:
        """Start serving; returns when the server accepts connections."""
        if self._server is not None:
            raise InvalidState("the mock server is already running")
        sock = _listening_socket("127.0.0.1", self._port)
        self._port = sock.getsockname()[1]
        # log_config=None: a library helper must not reconfigure logging.
        config = uvicorn.Config(create_app(self.state), log_config=None, log_level="warning",
                                access_log=False, timeout_graceful_shutdown=1, lifespan="off")
        self.state.stopping.clear()
        server = _Server(config, self.state)
        self._server = server
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                                        name=f"mock-openai-{self._port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                sock.close()
                raise InvalidState(f"the mock OpenAI server did not start on 127.0.0.1:{self._port} "
                                   f"within {timeout} s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread (requests hanging in a ``timeout`` fault get HTTP 503 at once)."""
        if self._server is None:
            return
        self.state.stopping.set()
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
                      extra_path: str | None = None, fault_rate: float = 0.0,
                      fault_kinds: Iterable[str] | None = None, fault_seed: int | None = None,
                      fault_hang_s: float = DEFAULT_FAULT_HANG_S,
                      fault_retry_after: float = DEFAULT_FAULT_RETRY_AFTER,
                      batch_latency_ms: float = 0.0, logprobs: bool = True) -> tuple[subprocess.Popen[str], str]:
    """Start the mock server in a child process on 127.0.0.1 (a free port); returns it and its base URL.

    A separate process keeps the server off the caller's GIL, as a real server would be. The caller
    stops it (``proc.terminate()``). ``extra_path`` is prepended to the child's PYTHONPATH (for running
    from a checkout without installing). The ``fault_*`` arguments and ``logprobs`` are those of
    :class:`MockOpenAIServer`; ``GET <base_url without /v1>/mock/stats`` reports the faults injected.
    """
    kinds = list(fault_kinds) if fault_kinds is not None else None
    for kind in kinds or ():
        _check_kind(kind)  # fail here, not as an argparse exit in the child
    paths = [p for p in (extra_path, os.environ.get("PYTHONPATH")) if p]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)} if paths else None
    command = [sys.executable, "-m", "tinytroupe.devtools.mock_openai_server", "--host", "127.0.0.1",
               "--port", "0", "--latency-ms", str(latency_ms), "--model", model,
               "--batch-latency-ms", str(batch_latency_ms)] + ([] if logprobs else ["--no-logprobs"])
    if fault_rate > 0:
        command += ["--fault-rate", str(fault_rate), "--fault-hang-s", str(fault_hang_s),
                    "--fault-retry-after", str(fault_retry_after)]
        if kinds is not None:
            command += ["--faults", ",".join(kinds)]
        if fault_seed is not None:
            command += ["--fault-seed", str(fault_seed)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "http://" not in line:
        proc.kill()
        raise InvalidState(f"the mock server did not start (it printed {line!r})")
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


def _fault_list(text: str) -> list[str]:
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in FAULT_KINDS]
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(f"unknown fault kind(s) {', '.join(unknown) or '(none given)'}; "
                                         f"the kinds are: {', '.join(FAULT_KINDS)}")
    return kinds


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m tinytroupe.devtools.mock_openai_server --port N --latency-ms M [--fault-rate R ...]``."""
    parser = argparse.ArgumentParser(prog="python -m tinytroupe.devtools.mock_openai_server",
                                     description="A mock OpenAI-compatible server for tests and benchmarks.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (0: a free one)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay of every answer in ms")
    parser.add_argument("--model", default="mock-model", help="model name to report")
    parser.add_argument("--reply", action="append", default=None, help="a reply (repeat for several)")
    parser.add_argument("--reject-json-schema", action="store_true",
                        help="refuse response_format json_schema like llama-cpp-python does")
    parser.add_argument("--fault-rate", type=float, default=0.0,
                        help="share (0 to 1) of completions that get a random fault")
    parser.add_argument("--faults", type=_fault_list, default=None,
                        help=f"comma-separated fault kinds to draw from (default: all): {','.join(FAULT_KINDS)}")
    parser.add_argument("--fault-seed", type=int, default=None, help="seed of the fault draws")
    parser.add_argument("--fault-hang-s", type=float, default=DEFAULT_FAULT_HANG_S,
                        help="seconds a timeout fault waits before answering")
    parser.add_argument("--fault-retry-after", type=float, default=DEFAULT_FAULT_RETRY_AFTER,
                        help="Retry-After seconds of a rate_limit fault")
    parser.add_argument("--batch-latency-ms", type=float, default=0.0,
                        help="delay before a batch's requests are answered, in ms")
    parser.add_argument("--no-logprobs", action="store_true",
                        help='answer requests for logprobs with "logprobs": null, as many servers do')
    parser.add_argument("--reject-logprobs", action="store_true",
                        help="refuse requests for logprobs with HTTP 400, as OpenAI does for a model without them")
    args = parser.parse_args(argv)
    if not 0.0 <= args.fault_rate <= 1.0:
        parser.error(f"--fault-rate must be between 0 and 1, got {args.fault_rate}")
    state = _State(replies=args.reply, reply_fn=None, latency_s=args.latency_ms / 1000.0, failures=(),
                   rejected_formats={"json_schema"} if args.reject_json_schema else set(), reject_tools=False,
                   api_key=None, model=args.model, embedding_dim=8, fault_rate=args.fault_rate,
                   fault_kinds=args.faults, fault_seed=args.fault_seed, fault_hang_s=args.fault_hang_s,
                   fault_retry_after=args.fault_retry_after, batch_latency_s=args.batch_latency_ms / 1000.0,
                   logprobs=not args.no_logprobs, reject_logprobs=args.reject_logprobs)
    sock = _listening_socket(args.host, args.port)
    host, port = sock.getsockname()[:2]
    print(f"mock OpenAI server on http://{host}:{port}/v1", flush=True)
    config = uvicorn.Config(create_app(state), log_level="warning", access_log=False, lifespan="off")
    _Server(config, state).run(sockets=[sock])


__all__ = ["MockOpenAIServer", "main", "spawn_mock_server"]
