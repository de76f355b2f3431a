"""Composition: a declared pipeline of tool operations, where one operation's result feeds the next
one's arguments, checked against the pydantic models when it is built.

A :class:`ToolPipeline` has its own arguments model and a list of :class:`PipelineStep` s. Each step
names a tool operation and where each of its arguments comes from: ``"input.<field>"`` (the pipeline's
arguments) or ``"<k>.<field>"`` (the result of step ``k``, counted from 1, an earlier step), with
nested fields and list indexes as in ``"1.hits.0.title"``; ``fixed`` gives constant values. When the
pipeline is built, every step's operation must exist, every mapped field must exist on both sides
with types that fit (an ``int`` feeds a ``float``, a ``str | None`` does not feed a ``str``), every
required argument must be given and every constant must be valid: a mistake is an
:class:`~tinytroupe.errors.InvalidArgument` then, never a failure at run time. Steps run as soon as
the steps they read from are done (independent ones concurrently). The pipeline's result is the last
step's (or ``output``'s). :meth:`ToolPipeline.as_tool` exposes it as a tool operation agents call
like any other.

Example:
    >>> import asyncio
    >>> from pydantic import BaseModel
    >>> from tinytroupe.tools.base import TinyTool, ToolCall, tool_action
    >>> class Text(BaseModel):
    ...     text: str
    >>> class Count(BaseModel):
    ...     words: int
    >>> class Writer(TinyTool):
    ...     def __init__(self) -> None:
    ...         super().__init__("writer", "text tools")
    ...     @tool_action("SHOUT", "upper-case a text")
    ...     def shout(self, call: ToolCall, args: Text) -> Text:
    ...         return Text(text=args.text.upper())
    ...     @tool_action("COUNT_WORDS", "count the words of a text")
    ...     def count(self, call: ToolCall, args: Text) -> Count:
    ...         return Count(words=len(args.text.split()))
    >>> w = Writer()
    >>> pipe = ToolPipeline("shout_and_count", "shout a text, then count its words", Text, [
    ...     PipelineStep(w, "SHOUT", {"text": "input.text"}),
    ...     PipelineStep(w, "COUNT_WORDS", {"text": "1.text"})])
    >>> asyncio.run(pipe.as_tool().acall("SHOUT_AND_COUNT", {"text": "hello there"})).words
    2
    >>> ToolPipeline("bad", "", Text, [PipelineStep(w, "COUNT_WORDS", {"text": "input.body"})])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tinytroupe.errors.InvalidArgument: pipeline 'bad', step 1 ... 'input.body': Text has no field 'body'; it has text
"""

from __future__ import annotations

import asyncio
import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from tinytroupe.errors import InvalidArgument, InvalidArgumentType, ToolError, ToolExecutionError
from tinytroupe.tools.base import TinyTool, ToolCall, ToolOperation

_SOURCE = re.compile(r"^(input|\d+)((?:\.[A-Za-z_][A-Za-z0-9_]*|\.\d+)*)$")


@dataclass(frozen=True)
class PipelineStep:
    """One operation of a pipeline: ``tool``'s ``action``, with ``inputs`` (argument -> source, see the
    module docstring) and ``fixed`` constant arguments."""

    tool: TinyTool
    action: str
    inputs: Mapping[str, str] = field(default_factory=dict)
    fixed: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Source:
    step: int  # 0: the pipeline's arguments
    path: tuple[str, ...]


class ToolPipeline:
    """Tool operations chained by a declared, checked field mapping (see the module docstring).

    Args:
        name: the pipeline's name (and the tool's, for :meth:`as_tool`).
        description: what it does (shown in the prompt).
        args_model: the pydantic model of the pipeline's arguments.
        steps: the steps, in order.
        action: its action type (default: ``name`` in upper case).
        output: the step whose result is the pipeline's (default: the last).

    Raises:
        InvalidArgument: a step's operation, a field or a required argument is missing, a source names
            a later step, or a constant does not fit (the message names the step and the field).
        InvalidArgumentType: a mapped field's type does not fit the argument it feeds.
    """

    def __init__(self, name: str, description: str, args_model: type[BaseModel], steps: Sequence[PipelineStep], *,
                 action: str | None = None, output: int | None = None) -> None:
        if not (isinstance(args_model, type) and issubclass(args_model, BaseModel)):
            raise InvalidArgumentType(f"pipeline {name!r}: args_model must be a pydantic model, got {args_model!r}")
        if not steps:
            raise InvalidArgument(f"pipeline {name!r} has no steps")
        self.name = name
        self.description = description.strip()
        self.action = (action or name).strip().upper()
        self.args_model = args_model
        self.steps = list(steps)
        self.output = len(self.steps) if output is None else output
        if not 1 <= self.output <= len(self.steps):
            raise InvalidArgument(f"pipeline {name!r}: output must be a step number from 1 to {len(self.steps)}, "
                                  f"got {output}")
        self._ops: list[ToolOperation] = []
        self._sources: list[dict[str, _Source]] = []
        for number, step in enumerate(self.steps, start=1):
            self._check_step(number, step)

    @property
    def result_model(self) -> type[BaseModel]:
        return self._ops[self.output - 1].result_model

    @property
    def side_effects(self) -> bool:
        """Whether any step acts on the real world (the pipeline is refused unless side effects are allowed)."""
        pairs = zip(self.steps, self._ops, strict=True)
        return any(step.tool.real_world_side_effects or op.side_effects for step, op in pairs)

    # ------------------------------------------------------------------ checks when built

    def _check_step(self, number: int, step: PipelineStep) -> None:
        where = f"pipeline {self.name!r}, step {number} ({step.tool.name}.{step.action.strip().upper()})"
        try:
            op = step.tool.operation(step.action)
        except ToolError as exc:
            raise InvalidArgument(f"{where}: {exc.detail}") from None
        fields = op.args_model.model_fields
        sources: dict[str, _Source] = {}
        for target, text in step.inputs.items():
            at = f"{where}, argument {target!r}"
            if target not in fields:
                raise InvalidArgument(f"{at}: {op.args_model.__name__} has no such field; it has {', '.join(fields)}")
            if target in step.fixed:
                raise InvalidArgument(f"{at}: given both as an input and as a fixed value")
            source = self._parse_source(at, number, text)
            found = self._annotation_at(at, text, source)
            wanted = fields[target].annotation
            if not _fits(found, wanted):
                raise InvalidArgumentType(f"{at}: {text!r} is {_name(found)}, which does not fit {_name(wanted)}")
            sources[target] = source
        for target, value in step.fixed.items():
            at = f"{where}, argument {target!r}"
            if target not in fields:
                raise InvalidArgument(f"{at}: {op.args_model.__name__} has no such field; it has {', '.join(fields)}")
            try:
                TypeAdapter(fields[target].annotation or Any).validate_python(value)
            except ValidationError as exc:
                raise InvalidArgument(f"{at}: the fixed value {value!r} does not fit: "
                                      f"{exc.errors(include_url=False)[0]['msg']}") from None
        missing = [n for n, f in fields.items() if f.is_required() and n not in sources and n not in step.fixed]
        if missing:
            raise InvalidArgument(f"{where}: the required argument(s) {', '.join(missing)} are given no value; map "
                                  "them in inputs or give them in fixed")
        self._ops.append(op)
        self._sources.append(sources)

    def _parse_source(self, at: str, number: int, text: str) -> _Source:
        match = _SOURCE.match(text.strip())
        if match is None:
            raise InvalidArgument(f"{at}: {text!r} is not a source; write 'input.<field>' or '<step>.<field>'")
        head = match.group(1)
        step = 0 if head == "input" else int(head)
        if head != "input" and not 1 <= step < number:
            raise InvalidArgument(f"{at}: {text!r} names step {step}; a step reads only the pipeline's input or "
                                  f"earlier steps (1 to {number - 1})" if number > 1 else
                                  f"{at}: {text!r}: the first step reads only the pipeline's input")
        return _Source(step, tuple(p for p in match.group(2).split(".") if p))

    def _annotation_at(self, at: str, text: str, source: _Source) -> Any:
        current: Any = self.args_model if source.step == 0 else self._ops[source.step - 1].result_model
        for part in source.path:
            if isinstance(current, type) and issubclass(current, BaseModel):
                found = current.model_fields.get(part)
                if found is None:
                    raise InvalidArgument(f"{at}: {text!r}: {current.__name__} has no field {part!r}; it has "
                                          f"{', '.join(current.model_fields) or 'none'}")
                current = found.annotation
            elif get_origin(current) in (list, tuple) and part.isdigit() and get_args(current):
                current = get_args(current)[0]
            else:
                raise InvalidArgument(f"{at}: {text!r}: cannot go into {_name(current)} with {part!r}")
        return current

    # ------------------------------------------------------------------ running

    async def run(self, call: ToolCall, args: BaseModel) -> BaseModel:
        """Run the steps for one call (each as soon as the steps it reads from are done); the output's result.

        Raises:
            ToolError: a step failed (its step number and operation are named; the cause is chained).
        """
        tasks: list[asyncio.Task[BaseModel]] = []
        for index in range(len(self.steps)):
            tasks.append(asyncio.ensure_future(self._run_step(index, call, args, tasks)))
        try:
            results = await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()  # a failed step's siblings stop with it
        return results[self.output - 1]

    async def _run_step(self, index: int, call: ToolCall, args: BaseModel,
                        tasks: list[asyncio.Task[BaseModel]]) -> BaseModel:
        step, op = self.steps[index], self._ops[index]
        values: dict[int, BaseModel] = {0: args}
        for needed in sorted({s.step for s in self._sources[index].values()} - {0}):
            values[needed] = await tasks[needed - 1]
        data = {target: _follow(values[s.step], s.path) for target, s in self._sources[index].items()}
        data.update(step.fixed)
        inner = ToolCall(step.tool.name, op.action, agent=call.agent, world=call.world, step=call.step,
                         earlier={str(n): v for n, v in values.items() if n})
        try:
            # the pipeline's own call was checked against side effects already (it has every step's)
            return await step.tool.acall(op.action, data, inner, allow_side_effects=True)
        except ToolError as exc:
            raise ToolExecutionError(f"step {index + 1} ({step.tool.name}.{op.action}) failed: {exc.detail}",
                                     tool=call.tool, action=call.action, agent=call.agent_name) from exc

    def operation(self, tool_name: str | None = None) -> ToolOperation:
        """The pipeline as a tool operation (for :meth:`TinyTool.add_operation`)."""
        return ToolOperation(tool_name or self.name, self.action, self.description, self.args_model,
                             self.result_model, self.run, side_effects=self.side_effects)

    def as_tool(self, name: str | None = None, owner: Any = None) -> TinyTool:
        """A tool whose one operation is this pipeline."""
        return PipelineTool(self, name=name, owner=owner)


class PipelineTool(TinyTool):
    """A tool made of one :class:`ToolPipeline` (see :meth:`ToolPipeline.as_tool`)."""

    def __init__(self, pipeline: ToolPipeline, name: str | None = None, owner: Any = None) -> None:
        super().__init__(name or pipeline.name, pipeline.description, owner=owner)
        self.pipeline = pipeline
        self.add_operation(pipeline.operation(self.name))


def _follow(value: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        value = value[int(part)] if isinstance(value, list | tuple) else getattr(value, part)
    return value


def _options(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) in (Union, types.UnionType):
        return get_args(annotation)
    return (annotation,)


def _fits(found: Any, wanted: Any) -> bool:
    """Whether every value of type ``found`` is a valid ``wanted`` (checked on the annotations)."""
    if wanted is Any or found == wanted:
        return True
    return all(any(_fits_one(f, w) for w in _options(wanted)) for f in _options(found))


def _fits_one(found: Any, wanted: Any) -> bool:
    if wanted is Any or found == wanted or (wanted is float and found is int):
        return True
    if isinstance(found, type) and isinstance(wanted, type) and get_origin(found) is None:
        return issubclass(found, wanted) and not (found is bool and wanted is not bool)
    f_origin, w_origin = get_origin(found), get_origin(wanted)
    if f_origin is not None and f_origin == w_origin and f_origin in (list, tuple, set, frozenset, dict):
        f_args, w_args = get_args(found), get_args(wanted)
        if not w_args:
            return True
        return len(f_args) == len(w_args) and all(_fits(a, b) for a, b in zip(f_args, w_args, strict=True))
    return False


def _name(annotation: Any) -> str:
    return annotation.__name__ if isinstance(annotation, type) and get_origin(annotation) is None else str(annotation)


__all__ = ["PipelineStep", "PipelineTool", "ToolPipeline"]
