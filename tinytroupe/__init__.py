"""tinytroupe: LLM-powered persona simulation.

Simulated people (``TinyPerson``) live in worlds (``TinyWorld``), talk, think and act; you extract
survey answers, ratings and ideas from what they did. Importing this package prints nothing, opens
nothing, configures no logging and loads no model.

Example:
    >>> from tinytroupe import TinyPerson, TinyWorld, ResultsExtractor
"""

from tinytroupe import examples
from tinytroupe.agent import Action, ActionBatch, CognitiveState, Fragment, Persona, TinyPerson
from tinytroupe.config import Settings, load_settings
from tinytroupe.context import RunContext, current_context, using_context
from tinytroupe.environment import TinySocialNetwork, TinyWorld
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
from tinytroupe.events import EventBus
from tinytroupe.extraction import FieldSpec, ResultsExtractor
from tinytroupe.llm import LLMClient, ScriptedBackend
from tinytroupe.llm.default import get_default_client, set_default_client
from tinytroupe.llm.factory import build_client

__version__ = "0.1.0"

__all__ = [
    "Action",
    "ActionBatch",
    "CognitiveState",
    "ConfigError",
    "EventBus",
    "FieldSpec",
    "Fragment",
    "LLMClient",
    "LLMError",
    "LLMOutputError",
    "LLMRateLimitError",
    "LLMTransportError",
    "Persona",
    "ResultsExtractor",
    "RunContext",
    "ScenarioError",
    "ScriptedBackend",
    "Settings",
    "SimulationError",
    "TinyPerson",
    "TinySocialNetwork",
    "TinyTroupeError",
    "TinyWorld",
    "__version__",
    "build_client",
    "current_context",
    "examples",
    "get_default_client",
    "load_settings",
    "set_default_client",
    "using_context",
]
