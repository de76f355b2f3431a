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

Every mistake raises :class:`~tinytroupe.errors.ConfigError` naming the file and line (or variable, or
argument), section, key and bad value, what is allowed, and a "did you mean" for typos.

Example:
    >>> s = load_settings(env={}, cwd=Path("/nonexistent"), openai__model="gpt-4o")
    >>> s.openai.model, s.source_file
    ('gpt-4o', None)
"""

from __future__ import annotations

import functools
import os
import typing
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from tinytroupe.config.files import _find_file, _ini_items, _ini_section_name, _toml_items
from tinytroupe.config.keys import (
    _SECRET_FILE_KEYS,
    _SECRET_SUFFIXES,
    _TT_MOVED,
    _TT_UNUSED,
    ENV_PREFIX,
    OTHER_ENV_VARS,
    PROVIDER_ENV_VARS,
    _env_names,
)
from tinytroupe.config.models import SECTIONS, Settings, TinyTroupeCompatibilityWarning, _is_secret
from tinytroupe.config.values import _BadValue, _clip, _coerce, _did_you_mean, _FieldShape, _shown
from tinytroupe.errors import ConfigError


@dataclass(frozen=True)
class _Origin:
    where: str  # "config.ini [OpenAI] MODEL", "environment variable X", "argument openai__model"
    source: str  # the file, variable or "arguments"
    key: str  # the key as written there
    value: Any
    secret: bool = False
    section: str | None = None  # as written in the file; our name for variables and arguments
    line: int | None = None  # in the file, when the scan of its text found the key
    located: str | None = None  # ``where`` with the line, compiler style: "config.ini:3: [OpenAI] MODEL"

    @property
    def here(self) -> str:
        """Where, for messages: with the line when known (``where`` itself stays the settings' origin)."""
        return self.located or self.where


@dataclass
class _Problem:
    message: str
    source: str | None = None
    section: str | None = None
    key: str | None = None
    line: int | None = None


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
            self.problem(f"{origin.here} = {_shown(value)}: {exc}. Expected {shape.describe(section, name)}.",
                         origin)
            return
        self.values[section][name] = value
        self.origins[(section, name)] = origin

    def problem(self, message: str, origin: _Origin | None = None, section: str | None = None,
                line: int | None = None) -> None:
        if section is None and origin is not None:
            section = origin.section
        if line is None and origin is not None:
            line = origin.line
        self.problems.append(_Problem(message, origin.source if origin else None, section,
                                      origin.key if origin else None, line))

    # -- files ---------------------------------------------------------------------------------

    def read_file(self, path: Path, shown: str) -> None:
        # Messages spell sections and keys the way the file's format does.
        section_name: typing.Callable[[str], str]
        key_name: typing.Callable[[str], str]
        if path.suffix.lower() == ".toml":
            items, lines = _toml_items(path, shown)
            section_name, key_name = str.lower, str.lower
        else:
            items, lines = _ini_items(path, shown)
            section_name, key_name = _ini_section_name, str.upper
        seen: dict[tuple[str, str], str] = {}
        bad_sections: set[str] = set()
        for section_raw, key_raw, value in items:
            sec, key = section_raw.lower(), key_raw.lower()
            where = f"{shown} [{_clip(section_raw)}] {_clip(key_raw)}"
            # A key written inline in a TOML table's line has no line of its own: the table's is used.
            line = lines.of(section_raw, key_raw) or lines.of(section_raw)
            origin = _Origin(where, shown, key_raw, value, section=section_raw, line=line,
                             located=f"{shown}:{line}: [{_clip(section_raw)}] {_clip(key_raw)}" if line else None)
            if sec not in SECTIONS and sec not in _TT_UNUSED:
                if sec not in bad_sections:
                    bad_sections.add(sec)
                    known = [section_name(s) for s in SECTIONS]
                    hint = _did_you_mean(section_raw, known, fmt="[{}]")
                    header_line = lines.of(section_raw)
                    at = f"{shown}:{header_line}:" if header_line else shown
                    self.problem(
                        f"{at} [{_clip(section_raw)}]: unknown section.{hint} Known sections: "
                        + ", ".join(f"[{s}]" for s in known) + ".",
                        origin, section_raw, header_line)
                continue
            if (sec, key) in seen:
                self.problem(f"{origin.here}: set twice in the same section (also as {seen[(sec, key)]}); "
                             "keep one.", origin, section_raw)
                continue
            seen[(sec, key)] = key_raw
            if key in _SECRET_FILE_KEYS or (key.endswith(_SECRET_SUFFIXES) and not self._known(sec, key)):
                variable = _SECRET_FILE_KEYS.get(key, "OPENAI_API_KEY or AZURE_OPENAI_API_KEY")
                self.problem(
                    f"{origin.here}: secrets are not read from files (files get copied, shared and committed). "
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
        self.problem(f"{origin.here}: unknown key.{hint} Known keys: {known}.", origin, section_raw)

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
            raise ConfigError(message, source=first.source, section=first.section, key=first.key, line=first.line)
        settings._origins = {f"{s}.{n}": o.where for (s, n), o in self.origins.items()}
        return settings

    def _validation_problem(self, error: Any) -> None:
        loc = tuple(str(part) for part in error["loc"])
        if len(loc) < 2 or (loc[0], loc[1]) not in self.origins:  # cannot happen: keys are checked first
            self.problems.append(_Problem(f"settings {'.'.join(loc)}: {error['msg']}"))
            return
        section, name = loc[0], loc[1]
        origin = self.origins[(section, name)]
        shown = "(secret, not shown)" if origin.secret else _shown(origin.value)
        expected = _FieldShape.of(section, name).describe(section, name)
        self.problem(f"{origin.here} = {shown}: {error['msg']}. Expected {expected}.", origin)


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

