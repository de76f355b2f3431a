"""The OpenAI Batch API over HTTP: upload a JSONL file of chat requests, create a batch, poll it,
download its output and error files, and turn each line back into a :class:`Completion` or our error.

This speaks plain OpenAI-compatible ``/v1/files`` and ``/v1/batches`` through one pooled
``httpx.AsyncClient`` per event loop. Azure OpenAI has a batch API too, but with deployment-scoped
URLs, ``api-version`` parameters and a ``global-batch`` deployment type; it is not supported here
(nor is Ollama, which has no batch API): :meth:`BatchAPI.for_backend` says so with a
:class:`~tinytroupe.errors.ConfigError`.

Example:
    >>> from tinytroupe.llm.openai_backend import OpenAIBackend
    >>> api = BatchAPI.for_backend(OpenAIBackend(model="m", base_url="http://127.0.0.1:9/v1"))
    >>> api.base_url
    'http://127.0.0.1:9/v1'
    >>> error_from_line({"custom_id": "k", "response": {"status_code": 400, "body": {"error": {
    ...     "message": "bad request"}}}, "error": None}, api.endpoint).status_code
    400
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tinytroupe.errors import ConfigError, LLMTransportError
from tinytroupe.lazy import PerLoop
from tinytroupe.llm.types import Completion, LLMRequest
from tinytroupe.provider_errors import Endpoint, provider_error, status_kind, status_retryable

if TYPE_CHECKING:
    import httpx

    from tinytroupe.llm.openai_backend import OpenAIBackend

#: the one endpoint whose requests go into batches
CHAT_ENDPOINT = "/v1/chat/completions"
#: batch statuses after which nothing changes any more
TERMINAL_STATUSES = frozenset({"completed", "expired", "failed", "cancelled"})


class BatchAPI:
    """Files and batches of one OpenAI-compatible server.

    Args:
        base_url: the server's URL ending in ``/v1``.
        api_key: sent as ``Authorization: Bearer``; never logged or shown.
        endpoint: how errors name the server and what they advise (see :mod:`tinytroupe.provider_errors`).
        timeout: seconds per HTTP request (uploads included).
    """

    def __init__(self, *, base_url: str, api_key: str, endpoint: Endpoint, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.endpoint = endpoint
        self.timeout = timeout
        self._clients: PerLoop[httpx.AsyncClient] = PerLoop(self._new_client)

    @classmethod
    def for_backend(cls, backend: OpenAIBackend) -> BatchAPI:
        """The batch API of the server ``backend`` talks to.

        Raises:
            ConfigError: the backend is Azure OpenAI or Ollama (no OpenAI-compatible batch API).
        """
        if backend.api_type != "openai":
            raise ConfigError(f"batch mode needs an OpenAI-compatible Batch API; api_type {backend.api_type!r} "
                              "is not supported (Azure's batch API differs, Ollama has none): run without "
                              "batch=True / --batch", section="OpenAI", key="API_TYPE")
        return cls(base_url=backend.base_url, api_key=backend._api_key, endpoint=backend._endpoint(),
                   timeout=backend.timeout)

    def _new_client(self) -> httpx.AsyncClient:
        import httpx  # imported when a batch is sent: `import tinytroupe` stays light

        return httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout,
                                 headers={"Authorization": f"Bearer {self._api_key}"})

    async def aclose(self) -> None:
        found = self._clients.pop()
        if found is not None:
            await found.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        import httpx

        try:
            response = await self._clients.get().request(method, path, **kwargs)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise provider_error(exc, self.endpoint) from None
        return response

    async def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = await self._call(method, path, **kwargs)
        try:
            data = response.json()
        except ValueError as exc:
            raise provider_error(exc, self.endpoint) from None
        if not isinstance(data, dict):
            raise LLMTransportError(f"{self.endpoint.where} answered {path} with {type(data).__name__}, not an "
                                    "object", retryable=True)
        return data

    async def upload(self, lines: list[dict[str, Any]], filename: str = "tinytroupe-batch.jsonl") -> str:
        """Upload ``lines`` as a JSONL file of purpose ``batch``; returns the file id."""
        data = "".join(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines)
        found = await self._json("POST", "/files", files={"file": (filename, data.encode("utf-8"),
                                                                    "application/jsonl")},
                                 data={"purpose": "batch"})
        return str(found["id"])

    async def create(self, input_file_id: str, metadata: dict[str, str] | None = None) -> dict[str, Any]:
        """Create a batch of chat completions over an uploaded file (completion window 24 h)."""
        body: dict[str, Any] = {"input_file_id": input_file_id, "endpoint": CHAT_ENDPOINT, "completion_window": "24h"}
        if metadata:
            body["metadata"] = metadata
        return await self._json("POST", "/batches", json=body)

    async def retrieve(self, batch_id: str) -> dict[str, Any]:
        """The batch object now (``status``, ``request_counts``, ``output_file_id``, ``error_file_id`` ...)."""
        return await self._json("GET", f"/batches/{batch_id}")

    async def cancel(self, batch_id: str) -> dict[str, Any]:
        """Ask the server to stop the batch (it ends ``cancelled``; what it finished is kept)."""
        return await self._json("POST", f"/batches/{batch_id}/cancel")

    async def lines(self, file_id: str | None) -> list[dict[str, Any]]:
        """The JSON lines of an output or error file (none for a missing file id); unreadable lines are skipped."""
        if not file_id:
            return []
        response = await self._call("GET", f"/files/{file_id}/content")
        out = []
        for text in response.text.splitlines():
            try:
                line = json.loads(text)
            except ValueError:
                continue  # its request stays unanswered and is sent again or reported
            if isinstance(line, dict) and isinstance(line.get("custom_id"), str):
                out.append(line)
        return out


def completion_from_dict(body: dict[str, Any], request: LLMRequest, mode: str | None,
                         backend: OpenAIBackend, latency_s: float = 0.0) -> Completion:
    """A chat-completion JSON ``body`` as the :class:`Completion` the backend would have made of it live
    (the backend's own parser of a chat completion's JSON: structured output, usage and errors alike).

    Raises:
        LLMTransportError: the body is not a chat completion (no choices, no message).
        LLMOutputError: the model gave no text (a refusal).
    """
    return backend._completion(body, request, mode, latency_s)


def error_from_line(line: dict[str, Any], endpoint: Endpoint) -> LLMTransportError:
    """The error of one error-file line (an HTTP status the request got, or the batch's own error code)."""
    response = line.get("response") or {}
    status = response.get("status_code") if isinstance(response, dict) else None
    body = response.get("body") if isinstance(response, dict) else None
    error = (body or {}).get("error") if isinstance(body, dict) else None
    error = error or line.get("error") or {}
    if not isinstance(error, dict):  # some servers give the error as a bare string
        error = {"message": str(error)}
    message = endpoint.mask(str(error.get("message") or error.get("code") or "no reason given"))[:500]
    where = f"{endpoint.where} (batch request {line.get('custom_id', '?')[:16]}…)"
    if not isinstance(status, int):
        return LLMTransportError(f"{where} failed in its batch: {message}", retryable=False)
    kind = status_kind(status)
    return LLMTransportError(f"{where} failed in its batch with HTTP {status} ({kind}): {message}; "
                             f"{endpoint.hint(kind)}".rstrip("; "), status_code=status,
                             retryable=status_retryable(status))


def sort_lines(lines: list[dict[str, Any]], wanted: Mapping[str, object],
               endpoint: Endpoint) -> tuple[dict[str, tuple[str, dict[str, Any]]], dict[str, LLMTransportError]]:
    """The outcome of each ``wanted`` request in a batch's result lines.

    Returns ``custom_id -> ("completed", chat completion body)`` or ``("failed", line)``, and apart from
    those, the requests whose line failed in a way a second try may mend (429, 5xx), with that error:
    they are sent again, as live calls are retried. A request an expired batch never reached is in
    neither (it is unanswered).
    """
    answers: dict[str, tuple[str, dict[str, Any]]] = {}
    retry: dict[str, LLMTransportError] = {}
    for line in lines:
        key = line["custom_id"]
        if key not in wanted:
            continue
        response = line.get("response") or {}
        if isinstance(response, dict) and response.get("status_code") == 200 and isinstance(response.get("body"), dict):
            answers[key] = ("completed", response["body"])
            continue
        error = line.get("error")
        if isinstance(error, dict) and error.get("code") == "batch_expired":
            continue
        failure = error_from_line(line, endpoint)
        if failure.retryable:
            retry[key] = failure
        else:
            answers[key] = ("failed", line)
    return answers, retry


__all__ = ["CHAT_ENDPOINT", "TERMINAL_STATUSES", "BatchAPI", "completion_from_dict", "error_from_line", "sort_lines"]
