"""Settings loading: defaults < file < environment < arguments, TinyTroupe config.ini compatibility,
and errors that name the file, section, key and value and suggest the fix."""

from __future__ import annotations

import textwrap
import warnings
from pathlib import Path

import pytest

from tinytroupe.config import (
    Settings,
    TinyTroupeCompatibilityWarning,
    load_settings,
    resolved_api_type,
)
from tinytroupe.errors import ConfigError

SECRET = "sk-test-DO-NOT-SHOW-1234567890"

# TinyTroupe 0.6.0's shipped config.ini, as its keys and values are documented (section 4.1 of the
# reference notes), plus the 0.5.2 MAX_TOKENS key and inline comments.
TINYTROUPE_CONFIG_INI = """\
[OpenAI]
#
# OpenAI or Azure OpenAI Service
#
API_TYPE=openai
AZURE_API_VERSION=2024-12-01-preview

MODEL=gpt-5-mini
REASONING_MODEL=o3-mini
EMBEDDING_MODEL=text-embedding-3-small
AZURE_EMBEDDING_MODEL_API_VERSION=2023-05-15

MAX_COMPLETION_TOKENS=128000
MAX_TOKENS=32000
REASONING_EFFORT=high

TIMEOUT=480
MAX_ATTEMPTS=5
WAITING_TIME=1
EXPONENTIAL_BACKOFF_FACTOR=5
MAX_CONCURRENT_MODEL_CALLS=4  ; limits parallel calls

CACHE_API_CALLS=False
CACHE_FILE_NAME=openai_api_cache.pickle

MAX_CONTENT_DISPLAY_LENGTH=4000

[Simulation]
PARALLEL_AGENT_GENERATION=True
PARALLEL_AGENT_ACTIONS=True
RAI_HARMFUL_CONTENT_PREVENTION=True
RAI_COPYRIGHT_INFRINGEMENT_PREVENTION=True

[Cognition]
ENABLE_MEMORY_CONSOLIDATION=True
ENABLE_CONTINUOUS_CONTEXTUAL_SEMANTIC_MEMORY_RETRIEVAL=True
MIN_EPISODE_LENGTH=10
MAX_EPISODE_LENGTH=15
EPISODIC_MEMORY_FIXED_PREFIX_LENGTH=10
EPISODIC_MEMORY_LOOKBACK_LENGTH=20

[ActionGenerator]
MAX_ATTEMPTS=2
ENABLE_QUALITY_CHECKS=False
ENABLE_REGENERATION=True
ENABLE_DIRECT_CORRECTION=False
ENABLE_QUALITY_CHECK_FOR_PERSONA_ADHERENCE=True
ENABLE_QUALITY_CHECK_FOR_SELFCONSISTENCY=False
ENABLE_QUALITY_CHECK_FOR_FLUENCY=False
ENABLE_QUALITY_CHECK_FOR_SUITABILITY=False
ENABLE_QUALITY_CHECK_FOR_SIMILARITY=False
CONTINUE_ON_FAILURE=True
QUALITY_THRESHOLD=5

[Logging]
LOGLEVEL=ERROR
LOGLEVEL_CONSOLE=INFO
LOGLEVEL_FILE=DEBUG  # NONE disables
LOG_INCLUDE_THREAD_ID=True
"""

TINYTROUPE_UNUSED = [
    "REASONING_MODEL", "AZURE_EMBEDDING_MODEL_API_VERSION", "MAX_TOKENS", "REASONING_EFFORT", "WAITING_TIME",
    "EXPONENTIAL_BACKOFF_FACTOR", "CACHE_FILE_NAME",
    "RAI_HARMFUL_CONTENT_PREVENTION", "RAI_COPYRIGHT_INFRINGEMENT_PREVENTION", "ENABLE_MEMORY_CONSOLIDATION",
    "ENABLE_CONTINUOUS_CONTEXTUAL_SEMANTIC_MEMORY_RETRIEVAL", "MIN_EPISODE_LENGTH", "MAX_EPISODE_LENGTH",
    "EPISODIC_MEMORY_FIXED_PREFIX_LENGTH", "EPISODIC_MEMORY_LOOKBACK_LENGTH",
    "ENABLE_DIRECT_CORRECTION", "LOGLEVEL_CONSOLE", "LOGLEVEL_FILE", "LOG_INCLUDE_THREAD_ID",
]


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(tmp_path: Path, env: dict[str, str] | None = None, **kwargs: object) -> Settings:
    """load_settings isolated from the real environment and working directory."""
    return load_settings(env=env or {}, cwd=tmp_path, **kwargs)  # type: ignore[arg-type]


def config_error(tmp_path: Path, env: dict[str, str] | None = None, **kwargs: object) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, env, **kwargs)
    return info.value


# -------------------- defaults, precedence


def test_defaults_without_file_or_environment(tmp_path: Path) -> None:
    settings = load(tmp_path)
    assert settings == Settings()
    assert settings.source_file is None
    assert settings.origin("openai.model") == "default"


@pytest.mark.parametrize("layers", [(), ("file",), ("file", "env"), ("file", "env", "arg"), ("env", "arg"),
                                    ("arg",)])
def test_precedence_default_file_env_argument(tmp_path: Path, layers: tuple[str, ...]) -> None:
    env: dict[str, str] = {}
    kwargs: dict[str, object] = {}
    if "file" in layers:
        write(tmp_path, "config.ini", "[OpenAI]\nMODEL=from-file\n")
    if "env" in layers:
        env["TINYTROUPE_OPENAI__MODEL"] = "from-env"
    if "arg" in layers:
        kwargs["openai__model"] = "from-arg"
    expected = {(): "gpt-4.1-mini", "file": "from-file", "env": "from-env", "arg": "from-arg"}[
        layers[-1] if layers else ()]
    settings = load(tmp_path, env, **kwargs)
    assert settings.openai.model == expected
    where = {(): "default", "file": "config.ini [OpenAI] MODEL", "env": "environment variable "
             "TINYTROUPE_OPENAI__MODEL", "arg": "argument openai__model"}[layers[-1] if layers else ()]
    assert settings.origin("openai.model") == where


def test_layers_merge_key_by_key(tmp_path: Path) -> None:
    write(tmp_path, "config.ini", "[OpenAI]\nMODEL=file-model\nMAX_ATTEMPTS=3\n[Simulation]\nSEED=1\n")
    settings = load(tmp_path, {"TINYTROUPE_SIMULATION__SEED": "2"}, simulation={"max_workers": 8})
    assert (settings.openai.model, settings.openai.max_attempts) == ("file-model", 3)
    assert (settings.simulation.seed, settings.simulation.max_workers) == (2, 8)


def test_section_override_accepts_a_section_model(tmp_path: Path) -> None:
    from tinytroupe.config import SimulationSettings

    write(tmp_path, "config.ini", "[Simulation]\nSEED=1\nMAX_WORKERS=3\n")
    settings = load(tmp_path, simulation=SimulationSettings.model_validate({"seed": 9}))
    # only the fields set on the model override; the file's MAX_WORKERS stays
    assert (settings.simulation.seed, settings.simulation.max_workers) == (9, 3)


# -------------------- files


def test_ini_keys_and_sections_are_case_insensitive_and_typed(tmp_path: Path) -> None:
    write(tmp_path, "config.ini", """\
        [openai]
        Model = my-model
        max_attempts = 7
        TEMPERATURE = 0.5
        api_type = OpenAI
        [SIMULATION]
        parallel_agent_actions = no
        MAX_WORKERS = None
        [Logging]
        LogLevel = debug
    """)
    settings = load(tmp_path)
    assert settings.openai.model == "my-model"
    assert settings.openai.max_attempts == 7
    assert settings.openai.temperature == 0.5
    assert settings.openai.api_type == "openai"
    assert settings.simulation.parallel_agent_actions is False
    assert settings.simulation.max_workers is None
    assert settings.logging.loglevel == "DEBUG"
    assert settings.source_file == str(tmp_path / "config.ini")


@pytest.mark.parametrize(("text", "value"), [("true", True), ("Yes", True), ("ON", True), ("1", True),
                                             ("False", False), ("no", False), ("off", False), ("0", False)])
def test_ini_booleans(tmp_path: Path, text: str, value: bool) -> None:
    write(tmp_path, "config.ini", f"[OpenAI]\nCACHE_API_CALLS={text}\n")
    assert load(tmp_path).openai.cache_api_calls is value


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("NONE", 0), ("off", 0), ("12", 12)])
def test_max_concurrent_model_calls_tinytroupe_unlimited_words(tmp_path: Path, text: str, value: int) -> None:
    write(tmp_path, "config.ini", f"[OpenAI]\nMAX_CONCURRENT_MODEL_CALLS={text}\n")
    assert load(tmp_path).openai.max_concurrent_model_calls == value


def test_empty_optional_value_means_none(tmp_path: Path) -> None:
    write(tmp_path, "config.ini", "[OpenAI]\nTEMPERATURE=\nBASE_URL = \n")
    settings = load(tmp_path)
    assert settings.openai.temperature is None and settings.openai.base_url is None


def test_toml_file(tmp_path: Path) -> None:
    write(tmp_path, "tinytroupe.toml", """\
        [openai]
        model = "toml-model"
        max_attempts = 2
        cache_api_calls = true
        [simulation]
        seed = 42
        [cognition]
        recent_window = 5
    """)
    settings = load(tmp_path)
    assert (settings.openai.model, settings.openai.max_attempts, settings.openai.cache_api_calls) == (
        "toml-model", 2, True)
    assert (settings.simulation.seed, settings.cognition.recent_window) == (42, 5)
    assert settings.origin("simulation.seed") == "tinytroupe.toml [simulation] seed"


def test_toml_is_preferred_over_config_ini(tmp_path: Path) -> None:
    write(tmp_path, "tinytroupe.toml", '[openai]\nmodel = "from-toml"\n')
    write(tmp_path, "config.ini", "[OpenAI]\nMODEL=from-ini\n")
    assert load(tmp_path).openai.model == "from-toml"


def test_explicit_path_and_tinytroupe_config_variable(tmp_path: Path) -> None:
    other = write(tmp_path, "elsewhere.ini", "[OpenAI]\nMODEL=explicit\n")
    named = write(tmp_path, "named.toml", '[openai]\nmodel = "named"\n')
    write(tmp_path, "config.ini", "[OpenAI]\nMODEL=cwd\n")
    assert load(tmp_path, path=other).openai.model == "explicit"
    assert load(tmp_path, path="elsewhere.ini").openai.model == "explicit"  # relative to cwd
    assert load(tmp_path, {"TINYTROUPE_CONFIG": str(named)}).openai.model == "named"
    assert load(tmp_path, {"TINYTROUPE_CONFIG": str(named)}, path=other).openai.model == "explicit"


def test_missing_explicit_file(tmp_path: Path) -> None:
    err = config_error(tmp_path, path="nope.toml")
    assert "nope.toml" in str(err) and "does not exist" in str(err)
    err = config_error(tmp_path, {"TINYTROUPE_CONFIG": "gone.ini"})
    assert "gone.ini" in str(err) and "TINYTROUPE_CONFIG" in str(err)


def test_malformed_files_name_the_file(tmp_path: Path) -> None:
    write(tmp_path, "config.ini", "MODEL=x\n[OpenAI]\n")
    err = config_error(tmp_path)
    assert "config.ini:1: " in str(err) and "section" in str(err) and err.line == 1
    (tmp_path / "config.ini").unlink()
    write(tmp_path, "tinytroupe.toml", "[openai\nmodel = 1\n")
    assert "tinytroupe.toml: not valid TOML" in str(config_error(tmp_path))
    write(tmp_path, "tinytroupe.toml", 'model = "x"\n')
    assert "outside any section" in str(config_error(tmp_path))


# -------------------- TinyTroupe compatibility


def test_realistic_tinytroupe_config_ini_loads_with_one_warning(tmp_path: Path) -> None:
    write(tmp_path, "config.ini", TINYTROUPE_CONFIG_INI)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        settings = load(tmp_path)
    compat = [w for w in caught if issubclass(w.category, TinyTroupeCompatibilityWarning)]
    assert len(compat) == 1, [str(w.message) for w in caught]
    assert len(caught) == 1
    message = str(compat[0].message)
    for key in TINYTROUPE_UNUSED:
        assert key in message, key
    assert compat[0].filename == __file__  # points at the caller, not at config.py
    o = settings.openai
    assert (o.api_type, o.model, o.azure_api_version, o.embedding_model) == (
        "openai", "gpt-5-mini", "2024-12-01-preview", "text-embedding-3-small")
    assert (o.max_completion_tokens, o.timeout, o.max_attempts, o.max_concurrent_model_calls) == (
        128000, 480, 5, 4)
    assert o.cache_api_calls is False
    assert o.cache_file_name == "tinytroupe-llm-cache.sqlite"  # a pickle name is not taken over
    assert settings.cognition.max_content_display_length == 4000
    assert settings.simulation.parallel_agent_actions is True
    assert settings.logging.loglevel == "ERROR"
    a = settings.actiongenerator  # TinyTroupe's action quality checks are read, not ignored
    assert (a.max_attempts, a.enable_quality_checks, a.quality_threshold, a.continue_on_failure) == (2, False, 5, True)
    assert a.enable_quality_check_for_persona_adherence and not a.enable_quality_check_for_fluency
    for used in ("QUALITY_THRESHOLD", "CONTINUE_ON_FAILURE", "ENABLE_QUALITY_CHECKS"):
        assert used not in message


def test_action_generator_section_from_toml_and_environment(tmp_path: Path) -> None:
    write(tmp_path, "tinytroupe.toml", "[actiongenerator]\nenable_quality_checks = true\nquality_threshold = 7\n")
    settings = load(tmp_path, {"TINYTROUPE_ACTIONGENERATOR__MAX_ATTEMPTS": "4"})
    a = settings.actiongenerator
    assert (a.enable_quality_checks, a.quality_threshold, a.max_attempts) == (True, 7, 4)
    write(tmp_path, "tinytroupe.toml", "[actiongenerator]\nquality_threshold = 10\n")
    assert "QUALITY_THRESHOLD" in str(config_error(tmp_path)).upper()


def test_no_warning_when_nothing_is_ignored(tmp_path: Path) -> None:
    write(tmp_path, "config.ini", "[OpenAI]\nMODEL=x\nMAX_CONTENT_DISPLAY_LENGTH=500\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        settings = load(tmp_path)
    assert settings.cognition.max_content_display_length == 500


def test_tinytroupe_keys_from_environment_warn_too(tmp_path: Path) -> None:
    with pytest.warns(TinyTroupeCompatibilityWarning, match="TINYTROUPE_OPENAI__WAITING_TIME"):
        load(tmp_path, {"TINYTROUPE_OPENAI__WAITING_TIME": "1"})


# -------------------- teaching errors


def test_typo_in_key_suggests_the_right_one(tmp_path: Path) -> None:
    write(tmp_path, "config.ini", "[OpenAI]\nMAX_ATEMPTS=5\n")
    err = config_error(tmp_path)
    assert str(err).startswith("config.ini:2: [OpenAI] MAX_ATEMPTS: unknown key. Did you mean MAX_ATTEMPTS?")
    assert "Known keys:" in str(err) and "TIMEOUT" in str(err)
    assert "API_KEY," not in str(err)  # secrets are not offered as file keys
    assert (err.source, err.section, err.key) == ("config.ini", "OpenAI", "MAX_ATEMPTS")


def test_typo_in_toml_key_is_suggested_in_lower_case(tmp_path: Path) -> None:
    write(tmp_path, "tinytroupe.toml", "[simulation]\nmax_worker = 4\n")
    assert "tinytroupe.toml:2: [simulation] max_worker: unknown key. Did you mean max_workers?" in str(
        config_error(tmp_path))


def test_typo_in_section_suggests_the_right_one(tmp_path: Path) -> None:
    write(tmp_path, "config.ini", "[Simulaton]\nSEED=1\nMAX_WORKERS=2\n")
    err = config_error(tmp_path)
    assert "config.ini:1: [Simulaton]: unknown section. Did you mean [Simulation]?" in str(err)
    assert str(err).count("unknown section") == 1  # once per section, not per key


def test_key_in_the_wrong_section_says_where_it_belongs(tmp_path: Path) -> None:
    write(tmp_path, "config.ini", "[Simulation]\nMODEL=x\n")
    assert "MODEL belongs in [OpenAI]" in str(config_error(tmp_path))


@pytest.mark.parametrize(("section", "key", "value", "expected"), [
    ("OpenAI", "CACHE_API_CALLS", "maybe", "true or false"),
    ("OpenAI", "MAX_ATTEMPTS", "abc", "an integer >= 1 and <= 20"),
    ("OpenAI", "MAX_ATTEMPTS", "0", "greater than or equal to 1"),
    ("OpenAI", "TIMEOUT", "-1", "a number > 0"),
    ("OpenAI", "API_TYPE", "openia", "did you mean openai?"),
    ("OpenAI", "API_TYPE", "bedrock", "one of auto, openai, azure, ollama, local, scripted"),
    ("Simulation", "ON_AGENT_ERROR", "ignore", "one of continue, stop"),
    ("Logging", "LOGLEVEL", "LOUD", "one of DEBUG, INFO"),
    ("Cognition", "RECENT_WINDOW", "", "empty value"),
    ("Cognition", "RECENT_WINDOW_STEP", "0", "greater than or equal to 1"),
    ("Cognition", "RECENT_WINDOW_STEP", "half", "an integer >= 1"),
])
def test_bad_values_name_file_section_key_value_and_what_is_allowed(
        tmp_path: Path, section: str, key: str, value: str, expected: str) -> None:
    write(tmp_path, "config.ini", f"[{section}]\n{key}={value}\n")
    err = config_error(tmp_path)
    assert str(err).startswith(f"config.ini:2: [{section}] {key} = {value!r}: ")
    assert expected in str(err)
    assert (err.source, err.section, err.key) == ("config.ini", section, key)


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    write(tmp_path, "config.ini", "[OpenAI]\nMAX_ATEMPTS=5\nTIMEOUT=soon\n[Simulation]\nSEED=x\n")
    message = str(config_error(tmp_path, {"TINYTROUPE_OPENAI_MODEL": "m"}))
    assert message.startswith("4 configuration problems:")
    for fragment in ("MAX_ATEMPTS", "TIMEOUT = 'soon'", "SEED = 'x'", "TINYTROUPE_OPENAI_MODEL"):
        assert fragment in message


@pytest.mark.parametrize(("key", "variable"), [("API_KEY", "OPENAI_API_KEY"),
                                               ("OPENAI_API_KEY", "OPENAI_API_KEY"),
                                               ("AZURE_OPENAI_KEY", "AZURE_OPENAI_API_KEY"),
                                               ("AZURE_API_KEY", "AZURE_OPENAI_API_KEY"),
                                               ("SERVICE_TOKEN", "OPENAI_API_KEY")])
def test_secret_in_a_file_is_refused_without_echoing_it(tmp_path: Path, key: str, variable: str) -> None:
    write(tmp_path, "config.ini", f"[OpenAI]\n{key}={SECRET}\n")
    message = str(config_error(tmp_path))
    assert f"config.ini:2: [OpenAI] {key}: secrets are not read from files" in message
    assert f"environment variable {variable}" in message
    assert SECRET not in message


def test_secret_in_a_toml_file_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "tinytroupe.toml", f'[openai]\napi_key = "{SECRET}"\n')
    message = str(config_error(tmp_path))
    assert "OPENAI_API_KEY" in message and SECRET not in message


# -------------------- environment


def test_environment_variables_set_fields_of_any_section(tmp_path: Path) -> None:
    settings = load(tmp_path, {"TINYTROUPE_OPENAI__MODEL": "env-model",
                               "TINYTROUPE_SIMULATION__MAX_WORKERS": "16",
                               "TINYTROUPE_LOCAL__N_CTX": "2048", "TINYTROUPE_OPENAI__CACHE_API_CALLS": "yes",
                               "TINYTROUPE_OPENAI__MAX_CONTENT_DISPLAY_LENGTH": "99",
                               "TINYTROUPE_CONFIG": "", "PATH": "/bin", "OTHER_TOOL_SETTING": "x"})
    assert settings.openai.model == "env-model"
    assert settings.simulation.max_workers == 16
    assert settings.local.n_ctx == 2048
    assert settings.openai.cache_api_calls is True
    assert settings.cognition.max_content_display_length == 99


def test_provider_variables(tmp_path: Path) -> None:
    settings = load(tmp_path, {
        "OPENAI_API_KEY": SECRET, "OPENAI_BASE_URL": "http://127.0.0.1:8000/v1",
        "AZURE_OPENAI_KEY": "tinytroupe-name", "AZURE_OPENAI_API_KEY": "sdk-name",
        "AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com/", "AZURE_OPENAI_API_VERSION": "2025-01-01",
    })
    o = settings.openai
    assert o.api_key is not None and o.api_key.get_secret_value() == SECRET
    assert o.base_url == "http://127.0.0.1:8000/v1"
    assert o.azure_api_key is not None and o.azure_api_key.get_secret_value() == "sdk-name"
    assert (o.azure_endpoint, o.azure_api_version) == ("https://x.openai.azure.com/", "2025-01-01")
    only_tt = load(tmp_path, {"AZURE_OPENAI_KEY": "tinytroupe-name"}).openai.azure_api_key
    assert only_tt is not None and only_tt.get_secret_value() == "tinytroupe-name"


def test_empty_provider_variable_counts_as_unset(tmp_path: Path) -> None:
    assert load(tmp_path, {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": "  "}).openai.api_key is None


def test_tinytroupe_variable_beats_provider_variable(tmp_path: Path) -> None:
    env = {"OPENAI_BASE_URL": "http://a/v1", "TINYTROUPE_OPENAI__BASE_URL": "http://b/v1"}
    assert load(tmp_path, env).openai.base_url == "http://b/v1"


def test_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    err = config_error(tmp_path, {"TINYTROUPE_SIMULATION__MAX_WORKERS": "lots"})
    assert str(err).startswith("environment variable TINYTROUPE_SIMULATION__MAX_WORKERS = 'lots': ")
    assert "an integer >= 1" in str(err)
    assert err.source == "TINYTROUPE_SIMULATION__MAX_WORKERS"


@pytest.mark.parametrize(("variable", "suggestion"), [
    ("TINYTROUPE_OPENAI_MODEL", "TINYTROUPE_OPENAI__MODEL"),
    ("TINYTROUPE_SIMULATION__MAXWORKERS", "TINYTROUPE_SIMULATION__MAX_WORKERS"),
    ("TINYTROUPE_CONFG", "TINYTROUPE_CONFIG"),
])
def test_unknown_tinytroupe_variable_suggests_the_right_one(tmp_path: Path, variable: str,
                                                            suggestion: str) -> None:
    message = str(config_error(tmp_path, {variable: "1"}))
    assert f"environment variable {variable}: not a tinytroupe setting. Did you mean {suggestion}?" in message


# -------------------- arguments


def test_argument_errors(tmp_path: Path) -> None:
    assert "Did you mean openai__model?" in str(config_error(tmp_path, openai__modle="x"))
    assert "argument openai__max_attempts = 99" in str(config_error(tmp_path, openai__max_attempts=99))
    assert "expected a dict of simulation settings" in str(config_error(tmp_path, simulation=3))
    assert "argument simulation['sed']" in str(config_error(tmp_path, simulation={"sed": 1}))


# -------------------- secrets


def test_secrets_never_shown(tmp_path: Path) -> None:
    settings = load(tmp_path, {"OPENAI_API_KEY": SECRET})
    public = settings.public_dict()
    assert public["openai"]["api_key"] == "set"
    assert public["openai"]["azure_api_key"] == "not set"
    assert public["openai"]["model"] == "gpt-4.1-mini"
    for shown in (str(public), repr(settings), str(settings), settings.model_dump_json(),
                  str(settings.model_dump())):
        assert SECRET not in shown


def test_secret_values_are_not_echoed_in_errors(tmp_path: Path) -> None:
    err = config_error(tmp_path, openai__api_key=987654321)  # not a string: a validation error
    assert "argument openai__api_key = (secret, not shown)" in str(err)
    assert "987654321" not in str(err)


# -------------------- api type


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "local"),
    ({"OPENAI_API_KEY": SECRET}, "openai"),
    ({"OPENAI_BASE_URL": "http://127.0.0.1:1234/v1"}, "openai"),
    ({"AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com/", "AZURE_OPENAI_API_KEY": "k"}, "azure"),
    ({"AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com/", "AZURE_OPENAI_API_KEY": "k",
      "OPENAI_API_KEY": SECRET}, "azure"),
    ({"AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com/"}, "local"),  # endpoint without key: not azure
    ({"AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com/", "OPENAI_API_KEY": SECRET}, "openai"),
    ({"TINYTROUPE_OPENAI__API_TYPE": "ollama"}, "ollama"),
    ({"TINYTROUPE_OPENAI__API_TYPE": "Scripted", "OPENAI_API_KEY": SECRET}, "scripted"),
    ({"TINYTROUPE_OPENAI__API_TYPE": "local", "OPENAI_API_KEY": SECRET}, "local"),
])
def test_resolved_api_type(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    assert resolved_api_type(load(tmp_path, env)) == expected


def test_real_environment_is_used_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINYTROUPE_OPENAI__MODEL", "from-os-environ")
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "config.ini", "[OpenAI]\nMAX_ATTEMPTS=3\n")
    settings = load_settings()
    assert settings.openai.model == "from-os-environ"
    assert settings.openai.max_attempts == 3


# -------------------- hostile files (issue 9, defects 7 and 8)

def write_bytes(directory: Path, name: str, raw: bytes) -> Path:
    path = directory / name
    path.write_bytes(raw)
    return path


@pytest.mark.parametrize("name", ["tinytroupe.toml", "config.ini"])
def test_non_utf8_config_names_the_line(tmp_path: Path, name: str) -> None:
    header = b"[openai]\n" if name.endswith(".toml") else b"[OpenAI]\n"
    write_bytes(tmp_path, name, header + b'model = "caf\xe9"\n')
    err = config_error(tmp_path)
    assert err.source == name and f"{name}: byte 0xe9 at line 2" in str(err) and "not UTF-8" in str(err)


def test_thousand_deep_toml_arrays_are_a_config_error(tmp_path: Path) -> None:
    write_bytes(tmp_path, "tinytroupe.toml", b"[openai]\nmodel = " + b"[" * 1000 + b"]" * 1000 + b"\n")
    err = config_error(tmp_path)
    assert err.source == "tinytroupe.toml" and "nested more than 64 levels deep (from line 2)" in str(err)
    write_bytes(tmp_path, "tinytroupe.toml", b"[openai]\nmodel = " + b"[" * 80 + b"]" * 80 + b"\n")
    err = config_error(tmp_path)
    assert (err.section, err.key) == ("openai", "model") and "nested more than 64" in str(err)


@pytest.mark.parametrize(("line", "key", "why"), [
    ("timeout = inf", "timeout", "Infinity is not allowed"),
    ("temperature = nan", "temperature", "NaN is not allowed"),
    ("max_attempts = " + "9" * 5000, None, "an integer with more than 100 digits at line 2"),
    ("max_attempts = " + "9" * 200, "max_attempts", "an integer with more than 100 digits"),
])
def test_non_finite_and_huge_numbers_in_toml(tmp_path: Path, line: str, key: str | None, why: str) -> None:
    write(tmp_path, "tinytroupe.toml", f"[openai]\n{line}\n")
    err = config_error(tmp_path)
    assert (err.source, err.key) == ("tinytroupe.toml", key) and why in str(err)


def test_non_finite_numbers_from_ini_or_environment_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "config.ini", "[Memory]\nRECENCY_WEIGHT=inf\n")
    assert "finite number" in str(config_error(tmp_path))
    (tmp_path / "config.ini").unlink()
    assert "finite number" in str(config_error(tmp_path, {"TINYTROUPE_OPENAI__TIMEOUT": "nan"}))


@pytest.mark.parametrize(("line", "why"), [("[openai]\nmax_attempts = true", "true/false is not a number"),
                                           ("[openai]\ntemperature = false", "true/false is not a number"),
                                           ("[simulation]\nparallel_agent_actions = 1", "not true or false")])
def test_toml_booleans_and_numbers_are_not_interchangeable(tmp_path: Path, line: str, why: str) -> None:
    write(tmp_path, "tinytroupe.toml", line + "\n")
    assert why in str(config_error(tmp_path))


def test_oversized_config_file_is_refused(tmp_path: Path) -> None:
    write_bytes(tmp_path, "config.ini", b"[OpenAI]\nMODEL=" + b"x" * (1024 * 1024) + b"\n")
    assert "larger than 1 MiB" in str(config_error(tmp_path))


def test_long_values_and_keys_are_cut_short_in_messages(tmp_path: Path) -> None:
    write(tmp_path, "config.ini", "[OpenAI]\nTIMEOUT=" + "x" * 5000 + "\n" + "K" * 5000 + "=1\n")
    message = str(config_error(tmp_path))
    assert len(message) < 2000 and "…" in message
