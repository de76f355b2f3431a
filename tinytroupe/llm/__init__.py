"""The LLM layer: a port (:class:`LLMClient`) over backends and composable wrappers.

Public names: LLMClient, LLMResult, Backend, BackendWrapper, ScriptedBackend, Message, LLMRequest,
Completion, Usage, CallContext, UsageLedger, UsageWrapper.
"""

from tinytroupe.llm.backend import Backend, BackendWrapper
from tinytroupe.llm.client import LLMClient, LLMResult
from tinytroupe.llm.scripted import ScriptedBackend
from tinytroupe.llm.types import CallContext, Completion, LLMRequest, Message, Usage
from tinytroupe.llm.usage import UsageLedger, UsageWrapper

__all__ = [
    "Backend",
    "BackendWrapper",
    "CallContext",
    "Completion",
    "LLMClient",
    "LLMRequest",
    "LLMResult",
    "Message",
    "ScriptedBackend",
    "Usage",
    "UsageLedger",
    "UsageWrapper",
]
