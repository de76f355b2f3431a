"""Which names the settings loader knows besides our own fields: TinyTroupe's keys (moved to another
section, or accepted without effect), key names under which people put secrets into files, and the
providers' own environment variables.
"""

from __future__ import annotations

from tinytroupe.config.models import SECTIONS

#: the environment variable that may name the configuration file
CONFIG_ENV_VAR = "TINYTROUPE_CONFIG"
ENV_PREFIX = "TINYTROUPE_"
#: TINYTROUPE_* variables that are not settings but are still allowed (the config file's name)
OTHER_ENV_VARS: frozenset[str] = frozenset({CONFIG_ENV_VAR})

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
        "rai_harmful_content_prevention",
        "rai_copyright_infringement_prevention",
    }),
    "cognition": frozenset({
        "enable_memory_consolidation", "enable_continuous_contextual_semantic_memory_retrieval",
        "min_episode_length", "max_episode_length", "episodic_memory_fixed_prefix_length",
        "episodic_memory_lookback_length",
    }),
    "logging": frozenset({"loglevel_console", "loglevel_file", "log_include_thread_id"}),
    # TinyTroupe marks its direct correction "not working very well yet"; only regeneration is built.
    "actiongenerator": frozenset({"enable_direct_correction"}),
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


def _env_names() -> list[str]:
    names = [f"{ENV_PREFIX}{s.upper()}__{k.upper()}"
             for s, model in SECTIONS.items() for k in model.model_fields]
    return [*names, *sorted(OTHER_ENV_VARS)]
