"""Errors in config.ini and tinytroupe.toml name the line (``config.ini:3: [OpenAI] TIMEOUT = ...``), and a
section header missing its ']' is named as such."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinytroupe.config import load_settings
from tinytroupe.errors import ConfigError


def _config_error(tmp_path: Path, name: str, text: str) -> ConfigError:
    (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(env={}, cwd=tmp_path)
    return info.value


def test_a_bad_ini_value_names_its_line(tmp_path: Path) -> None:
    err = _config_error(tmp_path, "config.ini", "# mine\n[Simulation]\nSEED = 1\n\n[OpenAI]\nmodel = x\n"
                                                "  continued\nTimeout = -5  ; too short\n")
    assert str(err).startswith("config.ini:8: [OpenAI] Timeout = '-5': ")
    assert (err.line, err.section, err.key) == (8, "OpenAI", "Timeout")


def test_a_bad_toml_value_names_its_line(tmp_path: Path) -> None:
    # The key-like line inside the multi-line string is text, not the key.
    err = _config_error(tmp_path, "tinytroupe.toml", '[openai]\nmodel = """\ntimeout = 1\n"""\ntimeout = -5\n')
    assert str(err).startswith("tinytroupe.toml:5: [openai] timeout = -5: ")
    assert (err.line, err.section, err.key) == (5, "openai", "timeout")
    err = _config_error(tmp_path, "tinytroupe.toml", "[openai]\ntemperature = nan\n")
    assert str(err).startswith("tinytroupe.toml:2: [openai] temperature: NaN is not allowed")


def test_a_header_missing_its_bracket_is_named_as_such(tmp_path: Path) -> None:
    err = _config_error(tmp_path, "config.ini", "[OpenAI\nMODEL = x\n")
    assert str(err) == "config.ini:1: '[OpenAI' looks like a section header missing its closing ']'."
    assert err.line == 1
    err = _config_error(tmp_path, "config.ini", "[Simulation]\nSEED = 1\n[OpenAI\nMODEL = x\n")
    assert str(err).startswith("config.ini:3: '[OpenAI' looks like a section header missing its closing ']'.")


def test_toml_lines_follow_tomls_own_line_and_string_rules() -> None:
    import tomllib

    from tinytroupe.config.lines import toml_lines

    text = "\n".join([
        "[OpenAI]",
        'NOTE = "a line\u2028separator"  # and one\u2028in a comment',
        "QUOTE = \"says ''' here\"",
        "OTHER = 'and \"\"\" there'",
        'LONG = """',
        "[Fake] = not a header",
        '"""',
        "TIMEOUT = 30",
        "[[Servers]]",
        "NAME = 'a'",
        "[[Servers]]",
        "NAME = 'b'",
        "[Logging]",
        "LEVEL = 'INFO'",
    ])
    tomllib.loads(text)  # the sample is valid TOML
    lines = toml_lines(text)
    assert lines.of("OpenAI", "QUOTE") == 3 and lines.of("OpenAI", "OTHER") == 4
    assert lines.of("Fake") is None
    assert lines.of("OpenAI", "TIMEOUT") == 8
    assert lines.of("Servers") == 9 and lines.of("Servers", "NAME") == 10
    assert lines.of("OpenAI", "NAME") is None
    assert lines.of("Logging", "LEVEL") == 14
