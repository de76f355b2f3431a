"""Tools simulated people can use: the typed :class:`TinyTool` interface, a registry, the faculty that
lets agents use tools in their turns (:class:`TinyToolUse`), pipelines of tool operations, the core
tools and MCP servers' tools. See ``docs/tools.md``.

Public names: TinyTool, ToolCall, ToolOperation, tool_action, ToolRegistry, TinyToolUse, ToolPipeline,
PipelineStep, PipelineTool, and the errors ToolError, ToolArgumentError, ToolPermissionError,
ToolExecutionError (from :mod:`tinytroupe.errors`).
"""

from tinytroupe.errors import ToolArgumentError, ToolError, ToolExecutionError, ToolPermissionError
from tinytroupe.tools.base import TinyTool, ToolCall, ToolOperation, tool_action
from tinytroupe.tools.pipeline import PipelineStep, PipelineTool, ToolPipeline
from tinytroupe.tools.registry import ToolRegistry
from tinytroupe.tools.tool_use import TinyToolUse

__all__ = [
    "PipelineStep",
    "PipelineTool",
    "TinyTool",
    "TinyToolUse",
    "ToolArgumentError",
    "ToolCall",
    "ToolError",
    "ToolExecutionError",
    "ToolOperation",
    "ToolPermissionError",
    "ToolPipeline",
    "ToolRegistry",
    "tool_action",
]
