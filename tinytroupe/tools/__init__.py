"""Tools simulated people can use: the typed :class:`TinyTool` interface, a registry, the faculty that
lets agents use tools in their turns (:class:`TinyToolUse`), pipelines of tool operations, the core
tools and MCP servers' tools. See ``docs/tools.md``.

Public names: TinyTool, ToolCall, ToolOperation, tool_action, ToolRegistry, TinyToolUse, ToolPipeline,
PipelineStep, PipelineTool, the core tools TinyWordProcessor, TinyCalendar (with CalendarEvent and
CalendarReminders), TinyEmail, TinyDatabase and TinyWebSearch (search over local documents),
MCPToolkit (an MCP server's tools; the ``mcp`` SDK is imported only when it connects), and the errors
ToolError, ToolArgumentError, ToolPermissionError, ToolExecutionError (from :mod:`tinytroupe.errors`).
"""

from tinytroupe.errors import ToolArgumentError, ToolError, ToolExecutionError, ToolPermissionError
from tinytroupe.tools.base import TinyTool, ToolCall, ToolOperation, tool_action
from tinytroupe.tools.calendar import CalendarReminders, TinyCalendar
from tinytroupe.tools.calendar_events import CalendarEvent
from tinytroupe.tools.database import TinyDatabase
from tinytroupe.tools.email import TinyEmail
from tinytroupe.tools.mcp_toolkit import MCPToolkit
from tinytroupe.tools.pipeline import PipelineStep, PipelineTool, ToolPipeline
from tinytroupe.tools.registry import ToolRegistry
from tinytroupe.tools.tool_use import TinyToolUse
from tinytroupe.tools.web_search import TinyWebSearch
from tinytroupe.tools.word_processor import TinyWordProcessor

__all__ = [
    "CalendarEvent",
    "CalendarReminders",
    "MCPToolkit",
    "PipelineStep",
    "PipelineTool",
    "TinyCalendar",
    "TinyDatabase",
    "TinyEmail",
    "TinyTool",
    "TinyToolUse",
    "TinyWebSearch",
    "TinyWordProcessor",
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
