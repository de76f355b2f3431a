"""Tools simulated people can use: the typed :class:`TinyTool` interface, a registry, the core tools
and MCP servers' tools. See ``docs/tools.md``.

Public names: TinyTool, ToolCall, ToolOperation, tool_action, ToolRegistry, the core tools
TinyWordProcessor, TinyCalendar (with CalendarEvent and CalendarReminders), TinyEmail and TinyDatabase,
and the errors ToolError, ToolArgumentError, ToolPermissionError, ToolExecutionError (from
:mod:`tinytroupe.errors`).
"""

from tinytroupe.errors import ToolArgumentError, ToolError, ToolExecutionError, ToolPermissionError
from tinytroupe.tools.base import TinyTool, ToolCall, ToolOperation, tool_action
from tinytroupe.tools.calendar import CalendarReminders, TinyCalendar
from tinytroupe.tools.calendar_events import CalendarEvent
from tinytroupe.tools.database import TinyDatabase
from tinytroupe.tools.email import TinyEmail
from tinytroupe.tools.registry import ToolRegistry
from tinytroupe.tools.word_processor import TinyWordProcessor

__all__ = [
    "CalendarEvent",
    "CalendarReminders",
    "TinyCalendar",
    "TinyDatabase",
    "TinyEmail",
    "TinyTool",
    "TinyWordProcessor",
    "ToolArgumentError",
    "ToolCall",
    "ToolError",
    "ToolExecutionError",
    "ToolOperation",
    "ToolPermissionError",
    "ToolRegistry",
    "tool_action",
]
