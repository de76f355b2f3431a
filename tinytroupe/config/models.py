"""The settings as pydantic models: one :class:`Settings` of sections (``[OpenAI]``, ``[Local]``,
``[Simulation]``, ``[Cognition]``, ``[Memory]``, ``[ActionGenerator]``, ``[Budget]``, ``[Chat]``,
``[Emotions]``, ``[Vision]``, ``[Logging]``), each field with its default, bounds and meaning. Loading them from
files and the environment is :mod:`tinytroupe.config.loader`'s job.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr

ApiType = Literal["auto", "openai", "azure", "ollama", "local", "scripted"]
ResolvedApiType = Literal["openai", "azure", "ollama", "local", "scripted"]
StructuredMode = Literal["auto", "json_schema", "json_object", "tools", "prompt"]


class TinyTroupeCompatibilityWarning(UserWarning):
    """A TinyTroupe setting was accepted but has no effect in tinytroupe (one warning names them all)."""


class _Section(BaseModel):
    # No setting means anything at infinity or NaN, and NaN slips through every bound (nan >= 0 is False
    # but so is nan < 0), so non-finite numbers are refused wherever they come from.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


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
    adaptive_concurrency: bool = Field(
        True, description="halve the calls in flight on HTTP 429/503 or timeouts, grow back on success")
    requests_per_minute: int = Field(0, ge=0, description="0 = unlimited")
    tokens_per_minute: int = Field(0, ge=0, description="0 = unlimited")
    structured_output: StructuredMode = "auto"
    cache_api_calls: bool = False
    cache_file_name: str = "tinytroupe-llm-cache.sqlite"
    cache_max_entries: int = Field(100_000, ge=1)
    cache_max_bytes: int = Field(512 * 1024 * 1024, ge=1024)
    max_reasks: int = Field(2, ge=0, le=10)
    vision_model: str | None = Field(
        None, description="a model that reads images (TinyTroupe's VISION_MODEL): turns with images use it; "
        "None: images need a description")
    vision_detail: Literal["auto", "low", "high"] = Field("auto", description="the image parts' detail")


class VisionSettings(_Section):
    """``[Vision]``: how images given to ``see`` are read and checked (``docs/grounding.md``, "Vision")."""

    allow_urls: bool = Field(False, description="fetch images given as http(s) URLs (off: a URL is refused)")
    url_timeout: float = Field(10.0, gt=0, le=300, description="seconds to fetch one image URL")
    max_file_bytes: int = Field(20 * 1024 * 1024, ge=1024, description="largest image file or download")
    max_pixels: int = Field(40_000_000, ge=1, description="largest width x height accepted (decompression bombs)")
    max_side: int = Field(1024, ge=32, le=8192, description="images are scaled down to this longest side")
    store_dir: str | None = Field(None, description="where copies of images given as bytes or URLs are kept "
                                  "(default: the user cache directory)")


class LocalModelSettings(_Section):
    """``[Local]``: the embedded llama.cpp model."""

    model_path: str | None = Field(None, description="a GGUF file; default: the bundled Gemma 3 270M")
    n_ctx: int = Field(4096, ge=256)
    n_threads: int | None = Field(None, ge=1, description="default: half the usable cores (llama.cpp's)")
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    max_concurrent_model_calls: int = Field(1, ge=1)


class SimulationSettings(_Section):
    """``[Simulation]``: how worlds step."""

    parallel_agent_actions: bool = True
    parallel_agent_generation: bool = Field(
        True, description="a factory writes its people concurrently (generate_people's parallelize=None)")
    max_workers: int | None = Field(None, ge=1,
                                    description="agent turns in flight; default from the LLM limit")
    parallel_execution_timeout: float = Field(300.0, gt=0, description="seconds per agent turn")
    collect_parallel_metrics: bool = True
    seed: int | None = None
    max_actions_per_turn: int = Field(6, ge=1, le=15)
    on_agent_error: Literal["continue", "stop"] = "continue"
    communication_display: bool = Field(
        True, description="worlds run from Python show their conversation live (TinyTroupe's switch)")
    freeze_gc: bool = Field(
        True, description="while a world runs, keep the garbage collector off objects made before it")
    dependency_aware: bool = Field(
        False, description="parallel runs let an agent act ahead of the step barrier when nobody who can "
        "reach it is still acting (same trace as synchronous steps)")
    dependency_window: int = Field(2, ge=1, le=64,
                                   description="steps an agent may run ahead of the oldest unfinished step")


class CognitionSettings(_Section):
    """``[Cognition]``: prompt and memory sizes."""

    recent_window: int = Field(20, ge=1, description="episodic events shown in each prompt (at least)")
    recent_window_step: int | None = Field(
        None, ge=1, description="the recent window grows by one event up to RECENT_WINDOW + step - 1 events, then "
        "drops its step oldest at once, so consecutive prompts share their recent events (a prefix providers "
        "cache); 1: it moves on by one event with each new event; unset: half the agent's recent window (10 "
        "with the default 20), so a small window stays small")
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
    cold_segments: bool = Field(True, description="with a run file, evicted items are kept there as cold segments "
                                "an agent can load on demand")
    cold_vectors: bool = Field(False, description="a memory that embeds writes its evicted items' vectors beside "
                               "their segment (on the writer thread), for relevance retrieval over cold items")
    cold_scan_segments: int = Field(1000, ge=0, description="newest cold segments a relevance query scans the "
                                    "sketches of (0: all)")
    cold_load_segments: int = Field(4, ge=1, description="cold segments whose items a relevance query ranks "
                                    "(the best exact matches among 4 times as many with the best sketches)")
    cold_backfill_segments: int = Field(2, ge=0, description="cold segments without vectors a relevance query "
                                        "embeds (and stores) at most")
    cold_recall_in_prompt: bool = Field(False, description="the prompt's memory section ranks cold items too")
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
    embedder_threads: int = Field(
        1, ge=1, le=256, description="BLAS threads of the bundled model's forward pass (more only help large "
        "batches; idle ones spin and take CPU from the turns)")
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


class ActionGeneratorSettings(_Section):
    """``[ActionGenerator]``: TinyTroupe's action quality checks (off by default: a turn stays one call).

    When on, each turn's actions are scored 0-9 by the enabled checks (a judge LLM call each) and, while
    any score is below ``quality_threshold``, regenerated with the judges' feedback, at most
    ``max_attempts`` times after the first answer. See ``docs/validation.md``.
    """

    enable_quality_checks: bool = Field(False, description="score each turn's actions and regenerate poor ones")
    quality_threshold: int = Field(5, ge=0, le=9, description="lowest passing score of every check (0-9)")
    max_attempts: int = Field(2, ge=0, le=10, description="regenerations after the first answer")
    enable_regeneration: bool = Field(True, description="off: only score and record, never re-ask")
    continue_on_failure: bool = Field(
        True, description="keep the best attempt when none passes (off: the turn fails)")
    enable_quality_check_for_persona_adherence: bool = True
    enable_quality_check_for_selfconsistency: bool = False
    enable_quality_check_for_fluency: bool = False
    enable_quality_check_for_suitability: bool = False
    enable_quality_check_for_similarity: bool = Field(
        False, description="no LLM call: fails an action repeating one of the agent's recent ones")


class BudgetSettings(_Section):
    """``[Budget]``: the most a run may spend, and the prices that turn tokens into dollars.

    A run stops cleanly before a call that could pass a limit (``tinytroupe run --budget``,
    ``Simulation(budget=...)``); see ``docs/performance.md``.
    """

    max_cost_usd: float | None = Field(None, gt=0, description="US dollars per run (needs the model's price)")
    max_calls: int | None = Field(None, ge=1, description="calls that reach the model per run")
    max_tokens: int | None = Field(None, ge=1, description="prompt + completion tokens per run")
    prices_file: str | None = Field(None, description="a TOML or JSON price table laid over the built-in one")


class ChatSettings(_Section):
    """``[Chat]``: ``tinytroupe chat`` and :class:`~tinytroupe.chat_session.ChatSession` (tools while chatting)."""

    max_exchanges: int = Field(20, ge=1, le=10_000,
                               description="exchanges of history kept: trimmed past 1.5x this, back to 1.2x")
    max_tool_rounds: int = Field(8, ge=1, le=100, description="model calls with tool results per reply, at most")
    moderate_operation_s: float = Field(1.0, gt=0, description="operations this slow are logged at INFO")
    slow_operation_s: float = Field(5.0, gt=0, description="operations this slow are logged at WARNING")


class EmotionsSettings(_Section):
    """``[Emotions]``: the PAD emotional state (opt-in). Every parameter is documented in ``docs/emotions.md``."""

    enabled: bool = Field(False, description="give every new agent an emotions component")
    appraisal: Literal["turn", "rule"] = Field("turn", description="turn: the turn's answer says how events moved "
                                               "the agent (no extra call); rule: a keyword rule does")
    delta_scale: float = Field(0.15, gt=0.0, le=1.0, description="PAD change per step of the -3..3 appraisal")
    max_delta: float = Field(0.5, gt=0.0, le=2.0, description="largest change of one dimension per appraisal")
    responsiveness: float = Field(0.8, gt=0.0, le=1.0, description="share of an appraised change taken at once")
    half_life_minutes: float = Field(60.0, ge=0.0, description="simulated minutes to halve the distance to the "
                                     "baseline (0: no decay)")
    half_life_turns: float = Field(3.0, ge=0.0, description="the same in turns, when there is no simulated clock")
    baseline_scale: float = Field(0.5, ge=0.0, le=1.0, description="how far from neutral a persona's baseline goes")
    render_in_prompt: bool = Field(True, description="show the state in the prompt (one line)")
    shape_generation: bool = Field(False, description="set each turn's temperature from arousal")
    base_temperature: float = Field(0.7, ge=0.0, le=2.0)
    arousal_temperature: float = Field(0.3, ge=0.0, le=1.0, description="temperature added per unit of arousal")
    congruence_weight: float = Field(1.0, ge=0.0, description="retrieval weight of mood congruence (0: off)")
    importance_boost: float = Field(3.0, ge=0.0, le=9.0, description="importance added at full intensity")
    contagion_rate: float = Field(0.1, ge=0.0, le=0.5, description="default rate of EmotionalContagion")


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
    #: ``[ActionGenerator]`` (TinyTroupe's section name; the attribute keeps the loader's lower-case spelling)
    actiongenerator: ActionGeneratorSettings = Field(default_factory=ActionGeneratorSettings)
    budget: BudgetSettings = Field(default_factory=BudgetSettings)
    chat: ChatSettings = Field(default_factory=ChatSettings)
    emotions: EmotionsSettings = Field(default_factory=EmotionsSettings)
    vision: VisionSettings = Field(default_factory=VisionSettings)
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


def _members(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def _secret_fields() -> list[tuple[str, str]]:
    return [(section, name) for section, model in SECTIONS.items()
            for name, info in model.model_fields.items() if SecretStr in _members(info.annotation)]


def _is_secret(section: str, name: str) -> bool:
    model = SECTIONS.get(section)
    return model is not None and name in model.model_fields and \
        SecretStr in _members(model.model_fields[name].annotation)


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
