"""Reading a configuration file: which file (argument, ``$TINYTROUPE_CONFIG``, ``tinytroupe.toml``,
``config.ini``), and its (section, key, value) items from TOML or TinyTroupe's INI format, with
errors that name the file and line.
"""

from __future__ import annotations

import configparser
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tinytroupe.config.keys import CONFIG_ENV_VAR
from tinytroupe.config.lines import FileLines, ini_lines, toml_lines
from tinytroupe.config.values import _shown
from tinytroupe.errors import ConfigError
from tinytroupe.safe_load import CONFIG_LIMITS, InputProblem, load_toml, read_text

#: how config.ini spells each section (TinyTroupe's capitalisation); TOML uses the lower-case names
_INI_SECTION_NAMES = {"openai": "OpenAI", "local": "Local", "simulation": "Simulation",
                      "cognition": "Cognition", "memory": "Memory", "budget": "Budget", "chat": "Chat",
                      "emotions": "Emotions", "logging": "Logging", "actiongenerator": "ActionGenerator"}


def _ini_section_name(section: str) -> str:
    return _INI_SECTION_NAMES.get(section, section)


class _CaseKeepingParser(configparser.ConfigParser):
    """Keeps keys as written, for messages; matching is made case-insensitive by the loader."""

    def optionxform(self, optionstr: str) -> str:
        return optionstr


def _read_config_text(path: Path, shown: str) -> str:
    # Bounded and strict UTF-8 (a bad byte is reported with its line); limits in tinytroupe.safe_load.
    try:
        return read_text(path, CONFIG_LIMITS)
    except FileNotFoundError as exc:
        raise ConfigError(f"{shown}: cannot read the configuration file: {exc}", source=shown) from None
    except InputProblem as problem:
        at = f":{problem.line}" if problem.line and "line" not in problem.reason else ""
        raise ConfigError(f"{shown}{at}: {problem.reason}.", source=shown, line=problem.line) from None


#: one setting as read from a file: (section, key, value), names as written there
Item = tuple[str, str, Any]


def _ini_items(path: Path, shown: str) -> tuple[list[Item], FileLines]:
    # No interpolation: a '%' in a value is just a character. A section named DEFAULT is an
    # ordinary (unknown) section rather than one silently copied into all others.
    parser = _CaseKeepingParser(interpolation=None, default_section="\x00",
                                inline_comment_prefixes=("#", ";"))
    text = _read_config_text(path, shown)
    try:
        parser.read_string(text, source=shown)
    except configparser.Error as exc:
        raise _ini_error(exc, text, shown) from exc
    items = [(section, key, value) for section in parser.sections() for key, value in parser[section].items()]
    return items, ini_lines(text)


def _ini_error(exc: configparser.Error, text: str, shown: str) -> ConfigError:
    """configparser's complaint as a ConfigError that names the file and line, and the likely fix."""
    if isinstance(exc, configparser.MissingSectionHeaderError):
        return ConfigError(f"{shown}:{exc.lineno}: {_misplaced_line(exc.line)}", source=shown, line=exc.lineno)
    if isinstance(exc, configparser.ParsingError):
        number = exc.errors[0][0]
        # The error holds the line's repr(); the message quotes the line itself.
        line = text.split("\n")[number - 1] if 0 < number <= text.count("\n") + 1 else ""
        others = [str(n) for n, _ in exc.errors[1:]]
        more = (f" Line{'s' if len(others) > 1 else ''} {', '.join(others[:10])} cannot be read either."
                if others else "")
        return ConfigError(f"{shown}:{number}: {_unparsable_line(line)}{more}", source=shown, line=number)
    repeated: int | None = getattr(exc, "lineno", None)  # a section or key repeated in the file
    at = f":{repeated}" if repeated else ""
    return ConfigError(f"{shown}{at}: not a valid INI file: {exc.message}", source=shown, line=repeated)


def _misplaced_line(line: str) -> str:
    """Why a line before any section header is wrong (configparser's MissingSectionHeaderError)."""
    text = line.strip()
    if text.startswith("[") and "]" not in text:
        return f"{_shown(text)} looks like a section header missing its closing ']'."
    return f"{_shown(text)} comes before any section header; put it under a section such as [OpenAI]."


def _unparsable_line(line: str) -> str:
    """Why a line inside a section is neither a header nor ``KEY = value`` (configparser's ParsingError)."""
    text = line.strip()
    if text.startswith("[") and "]" not in text:
        return f"{_shown(text)} looks like a section header missing its closing ']'."
    return f"{_shown(text)} is neither a [Section] header nor KEY = value; fix or remove the line."


def _toml_items(path: Path, shown: str) -> tuple[list[Item], FileLines]:
    text = _read_config_text(path, shown)
    try:
        data = load_toml(text, CONFIG_LIMITS)
    except InputProblem as problem:
        parts = problem.parts
        section = str(parts[0]) if parts else None
        key = str(parts[1]) if len(parts) > 1 else None
        where = f"[{section}] {key}" if key else (f"[{section}]" if section else "")
        line = problem.line
        if line is None and section is not None:
            lines = toml_lines(text)
            line = (lines.of(section, key) if key else None) or lines.of(section)
        # A reason that names its line already is not given the line twice.
        head = f"{shown}:{line}" if line and (where or "line" not in problem.reason) else shown
        raise ConfigError(": ".join(filter(None, (head, where, problem.reason))) + ".", source=shown, section=section,
                          key=key, line=line) from None
    items: list[Item] = []
    lines = toml_lines(text)
    for section, table in data.items():
        if not isinstance(table, dict):
            line = lines.of(section)
            at = f":{line}" if line else ""
            raise ConfigError(f"{shown}{at}: {section} = {_shown(table)} is outside any section; put it under a "
                              "section such as [openai].", source=shown, key=section, line=line)
        items.extend((section, key, value) for key, value in table.items())
    return items, lines


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

