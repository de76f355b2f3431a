"""The mock server's state: replies, queued and random faults, the request record, behind one lock
shared by the app and the thread that controls the server.
"""

from __future__ import annotations

import inspect
import itertools
import json
import random
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tinytroupe.devtools.mock_openai_server.batches import BatchFailFunction, BatchFiles
from tinytroupe.devtools.mock_openai_server.faults import (
    CUT_RANGE,
    DEFAULT_FAULT_HANG_S,
    DEFAULT_FAULT_RETRY_AFTER,
    FAULT_KINDS,
    MockFailure,
    _check_kind,
)
from tinytroupe.devtools.mock_openai_server.replies import (
    DEFAULT_TEXT_REPLY,
    RecordedRequest,
    Reply,
    ReplyFunction,
    _render,
    example_for_schema,
    requested_schema,
)
from tinytroupe.errors import InvalidArgument

#: what a missing optional dependency of the server (fastapi, uvicorn) is reported as
MISSING_SERVER_DEPENDENCY = ("the mock OpenAI server needs fastapi and uvicorn: pip install 'tinytroupe[local]' "
                             "(or pip install fastapi uvicorn)")
#: the paths that random faults hit (scripted failures hit whichever request comes next)
RANDOM_FAULT_PATHS = frozenset({"/v1/chat/completions", "/v1/completions"})
FaultFilter = Callable[[dict[str, Any]], bool]


class _State:
    """Everything the app reads and the controlling thread changes, behind one lock."""

    def __init__(self, *, replies: Sequence[Reply] | None, reply_fn: ReplyFunction | None, latency_s: float,
                 failures: Iterable[MockFailure], rejected_formats: Iterable[str], reject_tools: bool,
                 api_key: str | None, model: str, embedding_dim: int, fault_rate: float = 0.0,
                 fault_kinds: Iterable[str] | None = None, fault_seed: int | None = None,
                 fault_hang_s: float = DEFAULT_FAULT_HANG_S,
                 fault_retry_after: float = DEFAULT_FAULT_RETRY_AFTER,
                 fault_when: FaultFilter | None = None, batch_latency_s: float = 0.0,
                 batch_expire_after: int | None = None, batch_fail_when: BatchFailFunction | None = None,
                 logprobs: bool = True, format_refusal_status: int = 500, reject_logprobs: bool = False) -> None:
        self.lock = threading.Lock()
        #: answer requests that ask for logprobs with them (False: ``"logprobs": null``, as many servers do)
        self.logprobs = logprobs
        #: refuse requests that ask for logprobs (HTTP 400, OpenAI's answer for a model without them)
        self.reject_logprobs = reject_logprobs
        #: uploaded files, batches, and the completions counted per request body (live and batched)
        self.batch = BatchFiles(latency_s=batch_latency_s, expire_after=batch_expire_after,
                                fail_when=batch_fail_when)
        self.replies: list[Reply] = list(replies or [])
        self.reply_index = 0
        self.reply_fn = reply_fn
        self.latency_s = latency_s
        self.failures: deque[MockFailure] = deque(failures)
        self.rejected_formats = set(rejected_formats)
        #: 500: refused as llama-cpp-python's server does; any other status: as OpenAI does
        self.format_refusal_status = format_refusal_status
        self.reject_tools = reject_tools
        self.api_key = api_key
        self.model = model
        self.embedding_dim = embedding_dim
        self.requests: list[RecordedRequest] = []
        self.ids = itertools.count(1)
        self.faults_injected: dict[str, int] = {}
        self.fault_rate = 0.0
        self.fault_kinds: tuple[str, ...] = FAULT_KINDS
        self.fault_rng = random.Random(fault_seed)
        self.fault_hang_s = fault_hang_s
        self.fault_retry_after = fault_retry_after
        self.fault_when = fault_when
        #: set when the server stops: hanging answers end at once instead of being cancelled mid-sleep
        self.stopping = threading.Event()
        self.set_faults(fault_rate, fault_kinds, fault_seed)

    def set_faults(self, rate: float, kinds: Iterable[str] | None = None, seed: int | None = None) -> None:
        """Inject random faults of ``kinds`` (default: all) into a ``rate`` share of completions."""
        if not 0.0 <= rate <= 1.0:
            raise InvalidArgument(f"fault_rate must be between 0 and 1, got {rate}")
        chosen = tuple(_check_kind(k) for k in kinds) if kinds is not None else FAULT_KINDS
        if rate > 0 and not chosen:
            raise InvalidArgument("fault_kinds is empty; name at least one of: " + ", ".join(FAULT_KINDS))
        with self.lock:
            self.fault_rate = rate
            self.fault_kinds = chosen
            self.fault_rng = random.Random(seed)

    def next_failure(self, path: str, body: dict[str, Any]) -> MockFailure | None:
        """The scripted failure queued next, else (for completions) a random fault or None."""
        with self.lock:
            if self.failures:
                return self.failures.popleft()
            rate, when = self.fault_rate, self.fault_when
        if rate <= 0 or path not in RANDOM_FAULT_PATHS or (when is not None and not when(body)):
            return None
        with self.lock:
            # Every draw comes from one seeded generator: the same seed gives the same fault sequence.
            if self.fault_rng.random() >= self.fault_rate:
                return None
            kind = self.fault_rng.choice(self.fault_kinds)
            keep = self.fault_rng.uniform(*CUT_RANGE)
        return MockFailure.of(kind, retry_after=self.fault_retry_after, hang_s=self.fault_hang_s, keep=keep)

    def count_fault(self, record: RecordedRequest, failure: MockFailure) -> None:
        """Note that ``failure`` was injected into the answer to ``record``."""
        with self.lock:
            self.faults_injected[failure.label] = self.faults_injected.get(failure.label, 0) + 1
            record.fault = failure.label

    @property
    def scripted(self) -> bool:
        """Whether answers come from scripted replies or a reply function (not made up by the server)."""
        return self.reply_fn is not None or bool(self.replies)

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
        schema = requested_schema(body)
        if schema is not None:
            return json.dumps(example_for_schema(schema))
        return DEFAULT_TEXT_REPLY


__all__ = ["RANDOM_FAULT_PATHS", "FaultFilter"]
