"""Data that crosses the LLM port: messages, requests, completions, usage and call context."""

from __future__ import annotations

import hashlib
import marshal
import math
import operator
from typing import Any, Literal

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from tinytroupe.events import EventBus
from tinytroupe.llm.canonical import SpliceMemo, encode_floatless, frozen_text, splice, value_key


class ToolCallRequest(BaseModel):
    """One function call a model asked for in a native tool-calling answer (OpenAI's ``tool_calls``).

    ``arguments`` is the JSON text exactly as the model wrote it: checking it is the tool's job, and a
    model that wrote bad JSON is told so.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: str
    arguments: str = "{}"


class ImagePart(BaseModel):
    """An image a ``user`` message shows the model, as a ``data:`` URL (an OpenAI ``image_url`` content part).

    ``detail`` is the fidelity asked for (``low``, ``high`` or ``auto``). The image's bytes are part of
    the request, so of its cache key.

    Example:
        >>> ImagePart(url="data:image/png;base64,iVBORw0K", detail="low").wire()
        {'type': 'image_url', 'image_url': {'url': 'data:image/png;base64,iVBORw0K', 'detail': 'low'}}
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(pattern=r"^data:image/[a-z+.-]+;base64,")
    detail: Literal["auto", "low", "high"] = "auto"

    def wire(self) -> dict[str, Any]:
        """The part as the chat completions API takes it."""
        return {"type": "image_url", "image_url": {"url": self.url, "detail": self.detail}}


class Message(BaseModel):
    """One chat message.

    An assistant message may carry the ``tool_calls`` the model asked for; a ``tool`` message answers
    one of them (``tool_call_id``). A ``user`` message may show ``images`` after its text (sent as
    content parts: the text, then each image). These fields are left out of the serialised message
    when unset, so requests without tools or images keep the cache keys they always had.

    Example:
        >>> Message(role="user", content="hi").model_dump()
        {'role': 'user', 'content': 'hi'}
        >>> Message(role="tool", content="{}", tool_call_id="c1").model_dump()["tool_call_id"]
        'c1'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["system", "user", "assistant", "tool"]
    content: str
    tool_calls: tuple[ToolCallRequest, ...] | None = None
    tool_call_id: str | None = None
    images: tuple[ImagePart, ...] | None = None

    @model_validator(mode="after")
    def _tool_fields_fit_role(self) -> Message:
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a 'tool' message needs the tool_call_id of the call it answers")
        if self.tool_calls is not None and self.role != "assistant":
            raise ValueError("only an 'assistant' message carries tool_calls")
        if self.images is not None and self.role != "user":
            raise ValueError("only a 'user' message shows images")
        return self

    def canonical_text(self) -> str:
        """This message as the request's canonical JSON writes it (sorted keys, no whitespace).

        A plain message (no tool fields, no images) is written directly: dumping it through pydantic
        and a JSON encoder was most of a cache key's cost. Same text as :func:`~tinytroupe.llm.canonical.encode`
        of :meth:`model_dump` (a test compares them).

        Example:
            >>> print(Message(role="user", content='say "hi"').canonical_text())
            {"content":"say \\"hi\\"","role":"user"}
        """
        if self.tool_calls is None and self.tool_call_id is None and self.images is None:
            try:
                return orjson.dumps({"content": self.content, "role": self.role}).decode()  # keys in order
            except TypeError:  # a lone surrogate: the standard encoder writes it as it always did
                pass
        return encode_floatless(self.model_dump(mode="json"))

    @model_serializer(mode="wrap")
    def _without_unset_tool_fields(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if self.tool_calls is None:
            data.pop("tool_calls", None)
        if self.tool_call_id is None:
            data.pop("tool_call_id", None)
        if self.images is None:
            data.pop("images", None)
        return data


class LLMRequest(BaseModel):
    """Everything that determines a model's answer, and nothing else.

    The cache key is a hash of this object (see :meth:`cache_key`), so anything that must not
    change the key (who asked, why) lives in :class:`CallContext` instead.

    ``response_schema`` is the JSON schema of the wanted answer (None: free text);
    ``response_model`` is the pydantic class that validates the answer (with ``validation_context``
    when the schema is narrower than the class, as an agent's turn is to the people present); both
    are excluded from serialisation.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    messages: tuple[Message, ...]
    model: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] | None = None
    seed: int | None = None
    response_schema: dict[str, Any] | None = None
    schema_name: str | None = None
    response_model: type[BaseModel] | None = Field(default=None, exclude=True)
    #: pydantic validation context for the answer (e.g. whom a turn may address): it narrows what
    #: ``response_model`` accepts the way ``response_schema`` states it, so it is not part of the key
    validation_context: dict[str, Any] | None = Field(default=None, exclude=True)
    #: ask for the log-probability of each of these labels as the answer's first token (see
    #: :mod:`tinytroupe.llm.logprobs`). Not dumped; :meth:`canonical_json` adds it when set, so the
    #: keys of requests without it are those made before it existed.
    logprob_labels: tuple[str, ...] | None = Field(default=None, exclude=True)
    #: functions the model may call instead of answering (OpenAI's ``tools``: ``{"type": "function",
    #: "function": {name, description, parameters}}`` each); like ``logprob_labels``, only in the key when set
    tools: tuple[dict[str, Any], ...] | None = Field(default=None, exclude=True)
    # The last cache key computed and the backend identity it was for are kept as "_key_memo" in
    # the private storage (see _remember): not a field, never serialised.

    @field_validator("response_schema", mode="wrap")
    @classmethod
    def _keep_frozen_schema(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        # A frozen schema stays this very object (validation would copy it), so its canonical text,
        # computed once, is found again by identity (see tinytroupe.llm.canonical).
        return value if frozen_text(value) is not None else handler(value)

    def canonical_json(self, backend_identity: dict[str, Any] | None = None, memo: SpliceMemo | None = None) -> str:
        """Deterministic JSON of the request (sorted keys, no whitespace), plus the backend identity.

        ``memo`` remembers the text of what surrounds the messages (see :class:`~tinytroupe.llm.canonical.SpliceMemo`):
        the same text, built faster when many requests share their parameters."""
        return self._canonical(backend_identity or {}, memo)

    def _canonical(self, backend: dict[str, Any], memo: SpliceMemo | None,
                   backend_key: str | bytes | None = None) -> str:
        """:meth:`canonical_json`; ``backend_key`` is :func:`~tinytroupe.llm.canonical.value_key` of
        the backend, when the caller has it."""
        # json, not orjson: orjson writes some floats differently ("0.00001" for 1e-05) and refuses
        # integers beyond 64 bits, and this text must stay exactly what earlier versions hashed.
        schema = self.response_schema
        schema_text = frozen_text(schema) if schema is not None else None
        messages = "[" + ",".join([
            # an agent's system message is one shared object, sent with each of its turns
            memo.text_of(m, m.canonical_text) if memo is not None and m.role == "system" else m.canonical_text()
            for m in self.messages]) + "]"
        if memo is not None and (schema is None or schema_text is not None):
            # The remainder is remembered by the request's own values (told apart as their dump does),
            # so a remembered one costs no dump; a caller's own schema is dumped as before (it may hold
            # values the dump converts).
            values = _values_key(_text_values(self.__dict__))
            return splice(lambda: self._text_fields(schema_text), schema_text, backend, {"messages": messages},
                          memo, values, backend_key)
        return splice(self._text_fields(schema_text), schema_text, backend, {"messages": messages}, memo)

    def _text_fields(self, schema_text: str | None) -> dict[str, Any]:
        """The request's fields as its canonical text holds them, but the messages (and the schema,
        when its text is given)."""
        request = self.model_dump(mode="json", exclude={"messages", "response_schema"} if schema_text is not None
                                  else {"messages"})
        if self.logprob_labels is not None:
            # only when set: requests without labels keep the keys they always had
            request["logprob_labels"] = list(self.logprob_labels)
        if self.tools is not None:
            request["tools"] = list(self.tools)
        return request

    def cache_key(self, backend_identity: dict[str, Any] | None = None, memo: SpliceMemo | None = None) -> str:
        """SHA-256 of :meth:`canonical_json` (remembered per backend identity: the replay recorder and
        the cache both ask for it, and hashing a long prompt twice costs more than the cache lookup)."""
        # value_key, not the JSON text: as telling (equal keys, equal texts) and cheaper
        backend = backend_identity or {}
        ident = value_key(backend)
        private = self.__pydantic_private__
        known = private.get("_key_memo") if private is not None else None
        if known is not None and known[0] == ident:
            return known[1]
        key = sha256_hex(self._canonical(backend, memo, ident))
        _remember(self, "_key_memo", (ident, key))
        return key


def _remember(model: BaseModel, name: str, value: Any) -> None:
    """Keep ``value`` as ``name`` in ``model``'s private-attribute storage (``__pydantic_private__``).

    :class:`LLMRequest` and :class:`Completion` keep their memos there without declaring them with
    ``PrivateAttr``: a declared one makes pydantic run a Python hook on every new instance (about a
    microsecond; a call makes one of each). The storage is the one a declared attribute uses: copied
    by ``model_copy``, pickled, compared by ``==``, never dumped.
    """
    private = model.__pydantic_private__
    if private is None:
        object.__setattr__(model, "__pydantic_private__", {name: value})
    else:
        private[name] = value


#: the values :meth:`LLMRequest._text_fields` is made of (the dumped fields but the messages and the
#: schema, and the two written only when set): equal values, equal fields
_text_values = operator.itemgetter(*(
    [name for name, info in LLMRequest.model_fields.items()
     if not info.exclude and name not in ("messages", "response_schema")] + ["logprob_labels", "tools"]))


def _values_key(values: tuple[Any, ...]) -> str | bytes:
    """A key for a request's field values: equal keys, equal values written alike in JSON.

    marshal's typed bytes, as exact as ``repr`` (None and NaN, 1 and 1.0 and True, -0.0 and 0.0 all
    differ) at a third of its cost; equal values may still get two keys (a string interned or not),
    which costs only a remainder made once more. What marshal refuses stands as its ``repr`` (a
    ``str``, never equal to bytes).

    Example:
        >>> _values_key(("m", 1, None)) != _values_key(("m", 1.0, None)) != _values_key(("m", True, None))
        True
    """
    try:
        return marshal.dumps(values)
    except ValueError:  # a value marshal does not take (a subclass of str, say)
        return repr(values)


#: hashlib lets go of the GIL to hash this many bytes or more (CPython's HASHLIB_GIL_MINSIZE)
_GIL_FREE_HASH_BYTES = 2048


def sha256_hex(text: str) -> str:
    """SHA-256 of ``text`` (UTF-8), in pieces small enough that hashlib keeps the GIL.

    A key's text is a few KB, hashed in microseconds; letting go of the GIL for that hands it to
    another thread (the trace's writer), and taking it back waits for that thread's switch
    interval, milliseconds. Same digest as hashing the whole text at once.

    Example:
        >>> sha256_hex("x" * 5000) == hashlib.sha256(b"x" * 5000).hexdigest()
        True
    """
    data = text.encode("utf-8")
    digest = hashlib.sha256()
    step = _GIL_FREE_HASH_BYTES - 1
    for start in range(0, len(data), step):
        digest.update(data[start:start + step])
    return digest.hexdigest()


class Usage(BaseModel):
    """Token counts of one or more calls."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
        )


class TokenLogprob(BaseModel):
    """One token and its log-probability (natural log)."""

    model_config = ConfigDict(frozen=True)

    token: str
    #: at most 0; -inf and NaN are refused (JSON cannot carry them, so a cached answer could not be read back)
    logprob: float = Field(le=0.0, allow_inf_nan=False)


class FirstTokenLogprobs(BaseModel):
    """What a backend reported about the answer's first token, for a request with ``logprob_labels``.

    ``exact``: the labels' tokens were scored one by one (the embedded model: every label is there,
    with its true probability); otherwise ``alternatives`` are the server's most likely first tokens
    (``top_logprobs``), so a label missing from them had less than the least likely one shown.
    """

    alternatives: list[TokenLogprob]
    exact: bool = False

    @classmethod
    def from_probabilities(cls, probabilities: dict[str, float], *, exact: bool = False) -> FirstTokenLogprobs:
        """Alternatives with these probabilities (tokens of probability 0 left out), most likely first:
        for scripting a backend in tests.

        Example:
            >>> [a.token for a in FirstTokenLogprobs.from_probabilities({"B": 0.3, "A": 0.7}).alternatives]
            ['A', 'B']
        """
        ranked = sorted(((t, p) for t, p in probabilities.items() if p > 0), key=lambda tp: -tp[1])
        return cls(alternatives=[TokenLogprob(token=t, logprob=min(0.0, math.log(p))) for t, p in ranked],
                   exact=exact)


class Completion(BaseModel):
    """A backend's raw answer to one :class:`LLMRequest`."""

    text: str
    model: str
    backend: str = ""
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    finish_reason: str | None = None
    cached: bool = False
    attempts: int = 1
    #: the first token's log-probabilities, when the request asked for them and the backend gave them
    logprobs: FirstTokenLogprobs | None = None
    #: the functions the model asked to call (a request with ``tools``); ``text`` may then be empty
    tool_calls: tuple[ToolCallRequest, ...] | None = None
    batched: bool = Field(default=False, exclude=True)  # from a provider batch (see PriceTable.batch_discount)
    # private "_checked": (model, context, value) a wrapper already validated, not parsed again (mark_checked)

    @property
    def cut_off(self) -> bool:
        """Whether the server stopped the answer at its token limit (``finish_reason == "length"``)."""
        return self.finish_reason == "length"

    def checked_value(self, model: type[BaseModel], context: dict[str, Any] | None = None) -> BaseModel | None:
        """The answer as ``model``, when a wrapper has already validated the text strictly against ``model``
        with the same validation ``context``; else None (one answer may be shared by callers whose
        contexts differ: each is checked against its own)."""
        private = self.__pydantic_private__
        checked = private.get("_checked") if private is not None else None
        if checked is None or checked[0] is not model or checked[1] != context:
            return None
        return checked[2]

    def mark_checked(self, model: type[BaseModel], context: dict[str, Any] | None, value: BaseModel) -> None:
        """Remember that the text is ``value``, validated strictly as ``model`` with ``context`` (see
        :meth:`checked_value`); never serialised.

        Example:
            >>> answer = Completion(text='{"text": "hi", "model": "m"}', model="m")
            >>> answer.mark_checked(Completion, None, Completion(text="hi", model="m"))
            >>> answer.checked_value(Completion).text, answer.checked_value(Completion, {"other": 1})
            ('hi', None)
        """
        _remember(self, "_checked", (model, context, value))


class CallContext(BaseModel):
    """Who asked and why: used for accounting and events, never part of the cache key."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    purpose: str = "chat"
    agent: str | None = None
    world: str | None = None
    step: int | None = None
    simulation_id: str | None = None
    #: the caller's event bus (its run context's), when it is not the client's: the call's event goes there too
    bus: EventBus | None = Field(default=None, exclude=True, repr=False)


__all__ = ["CallContext", "Completion", "FirstTokenLogprobs", "ImagePart", "LLMRequest", "Message", "TokenLogprob",
           "ToolCallRequest", "Usage"]
