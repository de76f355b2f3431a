"""A real OpenAI-compatible HTTP server that answers from a script, for tests and benchmarks.

It serves ``/v1/chat/completions``, ``/v1/completions``, ``/v1/models`` and ``/v1/embeddings`` over
real HTTP (fastapi + uvicorn), with a fixed latency, scripted replies or a reply function, scripted
failures (429 with ``Retry-After``, 500, 400, a hang), an option to refuse ``json_schema``
response formats the way llama-cpp-python's server does (HTTP 500) or OpenAI does for a model without
them (HTTP 400, ``format_refusal_status``), in live calls and batch lines alike, an option to refuse
``logprobs`` as OpenAI does for a model without them (HTTP 400, ``reject_logprobs``; ``logprobs=False``
answers ``"logprobs": null`` instead), usage counts, and a record of every request.

Faults: every kind in :data:`FAULT_KINDS` can be queued for the next request
(``server.add_failures(MockFailure.of("truncated_body"))``) or injected at random into a share of
the chat and text completions with a seeded generator
(``MockOpenAIServer(fault_rate=0.1, fault_kinds=["rate_limit", "timeout"], fault_seed=1)``).
``server.faults_injected`` counts what was injected, by kind::

    rate_limit              HTTP 429 with a short Retry-After (``fault_retry_after``, default 0.02 s)
    server_error            HTTP 500
    unavailable             HTTP 503
    timeout                 no answer for ``fault_hang_s`` seconds (then a normal one)
    connection_reset        the TCP connection is reset before any response byte
    truncated_body          HTTP 200 whose JSON body stops half-way (the SDK's json.loads fails)
    malformed_json          a valid envelope whose message content is prose, not JSON
    truncated_content       the content is a cut-off prefix of the real answer, finish_reason "length"
    truncated_content_stop  the same prefix with finish_reason "stop", as some servers send it
    wrong_schema            a JSON object whose field names are all wrong (the required ones missing)
    oversized               the real answer padded to about 300,000 characters
    deep_nesting            the real answer plus a value nested 1,000 levels deep

Cut-off answers (``truncated_*``) keep between 5 % and 90 % of the text, so an answer whose last
characters carry a sentinel tells a test whether a cut-off answer was accepted.

Structured requests without a scripted reply get a small valid example built from their schema, so
benchmarks can send any response model.

Images: chat messages may carry content parts (text and ``image_url``, as OpenAI takes them); bad
parts get HTTP 400, and ``server.requests[i].images()`` reports what arrived (type, detail, size,
hash), ``/mock/stats`` how many (:mod:`.vision`).

Modules: :mod:`.faults` (``FAULT_KINDS``, ``MockFailure``, ``corrupt_content``), :mod:`.replies`
(scripted replies, ``example_for_schema``, ``RecordedRequest``), :mod:`.vision` (image content parts),
:mod:`.state` (what the app reads and
the controlling thread changes), :mod:`.app` (``create_app``: the endpoints), :mod:`.batches`,
:mod:`.batch_app` and :mod:`.azure_batch_app` (the Batch APIs), :mod:`.server`
(``MockOpenAIServer``, ``spawn_mock_server``, ``main``).

Example:
    >>> import openai
    >>> with MockOpenAIServer(replies=["hello"]) as server:
    ...     with openai.OpenAI(base_url=server.base_url, api_key="x") as client:
    ...         reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    >>> reply.choices[0].message.content, len(server.requests)
    ('hello', 1)

Run it standalone (port 0 picks a free one; the URL is printed)::

    python -m tinytroupe.devtools.mock_openai_server --port 8000 --latency-ms 20
    python -m tinytroupe.devtools.mock_openai_server --port 0 --fault-rate 0.1 --faults rate_limit,timeout

Batches: ``/v1/files`` (upload, metadata, content) and ``/v1/batches`` (create, retrieve, cancel)
follow OpenAI's Batch API, and ``/openai/files`` and ``/openai/batches`` Azure OpenAI's (with
``api-version`` and ``api-key``, refused without them as Azure does: :mod:`.azure_batch_app`); a batch
is answered ``batch_latency_s`` after it is created, whether or not anyone polls it, can expire part
way (``batch_expire_after``) and fail chosen lines (``batch_fail_when``). See :mod:`.batch_app`.

``GET /mock/stats`` returns the request count and ``faults_injected`` of a running server (for a
server in another process), the batches by status, ``batch_requests_completed``, and
``completed_twice``: completions of a request body (live or batched) beyond its first, i.e. requests
paid for twice.
"""

from tinytroupe.devtools.mock_openai_server.app import create_app
from tinytroupe.devtools.mock_openai_server.faults import (
    CONTENT_FAULTS,
    CUT_RANGE,
    DEFAULT_FAULT_HANG_S,
    DEFAULT_FAULT_RETRY_AFTER,
    DEFAULT_NESTING_DEPTH,
    DEFAULT_OVERSIZED_CHARS,
    FAULT_KINDS,
    MALFORMED_TEXT,
    MockFailure,
    corrupt_content,
)
from tinytroupe.devtools.mock_openai_server.replies import (
    DEFAULT_TEXT_REPLY,
    RecordedRequest,
    Reply,
    ReplyFunction,
    example_for_schema,
    requested_schema,
)
from tinytroupe.devtools.mock_openai_server.server import MockOpenAIServer, main, spawn_mock_server
from tinytroupe.devtools.mock_openai_server.state import RANDOM_FAULT_PATHS, FaultFilter

__all__ = [
    "CONTENT_FAULTS",
    "CUT_RANGE",
    "DEFAULT_FAULT_HANG_S",
    "DEFAULT_FAULT_RETRY_AFTER",
    "DEFAULT_NESTING_DEPTH",
    "DEFAULT_OVERSIZED_CHARS",
    "DEFAULT_TEXT_REPLY",
    "FAULT_KINDS",
    "MALFORMED_TEXT",
    "RANDOM_FAULT_PATHS",
    "FaultFilter",
    "MockFailure",
    "MockOpenAIServer",
    "RecordedRequest",
    "Reply",
    "ReplyFunction",
    "corrupt_content",
    "create_app",
    "example_for_schema",
    "main",
    "requested_schema",
    "spawn_mock_server",
]
