"""Configuration: one pydantic :class:`Settings` object, loaded by :func:`load_settings`.

Precedence, lowest first::

    defaults < file < environment < explicit arguments

* **File**: the ``path`` argument, else the file named by ``TINYTROUPE_CONFIG``, else
  ``tinytroupe.toml`` in the working directory, else ``config.ini`` there. ``config.ini`` is
  TinyTroupe's format (``[OpenAI]``, ``[Simulation]``, ``[Cognition]``, ``[Memory]``, ``[Logging]``; keys
  case-insensitive, e.g. ``MODEL``, ``MAX_ATTEMPTS``); ``tinytroupe.toml`` has the same sections and
  keys in lower case. Keys TinyTroupe has and tinytroupe does not use are accepted with one
  :class:`TinyTroupeCompatibilityWarning` naming them. Secrets (API keys) are never read from files.
* **Environment**: ``TINYTROUPE_<SECTION>__<KEY>`` (``TINYTROUPE_OPENAI__MODEL``), plus
  ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``AZURE_OPENAI_API_KEY`` (or TinyTroupe's
  ``AZURE_OPENAI_KEY``), ``AZURE_OPENAI_ENDPOINT`` and ``AZURE_OPENAI_API_VERSION``.
* **Arguments**: ``load_settings(openai__model="gpt-4o")`` (``<section>__<key>``, like the
  environment variables) or a whole section, ``load_settings(openai={"model": "gpt-4o"})``.

Every mistake raises :class:`~tinytroupe.errors.ConfigError` naming the file (or variable, or
argument), section, key and bad value, what is allowed, and a "did you mean" for typos.

Example:
    >>> s = load_settings(env={}, cwd=Path("/nonexistent"), openai__model="gpt-4o")
    >>> s.openai.model, s.source_file
    ('gpt-4o', None)
"""

from __future__ import annotations

import configparser
import contextlib
import contextvars
import difflib
import functools
import os
import threading
import tomllib
import types
import typing
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import annotated_types
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError
from pydantic.fields import FieldInfo

from tinytroupe.errors import ConfigError

ApiType = Literal["auto", "openai", "azure", "ollama", "local", "scripted"]
ResolvedApiType = Literal["openai", "azure", "ollama", "local", "scripted"]
StructuredMode = Literal["auto", "json_schema", "json_object", "tools", "prompt"]


class TinyTroupeCompatibilityWarning(UserWarning):
    """A TinyTroupe setting was accepted but has no effect in tinytroupe (one warning names them all)."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class OpenAISettings(_Section):
    """``[OpenAI]``: which model server to use and how to call it (TinyTroupe-compatible keys)."""

    api_type: ApiType = Field("auto",
                              description="auto: openai/azure when a key or base URL is set, else local")
    model: str = Field("gpt-4.1-mini", description="model (or Azure deployment) name for API backends")
    base_url: str | None = Field(None,
                                 description="OpenAI-compatible server (vLLM, Ollama, llama.cpp, LM Studio)")
    api_key: SecretStr | None = Field(None, description="from OPENAI_API_KEY only; never from a file")
    azure_endpoint: str | None = None
    azure_api_key: SecretStr | None = None
    azure_api_version: str = "2024-10-21"
    embedding_model: str = "text-embedding-3-small"
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    max_completion_tokens: int = Field(1024, ge=1)
    timeout: float = Field(60.0, gt=0, description="seconds per request")
    max_attempts: int = Field(5, ge=1, le=20, description="attempts per request on retryable failures")
    max_concurrent_model_calls: int = Field(32, ge=0, description="0 = unlimited")
    requests_per_minute: int = Field(0, ge=0, description="0 = unlimited")
    tokens_per_minute: int = Field(0, ge=0, description="0 = unlimited")
    structured_output: StructuredMode = "auto"
    cache_api_calls: bool = False
    cache_file_name: str = "tinytroupe-llm-cache.sqlite"
    cache_max_entries: int = Field(100_000, ge=1)
    cache_max_bytes: int = Field(512 * 1024 * 1024, ge=1024)
    max_reasks: int = Field(2, ge=0, le=10)


class LocalModelSettings(_Section):
    """``[Local]``: the embedded llama.cpp model."""

    model_path: str | None = Field(None, description="a GGUF file; default: the bundled Gemma 3 270M")
    n_ctx: int = Field(4096, ge=256)
    n_threads: int | None = Field(None, ge=1, description="default: all cores")
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    max_concurrent_model_calls: int = Field(1, ge=1)


class SimulationSettings(_Section):
    """``[Simulation]``: how worlds step."""

    parallel_agent_actions: bool = True
    max_workers: int | None = Field(None, ge=1,
                                    description="agent turns in flight; default from the LLM limit")
    parallel_execution_timeout: float = Field(300.0, gt=0, description="seconds per agent turn")
    collect_parallel_metrics: bool = True
    seed: int | None = None
    max_actions_per_turn: int = Field(6, ge=1, le=15)
    on_agent_error: Literal["continue", "stop"] = "continue"


class CognitionSettings(_Section):
    """``[Cognition]``: prompt and memory sizes."""

    recent_window: int = Field(20, ge=1, description="episodic events shown in each prompt")
    prompt_token_budget: int = Field(3000, ge=200)
    max_content_display_length: int = Field(1024, ge=16)


class MemorySettings(_Section):
    """``[Memory]``: bounded episodic memory, relevance retrieval, consolidation, forgetting, reflection.

    Every parameter is documented in ``docs/memory.md``.
    """

    max_episodic_memory_size: int = Field(1000, ge=2, description="episodic items kept per agent")
    memory_cleanup_strategy: Literal["fifo", "age", "relevance"] = Field(
        "fifo", description="which items leave a full episodic memory: oldest added, oldest in simulated "
        "time, or least important and least recently retrieved")
    memory_warning_threshold: float = Field(0.8, gt=0.0, le=1.0,
                                            description="usage ratio that publishes a warning")
    eviction_batch_fraction: float = Field(0.05, gt=0.0, le=0.5,
                                           description="share of the bound evicted at once when full")
    consolidate_before_eviction: bool = Field(True, description="summarise items before they leave")
    auto_consolidate_on_threshold: bool = True
    auto_consolidation_threshold: int = Field(500, ge=1, description="unconsolidated items that trigger it")
    consolidation_chunk_size: int = Field(50, ge=1, description="episodic items per summarising LLM call")
    reconcile_top_k: int = Field(3, ge=1, description="similar existing facts shown per new fact")
    reconcile_min_similarity: float = Field(0.6, ge=-1.0, le=1.0,
                                            description="below it a new fact is added without asking")
    duplicate_similarity: float = Field(0.97, ge=-1.0, le=1.0,
                                        description="above it a new fact is a duplicate (NOOP) without asking")
    max_semantic_memory_size: int = Field(2000, ge=1,
                                          description="active facts kept; the least important are forgotten past it")
    max_inactive_semantic_facts: int = Field(200, ge=0,
                                             description="inactive facts kept in RAM (all stay in the trace)")
    relevance_retrieval: bool = Field(True, description="fill the prompt's memory section by retrieval")
    embedder: Literal["use", "hash", "openai"] = Field(
        "use", description="use: bundled offline model; hash: fast hashed words; openai: [OpenAI] EMBEDDING_MODEL")
    retrieval_top_k: int = Field(5, ge=1, le=100)
    recency_weight: float = Field(1.0, ge=0.0)
    importance_weight: float = Field(1.0, ge=0.0)
    relevance_weight: float = Field(3.0, ge=0.0, description="relevance counts triple: the query carries intent")
    recency_mode: Literal["hours", "rank"] = Field("hours", description="decay by simulated hours or by rank")
    recency_decay: float = Field(0.995, gt=0.0, lt=1.0, description="factor per simulated hour (or rank)")
    importance_scoring: Literal["rule", "llm"] = Field(
        "rule", description="rule: free heuristic; llm: one batched 1-10 rating call per turn")
    importance_cache_size: int = Field(4096, ge=0)
    forgetting: bool = True
    retention_floor: float = Field(0.05, ge=0.0, lt=1.0, description="below it an item leaves retrieval")
    forgetting_base_hours: float = Field(72.0, gt=0.0, description="memory strength of an importance-1 item")
    forgetting_importance_factor: float = Field(1.0, ge=0.0, description="strength gain per importance step")
    forgetting_rehearsal_factor: float = Field(0.5, ge=0.0, description="strength gain per retrieval")
    enable_reflection: bool = Field(False, description="opt-in: two more LLM calls each time it triggers")
    reflection_threshold: float = Field(150.0, gt=0.0, description="summed importance that triggers it")
    reflection_questions: int = Field(3, ge=1, le=10)
    reflection_evidence_k: int = Field(5, ge=1, le=30)
    reflection_recent_items: int = Field(50, ge=5, description="recent memories the questions are drawn from")


class LoggingSettings(_Section):
    """``[Logging]``: levels for the console display."""

    loglevel: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "WARNING"


class Settings(_Section):
    """All tinytroupe settings, by section. Build it with :func:`load_settings`.

    ``source_file`` is the configuration file that was read (None: none), and :meth:`origin`
    tells where any value came from. Secrets are :class:`~pydantic.SecretStr`; show settings with
    :meth:`public_dict`, which replaces them by ``"set"`` or ``"not set"``.

    Example:
        >>> s = Settings()
        >>> s.openai.max_attempts
        5
        >>> s.public_dict()["openai"]["api_key"]
        'not set'
    """

    openai: OpenAISettings = Field(default_factory=OpenAISettings)
    local: LocalModelSettings = Field(default_factory=LocalModelSettings)
    simulation: SimulationSettings = Field(default_factory=SimulationSettings)
    cognition: CognitionSettings = Field(default_factory=CognitionSettings)
    memory: MemorySettings = Field(default_factory=MemorySettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)

    _source_file: str | None = PrivateAttr(default=None)
    _origins: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def source_file(self) -> str | None:
        """The configuration file :func:`load_settings` read, or None."""
        return self._source_file

    def origin(self, dotted_name: str) -> str:
        """Where a value came from, e.g. ``origin("openai.model")`` → ``"environment variable X"``.

        ``"default"`` when nothing set it.
        """
        return self._origins.get(dotted_name, "default")

    def public_dict(self) -> dict[str, dict[str, Any]]:
        """Every setting as JSON-ready data, with each secret replaced by ``"set"`` or ``"not set"``."""
        data = self.model_dump(mode="json")
        for section, name in _secret_fields():
            value = getattr(getattr(self, section), name)
            data[section][name] = "set" if value is not None and value.get_secret_value() else "not set"
        return data


#: the sections of :class:`Settings`, by name
SECTIONS: dict[str, type[_Section]] = {
    name: typing.cast(type[_Section], info.annotation) for name, info in Settings.model_fields.items()
}


def _secret_fields() -> list[tuple[str, str]]:
    return [(section, name) for section, model in SECTIONS.items()
            for name, info in model.model_fields.items() if SecretStr in _members(info.annotation)]


def resolved_api_type(settings: Settings) -> ResolvedApiType:
    """The backend ``settings`` select, with ``auto`` decided.

    ``auto`` means: Azure when both the Azure endpoint and key are set, else OpenAI(-compatible)
    when an OpenAI key or a base URL is set, else the embedded local model.

    Example:
        >>> resolved_api_type(Settings())
        'local'
        >>> resolved_api_type(Settings(openai={"base_url": "http://127.0.0.1:8080/v1"}))
        'openai'
    """
    o = settings.openai
    if o.api_type != "auto":
        return o.api_type
    if o.azure_endpoint and o.azure_api_key is not None and o.azure_api_key.get_secret_value():
        return "azure"
    if (o.api_key is not None and o.api_key.get_secret_value()) or o.base_url:
        return "openai"
    return "local"


# ---------------------------------------------------------------------------------------------
# Loading: files, environment, arguments
# ---------------------------------------------------------------------------------------------

#: the environment variable that may name the configuration file
CONFIG_ENV_VAR = "TINYTROUPE_CONFIG"
ENV_PREFIX = "TINYTROUPE_"
#: TINYTROUPE_* variables that are not settings but are still allowed (the config file's name)
OTHER_ENV_VARS: frozenset[str] = frozenset({CONFIG_ENV_VAR})

#: how config.ini spells each section (TinyTroupe's capitalisation); TOML uses the lower-case names
_INI_SECTION_NAMES = {"openai": "OpenAI", "local": "Local", "simulation": "Simulation",
                      "cognition": "Cognition", "memory": "Memory", "logging": "Logging",
                      "actiongenerator": "ActionGenerator"}

#: TinyTroupe keys whose value lands in another section of ours
_TT_MOVED: dict[tuple[str, str], tuple[str, str]] = {
    ("openai", "max_content_display_length"): ("cognition", "max_content_display_length"),
}

#: TinyTroupe (0.5-0.6) keys that tinytroupe accepts without using them
_TT_UNUSED: dict[str, frozenset[str]] = {
    "openai": frozenset({
        "reasoning_model", "azure_embedding_model_api_version", "freq_penalty", "presence_penalty",
        "reasoning_effort", "num_ctx", "max_tokens", "waiting_time", "exponential_backoff_factor",
    }),
    "simulation": frozenset({
        "parallel_agent_generation", "rai_harmful_content_prevention",
        "rai_copyright_infringement_prevention",
    }),
    "cognition": frozenset({
        "enable_memory_consolidation", "enable_continuous_contextual_semantic_memory_retrieval",
        "min_episode_length", "max_episode_length", "episodic_memory_fixed_prefix_length",
        "episodic_memory_lookback_length",
    }),
    "logging": frozenset({"loglevel_console", "loglevel_file", "log_include_thread_id"}),
    # TinyTroupe's action quality checks; tinytroupe validates actions with pydantic instead.
    "actiongenerator": frozenset({
        "max_attempts", "enable_quality_checks", "enable_regeneration", "enable_direct_correction",
        "enable_quality_check_for_persona_adherence", "enable_quality_check_for_selfconsistency",
        "enable_quality_check_for_fluency", "enable_quality_check_for_suitability",
        "enable_quality_check_for_similarity", "continue_on_failure", "quality_threshold",
    }),
}

#: key names under which people put secrets into files, and the variable to use instead
_SECRET_FILE_KEYS = {
    "api_key": "OPENAI_API_KEY", "openai_api_key": "OPENAI_API_KEY", "openai_key": "OPENAI_API_KEY",
    "azure_api_key": "AZURE_OPENAI_API_KEY", "azure_openai_key": "AZURE_OPENAI_API_KEY",
    "azure_openai_api_key": "AZURE_OPENAI_API_KEY", "azure_key": "AZURE_OPENAI_API_KEY",
}
_SECRET_SUFFIXES = ("key", "token", "secret", "password")

#: the providers' own variables, lowest precedence first (AZURE_OPENAI_API_KEY beats TinyTroupe's name)
PROVIDER_ENV_VARS: tuple[tuple[str, str, str], ...] = (
    ("OPENAI_API_KEY", "openai", "api_key"),
    ("OPENAI_BASE_URL", "openai", "base_url"),
    ("AZURE_OPENAI_KEY", "openai", "azure_api_key"),
    ("AZURE_OPENAI_API_KEY", "openai", "azure_api_key"),
    ("AZURE_OPENAI_ENDPOINT", "openai", "azure_endpoint"),
    ("AZURE_OPENAI_API_VERSION", "openai", "azure_api_version"),
)

_TRUE = frozenset({"true", "yes", "on", "1", "y", "t"})
_FALSE = frozenset({"false", "no", "off", "0", "n", "f"})
_NONE_WORDS = frozenset({"", "none", "null"})
_UNLIMITED_WORDS = frozenset({"0", "none", "off", "unlimited"})


def _members(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


@dataclass(frozen=True)
class _FieldShape:
    """What a field accepts, read from its annotation (drives string conversion and messages)."""

    base: Any
    optional: bool
    choices: tuple[str, ...]
    info: FieldInfo

    @classmethod
    def of(cls, section: str, name: str) -> _FieldShape:
        info = SECTIONS[section].model_fields[name]
        members = _members(info.annotation)
        base = next(m for m in members if m is not type(None))
        choices = typing.get_args(base) if typing.get_origin(base) is Literal else ()
        return cls(base=base, optional=type(None) in members, choices=choices, info=info)

    def describe(self, section: str, name: str) -> str:
        """'an integer >= 1 and <= 20 (default 5)' and the like."""
        if self.base is bool:
            text = "true or false (also yes/no, on/off, 1/0)"
        elif self.choices:
            text = "one of " + ", ".join(self.choices)
        else:
            text = {int: "an integer", float: "a number", str: "text", SecretStr: "a secret"}.get(
                self.base, getattr(self.base, "__name__", str(self.base)))
        bounds = []
        for meta in self.info.metadata:
            for attr, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
                if isinstance(meta, getattr(annotated_types, attr.capitalize())):
                    bounds.append(f"{sign} {getattr(meta, attr)}")
        if bounds:
            text += " " + " and ".join(bounds)
        if (section, name) == ("openai", "max_concurrent_model_calls"):
            text += " (0, NONE or OFF: unlimited)"
        elif self.optional:
            text += ", or None"
        return f"{text} (default {self.info.default!r})"


class _BadValue(Exception):
    """A string that cannot become the field's type; the message says why."""


def _coerce(section: str, name: str, value: Any) -> Any:
    """Turn text from an INI file or a variable into the field's type (other values pass through).

    pydantic would accept most text too, but doing booleans, None and choices here lets the
    message list exactly what is allowed, and makes choices case-insensitive as in TinyTroupe.
    """
    shape = _FieldShape.of(section, name)
    if not isinstance(value, str) or shape.base is SecretStr:
        return value
    text = value.strip()
    low = text.lower()
    if (section, name) == ("openai", "max_concurrent_model_calls") and low in _UNLIMITED_WORDS:
        return 0
    if shape.optional and low in _NONE_WORDS:
        return None
    if not text:
        raise _BadValue("empty value; remove it to use the default")
    if shape.base is bool:
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise _BadValue("not a boolean")
    if shape.choices:
        for choice in shape.choices:
            if low == choice.lower():
                return choice
        close = difflib.get_close_matches(low, [c.lower() for c in shape.choices], n=1)
        raise _BadValue("not an allowed value" + (f"; did you mean {close[0]}?" if close else ""))
    return text


@dataclass(frozen=True)
class _Origin:
    where: str  # "config.ini [OpenAI] MODEL", "environment variable X", "argument openai__model"
    source: str  # the file, variable or "arguments"
    key: str  # the key as written there
    value: Any
    secret: bool = False
    section: str | None = None  # as written in the file; our name for variables and arguments


@dataclass
class _Problem:
    message: str
    source: str | None = None
    section: str | None = None
    key: str | None = None


def _did_you_mean(word: str, candidates: list[str], *, fmt: str = "{}") -> str:
    close = difflib.get_close_matches(word.lower(), [c.lower() for c in candidates], n=1, cutoff=0.6)
    if not close:
        return ""
    original = next(c for c in candidates if c.lower() == close[0])
    return " Did you mean " + fmt.format(original) + "?"


class _Loader:
    """Collects values layer by layer, remembering where each came from, then validates once."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
        self.origins: dict[tuple[str, str], _Origin] = {}
        self.unused: list[str] = []
        self.problems: list[_Problem] = []

    # -- recording -----------------------------------------------------------------------------

    def set(self, section: str, name: str, value: Any, origin: _Origin) -> None:
        try:
            value = _coerce(section, name, value)
        except _BadValue as exc:
            shape = _FieldShape.of(section, name)
            self.problem(f"{origin.where} = {value!r}: {exc}. Expected {shape.describe(section, name)}.",
                         origin)
            return
        self.values[section][name] = value
        self.origins[(section, name)] = origin

    def problem(self, message: str, origin: _Origin | None = None, section: str | None = None) -> None:
        if section is None and origin is not None:
            section = origin.section
        self.problems.append(_Problem(message, origin.source if origin else None, section,
                                      origin.key if origin else None))

    # -- files ---------------------------------------------------------------------------------

    def read_file(self, path: Path, shown: str) -> None:
        # Messages spell sections and keys the way the file's format does.
        section_name: typing.Callable[[str], str]
        key_name: typing.Callable[[str], str]
        if path.suffix.lower() == ".toml":
            items = _toml_items(path, shown)
            section_name, key_name = str.lower, str.lower
        else:
            items = _ini_items(path, shown)
            section_name, key_name = _ini_section_name, str.upper
        seen: dict[tuple[str, str], str] = {}
        bad_sections: set[str] = set()
        for section_raw, key_raw, value in items:
            sec, key = section_raw.lower(), key_raw.lower()
            where = f"{shown} [{section_raw}] {key_raw}"
            origin = _Origin(where, shown, key_raw, value, section=section_raw)
            if sec not in SECTIONS and sec not in _TT_UNUSED:
                if sec not in bad_sections:
                    bad_sections.add(sec)
                    known = [section_name(s) for s in SECTIONS]
                    hint = _did_you_mean(section_raw, [*known, section_name("actiongenerator")], fmt="[{}]")
                    self.problem(
                        f"{shown} [{section_raw}]: unknown section.{hint} Known sections: "
                        + ", ".join(f"[{s}]" for s in known)
                        + f" (and TinyTroupe's [{section_name('actiongenerator')}], accepted, no effect).",
                        origin, section_raw)
                continue
            if (sec, key) in seen:
                self.problem(f"{where}: set twice in the same section (also as {seen[(sec, key)]}); "
                             "keep one.", origin, section_raw)
                continue
            seen[(sec, key)] = key_raw
            if key in _SECRET_FILE_KEYS or (key.endswith(_SECRET_SUFFIXES) and not self._known(sec, key)):
                variable = _SECRET_FILE_KEYS.get(key, "OPENAI_API_KEY or AZURE_OPENAI_API_KEY")
                self.problem(
                    f"{where}: secrets are not read from files (files get copied, shared and committed). "
                    f"Remove the line and set the environment variable {variable} instead.",
                    origin, section_raw)
                continue
            if (sec, key) == ("openai", "cache_file_name") and str(value).endswith(".pickle"):
                # TinyTroupe's pickle cache cannot be read by our SQLite cache; keep our default name.
                self.unused.append(f"{where} (a pickle cache; tinytroupe keeps its cache in SQLite)")
                continue
            self.route(sec, key, value, origin, unknown=functools.partial(
                self._unknown_file_key, sec, section_raw, origin, section_name, key_name))

    def _known(self, sec: str, key: str) -> bool:
        return (sec in SECTIONS and key in SECTIONS[sec].model_fields) or (sec, key) in _TT_MOVED

    def route(self, sec: str, key: str, value: Any, origin: _Origin, *,
              unknown: typing.Callable[[], None]) -> None:
        """Record ``value`` for our field, map a TinyTroupe key, note an unused one, or report it."""
        if (sec, key) in _TT_MOVED:
            self.set(*_TT_MOVED[(sec, key)], value, origin)
        elif sec in SECTIONS and key in SECTIONS[sec].model_fields:
            self.set(sec, key, value, origin)
        elif key in _TT_UNUSED.get(sec, ()):
            self.unused.append(origin.where)
        else:
            unknown()

    def _unknown_file_key(self, sec: str, section_raw: str, origin: _Origin,
                          section_name: typing.Callable[[str], str],
                          key_name: typing.Callable[[str], str]) -> None:
        key = origin.key.lower()
        ours = [k for k in SECTIONS[sec].model_fields if not _is_secret(sec, k)] if sec in SECTIONS else []
        moved = [k for (s, k) in _TT_MOVED if s == sec]
        candidates = [key_name(k) for k in [*ours, *moved, *sorted(_TT_UNUSED.get(sec, ()))]]
        hint = _did_you_mean(origin.key, candidates)
        elsewhere = [s for s, model in SECTIONS.items() if s != sec and key in model.model_fields]
        if elsewhere:
            hint += f" {key_name(key)} belongs in [{section_name(elsewhere[0])}]."
        known = ", ".join(key_name(k) for k in [*ours, *moved]) or "none (TinyTroupe's keys only)"
        self.problem(f"{origin.where}: unknown key.{hint} Known keys: {known}.", origin, section_raw)

    # -- environment ---------------------------------------------------------------------------

    def read_env(self, env: Mapping[str, str]) -> None:
        for variable, section, name in PROVIDER_ENV_VARS:
            value = env.get(variable)
            if value is not None and value.strip():  # an empty variable means "unset", as in shells
                self.set(section, name, value.strip(),
                         _Origin(f"environment variable {variable}", variable, variable, value,
                                 secret=_is_secret(section, name), section=section))
        for variable in sorted(env):
            if not variable.startswith(ENV_PREFIX) or variable in OTHER_ENV_VARS:
                continue
            value = env[variable]
            sec, _, key = variable[len(ENV_PREFIX):].lower().partition("__")
            origin = _Origin(f"environment variable {variable}", variable, variable, value,
                             secret=_is_secret(sec, key), section=sec if sec in SECTIONS else None)

            def unknown(variable: str = variable, origin: _Origin = origin) -> None:
                hint = _did_you_mean(variable, _env_names())
                self.problem(
                    f"environment variable {variable}: not a tinytroupe setting.{hint} Settings are "
                    f"{ENV_PREFIX}<SECTION>__<KEY> with a double underscore, e.g. {ENV_PREFIX}OPENAI__MODEL; "
                    f"sections: {', '.join(s.upper() for s in SECTIONS)}. Unset it if it is not meant "
                    "for tinytroupe.", origin)

            self.route(sec, key, value, origin, unknown=unknown)

    # -- arguments -----------------------------------------------------------------------------

    def read_overrides(self, overrides: Mapping[str, Any]) -> None:
        for argument, value in overrides.items():
            if argument in SECTIONS:
                if isinstance(value, BaseModel):
                    value = value.model_dump(exclude_unset=True)
                if not isinstance(value, Mapping):
                    self.problem(f"argument {argument}={value!r}: expected a dict of {argument} settings, "
                                 f"e.g. {argument}={{'{next(iter(SECTIONS[argument].model_fields))}': ...}}.",
                                 _Origin(f"argument {argument}", "arguments", argument, value))
                    continue
                for key, item in value.items():
                    self._override(argument, str(key), item, f"argument {argument}[{key!r}]")
            else:
                sec, _, key = argument.partition("__")
                self._override(sec, key, value, f"argument {argument}", argument)

    def _override(self, sec: str, key: str, value: Any, where: str, argument: str | None = None) -> None:
        origin = _Origin(where, "arguments", argument or key, value,
                         secret=_is_secret(sec, key), section=sec if sec in SECTIONS else None)
        if sec in SECTIONS and key in SECTIONS[sec].model_fields:
            self.set(sec, key, value, origin)
            return
        names = [f"{s}__{k}" for s, model in SECTIONS.items() for k in model.model_fields]
        hint = _did_you_mean(argument or f"{sec}__{key}", names)
        self.problem(f"{where}: not a tinytroupe setting.{hint} Arguments are <section>__<key> "
                     f"(e.g. openai__model='gpt-4o') or <section>={{...}}; sections: "
                     f"{', '.join(SECTIONS)}.", origin)

    # -- result --------------------------------------------------------------------------------

    def build(self) -> Settings:
        # Validate even when problems were found already, so that one error lists them all.
        settings: Settings | None = None
        try:
            settings = Settings.model_validate(self.values)
        except ValidationError as exc:
            for error in exc.errors():
                self._validation_problem(error)
        if self.problems or settings is None:
            first = self.problems[0]
            if len(self.problems) == 1:
                message = first.message
            else:
                message = f"{len(self.problems)} configuration problems:\n" + "\n".join(
                    f"  - {p.message}" for p in self.problems)
            raise ConfigError(message, source=first.source, section=first.section, key=first.key)
        settings._origins = {f"{s}.{n}": o.where for (s, n), o in self.origins.items()}
        return settings

    def _validation_problem(self, error: Any) -> None:
        loc = tuple(str(part) for part in error["loc"])
        if len(loc) < 2 or (loc[0], loc[1]) not in self.origins:  # cannot happen: keys are checked first
            self.problems.append(_Problem(f"settings {'.'.join(loc)}: {error['msg']}"))
            return
        section, name = loc[0], loc[1]
        origin = self.origins[(section, name)]
        shown = "(secret, not shown)" if origin.secret else repr(origin.value)
        expected = _FieldShape.of(section, name).describe(section, name)
        self.problem(f"{origin.where} = {shown}: {error['msg']}. Expected {expected}.", origin)


def _is_secret(section: str, name: str) -> bool:
    model = SECTIONS.get(section)
    return model is not None and name in model.model_fields and \
        SecretStr in _members(model.model_fields[name].annotation)


def _env_names() -> list[str]:
    names = [f"{ENV_PREFIX}{s.upper()}__{k.upper()}"
             for s, model in SECTIONS.items() for k in model.model_fields]
    return [*names, *sorted(OTHER_ENV_VARS)]


def _ini_section_name(section: str) -> str:
    return _INI_SECTION_NAMES.get(section, section)


class _CaseKeepingParser(configparser.ConfigParser):
    """Keeps keys as written, for messages; matching is made case-insensitive by the loader."""

    def optionxform(self, optionstr: str) -> str:
        return optionstr


def _ini_items(path: Path, shown: str) -> list[tuple[str, str, Any]]:
    # No interpolation: a '%' in a value is just a character. A section named DEFAULT is an
    # ordinary (unknown) section rather than one silently copied into all others.
    parser = _CaseKeepingParser(interpolation=None, default_section="\x00",
                                inline_comment_prefixes=("#", ";"))
    try:
        with path.open(encoding="utf-8-sig") as handle:
            parser.read_file(handle, source=shown)
    except configparser.MissingSectionHeaderError as exc:
        raise ConfigError(f"{shown} line {exc.lineno}: {exc.line.strip()!r} comes before any section header; "
                          "put it under a section such as [OpenAI].", source=shown) from exc
    except configparser.Error as exc:
        raise ConfigError(f"{shown}: not a valid INI file: {exc.message}", source=shown) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{shown}: cannot read the configuration file: {exc}", source=shown) from exc
    return [(section, key, value) for section in parser.sections() for key, value in parser[section].items()]


def _toml_items(path: Path, shown: str) -> list[tuple[str, str, Any]]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{shown}: not valid TOML: {exc}", source=shown) from exc
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot read the configuration file: {exc}", source=shown) from exc
    items: list[tuple[str, str, Any]] = []
    for section, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{shown}: {section} = {table!r} is outside any section; put it under a "
                              "section such as [openai].", source=shown, key=section)
        items.extend((section, key, value) for key, value in table.items())
    return items


def _find_file(path: str | Path | None, env: Mapping[str, str], cwd: Path) -> tuple[Path, str] | None:
    """The file to read and how to name it in messages, or None."""
    named_by = "argument path"
    if path is None and env.get(CONFIG_ENV_VAR):
        path, named_by = env[CONFIG_ENV_VAR], f"environment variable {CONFIG_ENV_VAR}"
    if path is not None:
        candidate = Path(path).expanduser()
        if not candidate.is_absolute():
            candidate = cwd / candidate
        if not candidate.is_file():
            raise ConfigError(f"configuration file {str(path)!r} (from {named_by}) does not exist"
                              f"{' in ' + str(cwd) if not Path(path).is_absolute() else ''}; "
                              "check the path, or leave it out to use defaults and the environment.",
                              source=str(path))
        return candidate, str(path)
    for name in ("tinytroupe.toml", "config.ini"):
        if (cwd / name).is_file():
            return cwd / name, name
    return None


def load_settings(path: str | Path | None = None, *, env: Mapping[str, str] | None = None,
                  cwd: Path | None = None, **overrides: Any) -> Settings:
    """Settings from defaults, a file, the environment and arguments (later ones win).

    Args:
        path: a ``.toml`` file, or an INI file (TinyTroupe's ``config.ini``). When None:
            ``$TINYTROUPE_CONFIG``, else ``tinytroupe.toml`` in ``cwd``, else ``config.ini`` in ``cwd``,
            else no file.
        env: the environment to read (default ``os.environ``); pass ``{}`` to ignore it.
        cwd: where to look for the file (default the working directory).
        overrides: ``<section>__<key>=value`` (``openai__model="gpt-4o"``), or a whole section as a
            dict or section model (``simulation={"seed": 7}``).

    Raises:
        ConfigError: a missing or unreadable file, an unknown section, key, variable or argument, a
            secret in a file, or a value of the wrong type; the message lists every problem found.

    Warns:
        TinyTroupeCompatibilityWarning: once, naming the TinyTroupe keys that have no effect here.

    Example:
        >>> load_settings(env={"TINYTROUPE_SIMULATION__SEED": "7"}, cwd=Path("/nonexistent")).simulation.seed
        7
    """
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else Path(cwd)
    loader = _Loader()
    found = _find_file(path, env, cwd)
    if found is not None:
        loader.read_file(*found)
    loader.read_env(env)
    loader.read_overrides(overrides)
    settings = loader.build()
    settings._source_file = str(found[0]) if found is not None else None
    if loader.unused:
        warnings.warn(
            "these TinyTroupe settings have no effect in tinytroupe and were ignored: "
            + "; ".join(loader.unused) + ". Remove them to silence this warning.",
            TinyTroupeCompatibilityWarning, stacklevel=2)
    return settings


# ---------------------------------------------------------------------------------------------- current
_scoped: contextvars.ContextVar[Settings | None] = contextvars.ContextVar("tinytroupe_settings", default=None)
_process_settings: Settings | None = None
_process_lock = threading.Lock()


def current_settings() -> Settings:
    """The settings in force: those of the innermost :func:`using_settings`, else the process's.

    The process's settings are loaded with :func:`load_settings` on first use (never at import) and
    can be replaced with :func:`set_settings`. Worlds and agents read their defaults from here when
    they are created.

    Example:
        >>> with using_settings(Settings(simulation={"max_actions_per_turn": 2})):
        ...     current_settings().simulation.max_actions_per_turn
        2
    """
    scoped = _scoped.get()
    if scoped is not None:
        return scoped
    global _process_settings
    with _process_lock:
        if _process_settings is None:
            _process_settings = load_settings()
        return _process_settings


def set_settings(settings: Settings | None) -> Settings | None:
    """Replace the process's settings (None: load again on next use); returns the previous ones."""
    global _process_settings
    with _process_lock:
        previous, _process_settings = _process_settings, settings
        return previous


@contextlib.contextmanager
def using_settings(settings: Settings) -> Iterator[Settings]:
    """Make ``settings`` current in this context (threads and tasks started inside inherit it)."""
    token = _scoped.set(settings)
    try:
        yield settings
    finally:
        _scoped.reset(token)


__all__ = [
    "CONFIG_ENV_VAR",
    "PROVIDER_ENV_VARS",
    "SECTIONS",
    "ApiType",
    "CognitionSettings",
    "LocalModelSettings",
    "LoggingSettings",
    "MemorySettings",
    "OpenAISettings",
    "ResolvedApiType",
    "Settings",
    "SimulationSettings",
    "TinyTroupeCompatibilityWarning",
    "current_settings",
    "load_settings",
    "resolved_api_type",
    "set_settings",
    "using_settings",
]
