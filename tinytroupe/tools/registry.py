"""A registry of tools: register, look up by name or capability, discover third-party tools.

Third-party packages offer tools through the entry point group ``tinytroupe.tools``: each entry point
names a :class:`~tinytroupe.tools.base.TinyTool` subclass (built with no arguments) or a function
returning a tool. :meth:`ToolRegistry.discover` loads them on request, never at import.

Example:
    >>> from tinytroupe.tools.base import TinyTool
    >>> class Notes(TinyTool):
    ...     capabilities = ("notes",)
    ...     def __init__(self) -> None:
    ...         super().__init__("notes", "a notebook")
    >>> registry = ToolRegistry()
    >>> registry.register(Notes())
    >>> registry.get("notes").name, [t.name for t in registry.find("notes")]
    ('notes', ['notes'])
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from importlib.metadata import entry_points

from tinytroupe.errors import InvalidArgument, InvalidArgumentType, NotFound
from tinytroupe.tools.base import TinyTool

ENTRY_POINT_GROUP = "tinytroupe.tools"


class ToolRegistry:
    """Tools by name. ``register`` refuses a second tool of the same name unless ``replace=True``."""

    def __init__(self, tools: Iterable[TinyTool] = ()) -> None:
        self._tools: dict[str, TinyTool] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: TinyTool, *, replace: bool = False) -> None:
        if not isinstance(tool, TinyTool):
            raise InvalidArgumentType(f"only TinyTool instances can be registered, got {type(tool).__name__}")
        if tool.name in self._tools and not replace:
            raise InvalidArgument(f"a tool named {tool.name!r} is already registered; pass replace=True to replace it")
        self._tools[tool.name] = tool

    def unregister(self, name: str) -> None:
        if self._tools.pop(name, None) is None:
            raise NotFound(f"no tool named {name!r}; registered: {', '.join(self._tools) or 'none'}")

    def get(self, name: str) -> TinyTool:
        """The tool named ``name``; :class:`~tinytroupe.errors.NotFound` naming the registered ones if none."""
        try:
            return self._tools[name]
        except KeyError:
            raise NotFound(f"no tool named {name!r}; registered: {', '.join(self._tools) or 'none'}") from None

    def find(self, capability: str) -> list[TinyTool]:
        """The tools that declare ``capability`` (in registration order)."""
        return [tool for tool in self._tools.values() if capability in tool.capabilities]

    def by_action(self, action: str) -> TinyTool:
        """The tool that handles the action type ``action``."""
        wanted = action.strip().upper()
        for tool in self._tools.values():
            if wanted in tool.operations:
                return tool
        raise NotFound(f"no registered tool handles the action {wanted}")

    def discover(self, group: str = ENTRY_POINT_GROUP) -> list[str]:
        """Load and register the tools third-party packages offer under the entry point ``group``;
        the names added. A tool whose name is taken already is skipped (the first one wins).

        Raises:
            InvalidArgumentType: an entry point gives something that is not a tool (its name is said).
        """
        added = []
        for ep in entry_points(group=group):
            target = ep.load()
            tool = target() if callable(target) else target
            if not isinstance(tool, TinyTool):
                raise InvalidArgumentType(f"the entry point {ep.name} = {ep.value} in group {group} gives "
                                          f"{type(tool).__name__}, not a TinyTool")
            if tool.name not in self._tools:
                self.register(tool)
                added.append(tool.name)
        return added

    @property
    def names(self) -> list[str]:
        return list(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[TinyTool]:
        return iter(list(self._tools.values()))

    def __len__(self) -> int:
        return len(self._tools)


__all__ = ["ENTRY_POINT_GROUP", "ToolRegistry"]
