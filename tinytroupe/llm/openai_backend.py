"""A backend for OpenAI-compatible chat servers: OpenAI, Azure OpenAI, vLLM, Ollama, llama.cpp, LM Studio.

It speaks chat completions through the official ``openai`` SDK, with one pooled async client per
running event loop (HTTP connections are reused across calls; the SDK's own retries are off because
:class:`~tinytroupe.llm.retry.RetryWrapper` does that job for every backend alike).

Structured answers use the strongest form the server accepts, tried in this order::

    json_schema   response_format with a strict JSON schema (OpenAI, vLLM, recent llama.cpp)
    json_object   response_format json_object, schema attached and stated in a system message
    tools         one forced function call whose parameters are the schema
    prompt        the schema stated in a system message only

With ``structured_output="auto"`` the backend starts at ``json_schema`` and, when the server
refuses that form, moves down the list and remembers where it landed.

Example:
    >>> backend = OpenAIBackend(model="llama3.2", api_type="ollama")
    >>> backend.identity()["base_url"]
    'http://localhost:11434/v1'
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from typing import TYPE_CHECKING, Any, Literal

from tinytroupe.errors import ConfigError, LLMOutputError, LLMTransportError
from tinytroupe.lazy import PerLoop
from tinytroupe.llm.backend import Backend
from tinytroupe.llm.structured import strict_schema
from tinytroupe.llm.types import CallContext, Completion, LLMRequest, Usage
from tinytroupe.provider_errors import Endpoint, parse_retry_after, provider_error

if TYPE_CHECKING:
    from openai import AsyncOpenAI

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
                 temperature: float | None = None, max_tokens: int | None = None) -> None:
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
            # Ollama ignores the key, but the SDK insists on one.
            key = api_key or "ollama"
        else:
            self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_BASE_URL).rstrip("/")
            key = api_key or os.environ.get("OPENAI_API_KEY")
            if not key:
                if self.base_url == OPENAI_BASE_URL:
                    raise ConfigError("no OpenAI API key: set the OPENAI_API_KEY environment variable, or "
                                      "set [OpenAI] BASE_URL to a local server (or API_TYPE=local)",
                                      section="OpenAI", key="OPENAI_API_KEY")
                # Local servers (vLLM, llama.cpp, LM Studio) usually take any key; the SDK needs one.
                key = "no-key"
        self._api_key: str = key
        # Official endpoints know the newer max_completion_tokens; many local servers only max_tokens.
        official = api_type == "azure" or self.base_url == OPENAI_BASE_URL
        self._max_tokens_field = "max_completion_tokens" if official else "max_tokens"
        self._auto_mode = FALLBACK_ORDER[0]
        self._lock = threading.Lock()
        # One pooled SDK client per event loop: an httpx pool is bound to the loop it was opened on.
        self._clients: PerLoop[AsyncOpenAI] = PerLoop(self._new_client)
        #: how many SDK clients this backend has created (one per event loop it has run on)
        self.clients_created = 0

    # -- identity and modes -------------------------------------------------------------------------

    def identity(self) -> dict[str, Any]:
        # "openai" names the wire protocol; api_type tells the services apart (and keeps cache keys stable).
        return {"backend": "openai", "api_type": self.api_type, "model": self.model,
                "base_url": self.base_url}

    @property
    def structured_mode(self) -> str:
        """The structured-output form used now (in ``auto``: the one the server was found to accept)."""
        return self._auto_mode if self.structured_output == "auto" else self.structured_output

    def _where(self) -> str:
        return f"the {self.api_type} server at {self.base_url} (model {self.model!r})"

    # -- the pooled client --------------------------------------------------------------------------

    def client(self) -> AsyncOpenAI:
        """The pooled SDK client for the running event loop (created on first use)."""
        return self._clients.get()

    def _new_client(self) -> AsyncOpenAI:
        import openai  # the SDK is imported on first use, keeping `import tinytroupe` light

        self.clients_created += 1  # PerLoop calls this under its lock
        if self.api_type == "azure":
            return openai.AsyncAzureOpenAI(azure_endpoint=self.base_url, api_key=self._api_key,
                                           api_version=self.azure_api_version, timeout=self.timeout,
                                           max_retries=0)
        return openai.AsyncOpenAI(base_url=self.base_url, api_key=self._api_key, timeout=self.timeout,
                                  max_retries=0)

    async def aclose(self) -> None:
        """Close the client of the running loop; clients of other loops are dropped with their loop."""
        found = self._clients.pop()
        if found is not None:
            await found.close()

    # -- requests -----------------------------------------------------------------------------------

    def _messages(self, request: LLMRequest, instruction: str | None) -> list[dict[str, str]]:
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
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
        if schema is None:
            return params
        name = _schema_name(request.schema_name)
        if mode == "json_schema":
            params["response_format"] = {"type": "json_schema", "json_schema": {
                "name": name, "schema": strict_schema(schema), "strict": True}}
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
        import openai

        client = self.client()
        mode: str | None = None
        if request.response_schema is not None:
            mode = self.structured_mode
        start = time.perf_counter()
        while True:
            try:
                response = await client.chat.completions.create(**self._params(request, mode))
            except openai.APIStatusError as exc:
                fallback = self._fallback(exc, mode)
                if fallback is None:
                    raise self._transport_error(exc) from None
                mode = fallback
                continue
            except (openai.APIError, ValueError) as exc:
                # ``from None``: the SDK's exception may quote the key; ours says all that matters.
                # (A ValueError is a body cut off in transit or garbled: see provider_errors.)
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
        try:
            choices = response.choices
            choice = choices[0] if choices else None
            message = choice.message if choice is not None else None
            text = message.content if message is not None else None
            if mode == "tools" and message is not None and message.tool_calls:
                text = message.tool_calls[0].function.arguments
            usage = response.usage
            counts = Usage(prompt_tokens=(usage.prompt_tokens or 0) if usage else 0,
                           completion_tokens=(usage.completion_tokens or 0) if usage else 0)
            model = response.model or request.model or self.model
        except (AttributeError, TypeError, IndexError, KeyError, ValueError) as exc:
            # The SDK builds objects without validating them, so a wrong envelope shows up here.
            raise self._bad_envelope(response, exc) from None
        if message is None or choice is None or not isinstance(text, str | None):
            raise self._bad_envelope(response, None)
        if text is None:
            refusal = getattr(message, "refusal", None)
            raise LLMOutputError(
                f"{self._where()} returned no text (finish_reason {choice.finish_reason!r}"
                f"{', refusal: ' + refusal if refusal else ''}); rephrase the prompt or try another model",
                raw_text=refusal or "")
        return Completion(
            text=text,
            model=str(model),
            backend=self.name,
            usage=counts,
            latency_s=latency,
            finish_reason=choice.finish_reason,
        )

    # -- errors -------------------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        return self._endpoint().mask(text)

    def _bad_envelope(self, response: Any, exc: Exception | None) -> LLMTransportError:
        """A 200 answer without the chat-completion shape (no choices, no message): retryable."""
        detail = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
        return LLMTransportError(
            f"{self._where()} answered without a usable chat completion{self._redact(detail)[:200]}: "
            f"{self._redact(str(response))[:300]}", retryable=True)

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
        """Translate an SDK error into an :class:`LLMTransportError` that says what to do (one table
        for chat and embeddings: :mod:`tinytroupe.provider_errors`)."""
        return provider_error(exc, self._endpoint())


__all__ = ["FALLBACK_ORDER", "OpenAIBackend", "parse_retry_after"]
