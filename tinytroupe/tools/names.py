"""Naming tools in text (``tinytroupe chat --tool``, scenario files): a core tool's short name or
``module:Class``, resolved lazily, so naming a tool imports nothing until it is built.

Example:
    >>> tool_ref_problem("word_processor") is None, tool_ref_problem("mypkg.notes:Notes") is None
    (True, True)
    >>> print(tool_ref_problem("notes"))  # doctest: +ELLIPSIS
    'notes' is neither a core tool (calendar, database, email, web_search, word_processor) nor 'module:Class', ...
    >>> from tinytroupe.tools.base import TinyTool
    >>> type(build_tool("tinytroupe.tools.base:TinyTool", {"name": "t", "description": "d"})).__name__
    'TinyTool'
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Mapping
from typing import Any

from tinytroupe.errors import InvalidArgument, InvalidArgumentType, NotFound
from tinytroupe.tools.base import TinyTool

#: the core tools by short name; each built with its defaults unless arguments are given
CORE_TOOLS: dict[str, str] = {
    "calendar": "tinytroupe.tools:TinyCalendar",
    "database": "tinytroupe.tools:TinyDatabase",
    "email": "tinytroupe.tools:TinyEmail",
    "web_search": "tinytroupe.tools:TinyWebSearch",
    "word_processor": "tinytroupe.tools:TinyWordProcessor",
}
#: the faculty through which an agent of a world uses its tools
TOOL_USE_REF = "tinytroupe.tools.tool_use:TinyToolUse"

_REF = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*$")


def tool_ref_problem(ref: str) -> str | None:
    """What is wrong with ``ref`` as written (None: a core name or a well-formed ``module:Class``);
    imports nothing."""
    if ref in CORE_TOOLS or _REF.match(ref):
        return None
    return (f"{ref!r} is neither a core tool ({', '.join(sorted(CORE_TOOLS))}) nor 'module:Class', "
            "e.g. 'mypkg.tools:Notes'")


def load_object(ref: str) -> Any:
    """The object ``module:Name`` names (a core tool's short name is looked up first).

    Raises:
        InvalidArgument: ``ref`` is not well-formed.
        NotFound: the module cannot be imported or has no such name (the message says which).
    """
    target = CORE_TOOLS.get(ref, ref)
    problem = tool_ref_problem(target)
    if problem is not None:
        raise InvalidArgument(problem)
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise NotFound(f"{ref!r}: cannot import {module_name} ({exc}); check the module path, or install "
                       "the package (core tools may need the 'tools' extra: pip install 'tinytroupe[tools]')") from None
    if not hasattr(module, attr):
        raise NotFound(f"{ref!r}: {module_name} has no {attr}" + (" (this version of tinytroupe does not have "
                                                                    "that core tool yet)" if ref in CORE_TOOLS else ""))
    return getattr(module, attr)


def load_tool_class(ref: str) -> type[TinyTool]:
    """The :class:`TinyTool` subclass ``ref`` names (see :func:`load_object`).

    Raises:
        InvalidArgumentType: it names something that is not a TinyTool class.
    """
    cls = load_object(ref)
    if not (isinstance(cls, type) and issubclass(cls, TinyTool)):
        raise InvalidArgumentType(f"{ref!r} names {cls!r}, not a TinyTool subclass")
    return cls


def arguments_problem(cls: type[TinyTool], args: Mapping[str, Any]) -> str | None:
    """Whether ``cls(**args)`` would fail for want or excess of arguments (None: they fit)."""
    try:
        inspect.signature(cls).bind(**args)
    except TypeError as exc:
        params = [p for p in inspect.signature(cls).parameters if p not in ("self", "args", "kwargs")]
        return f"{exc}; {cls.__name__} takes: {', '.join(params) or 'no arguments'}"
    return None


def build_tool(ref: str, args: Mapping[str, Any] | None = None) -> TinyTool:
    """A new tool from ``ref`` and its keyword arguments.

    Raises:
        InvalidArgument, NotFound, InvalidArgumentType: as :func:`load_tool_class`; InvalidArgument
            too when the arguments do not fit the constructor, or the constructor refuses them.
    """
    cls = load_tool_class(ref)
    problem = arguments_problem(cls, args or {})
    if problem is not None:
        raise InvalidArgument(f"{ref!r}: {problem}")
    return cls(**dict(args or {}))


__all__ = ["CORE_TOOLS", "TOOL_USE_REF", "arguments_problem", "build_tool", "load_object", "load_tool_class",
           "tool_ref_problem"]
