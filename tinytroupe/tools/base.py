"""The tool interface: :class:`TinyTool`, its typed operations and the context of one call.

A tool is a named object with one or more *operations*. Each operation is an action type the agent
can emit (``WRITE_DOCUMENT``, ``SEND_EMAIL``, ...) with a pydantic model of its arguments and one of
its result, declared by decorating a method with :func:`tool_action`; the models come from the
method's annotations. The agent writes the arguments as JSON in the action's ``content`` (or, for an
operation with a single text argument, the text itself); :meth:`TinyTool.acall` validates them,
checks ownership and side effects, runs the method (a coroutine, or a plain function in a worker
thread so that independent calls overlap) within its time limit and validates what it returns.
Every failure is a typed :class:`~tinytroupe.errors.ToolError`.

This is TinyTroupe's ``TinyTool(name, description, owner=None, real_world_side_effects=False,
exporter=None, enricher=None)`` with typed operations instead of free-form ``_process_action``.

Example:
    >>> import asyncio
    >>> from pydantic import BaseModel
    >>> class AddArgs(BaseModel):
    ...     a: int
    ...     b: int
    >>> class Sum(BaseModel):
    ...     total: int
    >>> class Adder(TinyTool):
    ...     def __init__(self) -> None:
    ...         super().__init__("adder", "adds numbers")
    ...     @tool_action("ADD", "add two integers a and b")
    ...     def add(self, call: ToolCall, args: AddArgs) -> Sum:
    ...         return Sum(total=args.a + args.b)
    >>> adder = Adder()
    >>> list(adder.operations)
    ['ADD']
    >>> asyncio.run(adder.acall("ADD", '{"a": 2, "b": 3}')).total
    5
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, get_type_hints

from pydantic import BaseModel, ValidationError

from tinytroupe.errors import (
    InvalidArgument,
    InvalidArgumentType,
    ToolArgumentError,
    ToolError,
    ToolExecutionError,
    ToolPermissionError,
)

if TYPE_CHECKING:  # annotations only: agents build on tools
    from tinytroupe.agent.person import TinyPerson

_MARK = "__tinytroupe_tool_action__"


@dataclass(frozen=True)
class _ActionMark:
    action: str
    description: str
    side_effects: bool
    timeout_s: float | None


def tool_action(action: str, description: str, *, side_effects: bool = False,
                timeout_s: float | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a method of a :class:`TinyTool` as an operation the agent can call.

    The method takes ``(self, call: ToolCall, args: <ArgsModel>)`` and returns an instance of its
    annotated result model (a pydantic model); it may be ``async``. ``side_effects`` marks an
    operation that acts on the real world (refused unless allowed); ``timeout_s`` bounds one call.
    """
    name = action.strip().upper()
    if not name or not name.replace("_", "").isalnum():
        raise InvalidArgument(f"tool action {action!r} must be letters, digits and underscores, e.g. 'SEND_EMAIL'")
    if timeout_s is not None and timeout_s <= 0:
        raise InvalidArgument(f"timeout_s must be positive, got {timeout_s}")

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        setattr(fn, _MARK, _ActionMark(name, description.strip(), side_effects, timeout_s))
        return fn

    return mark


@dataclass(frozen=True)
class ToolOperation:
    """One operation of a tool: the action type, its description and its argument and result models."""

    tool: str
    action: str
    description: str
    args_model: type[BaseModel]
    result_model: type[BaseModel]
    handler: Callable[[ToolCall, BaseModel], Any]
    side_effects: bool = False
    timeout_s: float | None = None

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.handler)

    def args_schema(self) -> dict[str, Any]:
        """The JSON schema of the arguments (what the prompt and native tool calls show)."""
        return self.args_model.model_json_schema()

    def single_text_field(self) -> str | None:
        """The name of the only required argument when it is a string (the content may be plain text)."""
        fields = self.args_model.model_fields
        required = [name for name, info in fields.items() if info.is_required()]
        if len(required) == 1 and fields[required[0]].annotation is str:
            return required[0]
        return None


@dataclass
class ToolCall:
    """What one call of a tool knows: who calls, where, when, and the results of earlier calls.

    ``agent`` is None for a call made outside any agent (a test, a script). ``earlier`` maps the
    call ids of this turn's finished calls to their results (for references between calls).
    """

    tool: str
    action: str
    agent: TinyPerson | None = None
    world: str | None = None
    step: int | None = None
    call_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    earlier: Mapping[str, BaseModel] = field(default_factory=dict)

    @property
    def agent_name(self) -> str | None:
        return self.agent.name if self.agent is not None else None

    def find_agent(self, name: str) -> TinyPerson | None:
        """The agent called ``name`` in the caller's world (None outside a world or if absent): how a
        tool delivers something (an email, an invitation) to another agent as a stimulus."""
        env = self.agent.environment if self.agent is not None else None
        return env.get_agent_by_name(name) if env is not None else None


class TinyTool:
    """A tool agents can use: a name, a description, an owner and typed operations.

    Args:
        name: unique among an agent's tools (letters, digits, ``_`` and ``-``).
        description: what the tool is for (shown in the prompt).
        owner: the only agent (name or agent) allowed to use it; None: anyone it is given to.
        real_world_side_effects: the tool acts outside the simulation; its calls are refused unless
            the user allows side effects (``TinyToolUse(..., allow_side_effects=True)``).
        exporter: where the tool writes artefacts (TinyTroupe's ``ArtifactExporter``; any object).
        enricher: an optional :class:`~tinytroupe.enrichment.TinyEnricher` the tool may use.

    Subclasses declare operations with :func:`tool_action`; ``capabilities`` names what the tool
    offers (``"email"``, ``"search"``) for :meth:`ToolRegistry.find <tinytroupe.tools.registry.ToolRegistry.find>`.
    A tool class that a worker process of the sharded or Ray executor can rebuild (built with no
    arguments, then given its saved name, owner and state) and whose calls reach no other agent says so
    with ``portable = True`` in its own class body (see :meth:`portability_problem`).
    """

    capabilities: tuple[str, ...] = ()
    #: whether a worker process can rebuild this tool (see the class docstring); not inherited
    portable: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A subclass may take constructor arguments or reach other agents: it says so itself.
        if "portable" not in cls.__dict__:
            cls.portable = False

    def __init__(self, name: str, description: str, owner: TinyPerson | str | None = None,
                 real_world_side_effects: bool = False, exporter: Any = None, enricher: Any = None) -> None:
        bare = name.strip().replace("_", "").replace("-", "") if isinstance(name, str) else ""
        if not bare.isalnum():
            raise InvalidArgument(f"a tool needs a name of letters, digits, '_' and '-', got {name!r}")
        self.name = name.strip()
        self.description = description.strip()
        self.owner = owner
        self.real_world_side_effects = real_world_side_effects
        self.exporter = exporter
        self.enricher = enricher
        self._operations = self._collect_operations()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def portability_problem(self) -> str | None:
        """Why a worker process cannot rebuild this tool, or None when it can: its class does not declare
        itself portable, or this one has what a rebuild without arguments would lose (an exporter, an enricher).

        Example:
            >>> TinyTool("notes", "keeps notes").portability_problem()
            "tool 'notes' (TinyTool) does not declare itself portable"
        """
        if not type(self).portable:
            return f"tool {self.name!r} ({type(self).__qualname__}) does not declare itself portable"
        if self.exporter is not None or self.enricher is not None:
            return f"tool {self.name!r} has an exporter or an enricher, which a worker process cannot rebuild"
        return None

    # ------------------------------------------------------------------ operations
    def _collect_operations(self) -> dict[str, ToolOperation]:
        found: dict[str, ToolOperation] = {}
        for attr in dir(type(self)):
            fn = getattr(type(self), attr, None)
            mark = getattr(fn, _MARK, None)
            if mark is None or fn is None:
                continue
            args_model, result_model = _models_of(fn, type(self).__name__, attr)
            if mark.action in found:
                raise InvalidArgument(f"{type(self).__name__} declares the action {mark.action} twice")
            found[mark.action] = ToolOperation(self.name, mark.action, mark.description, args_model, result_model,
                                               getattr(self, attr), mark.side_effects, mark.timeout_s)
        return found

    def add_operation(self, operation: ToolOperation) -> None:
        """Add an operation built at run time (tools whose operations are discovered, e.g. MCP's)."""
        if operation.action in self._operations:
            raise InvalidArgument(f"tool {self.name} already has the action {operation.action}")
        self._operations[operation.action] = operation

    @property
    def operations(self) -> dict[str, ToolOperation]:
        """Action type -> operation, in declaration order of discovery."""
        return dict(self._operations)

    def actions_definitions(self) -> dict[str, str]:
        """Action type -> the one-line description the prompt shows (TinyTroupe's ``actions_definitions_prompt``)."""
        return {op.action: op.description for op in self._operations.values()}

    # ------------------------------------------------------------------ calling
    def parse_arguments(self, action: str, arguments: Mapping[str, Any] | str | BaseModel | None) -> BaseModel:
        """Validate ``arguments`` (a mapping, JSON text, plain text for a single-text operation, or
        the model itself) against ``action``'s argument model.

        Raises:
            ToolArgumentError: unknown action, bad JSON or fields that do not fit (each one named).
        """
        op = self.operation(action)
        if isinstance(arguments, op.args_model):
            return arguments
        data: Any = {} if arguments is None else arguments
        if isinstance(data, str):
            text = data.strip()
            if text.startswith("{"):
                try:
                    data = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ToolArgumentError(f"the arguments are not valid JSON ({exc.msg} at character {exc.pos}); "
                                            "write them as one JSON object", tool=self.name, action=op.action) from exc
            elif (single := op.single_text_field()) is not None:
                data = {single: data}
            else:
                raise ToolArgumentError(f"the arguments must be a JSON object with {_field_list(op)}",
                                        tool=self.name, action=op.action)
        if isinstance(data, BaseModel):
            data = data.model_dump()
        if not isinstance(data, Mapping):
            raise ToolArgumentError(f"the arguments must be a JSON object, got {type(data).__name__}",
                                    tool=self.name, action=op.action)
        try:
            return op.args_model.model_validate(dict(data))
        except ValidationError as exc:
            raise ToolArgumentError(_validation_message(exc), tool=self.name, action=op.action) from exc

    def operation(self, action: str) -> ToolOperation:
        """The operation for ``action``; :class:`ToolArgumentError` naming the known ones if none."""
        op = self._operations.get(action.strip().upper())
        if op is None:
            raise ToolArgumentError(f"no action {action!r}; this tool has {', '.join(self._operations) or 'none'}",
                                    tool=self.name)
        return op

    def check_allowed(self, call: ToolCall, *, allow_side_effects: bool = False) -> None:
        """Refuse a call by someone other than the owner, or with side effects not allowed."""
        op = self.operation(call.action)
        owner = self.owner if isinstance(self.owner, str) or self.owner is None else self.owner.name
        if owner is not None and call.agent_name is not None and call.agent_name != owner:
            raise ToolPermissionError(f"this tool belongs to {owner}", tool=self.name, action=op.action,
                                      agent=call.agent_name)
        if (self.real_world_side_effects or op.side_effects) and not allow_side_effects:
            raise ToolPermissionError("this tool acts on the real world and side effects are not allowed; "
                                      "give TinyToolUse(..., allow_side_effects=True) to allow them",
                                      tool=self.name, action=op.action, agent=call.agent_name)

    async def acall(self, action: str, arguments: Mapping[str, Any] | str | BaseModel | None = None,
                    call: ToolCall | None = None, *, allow_side_effects: bool = False) -> BaseModel:
        """Validate and run one call; the validated result model.

        Raises:
            ToolArgumentError: the arguments do not fit.
            ToolPermissionError: not the owner, or side effects not allowed.
            ToolExecutionError: the operation raised (chained) or ran past its ``timeout_s``.
        """
        op = self.operation(action)
        call = call or ToolCall(self.name, op.action)
        args = self.parse_arguments(op.action, arguments)
        self.check_allowed(call, allow_side_effects=allow_side_effects)
        return await self._run(op, call, args)

    async def _run(self, op: ToolOperation, call: ToolCall, args: BaseModel) -> BaseModel:
        started = time.perf_counter()
        try:
            if op.is_async:
                pending: Awaitable[Any] = op.handler(call, args)
            else:
                # a plain function runs in a worker thread, so independent calls of one turn overlap
                pending = asyncio.to_thread(op.handler, call, args)
            raw = await (asyncio.wait_for(pending, op.timeout_s) if op.timeout_s else pending)
        except ToolError:
            raise
        except TimeoutError as exc:
            raise ToolExecutionError(f"ran past its time limit of {op.timeout_s:g} s", tool=self.name,
                                     action=op.action, agent=call.agent_name) from exc
        except Exception as exc:  # a tool's own failure becomes a typed error with its cause chained
            raise ToolExecutionError(f"{type(exc).__name__}: {exc}", tool=self.name, action=op.action,
                                     agent=call.agent_name) from exc
        try:
            result = op.result_model.model_validate(raw.model_dump() if isinstance(raw, BaseModel) else raw)
        except ValidationError as exc:
            raise ToolExecutionError(f"returned a result that does not fit {op.result_model.__name__} after "
                                     f"{time.perf_counter() - started:.3f} s: {_validation_message(exc)}",
                                     tool=self.name, action=op.action, agent=call.agent_name) from exc
        return result

    def call(self, action: str, arguments: Mapping[str, Any] | str | BaseModel | None = None,
             call: ToolCall | None = None, *, allow_side_effects: bool = False) -> BaseModel:
        """Sync twin of :meth:`acall` (not from inside a running event loop)."""
        from tinytroupe.aio import run_sync

        return run_sync(self.acall(action, arguments, call, allow_side_effects=allow_side_effects))

    # ------------------------------------------------------------------ state
    def get_state(self) -> dict[str, Any]:
        """JSON-ready state saved with the agent (none by default)."""
        return {}

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`get_state` output (nothing to restore by default)."""


def _models_of(fn: Callable[..., Any], cls: str, attr: str) -> tuple[type[BaseModel], type[BaseModel]]:
    try:
        # ToolCall resolves even in a module that only uses it in a string annotation
        hints = get_type_hints(fn, localns={"ToolCall": ToolCall})
    except Exception as exc:  # an annotation that does not resolve is the tool author's bug; say where
        raise InvalidArgumentType(f"{cls}.{attr}: cannot resolve its annotations ({exc})") from exc
    params = [p for p in inspect.signature(fn).parameters if p != "self"]
    if len(params) != 2:
        raise InvalidArgumentType(f"{cls}.{attr} must take (self, call: ToolCall, args: <pydantic model>)")
    args_model, result_model = hints.get(params[1]), hints.get("return")
    for what, model in (("arguments", args_model), ("result", result_model)):
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise InvalidArgumentType(f"{cls}.{attr}: the {what} must be annotated with a pydantic model, "
                                      f"got {model!r}")
    return args_model, result_model  # type: ignore[return-value]


def _field_list(op: ToolOperation) -> str:
    names = list(op.args_model.model_fields)
    return "the fields " + ", ".join(names) if names else "no fields ({})"


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False)[:10]:
        where = ".".join(str(p) for p in err["loc"]) or "(arguments)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


__all__ = ["TinyTool", "ToolCall", "ToolOperation", "tool_action"]
