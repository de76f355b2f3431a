"""``TinyToolUse``: the faculty that lets an agent use tools within its turns.

It is a :class:`~tinytroupe.agent.faculties.MentalFaculty` (each tool operation's action type joins the
agent's actions, described from its argument schema) and a :class:`~tinytroupe.agent.turn.TurnComponent`
taking part in three phases of every turn:

- ``retrieve``: the tool actions' descriptions are rendered to fit the prompt's ``tools`` budget
  (:mod:`tinytroupe.tools.rendering`), with one rule on arguments and references between calls;
- ``decide``: each tool action's content is checked against its operation's arguments (and its
  references); if any is wrong, the model is asked once more, within the turn, with the exact errors;
- ``act``: the committed tool actions run concurrently (:mod:`tinytroupe.tools.turn_calls`); each
  call's result, or its error (arguments still wrong, a refusal, a tool that raised), becomes a
  ``TOOL_RESULT`` stimulus the agent perceives at its next turn, and a
  :class:`~tinytroupe.events.ToolCallEvent` on the bus. A tool that raised is a ``tool_failed``
  warning too. The turn never fails because of a tool.

This is TinyTroupe's ``TinyToolUse(tools)``, with ``allow_side_effects`` for tools that act on the
real world (refused otherwise).

Example:
    >>> from pydantic import BaseModel
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> from tinytroupe.tools import TinyTool, ToolCall, tool_action
    >>> class Sum(BaseModel):
    ...     a: int
    ...     b: int
    >>> class Total(BaseModel):
    ...     total: int
    >>> class Calculator(TinyTool):
    ...     def __init__(self) -> None:
    ...         super().__init__("calculator", "adds numbers")
    ...     @tool_action("ADD", "add two integers")
    ...     def add(self, call: ToolCall, args: Sum) -> Total:
    ...         return Total(total=args.a + args.b)
    >>> turn = {"actions": [{"type": "ADD", "content": '{"a": 2, "b": 3}'}, {"type": "DONE"}]}
    >>> lisa = TinyPerson("Lisa", client=LLMClient(ScriptedBackend([turn])))
    >>> lisa = lisa.add_mental_faculty(TinyToolUse([Calculator()]))
    >>> lisa.listen_and_act("What is 2 + 3?")
    >>> lisa.memory.items()[-1].content
    'your ADD (tool action 1 of your last turn, tool calculator) returned: {"total":5}'
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from tinytroupe.agent.actions import Action, ActionBatch, StimulusType
from tinytroupe.agent.faculties import MentalFaculty
from tinytroupe.agent.portable import import_portable
from tinytroupe.agent.turn import Turn, TurnComponent
from tinytroupe.aio import run_sync
from tinytroupe.errors import InvalidArgument, InvalidArgumentType, LLMError, ScenarioError, ToolExecutionError
from tinytroupe.events import ToolCallEvent, WarningEvent
from tinytroupe.llm.tokens import estimate_tokens
from tinytroupe.llm.types import Message
from tinytroupe.tools.base import TinyTool
from tinytroupe.tools.prompts import template
from tinytroupe.tools.rendering import describe_operation, render_operations, rules_text, signature
from tinytroupe.tools.turn_calls import CallOutcome, PlannedCall, plan_calls, run_calls

if TYPE_CHECKING:  # annotations only: agents build on tools
    from tinytroupe.agent.person import TinyPerson

logger = logging.getLogger(__name__)

#: the longest tool result (in characters) an agent perceives; the rest is cut with a note
MAX_RESULT_CHARS = 1000
#: the longest action content (a call's JSON arguments) a turn of an agent with tools allows by default
CONTENT_CHARS = 2000
#: the longest content of a call a ToolCallEvent repeats
EVENT_ARGUMENT_CHARS = 500


class TinyToolUse(MentalFaculty, TurnComponent):
    """Gives an agent ``tools`` and runs the tool actions of its turns (see the module docstring).

    Args:
        tools: the tools; their names and their action types must not clash.
        allow_side_effects: allow calls of tools (or operations) with real-world side effects.
        max_result_chars: the longest result text the agent perceives.
        reask: ask the model once more, within the turn, when a tool action's arguments are wrong.
        content_chars: the longest content (JSON arguments) a turn of the agent allows for an action.
        typed_arguments: put each tool action's argument schema into the turn schema, so the model writes
            the arguments as an object (see :mod:`tinytroupe.agent.action_schema`); with constrained
            decoding even a small model then gives valid arguments. Off: the content is JSON text.
        name: the faculty's (and component's) name, unique among the agent's faculties.

    Raises:
        InvalidArgumentType: an item of ``tools`` is not a :class:`~tinytroupe.tools.base.TinyTool`.
        InvalidArgument: no tools, two tools of one name, or two handling the same action type.

    Its turns run in worker processes too (sharded and Ray executors) when every tool is portable
    (:meth:`~tinytroupe.tools.base.TinyTool.portability_problem`): the worker rebuilds it from its saved
    faculty (:meth:`from_spec`) and the tools' state comes back with the agent's.
    """

    portable = True

    def __init__(self, tools: Iterable[TinyTool], allow_side_effects: bool = False, *,
                 max_result_chars: int = MAX_RESULT_CHARS, reask: bool = True,
                 content_chars: int = CONTENT_CHARS, typed_arguments: bool = True, name: str = "tool_use") -> None:
        tools = list(tools)
        for tool in tools:
            if not isinstance(tool, TinyTool):
                raise InvalidArgumentType(f"TinyToolUse takes TinyTool objects, got {type(tool).__name__}")
        if not tools:
            raise InvalidArgument("TinyToolUse needs at least one tool")
        if max_result_chars < 50:
            raise InvalidArgument(f"max_result_chars must be at least 50, got {max_result_chars}")
        if not 100 <= content_chars <= 100_000:
            raise InvalidArgument(f"content_chars must be from 100 to 100000, got {content_chars}")
        by_action: dict[str, TinyTool] = {}
        for tool in tools:
            if sum(t.name == tool.name for t in tools) > 1:
                raise InvalidArgument(f"two tools are named {tool.name!r}; tool names must be unique")
            for action in tool.operations:
                if action in by_action:
                    raise InvalidArgument(f"the tools {by_action[action].name!r} and {tool.name!r} both handle "
                                          f"{action}; give one of them to the agent")
                by_action[action] = tool
        typed_arguments = bool(typed_arguments)
        super().__init__(name, {a: describe_operation(t.operation(a), typed=typed_arguments)
                                for a, t in by_action.items()})
        self.typed_arguments = typed_arguments
        self._schemas: dict[str, dict[str, Any]] | None = None
        self._tools = tools
        self._by_action = by_action
        self.allow_side_effects = bool(allow_side_effects)
        self.max_result_chars = max_result_chars
        self.reask = reask
        self.content_chars = content_chars
        self._rendered: dict[int, tuple[dict[str, str], str]] = {}
        self._stats = dict.fromkeys(("calls", "errors", "reasks"), 0)

    @property
    def tools(self) -> list[TinyTool]:
        return list(self._tools)

    def action_argument_schemas(self) -> dict[str, dict[str, Any]]:
        """Each tool action's argument schema when :attr:`typed_arguments` is on (else none)."""
        if not self.typed_arguments:
            return {}
        if self._schemas is None:  # the same dicts every turn: the agent remembers their compact form
            self._schemas = {a: t.operation(a).args_schema() for a, t in self._by_action.items()}
        return dict(self._schemas)

    def tool_for(self, action: str) -> TinyTool | None:
        """The tool handling the action type ``action``, or None."""
        return self._by_action.get(action.strip().upper())

    # ------------------------------------------------------------------ the turn

    async def retrieve(self, turn: Turn) -> None:
        view = turn.view
        if view is None:
            return
        descriptions, rule = self._render(turn.agent.prompt_budget.tools)
        view.action_types = {**view.action_types, **descriptions}
        view.extra_rules = [*view.extra_rules, rule]

    def _render(self, budget: int) -> tuple[dict[str, str], str]:
        # Same budget, same text: the system message stays identical from turn to turn (prefix caches).
        if budget not in self._rendered:
            rule = rules_text(self.typed_arguments)
            ops = [self._by_action[a].operation(a) for a in self._by_action]
            self._rendered[budget] = (render_operations(ops, budget - estimate_tokens(rule),
                                                        typed=self.typed_arguments), rule)
        return self._rendered[budget]

    async def decide(self, turn: Turn) -> None:
        if turn.batch is None or turn.preview or not self.reask:
            return
        problems = [c for c in plan_calls(turn.batch.actions, self._by_action) if c.error is not None]
        if not problems or turn.spec is None:
            return
        self._stats["reasks"] += 1
        feedback = template("tool_arguments_feedback.j2").render(problems=[
            {"number": c.number, "action": c.action.type, "error": c.error.detail if c.error else "",
             "expected": self._expected(c)} for c in problems])
        # The re-ask uses the turn's own spec: with typed arguments the same schema, arguments as objects.
        messages = [*turn.messages, Message(role="assistant", content=self._answer_text(turn.batch)),
                    Message(role="user", content=feedback)]
        spec = turn.spec
        try:
            result = await turn.client.acomplete(messages, response_model=spec.model, response_schema=spec.schema,
                                                 validation_context=spec.context, purpose="tool_arguments",
                                                 agent=turn.agent.name, world=turn.world, step=turn.step)
        except LLMError as exc:
            # the first answer stands: its wrong calls become error observations in act
            self._warn(turn, "tool_reask_failed", f"{turn.agent.name}: asking again for tool arguments failed: {exc}")
            return
        turn.batch = ActionBatch.model_validate(result.value.model_dump())
        turn.notes[self.name] = {"reasked": [c.number for c in problems]}

    def _expected(self, call: PlannedCall) -> str:
        if call.op is None:
            return "one of " + ", ".join(call.tool.operations)
        return ("an object " if self.typed_arguments else "JSON ") + signature(call.op.args_schema(), detail=0)

    def _answer_text(self, batch: ActionBatch) -> str:
        """The answer as the model gave it: with typed arguments a tool action's content is an object."""
        answer = batch.model_dump(mode="json")
        if self.typed_arguments:
            for action in answer["actions"]:
                if action["type"] in self._by_action:
                    action["content"] = _as_object(action["content"])
        return json.dumps(answer, ensure_ascii=False)

    async def act(self, turn: Turn) -> None:
        if turn.preview:
            return
        await self._execute(turn.agent, turn.actions, turn.world, turn.step)

    async def _execute(self, agent: TinyPerson, actions: Iterable[Action], world: str | None,
                       step: int | None) -> list[CallOutcome]:
        planned = plan_calls(list(actions), self._by_action)
        if not planned:
            return []
        outcomes = await run_calls(planned, agent=agent, world=world, step=step,
                                   allow_side_effects=self.allow_side_effects)
        # Events and observations in call order, whatever order the calls ended in: traces stay reproducible.
        for outcome in outcomes:
            self._report(agent, outcome, world, step)
        return outcomes

    def _report(self, agent: TinyPerson, outcome: CallOutcome, world: str | None, step: int | None) -> None:
        call, error = outcome.call, outcome.error
        action = call.op.action if call.op is not None else call.action.type
        self._stats["calls"] += 1
        text = self._result_text(outcome)
        agent._publish(ToolCallEvent(
            tool=call.tool.name, action=action, call_id=outcome.call_id, number=call.number, ok=error is None,
            error_type=type(error).__name__ if error else None, error=error.detail if error else None,
            duration_s=outcome.duration_s, waited_s=outcome.waited_s,
            arguments=call.action.content[:EVENT_ARGUMENT_CHARS], result_chars=len(text) if error is None else 0,
            agent=agent.name, world=world, step=step))
        if error is not None:
            self._stats["errors"] += 1
            if isinstance(error, ToolExecutionError):
                self._warn_agent(agent, world, step, "tool_failed", f"{agent.name}: {error}",
                                 {"tool": call.tool.name, "action": action, "number": call.number})
            else:
                logger.info("%s: tool action %d not carried out: %s", agent.name, call.number, error)
        observation = template("tool_result.j2").render(
            ok=error is None, action=action, number=call.number, tool=call.tool.name, text=text,
            error=error.detail if error else "")
        agent._perceive(StimulusType.TOOL_RESULT, observation.strip(), call.tool.name)

    def _result_text(self, outcome: CallOutcome) -> str:
        if outcome.result is None:
            return ""
        text = outcome.result.model_dump_json()
        if len(text) > self.max_result_chars:
            rest = len(text) - self.max_result_chars
            text = f"{text[: self.max_result_chars]}… ({rest} more characters not shown)"
        return text

    def _warn(self, turn: Turn, code: str, message: str) -> None:
        self._warn_agent(turn.agent, turn.world, turn.step, code, message, {})

    @staticmethod
    def _warn_agent(agent: TinyPerson, world: str | None, step: int | None, code: str, message: str,
                    data: dict[str, Any]) -> None:
        logger.warning("%s", message)
        agent._publish(WarningEvent(code=code, message=message, agent=agent.name, world=world, step=step, data=data))

    # ------------------------------------------------------------------ TinyTroupe's faculty API

    def process_action(self, agent: TinyPerson, action: Action) -> bool:
        """Carry out one tool action now (outside a turn); True if it is one of these tools' actions.

        Inside a turn the agent's tool actions run in the ``act`` phase instead, all at once.

        Raises:
            InvalidState: called from a coroutine on tinytroupe's event loop.
        """
        if self.tool_for(action.type) is None:
            return False
        run_sync(self._execute(agent, [action], agent._world_name(), agent._step()))
        return True

    # ------------------------------------------------------------------ state

    def portability_problem(self) -> str | None:
        problem = super().portability_problem()  # a subclass (MarketAccess) may read its world: it says so itself
        if problem is not None:
            return problem
        problems = [p for tool in self._tools if (p := tool.portability_problem()) is not None]
        return "; ".join(problems) if problems else None

    def get_statistics(self) -> dict[str, int]:
        """Calls carried out or refused, those that failed, and turns whose tool arguments were asked again."""
        return dict(self._stats)

    def get_state(self) -> dict[str, Any]:
        tools = {t.name: s for t in self._tools if (s := t.get_state())}
        if not tools and not any(self._stats.values()):
            return {}
        return {"tools": tools, "stats": dict(self._stats)}

    def set_state(self, state: Mapping[str, Any]) -> None:
        saved = dict(state.get("tools") or {})
        unknown = sorted(set(saved) - {t.name for t in self._tools})
        if unknown:
            raise ScenarioError(f"the saved tool use state has tools this agent lacks: {', '.join(unknown)}")
        for tool in self._tools:
            if tool.name in saved:
                tool.set_state(saved[tool.name])
        saved_stats = dict(state.get("stats") or {})  # none saved: nothing was counted (an exact restore, not a merge)
        self._stats = {k: int(saved_stats.get(k, 0)) for k in self._stats}

    def to_spec(self) -> dict[str, Any]:
        """The faculty as saved with the agent: its tools (class, name, owner), settings and state."""
        return {**super().to_spec(), "allow_side_effects": self.allow_side_effects,
                "max_result_chars": self.max_result_chars, "reask": self.reask, "content_chars": self.content_chars,
                "typed_arguments": self.typed_arguments,
                "tools": [{"type": type(t).__name__, "module": type(t).__module__, "name": t.name,
                           "owner": _owner_name(t)} for t in self._tools]}

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> TinyToolUse:
        """Rebuild a saved faculty: each tool's class (defined here, i.e. imported) is built with no
        arguments, given its saved owner, and the saved state goes back into the tools.

        Raises:
            ScenarioError: a tool's class is not defined here, or needs constructor arguments (build the
                faculty with its tools, add it to the agent, then load the agent's state into it).
        """
        tools = [_rebuild_tool(dict(entry)) for entry in spec.get("tools") or []]
        faculty = cls(tools, bool(spec.get("allow_side_effects", False)),
                      max_result_chars=int(spec.get("max_result_chars", MAX_RESULT_CHARS)),
                      reask=bool(spec.get("reask", True)), content_chars=int(spec.get("content_chars", CONTENT_CHARS)),
                      typed_arguments=bool(spec.get("typed_arguments", True)), name=str(spec.get("name", "tool_use")))
        faculty.set_state(spec.get("state") or {})
        return faculty


def _as_object(content: str) -> Any:
    try:
        value = json.loads(content)
    except json.JSONDecodeError:
        return content
    return value if isinstance(value, dict) else content


def _owner_name(tool: TinyTool) -> str | None:
    owner = tool.owner
    return owner if isinstance(owner, str) or owner is None else owner.name


def _subclasses(root: type[TinyTool]) -> Iterable[type[TinyTool]]:
    for sub in root.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _rebuild_tool(entry: dict[str, Any]) -> TinyTool:
    kind = str(entry.get("type", ""))
    # The module saved with the class tells two tools of one name apart. Only tinytroupe's own modules are
    # imported, others only looked in when already imported (loading an agent, or rebuilding it in a worker
    # process, never imports code its state names). Older saves have the name alone.
    found: type[TinyTool] | None = None
    if entry.get("module"):
        try:
            found = import_portable(str(entry["module"]), kind, TinyTool, what=f"tool {entry.get('name')!r}")
        except ScenarioError:
            found = None
    if found is None:
        found = next((c for c in _subclasses(TinyTool) if c.__name__ == kind), None)
    if found is None:
        raise ScenarioError(f"the saved agent uses a tool of type {kind!r}, which is not defined here; import the "
                            "module that defines it before loading")
    try:
        tool = found()  # type: ignore[call-arg]
    except TypeError as exc:
        raise ScenarioError(f"cannot rebuild the saved tool {entry.get('name')!r}: {kind}() needs arguments; build "
                            "TinyToolUse with its tools, add it to the agent, then load the agent's state") from exc
    if entry.get("name") and tool.name != entry["name"]:
        raise ScenarioError(f"the saved tool {entry['name']!r} is rebuilt by {kind}() as {tool.name!r}; build "
                            "TinyToolUse with its tools, add it to the agent, then load the agent's state")
    tool.owner = entry.get("owner")
    return tool


__all__ = ["CONTENT_CHARS", "MAX_RESULT_CHARS", "TinyToolUse"]
