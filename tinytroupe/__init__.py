"""tinytroupe: LLM-powered persona simulation.

Simulated people (``TinyPerson``) live in worlds (``TinyWorld``), talk, think and act; you extract
survey answers, ratings and ideas from what they did. Importing this package prints nothing, opens
nothing, configures no logging and loads no model.
"""

from tinytroupe.errors import (
    ConfigError,
    LLMError,
    LLMOutputError,
    LLMRateLimitError,
    LLMTransportError,
    ScenarioError,
    SimulationError,
    TinyTroupeError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "LLMError",
    "LLMOutputError",
    "LLMRateLimitError",
    "LLMTransportError",
    "ScenarioError",
    "SimulationError",
    "TinyTroupeError",
    "__version__",
]
