"""Tools simulated people can use: the typed :class:`TinyTool` interface, a registry, the core tools
and MCP servers' tools. See ``docs/tools.md``.

Public names: TinyTool, ToolCall, ToolOperation, tool_action, ToolRegistry, and the errors ToolError,
ToolArgumentError, ToolPermissionError, ToolExecutionError (from :mod:`tinytroupe.errors`).
"""

from tinytroupe.errors import ToolArgumentError, ToolError, ToolExecutionError, ToolPermissionError
from tinytroupe.tools.base import TinyTool, ToolCall, ToolOperation, tool_action
from tinytroupe.tools.registry import ToolRegistry

__all__ = [
    "TinyTool",
    "ToolArgumentError",
    "ToolCall",
    "ToolError",
    "ToolExecutionError",
    "ToolOperation",
    "ToolPermissionError",
    "ToolRegistry",
    "tool_action",
]
