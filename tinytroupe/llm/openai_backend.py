"""A backend for OpenAI-compatible chat servers: OpenAI, Azure OpenAI, vLLM, Ollama, llama.cpp, LM Studio.

It posts chat completions as plain JSON through :class:`~tinytroupe.llm.http_pool.HttpPool` (one
pooled ``aiohttp`` session per running event loop, ``orjson`` both ways): about a tenth of the
client CPU per call of the ``openai`` SDK, which matters when hundreds of agents call at once on a
small machine (figures in :mod:`tinytroupe.llm.http_pool`). Retries are
:class:`~tinytroupe.llm.retry.RetryWrapper`'s job, for every backend alike. Azure OpenAI is the same
protocol at ``{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=...`` with an
``api-key`` header.

Structured answers use the strongest form the server accepts, tried in this order::

    json_schema   response_format with a strict JSON schema (OpenAI, vLLM, recent llama.cpp)
    json_object   response_format json_object, schema attached and stated in a system message
    tools         one forced function call whose parameters are the schema
    prompt        the schema stated in a system message only

With ``structured_output="auto"`` the backend starts at ``json_schema`` and, when the server
refuses that form, moves down the list and remembers where it landed.

A request with ``logprob_labels`` asks for ``logprobs`` with the ``top_logprobs`` of each token
(:mod:`tinytroupe.llm.logprobs` reads the first one). A server that refuses those fields gets the
request again without them (a batch line refused so is sent again without them too); whether the first
answer carried log-probabilities is remembered (:attr:`OpenAIBackend.gives_logprobs`: None until then),
so callers of a server without them sample.

Example:
    >>> backend = OpenAIBackend(model="llama3.2", api_type="ollama")
    >>> backend.identity()["base_url"]
    'http://localhost:11434/v1'
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
import time
from typing import Any, Literal

from tinytroupe.errors import ConfigError, LLMOutputError, LLMTransportError
from tinytroupe.llm.backend import Backend
from tinytroupe.llm.http_pool import DEFAULT_MAX_CONNECTIONS, HttpPool
from tinytroupe.llm.logprobs import MAX_TOP_LOGPROBS, parse_openai_logprobs
from tinytroupe.llm.structured import strict_schema_cached
from tinytroupe.llm.tool_wire import split_answer, wire_message
from tinytroupe.llm.types import CallContext, Completion, LLMRequest, Usage
from tinytroupe.provider_errors import Endpoint, HttpStatusError, parse_retry_after, provider_error

logger = logging.getLogger(__name__)

ApiKind = Literal["openai", "azure", "ollama"]
StructuredOutput = Literal["auto", "json_schema", "json_object", "tools", "prompt"]

#: the order ``auto`` walks down when a server refuses a structured-output form
FALLBACK_ORDER: tuple[str, ...] = ("json_schema", "json_object", "tools", "prompt")

OPENAI_BASE_URL = "https://api.openai.com/v1"
OLLAMA_BASE_URL = "http://localhost:11434/v1"

# Statuses with which servers refuse a request field they do not know (llama-cpp-python answers 500).
_REFUSAL_STATUS = frozenset({400, 422, 500})
# Words in an error body that show which request field a server refused, per structured-output mode.
_REFUSAL_WORDS: dict[str, tuple[str, ...]] = {
    "json_schema": ("response_format", "json_schema", "json_object"),
    "json_object": ("response_format", "json_object"),
    "tools": ("tool",),
}


def _schema_name(name: str | None) -> str:
    # OpenAI accepts names of letters, digits, '_' and '-' up to 64 characters.
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", name or "answer")[:64]
    return cleaned or "answer"


def _schema_instruction(schema: dict[str, Any]) -> str:
    return ("Reply with a single JSON object and nothing else (no prose, no markdown fences). "
            "The object must conform to this JSON schema:\n" + json.dumps(schema, separators=(",", ":")))


def _refuses_logprobs(backend: OpenAIBackend, exc: HttpStatusError) -> bool:
    """Whether ``exc`` is the server refusing the logprobs fields; if so ``backend`` never sends them again
    (live calls and batch lines alike: :mod:`tinytroupe.llm.batch_lines`)."""
    if exc.status_code not in _REFUSAL_STATUS or "logprob" not in f"{exc.message} {exc.body}".lower():
        return False
    with backend._lock:  # said once, also when clients on several threads share the backend
        said, backend._logprobs = backend._logprobs is False, False
    if not said:  # a batch may hold thousands of lines refused alike
        logger.info("%s refused logprobs (HTTP %s); asking without them from now on", backend._where(), exc.status_code)
    return True


class OpenAIBackend(Backend):
    """Chat completions from an OpenAI-compatible server.

    Args:
        model: model name (for Azure: the deployment name).
        base_url: server URL ending in ``/v1`` (default: OpenAI, ``OPENAI_BASE_URL``, or Ollama's local URL).
        api_key: the key (default: ``OPENAI_API_KEY``, or ``AZURE_OPENAI_API_KEY`` for Azure). Never
            logged, never part of :meth:`identity` or error messages.
        api_type: ``openai`` (any compatible server), ``azure`` or ``ollama``.
        azure_endpoint, azure_api_key, azure_api_version: Azure OpenAI settings
            (``AZURE_OPENAI_ENDPOINT`` / ``AZURE_OPENAI_API_KEY`` when not given).
        timeout: seconds per request.
        structured_output: how structured answers are asked for (see the module docstring).
        temperature, max_tokens: defaults for requests that do not set them.
        max_connections: HTTP connections kept open at most, per event loop (0: no limit); the
            factory sets it to ``MAX_CONCURRENT_MODEL_CALLS``.

    Example:
        >>> backend = OpenAIBackend(model="gpt-4.1-mini", api_key="sk-test")
        >>> sorted(backend.identity())
        ['api_type', 'backend', 'base_url', 'model']
    """

    name = "openai"

    def __init__(self, *, model: str, base_url: str | None = None, api_key: str | None = None,
                 api_type: ApiKind = "openai", azure_endpoint: str | None = None,
                 azure_api_key: str | None = None, azure_api_version: str = "2024-10-21",
                 timeout: float = 60.0, structured_output: StructuredOutput = "auto",
                 temperature: float | None = None, max_tokens: int | None = None,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS) -> None:
        if api_type not in ("openai", "azure", "ollama"):
            raise ConfigError(
                f"OpenAIBackend api_type must be 'openai', 'azure' or 'ollama', got {api_type!r}",
                section="OpenAI", key="API_TYPE")
        if structured_output not in ("auto", *FALLBACK_ORDER):
            raise ConfigError(
                f"structured_output must be one of auto, {', '.join(FALLBACK_ORDER)}; "
                f"got {structured_output!r}",
                section="OpenAI", key="STRUCTURED_OUTPUT")
        self.model = model
        self.api_type: ApiKind = api_type
        # Shown in run headers, usage and the trace, so an Ollama or Azure run says what it talked to.
        self.name = api_type
        self.timeout = timeout
        self.structured_output: StructuredOutput = structured_output
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.azure_api_version = azure_api_version
        self.max_connections = max_connections
        if api_type == "azure":
            endpoint = azure_endpoint or os.environ.get("AZURE_OPENAI_ENDPOINT") or base_url
            if not endpoint:
                raise ConfigError("api_type 'azure' needs an endpoint: set AZURE_OPENAI_ENDPOINT or "
                                  "[OpenAI] AZURE_ENDPOINT (https://<resource>.openai.azure.com)",
                                  section="OpenAI", key="AZURE_ENDPOINT")
            self.base_url = endpoint.rstrip("/")
            key = azure_api_key or api_key or os.environ.get("AZURE_OPENAI_API_KEY")
            if not key:
                raise ConfigError("api_type 'azure' needs a key: set the AZURE_OPENAI_API_KEY environment "
                                  "variable", section="OpenAI", key="AZURE_OPENAI_API_KEY")
        elif api_type == "ollama":
            self.base_url = (base_url or OLLAMA_BASE_URL).rstrip("/")
            key = api_key or "ollama"  # Ollama ignores the key
        else:
            self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_BASE_URL).rstrip("/")
            key = api_key or os.environ.get("OPENAI_API_KEY")
            if not key:
                if self.base_url == OPENAI_BASE_URL:
                    raise ConfigError("no OpenAI API key: set the OPENAI_API_KEY environment variable, or "
                                      "set [OpenAI] BASE_URL to a local server (or API_TYPE=local)",
                                      section="OpenAI", key="OPENAI_API_KEY")
                # Local servers (vLLM, llama.cpp, LM Studio) usually take any key, or none.
                key = "no-key"
        self._api_key: str = key
        # Official endpoints know the newer max_completion_tokens; many local servers only max_tokens.
        official = api_type == "azure" or self.base_url == OPENAI_BASE_URL
        self._max_tokens_field = "max_completion_tokens" if official else "max_tokens"
        self._auto_mode = FALLBACK_ORDER[0]
        self._logprobs: bool | None = None  # unknown; True: answered with them; False: refused or left out
        self._lock = threading.Lock()
        self._pool = self._new_pool()
        # Warm start: import the transport now, in the caller's thread, not inside the event loop
        # while the first step's requests wait.
        HttpPool.warm_imports()

    # -- identity and modes -------------------------------------------------------------------------

    def identity(self) -> dict[str, Any]:
        # "openai" names the wire protocol; api_type tells the services apart (and keeps cache keys stable).
        return {"backend": "openai", "api_type": self.api_type, "model": self.model,
                "base_url": self.base_url}

    @property
    def structured_mode(self) -> str:
        """The structured-output form used now (in ``auto``: the one the server was found to accept)."""
        return self._auto_mode if self.structured_output == "auto" else self.structured_output

    @property
    def gives_logprobs(self) -> bool | None:
        """None until the server answered a request for ``logprobs``: then whether it gave them."""
        return self._logprobs

    supports_tool_calls = True  # the chat completions protocol has them; a server that refuses says so
    accepts_images = True  # as content parts; whether the model reads them is the [OpenAI] VISION_MODEL's job

    def _where(self) -> str:
        return f"the {self.api_type} server at {self.base_url} (model {self.model!r})"

    # -- the pooled transport -----------------------------------------------------------------------

    def _new_pool(self) -> HttpPool:
        if self.api_type == "azure":
            return HttpPool(self.base_url, headers={"api-key": self._api_key}, timeout=self.timeout,
                            params={"api-version": self.azure_api_version}, max_connections=self.max_connections)
        return HttpPool(self.base_url, headers={"Authorization": f"Bearer {self._api_key}"}, timeout=self.timeout,
                        max_connections=self.max_connections)

    @property
    def pool(self) -> HttpPool:
        """The pooled HTTP transport (one ``aiohttp`` session per event loop)."""
        return self._pool

    @property
    def clients_created(self) -> int:
        """How many HTTP sessions this backend has made (one per event loop it has run on)."""
        return self._pool.sessions_created

    def _chat_path(self, model: str) -> str:
        if self.api_type == "azure":
            return f"/openai/deployments/{model}/chat/completions"
        return "/chat/completions"

    async def aprepare(self) -> None:
        """Make the running loop's HTTP session now, so the first step does not."""
        self._pool.session()

    async def aclose(self) -> None:
        """Close the running loop's HTTP session; sessions of other loops close when their loop ends."""
        await self._pool.aclose()

    # -- requests -----------------------------------------------------------------------------------

    def _messages(self, request: LLMRequest, instruction: str | None) -> list[dict[str, Any]]:
        messages = [wire_message(m) for m in request.messages]
        if instruction is None:
            return messages
        # Merge into the first system message: some chat templates accept only one, and only first.
        if messages and messages[0]["role"] == "system":
            messages[0] = {"role": "system", "content": messages[0]["content"] + "\n\n" + instruction}
        else:
            messages.insert(0, {"role": "system", "content": instruction})
        return messages

    def _params(self, request: LLMRequest, mode: str | None) -> dict[str, Any]:
        schema = request.response_schema
        stated = schema is not None and mode in ("json_object", "prompt")
        instruction = _schema_instruction(schema) if stated and schema is not None else None
        params: dict[str, Any] = {"model": request.model or self.model,
                                  "messages": self._messages(request, instruction)}
        temperature = request.temperature if request.temperature is not None else self.temperature
        if temperature is not None:
            params["temperature"] = temperature
        if request.top_p is not None:
            params["top_p"] = request.top_p
        max_tokens = request.max_tokens if request.max_tokens is not None else self.max_tokens
        if max_tokens is not None:
            params[self._max_tokens_field] = max_tokens
        if request.stop:
            params["stop"] = list(request.stop)
        if request.seed is not None:
            params["seed"] = request.seed
        if request.logprob_labels and self._logprobs is not False:
            params["logprobs"], params["top_logprobs"] = True, MAX_TOP_LOGPROBS
        if request.tools:
            params["tools"], params["tool_choice"] = list(request.tools), "auto"
        if schema is None:
            return params
        name = _schema_name(request.schema_name)
        if mode == "json_schema":
            params["response_format"] = {"type": "json_schema", "json_schema": {
                "name": name, "schema": strict_schema_cached(schema), "strict": True}}
        elif mode == "json_object":
            # llama.cpp and vLLM constrain decoding to the attached schema; others ignore it.
            params["response_format"] = {"type": "json_object", "schema": schema}
        elif mode == "tools":
            params["tools"] = [{"type": "function", "function": {
                "name": name, "description": "Give the answer as this function's arguments.",
                "parameters": schema}}]
            params["tool_choice"] = {"type": "function", "function": {"name": name}}
        return params

    async def generate(self, request: LLMRequest, context: CallContext) -> Completion:
        """Send ``request`` as one chat completion (plus fallbacks when the server refuses a form)."""
        mode: str | None = None
        if request.response_schema is not None:
            mode = self.structured_mode
        start = time.perf_counter()
        while True:
            params = self._params(request, mode)
            try:
                response = await self._pool.post_json(self._chat_path(params["model"]), params)
            except HttpStatusError as exc:
                if "logprobs" in params and _refuses_logprobs(self, exc):
                    continue  # asked again without them: callers sample answers instead
                fallback = self._fallback(exc, mode)
                if fallback is None:
                    raise self._transport_error(exc) from None
                mode = fallback
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Timeouts, lost connections, bodies cut off in transit (ValueError): the error table
                # in provider_errors says which are retried. ``from None``: ours says all that matters.
                raise self._transport_error(exc) from None
            return self._completion(response, request, mode, time.perf_counter() - start)

    def _fallback(self, exc: Any, mode: str | None) -> str | None:
        """The next form to try when the server refused ``mode`` (remembered per backend), else None."""
        if self.structured_output != "auto" or mode not in _REFUSAL_WORDS:
            return None
        if exc.status_code not in _REFUSAL_STATUS:
            return None
        body = f"{exc.message} {exc.body}".lower()
        if not any(word in body for word in _REFUSAL_WORDS[mode]):
            return None
        nxt = FALLBACK_ORDER[FALLBACK_ORDER.index(mode) + 1]
        if mode == "json_schema" and "invalid schema" in body:
            # The server supports json_schema but not this particular schema: fall back for this
            # request only, so one unusual schema does not downgrade every later call.
            logger.debug("%s rejected the schema of %s; using json_object for this call", self._where(), mode)
            return nxt
        with self._lock:
            if self._auto_mode == mode:
                self._auto_mode = nxt
                logger.info("%s refused structured output as %s (HTTP %s); using %s from now on",
                            self._where(), mode, exc.status_code, nxt)
        return nxt

    def _completion(self, response: Any, request: LLMRequest, mode: str | None, latency: float) -> Completion:
        """A :class:`Completion` from a chat completion's JSON (a dict), or a typed error.

        An envelope without the chat-completion shape is a retryable transport error; a message
        without text (a refusal, a cut with no content) is an :class:`LLMOutputError`.
        """
        try:
            choice = response["choices"][0]
            message = choice["message"]
            text, asked = split_answer(message, forced=mode == "tools", offered=bool(request.tools))
            usage = response.get("usage") or {}
            counts = Usage(prompt_tokens=int(usage.get("prompt_tokens") or 0),
                           completion_tokens=int(usage.get("completion_tokens") or 0))
            model = response.get("model") or request.model or self.model
            finish_reason = choice.get("finish_reason")
        except (AttributeError, TypeError, IndexError, KeyError, ValueError) as exc:
            raise self._bad_envelope(response, exc) from None
        if not isinstance(message, dict) or not isinstance(text, str | None):
            raise self._bad_envelope(response, None)
        if text is None:
            refusal = message.get("refusal")
            raise LLMOutputError(
                f"{self._where()} returned no text (finish_reason {finish_reason!r}"
                f"{', refusal: ' + str(refusal) if refusal else ''}); rephrase the prompt or try another model",
                raw_text=str(refusal or ""))
        logprobs = parse_openai_logprobs(choice) if request.logprob_labels else None
        if request.logprob_labels and self._logprobs is None:
            self._logprobs = choice.get("logprobs") is not None
            if not self._logprobs:
                logger.info("%s answered without logprobs; callers sample answers from now on", self._where())
        return Completion(text=text, model=str(model), backend=self.name, usage=counts, latency_s=latency,
                          finish_reason=finish_reason if isinstance(finish_reason, str) else None,
                          logprobs=logprobs, tool_calls=asked)

    # -- errors -------------------------------------------------------------------------------------

    def _bad_envelope(self, response: Any, exc: Exception | None) -> LLMTransportError:
        """A 200 answer without the chat-completion shape (no choices, no message): retryable."""
        detail = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
        return LLMTransportError(
            f"{self._where()} answered without a usable chat completion{self._endpoint().mask(detail)[:200]}: "
            f"{self._endpoint().mask(str(response))[:300]}", retryable=True, kind="unusable")

    def _endpoint(self) -> Endpoint:
        auth = ("check AZURE_OPENAI_API_KEY and the deployment's access" if self.api_type == "azure"
                else "check OPENAI_API_KEY (AZURE_OPENAI_API_KEY for Azure)")
        return Endpoint(
            where=self._where(), base_url=self.base_url, timeout=self.timeout, secret=self._api_key,
            advice={"timeout": "the server may be overloaded or the answer too long: raise [OpenAI] TIMEOUT, "
                               "lower MAX_COMPLETION_TOKENS, or check the server",
                    "auth": auth,
                    "not_found": f"check the model name {self.model!r} (for Azure: the deployment name) and "
                                 f"the base URL {self.base_url}"})

    def _transport_error(self, exc: Exception) -> LLMTransportError:
        """Translate a transport failure into an :class:`LLMTransportError` that says what to do (one
        table for chat and embeddings: :mod:`tinytroupe.provider_errors`)."""
        return provider_error(exc, self._endpoint())


__all__ = ["FALLBACK_ORDER", "OpenAIBackend", "parse_retry_after"]
