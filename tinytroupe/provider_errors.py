"""One table from a model server's failures to tinytroupe's errors, for chat and embeddings alike.

The ``openai`` SDK (and ``httpx`` beneath it) raise their own exceptions; :func:`provider_error`
turns each into an :class:`~tinytroupe.errors.LLMTransportError` (or
:class:`~tinytroupe.errors.LLMRateLimitError`) by looking it up in two tables, so the chat backend
(:mod:`tinytroupe.llm.openai_backend`) and the embedder (:mod:`tinytroupe.embeddings.openai`) cannot
drift apart in what is retried or what the user is told::

    exception (first match)            kind         retryable
    HttpStatusError (ours, aiohttp)    by status    see below
    openai.APITimeoutError             timeout      yes
    httpx.TimeoutException             timeout      yes
    openai.APIConnectionError          connection   yes
    httpx.TransportError               connection   yes
    openai.APIStatusError              by status    see below
    httpx.HTTPStatusError              by status    see below
    aiohttp.ServerTimeoutError         timeout      yes
    TimeoutError                       timeout      yes
    aiohttp.ClientPayloadError         garbled      yes
    aiohttp.ClientError                connection   yes
    ValueError (a garbled JSON body)   garbled      yes
    any other openai.APIError          unusable     yes

    HTTP status      kind         retryable
    401, 403         auth         no
    404              not_found    no
    429              rate_limit   yes  (LLMRateLimitError when the caller has stopped retrying)
    408, 409         rejected     yes
    other 4xx        rejected     no
    5xx              server       yes

Each caller describes itself with an :class:`Endpoint` (where the server is, the key to mask, advice
in its own terms); messages never contain the key.

Example:
    >>> import httpx
    >>> end = Endpoint(where="the test server", base_url="http://127.0.0.1:9/v1", timeout=5)
    >>> err = provider_error(httpx.ConnectError("connection refused"), end)
    >>> (type(err).__name__, err.retryable)
    ('LLMTransportError', True)
    >>> str(err).split(";")[0]
    'could not connect to http://127.0.0.1:9/v1 (ConnectError: connection refused)'
    >>> status_kind(503), status_retryable(503)
    ('server', True)
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tinytroupe.errors import LLMRateLimitError, LLMTransportError, TinyTroupeError
from tinytroupe.redaction import redact

#: exception classes ("module.Name") in the order they are matched, and the kind each one is
EXCEPTION_KINDS: tuple[tuple[str, str], ...] = (
    ("tinytroupe.provider_errors.HttpStatusError", "status"),
    ("openai.APITimeoutError", "timeout"),
    ("httpx.TimeoutException", "timeout"),
    ("openai.APIConnectionError", "connection"),
    ("httpx.TransportError", "connection"),
    ("openai.APIStatusError", "status"),
    ("httpx.HTTPStatusError", "status"),
    ("openai.APIError", "unusable"),
    # The lean chat transport (tinytroupe.llm.http_pool): aiohttp's timeout is also a TimeoutError.
    ("aiohttp.ServerTimeoutError", "timeout"),
    ("builtins.TimeoutError", "timeout"),
    # A body shorter than its Content-Length: cut off in transit, like a garbled JSON body.
    ("aiohttp.ClientPayloadError", "garbled"),
    ("aiohttp.ClientError", "connection"),
    # A body cut off in transit or garbled (json.JSONDecodeError, UnicodeDecodeError): the server's
    # fault, and the next try usually gets a whole answer.
    ("builtins.ValueError", "garbled"),
)

#: HTTP statuses with a kind of their own; other 4xx are "rejected", 5xx "server"
STATUS_KINDS: Mapping[int, str] = {401: "auth", 403: "auth", 404: "not_found", 429: "rate_limit"}

#: statuses where a second try may succeed (besides every 5xx): request timeout, conflict, rate limit
RETRYABLE_STATUS = frozenset({408, 409, 429})

#: what to do, per kind, unless the caller says it in its own terms (:attr:`Endpoint.advice`)
DEFAULT_ADVICE: Mapping[str, str] = {
    "timeout": "the server may be overloaded or the answer too long: raise [OpenAI] TIMEOUT or check the server",
    "connection": "check that the server is running and that the base URL is right",
    "auth": "check OPENAI_API_KEY (AZURE_OPENAI_API_KEY for Azure)",
    "not_found": "check the model name and the base URL",
    "rate_limit": "lower MAX_CONCURRENT_MODEL_CALLS or set REQUESTS_PER_MINUTE",
}


class HttpStatusError(TinyTroupeError):
    """The server answered with an HTTP error status (inside the transport only: backends turn it
    into an :class:`~tinytroupe.errors.LLMTransportError` with :func:`provider_error`).

    Carries what the structured-output fallback and the error table read: ``status_code``, the
    server's ``message`` (its ``error.message`` when the body is OpenAI-shaped), the parsed ``body``
    and the response ``headers`` (for ``Retry-After``).

    Example:
        >>> err = HttpStatusError(429, {"error": {"message": "slow down"}}, {"retry-after": "1"})
        >>> err.status_code, err.message
        (429, 'slow down')
    """

    def __init__(self, status_code: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        self.status_code = status_code
        self.body = body
        self.headers: Mapping[str, str] = headers or {}
        self.message = _error_message(body) or f"HTTP {status_code}"
        super().__init__(f"HTTP {status_code}: {self.message}")

    @property
    def response(self) -> HttpStatusError:
        # provider_errors reads the headers off ``exc.response`` (as for the SDK's and httpx's errors).
        return self


def _error_message(body: Any) -> str:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if body.get("message"):
            return str(body["message"])
    if isinstance(body, str):
        return body[:500]
    return ""


@dataclass(frozen=True)
class Endpoint:
    """Who is calling which server: what error messages say, and what they must never say.

    ``where`` names the server for messages (``"the openai server at ... (model 'x')"``);
    ``secret`` (the API key) is masked wherever the server's text is quoted; ``advice`` overrides
    :data:`DEFAULT_ADVICE` per kind; ``retries_done`` says the caller retried already (the SDK's own
    retries), so a 429 is final and becomes an :class:`~tinytroupe.errors.LLMRateLimitError`.
    """

    where: str
    base_url: str
    timeout: float
    secret: str = field(default="", repr=False)
    advice: Mapping[str, str] = field(default_factory=dict)
    retries_done: bool = False

    def mask(self, text: str) -> str:
        """``text`` without the key or anything that looks like a secret."""
        if len(self.secret) >= 4:
            text = text.replace(self.secret, "***")
        return redact(text)

    def hint(self, kind: str) -> str:
        return self.advice.get(kind) or DEFAULT_ADVICE.get(kind, "")


def status_kind(status: int) -> str:
    """The kind of an HTTP error status: ``auth``, ``not_found``, ``rate_limit``, ``server`` or ``rejected``.

    Example:
        >>> status_kind(401), status_kind(422)
        ('auth', 'rejected')
    """
    if status in STATUS_KINDS:
        return STATUS_KINDS[status]
    return "server" if status >= 500 else "rejected"


def status_retryable(status: int) -> bool:
    """Whether a second try may succeed after this HTTP status (408, 409, 429 and 5xx)."""
    return status in RETRYABLE_STATUS or status >= 500


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait according to ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date).

    Example:
        >>> parse_retry_after({"retry-after": "2"})
        2.0
    """
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass  # malformed header: try the standard one below
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass  # not a number of seconds: it may be an HTTP date
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def exception_kind(exc: BaseException) -> str | None:
    """The kind :data:`EXCEPTION_KINDS` gives ``exc``, or None when it is not a server's failure.

    Example:
        >>> import httpx
        >>> exception_kind(httpx.ReadTimeout("slow")), exception_kind(KeyError("x"))
        ('timeout', None)
    """
    for path, kind in EXCEPTION_KINDS:
        module, name = path.rsplit(".", 1)
        cls = _class(module, name)
        if cls is not None and isinstance(exc, cls):
            return kind
    return None


def _class(module: str, name: str) -> type[BaseException] | None:
    # Looked up when needed, so importing tinytroupe does not import the SDK.
    import importlib

    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


def _status_of(exc: BaseException) -> tuple[int, str, Any]:
    """Status, the server's message and the response headers of an SDK or httpx status error."""
    response = getattr(exc, "response", None)
    status = getattr(exc, "status_code", None)
    if status is None:
        status = getattr(response, "status_code", 0)
    message = getattr(exc, "message", None) or str(exc)
    return int(status or 0), str(message), getattr(response, "headers", None)


def provider_error(exc: BaseException, endpoint: Endpoint) -> LLMTransportError:
    """Translate a failure of the SDK or HTTP layer into our error, with advice for ``endpoint``.

    Raise the result ``from None``: the SDK's exception may quote the key, ours says all that matters.
    Exceptions outside the table (not a server's doing) come back as an unusable-answer error too,
    so a caller that catches broadly still never shows a raw SDK exception.
    """
    where = endpoint.where
    kind = exception_kind(exc) or "unusable"
    if kind == "timeout":
        return LLMTransportError(f"no answer from {where} within {endpoint.timeout:g} s; {endpoint.hint('timeout')}",
                                 retryable=True, kind="timeout")
    if kind == "connection":
        cause = exc.__cause__ or exc.__context__
        detail = endpoint.mask(f"{type(cause).__name__}: {cause}" if cause else f"{type(exc).__name__}: {exc}")
        return LLMTransportError(f"could not connect to {endpoint.base_url} ({detail}); {endpoint.hint('connection')}",
                                 retryable=True, kind="connection")
    if kind == "status":
        return _status_error(exc, endpoint)
    if kind == "garbled":
        return LLMTransportError(
            f"{where} sent a response body that is not valid JSON ({type(exc).__name__}: "
            f"{endpoint.mask(str(exc))[:200]}); it was probably cut off in transit", retryable=True, kind="garbled")
    status_code = getattr(exc, "status_code", None)
    # Other SDK errors (e.g. a response that failed its own checks) are the server's doing too.
    return LLMTransportError(f"{where} gave an unusable answer ({type(exc).__name__}: "
                             f"{endpoint.mask(str(exc))[:500]})",
                             status_code=status_code if isinstance(status_code, int) else None, retryable=True,
                             kind="unusable")


def _status_error(exc: BaseException, endpoint: Endpoint) -> LLMTransportError:
    status, server_message, headers = _status_of(exc)
    where = endpoint.where
    detail = endpoint.mask(server_message)[:500]
    kind = status_kind(status)
    if kind == "auth":
        message = f"{where} refused the credentials (HTTP {status}): {detail}; {endpoint.hint('auth')}"
    elif kind == "not_found":
        message = f"{where} answered HTTP 404 ({detail}); {endpoint.hint('not_found')}"
    elif kind == "rate_limit":
        message = f"{where} is rate limiting (HTTP 429): {detail}; {endpoint.hint('rate_limit')}"
    elif kind == "server":
        message = f"{where} failed with HTTP {status}: {detail}"
    else:
        message = f"{where} rejected the request (HTTP {status}): {detail}"
    error_class = LLMRateLimitError if kind == "rate_limit" and endpoint.retries_done else LLMTransportError
    return error_class(message, status_code=status, retryable=status_retryable(status),
                       retry_after=parse_retry_after(headers), kind=kind)


__all__ = [
    "DEFAULT_ADVICE",
    "EXCEPTION_KINDS",
    "RETRYABLE_STATUS",
    "STATUS_KINDS",
    "Endpoint",
    "HttpStatusError",
    "exception_kind",
    "parse_retry_after",
    "provider_error",
    "status_kind",
    "status_retryable",
]
