"""Provider Batch APIs over HTTP: upload a JSONL file of chat requests, create a batch, poll it,
download its output and error files, and turn each line back into a :class:`Completion` or our error.

Two dialects of the same protocol, through one pooled ``httpx.AsyncClient`` per event loop::

                     OpenAI (and compatible servers)     Azure OpenAI (dated data-plane API)
    base             {base_url}  (ends in /v1)           {endpoint}/openai
    auth             Authorization: Bearer <key>         api-key: <key>
    query            -                                   api-version=<[OpenAI] AZURE_API_VERSION>
    files, batches   /files, /batches, /batches/{id}     the same, under /openai
    lines' url and   /v1/chat/completions                /chat/completions
    batch endpoint
    lines' model     the model                           the deployment: a Global-Batch or Data Zone
                                                         Batch one, the same on every line
    uploaded file    usable at once                      ``pending`` until ``processed``: waited for

Azure's answers also differ in small ways that are absorbed here: a status may come capitalised
(``Validating``), the request counts are ``null`` until the batch runs, and a batch that succeeded
still names an (empty) error file. The Azure endpoint, key, API version and deployment are the
chat backend's own (:class:`~tinytroupe.llm.openai_backend.OpenAIBackend`). Ollama has no batch
API: :meth:`BatchAPI.for_backend` says so with a :class:`~tinytroupe.errors.ConfigError`.

Example:
    >>> from tinytroupe.llm.openai_backend import OpenAIBackend
    >>> api = BatchAPI.for_backend(OpenAIBackend(model="m", base_url="http://127.0.0.1:9/v1"))
    >>> api.base_url, api.chat_endpoint
    ('http://127.0.0.1:9/v1', '/v1/chat/completions')
    >>> azure = BatchAPI.for_backend(OpenAIBackend(model="my-batch-deployment", api_type="azure",
    ...     azure_endpoint="https://x.openai.azure.com", azure_api_key="k", azure_api_version="2024-10-21"))
    >>> azure.base_url, azure.chat_endpoint, azure.azure_api_version
    ('https://x.openai.azure.com/openai', '/chat/completions', '2024-10-21')
    >>> error_from_line({"custom_id": "k", "response": {"status_code": 400, "body": {"error": {
    ...     "message": "bad request"}}}, "error": None}, api.endpoint).status_code
    400
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from tinytroupe.errors import ConfigError, LLMTransportError
from tinytroupe.lazy import PerLoop
from tinytroupe.llm.types import Completion, LLMRequest
from tinytroupe.provider_errors import Endpoint, provider_error, status_kind, status_retryable

if TYPE_CHECKING:
    import httpx

    from tinytroupe.llm.openai_backend import OpenAIBackend

#: the one endpoint whose requests go into batches, as OpenAI names it (and each line's url)
CHAT_ENDPOINT = "/v1/chat/completions"
#: the same endpoint as Azure's dated API names it
AZURE_CHAT_ENDPOINT = "/chat/completions"
#: batch statuses after which nothing changes any more
TERMINAL_STATUSES = frozenset({"completed", "expired", "failed", "cancelled"})
# Azure file statuses: still being processed (a batch must wait), and never usable.
_FILE_PENDING = frozenset({"pending", "uploaded", "running"})
_FILE_FAILED = frozenset({"error", "failed", "deleted"})
# Why a batch may fail without anything being wrong with it: the queue of the model (deployment) is full.
_QUOTA_CODES = frozenset({"token_limit_exceeded"})


class BatchAPI:
    """Files and batches of one provider: OpenAI-compatible, or Azure OpenAI with ``azure_api_version``.

    Args:
        base_url: the server's URL ending in ``/v1`` (Azure: ``{endpoint}/openai``).
        api_key: sent as ``Authorization: Bearer`` (Azure: as ``api-key``); never logged or shown.
        endpoint: how errors name the server and what they advise (see :mod:`tinytroupe.provider_errors`).
        timeout: seconds per HTTP request (uploads included).
        azure_api_version: speak Azure's dialect with this ``api-version`` (None: OpenAI's).
        file_wait_s: how long an Azure upload may stay ``pending`` before the batch gives up.
    """

    def __init__(self, *, base_url: str, api_key: str, endpoint: Endpoint, timeout: float = 60.0,
                 azure_api_version: str | None = None, file_wait_s: float = 1800.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.endpoint = endpoint
        self.timeout = timeout
        self.azure_api_version = azure_api_version
        self.file_wait_s = file_wait_s
        #: each JSONL line's ``url`` and the batch's ``endpoint``
        self.chat_endpoint = CHAT_ENDPOINT if azure_api_version is None else AZURE_CHAT_ENDPOINT
        self._clients: PerLoop[httpx.AsyncClient] = PerLoop(self._new_client)

    @classmethod
    def for_backend(cls, backend: OpenAIBackend) -> BatchAPI:
        """The batch API of the server ``backend`` talks to, with its URL, key and (Azure) API version.

        Raises:
            ConfigError: the backend is Ollama (no batch API).
        """
        if backend.api_type == "ollama":
            raise ConfigError("batch mode needs a provider Batch API and Ollama has none (api_type 'ollama'): "
                              "run without batch=True / --batch, or use api_type openai or azure",
                              section="OpenAI", key="API_TYPE")
        endpoint = backend._endpoint()
        if backend.api_type != "azure":
            return cls(base_url=backend.base_url, api_key=backend._api_key, endpoint=endpoint,
                       timeout=backend.timeout)
        # Azure's most common batch failure is a deployment that is not of a batch type: say so on a 404.
        advice = {**endpoint.advice, "not_found": (
            f"Azure batches need a Global-Batch or Data Zone Batch deployment named {backend.model!r} "
            f"([OpenAI] MODEL) and an [OpenAI] AZURE_API_VERSION that serves /openai/batches (now "
            f"{backend.azure_api_version!r}; 2024-10-21 does); check the endpoint {backend.base_url}")}
        return cls(base_url=f"{backend.base_url}/openai", api_key=backend._api_key,
                   endpoint=replace(endpoint, advice=advice), timeout=backend.timeout,
                   azure_api_version=backend.azure_api_version)

    def unanswered_error(self, batch_id: str, status: str, batch: dict[str, Any]) -> LLMTransportError:
        """The error of a request batch ``batch_id`` ended ``status`` without answering: the server's
        reasons (key masked) and what to do. A batch refused for the enqueued-token limit may be run
        again once other batches finish; an Azure batch refused otherwise names the deployment type."""
        errors = batch.get("errors") or {}
        data = errors.get("data") if isinstance(errors, dict) else None
        codes = {str(e.get("code")) for e in data if isinstance(e, dict)} if isinstance(data, list) else set()
        quota = bool(codes) and codes <= _QUOTA_CODES
        if quota:
            hint = ("; the enqueued-token limit of the model (Azure: of the deployment) is full: run again "
                    "once its other batches have finished, or raise the limit")
        elif status == "failed" and self.azure_api_version is not None:
            hint = ("; an Azure batch needs a Global-Batch or Data Zone Batch deployment (the [OpenAI] MODEL), "
                    "the same on every line")
        else:
            hint = ""
        why = self.endpoint.mask(str(data or status))[:200]
        return LLMTransportError(f"{self.endpoint.where}: batch {batch_id} ended {status!r} without answering "
                                 f"this request ({why}){hint}", retryable=quota)

    def _new_client(self) -> httpx.AsyncClient:
        import httpx  # imported when a batch is sent: `import tinytroupe` stays light

        if self.azure_api_version is not None:
            return httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout,
                                     headers={"api-key": self._api_key},
                                     params={"api-version": self.azure_api_version})
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

    def _with_id(self, data: dict[str, Any], path: str) -> dict[str, Any]:
        """``data`` if it names its file or batch; else a typed error (a proxy's 200 that is no Batch API
        answer must not reach the callers as a ``KeyError``)."""
        if not isinstance(data.get("id"), str) or not data["id"]:
            raise LLMTransportError(f"{self.endpoint.where} answered {path} without an id: "
                                    f"{self.endpoint.mask(str(data))[:200]}", retryable=False)
        return data

    async def upload(self, lines: Sequence[bytes], filename: str = "tinytroupe-batch.jsonl",
                     poll_s: float = 1.0) -> str:
        """Upload ``lines`` (each as :func:`jsonl_line` encodes it) as one JSONL file of purpose ``batch``,
        byte for byte; returns the file id once a batch may use it (an Azure file is polled every
        ``poll_s`` seconds, growing, until it is ``processed``)."""
        found = self._with_id(await self._json("POST", "/files", files={"file": (
            filename, b"".join(lines), "application/jsonl")}, data={"purpose": "batch"}), "/files")
        if self.azure_api_version is not None:
            await self._until_processed(found, poll_s)
        return str(found["id"])

    async def _until_processed(self, meta: dict[str, Any], poll_s: float) -> None:
        """Wait while an uploaded Azure file is ``pending``; raise if it ends unusable."""
        file_id = str(meta["id"])
        status = str(meta.get("status") or "processed").lower()
        wait, deadline = poll_s, time.monotonic() + self.file_wait_s
        last: LLMTransportError | None = None
        while status in _FILE_PENDING:
            if time.monotonic() >= deadline:
                why = f" (last poll: {last})" if last is not None else ""
                raise LLMTransportError(f"{self.endpoint.where}: the uploaded batch file {file_id} was still "
                                        f"{status!r} after {self.file_wait_s:g} s{why}", retryable=True)
            await asyncio.sleep(wait)
            wait = min(wait * 1.5, 30.0)
            try:
                meta = await self._json("GET", f"/files/{file_id}")
            except LLMTransportError as exc:
                if not exc.retryable:
                    raise
                last = exc  # a transient failure over minutes of waiting: look again, as a batch is polled
                continue
            status = str(meta.get("status") or "processed").lower()
        if status in _FILE_FAILED:
            details = self.endpoint.mask(str(meta.get("status_details") or "no details given"))[:300]
            raise LLMTransportError(f"{self.endpoint.where} could not process the uploaded batch file {file_id} "
                                    f"({status}): {details}", retryable=False)

    async def create(self, input_file_id: str, metadata: dict[str, str] | None = None) -> dict[str, Any]:
        """Create a batch of chat completions over an uploaded file (completion window 24 h)."""
        body: dict[str, Any] = {"input_file_id": input_file_id, "endpoint": self.chat_endpoint,
                                "completion_window": "24h"}
        if metadata:
            body["metadata"] = metadata
        return _normalized(self._with_id(await self._json("POST", "/batches", json=body), "/batches"))

    async def retrieve(self, batch_id: str) -> dict[str, Any]:
        """The batch object now (``status`` in lower case, ``request_counts``, ``output_file_id`` ...)."""
        return _normalized(await self._json("GET", f"/batches/{batch_id}"))

    async def cancel(self, batch_id: str) -> dict[str, Any]:
        """Ask the server to stop the batch (it ends ``cancelled``; what it finished is kept)."""
        return _normalized(await self._json("POST", f"/batches/{batch_id}/cancel"))

    async def lines(self, file_id: str | None) -> list[dict[str, Any]]:
        """The JSON lines of an output or error file (none for a missing file id or an empty file);
        unreadable lines are skipped."""
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

    async def download(self, file_id: str | None, *, attempts: int = 4, wait_s: float = 1.0,
                       max_wait_s: float = 60.0) -> list[dict[str, Any]]:
        """:meth:`lines`, trying a transient failure again up to ``attempts`` times in all (waiting
        ``wait_s``, doubling up to ``max_wait_s``): a batch is paid for, its answers must not be dropped
        because one download failed."""
        for _ in range(1, attempts):
            try:
                return await self.lines(file_id)
            except LLMTransportError as exc:
                if not exc.retryable:
                    raise
                await asyncio.sleep(wait_s)
                wait_s = min(wait_s * 2, max_wait_s)
        return await self.lines(file_id)


def jsonl_line(line: Mapping[str, Any]) -> bytes:
    """One line of a batch input file, newline included, exactly as it is uploaded (so its size is what
    counts against a provider's cap of an input file).

    Example:
        >>> jsonl_line({"custom_id": "a", "body": {"n": 1}})
        b'{"custom_id":"a","body":{"n":1}}\\n'
    """
    return (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def _normalized(batch: dict[str, Any]) -> dict[str, Any]:
    """``batch`` with its status in lower case (Azure may answer ``Validating`` or ``Completed``), its
    ``errors`` an object (a bare list becomes its ``data``) and ``request_counts`` an object or None, so
    that an oddly shaped answer is read as the failure it reports, not as an ``AttributeError``."""
    if isinstance(batch.get("status"), str):
        batch["status"] = batch["status"].lower()
    errors = batch.get("errors")
    if errors is not None and not isinstance(errors, dict):
        batch["errors"] = {"object": "list", "data": errors}
    if not isinstance(batch.get("request_counts"), dict):
        batch["request_counts"] = None
    return batch


def completion_from_dict(body: dict[str, Any], request: LLMRequest, mode: str | None,
                         backend: OpenAIBackend, latency_s: float = 0.0) -> Completion:
    """A chat-completion JSON ``body`` as the :class:`Completion` the backend would have made of it live
    (the backend's own parser of a chat completion's JSON: structured output, usage and errors alike).

    Raises:
        LLMTransportError: the body is not a chat completion (no choices, no message).
        LLMOutputError: the model gave no text (a refusal).
    """
    completion = backend._completion(body, request, mode, latency_s)
    return completion.model_copy(update={"batched": True})  # billed at batch prices (PriceTable.batch_discount)


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


__all__ = ["AZURE_CHAT_ENDPOINT", "CHAT_ENDPOINT", "TERMINAL_STATUSES", "BatchAPI", "completion_from_dict",
           "error_from_line", "jsonl_line", "sort_lines"]
