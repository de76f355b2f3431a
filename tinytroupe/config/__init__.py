"""Configuration: one pydantic :class:`Settings` object, loaded by :func:`load_settings`, read through
:func:`current_settings`.

* :mod:`~tinytroupe.config.models`: the sections and their fields (``Settings``, ``OpenAISettings``,
  ``LocalModelSettings``, ``SimulationSettings``, ``CognitionSettings``, ``MemorySettings``,
  ``BudgetSettings``, ``ChatSettings``, ``EmotionsSettings``, ``VisionSettings``, ``LoggingSettings``, ``SECTIONS``) and
  ``resolved_api_type``.
* :mod:`~tinytroupe.config.loader`: ``load_settings`` (defaults < file < environment < arguments, with
  errors that name the file, section, key and value and suggest the fix); :mod:`~tinytroupe.config.files`
  reads the file, :mod:`~tinytroupe.config.keys` knows TinyTroupe's keys and the providers' variables,
  :mod:`~tinytroupe.config.values` turns text into typed values and shows them in messages.
* :mod:`~tinytroupe.config.current`: ``current_settings``, ``set_settings``, ``using_settings``.

The loader is our own rather than ``pydantic-settings``: that library reads the environment and TOML,
but not TinyTroupe's ``config.ini`` (its section names, moved and unused keys), and it would neither
name an unknown ``TINYTROUPE_*`` variable with a "did you mean" nor say which file, line or variable a
bad value came from; those are most of what the loader does.
"""

from tinytroupe.config.current import current_settings, set_settings, using_settings
from tinytroupe.config.keys import CONFIG_ENV_VAR, PROVIDER_ENV_VARS
from tinytroupe.config.loader import load_settings
from tinytroupe.config.models import (
    SECTIONS,
    ActionGeneratorSettings,
    ApiType,
    BudgetSettings,
    ChatSettings,
    CognitionSettings,
    EmotionsSettings,
    LocalModelSettings,
    LoggingSettings,
    MemorySettings,
    OpenAISettings,
    ResolvedApiType,
    Settings,
    SimulationSettings,
    TinyTroupeCompatibilityWarning,
    VisionSettings,
    resolved_api_type,
)

__all__ = [
    "CONFIG_ENV_VAR",
    "PROVIDER_ENV_VARS",
    "SECTIONS",
    "ActionGeneratorSettings",
    "ApiType",
    "BudgetSettings",
    "ChatSettings",
    "CognitionSettings",
    "EmotionsSettings",
    "LocalModelSettings",
    "LoggingSettings",
    "MemorySettings",
    "OpenAISettings",
    "ResolvedApiType",
    "Settings",
    "SimulationSettings",
    "TinyTroupeCompatibilityWarning",
    "VisionSettings",
    "current_settings",
    "load_settings",
    "resolved_api_type",
    "set_settings",
    "using_settings",
]
