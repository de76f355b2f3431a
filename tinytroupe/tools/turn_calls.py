"""The tool calls of one turn: found among its actions, checked before anything runs, then run
concurrently, each call waiting only for the earlier calls it references.

:func:`plan_calls` numbers a turn's tool actions (1 first), decodes each one's content (JSON, or plain
text for an operation with one text argument), checks its references (:mod:`tinytroupe.tools.references`)
and validates its arguments against the operation's model (a field holding a whole reference is
checked once the value is there). :func:`run_calls` starts every valid call at once; a call with
references awaits the calls it names, then runs with their values filled in. Every failure is a
:class:`~tinytroupe.errors.ToolError` in the call's :class:`CallOutcome`; nothing here raises for a
tool's sake.

Example:
    >>> import asyncio
    >>> from pydantic import BaseModel
    >>> from tinytroupe.agent.actions import Action
    >>> from tinytroupe.tools.base import TinyTool, ToolCall, tool_action
    >>> class Num(BaseModel):
    ...     n: int
    >>> class Calc(TinyTool):
    ...     def __init__(self) -> None:
    ...         super().__init__("calc", "arithmetic")
    ...     @tool_action("DOUBLE", "double n")
    ...     def double(self, call: ToolCall, args: Num) -> Num:
    ...         return Num(n=args.n * 2)
    >>> calc = Calc()
    >>> actions = [Action(type="DOUBLE", content='{"n": 2}'), Action(type="DOUBLE", content='{"n": "${1.n}"}')]
    >>> planned = plan_calls(actions, {"DOUBLE": calc})
    >>> [o.result.n for o in asyncio.run(run_calls(planned))]
    [4, 8]
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from tinytroupe.errors import ToolArgumentError, ToolError, ToolExecutionError
from tinytroupe.tools.base import TinyTool, ToolCall, ToolOperation
from tinytroupe.tools.references import Reference, check_references, resolve, whole_reference_locations

if TYPE_CHECKING:  # annotations only: agents build on tools
    from tinytroupe.agent.actions import Action
    from tinytroupe.agent.person import TinyPerson


@dataclass
class PlannedCall:
    """One tool action of a turn, ready to run or already known to be invalid (``error``)."""

    number: int
    action: Action
    tool: TinyTool
    op: ToolOperation | None = None
    data: dict[str, Any] = field(default_factory=dict)
    refs: list[Reference] = field(default_factory=list)
    error: ToolError | None = None


@dataclass
class CallOutcome:
    """What came of one call: its result or its error, and its timings (seconds)."""

    call: PlannedCall
    call_id: str
    result: BaseModel | None = None
    error: ToolError | None = None
    duration_s: float = 0.0
    waited_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def _decode(tool: TinyTool, op: ToolOperation, content: str) -> dict[str, Any]:
    text = content.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            return data
    elif (single := op.single_text_field()) is not None:
        return {single: content}
    tool.parse_arguments(op.action, content)  # raises, with the tool's own message
    raise ToolArgumentError("the arguments must be one JSON object", tool=tool.name, action=op.action)


def _validate(tool: TinyTool, op: ToolOperation, data: dict[str, Any]) -> None:
    whole = whole_reference_locations(data)
    if not whole:
        tool.parse_arguments(op.action, data)
        return
    try:
        op.args_model.model_validate(data)
    except ValidationError as exc:
        # a field holding a whole reference gets its value (and type) only when the call runs
        kept = [e for e in exc.errors(include_url=False)
                if not any(tuple(e["loc"][: len(w)]) == w for w in whole)]
        if kept:
            message = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(arguments)'}: {e['msg']}"
                                for e in kept[:10])
            raise ToolArgumentError(message, tool=tool.name, action=op.action) from exc


def plan_calls(actions: Sequence[Action], tools_by_action: Mapping[str, TinyTool]) -> list[PlannedCall]:
    """The tool calls among ``actions`` (those whose type a tool in ``tools_by_action`` handles), numbered
    from 1 and checked: a call whose content, references or arguments are wrong carries its ``error``."""
    planned: list[PlannedCall] = []
    result_models: dict[int, type[BaseModel] | None] = {}
    for action in actions:
        tool = tools_by_action.get(action.type)
        if tool is None:
            continue
        call = PlannedCall(len(planned) + 1, action, tool)
        try:
            call.op = tool.operation(action.type)
            call.data = _decode(tool, call.op, action.content)
            try:
                call.refs = check_references(call.number, call.data, result_models)
            except ToolArgumentError as exc:  # the references module knows no tool: say which
                raise ToolArgumentError(exc.detail, tool=tool.name, action=call.op.action) from exc
            _validate(tool, call.op, call.data)
        except ToolError as exc:
            call.error = exc
        result_models[call.number] = call.op.result_model if call.op is not None and call.error is None else None
        planned.append(call)
    return planned


async def run_calls(planned: Sequence[PlannedCall], *, agent: TinyPerson | None = None, world: str | None = None,
                    step: int | None = None, allow_side_effects: bool = False) -> list[CallOutcome]:
    """Run the planned calls concurrently (a call waits only for those it references); their outcomes,
    in call order."""
    tasks: dict[int, asyncio.Task[CallOutcome]] = {}
    for call in planned:
        tasks[call.number] = asyncio.ensure_future(
            _run_one(call, tasks, agent=agent, world=world, step=step, allow_side_effects=allow_side_effects))
    return list(await asyncio.gather(*tasks.values()))


async def _run_one(call: PlannedCall, tasks: Mapping[int, asyncio.Task[CallOutcome]], *, agent: TinyPerson | None,
                   world: str | None, step: int | None, allow_side_effects: bool) -> CallOutcome:
    tool_call = ToolCall(call.tool.name, call.op.action if call.op else call.action.type, agent=agent,
                         world=world, step=step)
    outcome = CallOutcome(call, tool_call.call_id, error=call.error)
    if call.error is not None or call.op is None:
        return outcome
    started = time.perf_counter()
    referenced: dict[int, CallOutcome] = {}
    for number in sorted({ref.call for ref in call.refs}):
        referenced[number] = await asyncio.shield(tasks[number])
    outcome.waited_s = time.perf_counter() - started
    failed = [n for n, o in referenced.items() if not o.ok]
    if failed:
        outcome.error = ToolArgumentError(
            f"not run: it uses the result of tool action {failed[0]}, which failed", tool=call.tool.name,
            action=call.op.action, agent=tool_call.agent_name)
        return outcome
    started = time.perf_counter()
    try:
        arguments = resolve(call.data, {n: o.result for n, o in referenced.items()})
        tool_call.earlier = {o.call_id: o.result for o in referenced.values() if o.result is not None}
        outcome.result = await call.tool.acall(call.op.action, arguments, tool_call,
                                               allow_side_effects=allow_side_effects)
    except ToolError as exc:
        outcome.error = exc if exc.tool else type(exc)(exc.detail, tool=call.tool.name, action=call.op.action,
                                                       agent=tool_call.agent_name)
    except Exception as exc:  # a bug below the tool interface still must not fail the agent's turn
        outcome.error = ToolExecutionError(f"{type(exc).__name__}: {exc}", tool=call.tool.name,
                                           action=call.op.action, agent=tool_call.agent_name)
        outcome.error.__cause__ = exc
    outcome.duration_s = time.perf_counter() - started
    return outcome


__all__ = ["CallOutcome", "PlannedCall", "plan_calls", "run_calls"]
