"""Configuration: one pydantic :class:`Settings` object.

Precedence, lowest first: defaults < ``tinytroupe.toml`` or ``config.ini`` in the working directory
< environment variables (``TINYTROUPE_<SECTION>__<KEY>``, plus ``OPENAI_API_KEY``,
``OPENAI_BASE_URL``, ``AZURE_OPENAI_*``) < explicit arguments to :func:`load_settings`.

(Section models only for now; the file and environment loading is being written.)
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

ApiType = Literal["auto", "openai", "azure", "ollama", "local", "scripted"]
StructuredMode = Literal["auto", "json_schema", "json_object", "tools", "prompt"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class OpenAISettings(_Section):
    """``[OpenAI]``: which model server to use and how to call it (TinyTroupe-compatible keys)."""

    api_type: ApiType = Field("auto", description="auto: openai/azure when a key or base URL is set, else local")
    model: str = Field("gpt-4.1-mini", description="model (or Azure deployment) name for API backends")
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp, LM Studio)")
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
    max_workers: int | None = Field(None, ge=1, description="agent turns in flight; default from the LLM limit")
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


class LoggingSettings(_Section):
    """``[Logging]``: levels for the console display."""

    loglevel: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "WARNING"


class Settings(_Section):
    """All tinytroupe settings, by section.

    Example:
        >>> s = Settings()
        >>> s.openai.max_attempts
        5
    """

    openai: OpenAISettings = Field(default_factory=OpenAISettings)  # type: ignore[arg-type]
    local: LocalModelSettings = Field(default_factory=LocalModelSettings)  # type: ignore[arg-type]
    simulation: SimulationSettings = Field(default_factory=SimulationSettings)  # type: ignore[arg-type]
    cognition: CognitionSettings = Field(default_factory=CognitionSettings)  # type: ignore[arg-type]
    logging: LoggingSettings = Field(default_factory=LoggingSettings)  # type: ignore[arg-type]


__all__ = [
    "CognitionSettings",
    "LocalModelSettings",
    "LoggingSettings",
    "OpenAISettings",
    "Settings",
    "SimulationSettings",
]
