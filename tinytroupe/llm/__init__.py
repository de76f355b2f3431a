"""The LLM layer: a port (:class:`LLMClient`) over backends and composable wrappers.

Public names: LLMClient, LLMResult, Backend, BackendWrapper, ScriptedBackend, Message, LLMRequest,
Completion, FirstTokenLogprobs, TokenLogprob, ToolCallRequest, Usage, CallContext, UsageLedger, UsageWrapper, Budget,
BudgetWrapper, PriceTable, ModelPrice, DEFAULT_PRICES, load_price_table, PrefixMeter, PrefixReport.
"""

from tinytroupe.llm.backend import Backend, BackendWrapper
from tinytroupe.llm.budget import Budget, BudgetWrapper
from tinytroupe.llm.client import LLMClient, LLMResult
from tinytroupe.llm.prefix import PrefixMeter, PrefixReport
from tinytroupe.llm.prices import DEFAULT_PRICES, ModelPrice, PriceTable, load_price_table
from tinytroupe.llm.scripted import ScriptedBackend
from tinytroupe.llm.types import (
    CallContext,
    Completion,
    FirstTokenLogprobs,
    LLMRequest,
    Message,
    TokenLogprob,
    ToolCallRequest,
    Usage,
)
from tinytroupe.llm.usage import UsageLedger, UsageWrapper

__all__ = [
    "DEFAULT_PRICES",
    "Backend",
    "BackendWrapper",
    "Budget",
    "BudgetWrapper",
    "CallContext",
    "Completion",
    "FirstTokenLogprobs",
    "LLMClient",
    "LLMRequest",
    "LLMResult",
    "Message",
    "ModelPrice",
    "PrefixMeter",
    "PrefixReport",
    "PriceTable",
    "ScriptedBackend",
    "TokenLogprob",
    "ToolCallRequest",
    "Usage",
    "UsageLedger",
    "UsageWrapper",
    "load_price_table",
]
