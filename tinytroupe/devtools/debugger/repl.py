"""The debugger's command prompt (``tinytroupe debug``): one command a line, read from any source.

Before the run starts, set breakpoints; ``continue``, ``step`` or ``turn`` start it. At each pause,
look (``show``, ``state``, ``memories``, ``prompt``, ``next``, ``events``), change (``edit``,
``delete``), and go on. ``quit`` (or the end of the input) stops the run and leaves. Type ``help``.

Example (commands fed from a list, output to a console that writes nowhere):
    >>> import io
    >>> from rich.console import Console
    >>> from tinytroupe.devtools.debugger import Debugger
    >>> lines = iter(["break agent=Ana", "breaks", "quit"])
    >>> repl = DebugRepl(Debugger(), Console(file=io.StringIO()), lambda prompt: next(lines),
    ...                  start=lambda stop_at, agent: None)
    >>> repl.loop()
    >>> repl.debugger.breakpoints[0].describe()
    'agent=Ana'
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from typing import Any

from rich.console import Console

from tinytroupe.devtools.debugger.debugger import Debugger, StopAt
from tinytroupe.devtools.debugger.pausing import Pause
from tinytroupe.devtools.debugger.state_edit import parse_value
from tinytroupe.devtools.debugger.views import (
    agent_view,
    breakpoints_view,
    events_view,
    memories_view,
    messages_view,
    pause_view,
    turn_view,
)
from tinytroupe.errors import InvalidArgument, TinyTroupeError
from tinytroupe.terminal import printable, show

PROMPT = "(debug) "

HELP = """commands (arguments in CAPITALS; quote values with spaces):
  break SPEC            set a breakpoint: agent=NAME action=TYPE kind=KIND text=WORDS step=N error (ANDed)
  breaks                list the breakpoints;      clear [N]   remove breakpoint N (or all)
  continue | c          run to the next breakpoint (or the end)
  step | s              run to the end of the next world step
  turn [AGENT] | t      run until the next turn (of AGENT) has ended
  where | w             where the run is paused
  agents                the agents;                 show AGENT  persona, cognitive state, other state, memories
  state AGENT [PATH]    the whole state (JSON), or the part at PATH (e.g. persona.age, memory.items[-1])
  memories AGENT [N]    the last N memories (20)
  prompt AGENT [TURN]   the exact messages and answer of a turn (default: the last; turns count from 1)
  next AGENT            the prompt AGENT's next turn would send now
  edit AGENT PATH VALUE change the state at PATH (VALUE: JSON, or plain text); recorded in the trace
  delete AGENT PATH     remove the part at PATH (a memory, a persona field); recorded in the trace
  events [N]            the last N events (20)
  quit | q              stop the run and leave"""

_ALIASES = {"b": "break", "c": "continue", "cont": "continue", "s": "step", "t": "turn", "w": "where", "q": "quit",
            "exit": "quit", "h": "help", "?": "help", "p": "prompt", "n": "next"}


class DebugRepl:
    """Reads commands with ``read(prompt)`` and runs them on ``debugger``, printing to ``console``.

    ``start(stop_at, agent)`` starts the run (its first ``continue``, ``step`` or ``turn``) and returns the
    first pause; the end of the input (``EOFError``) is ``quit``.
    """

    def __init__(self, debugger: Debugger, console: Console, read: Callable[[str], str],
                 start: Callable[[StopAt, str | None], Pause | None]) -> None:
        self.debugger = debugger
        self.console = console
        self.read = read
        self.start = start
        self.started = False
        self.last: Pause | None = None
        self._commands: dict[str, Callable[[list[str]], None]] = {
            "break": self._break, "breaks": self._breaks, "clear": self._clear, "continue": self._continue,
            "step": self._step, "turn": self._turn, "where": self._where, "agents": self._agents,
            "show": self._show, "state": self._state, "memories": self._memories, "prompt": self._prompt,
            "next": self._next, "edit": self._edit, "delete": self._delete, "events": self._events,
            "help": lambda args: self.console.print(HELP, markup=False, highlight=False),
        }

    def loop(self) -> None:
        """Read and run commands until ``quit`` or the end of the input."""
        while True:
            try:
                line = self.read(PROMPT)
            except (EOFError, KeyboardInterrupt):
                self._quit()
                return
            if not self.execute(line):
                return

    def execute(self, line: str) -> bool:
        """Run one command line; False when it was ``quit``."""
        try:
            words = shlex.split(line)
        except ValueError as exc:
            self.console.print(f"[red]error:[/] {show(str(exc))}")
            return True
        if not words:
            return True
        name, args = _ALIASES.get(words[0].lower(), words[0].lower()), words[1:]
        if name == "quit":
            self._quit()
            return False
        command = self._commands.get(name)
        if command is None:
            self.console.print(f"[red]unknown command[/] {show(words[0])!r}; type help")
            return True
        try:
            command(args)
        except TinyTroupeError as exc:
            self.console.print(f"[red]error:[/] {show(str(exc))}")
        return True

    # ------------------------------------------------------------------ going on

    def _resume(self, stop_at: StopAt, agent: str | None = None) -> None:
        if self.last is not None and self.last.over:
            self.console.print("the run is over; look around, or quit to leave")
            return
        if not self.started:
            self.started = True
            pause = self.start(stop_at, agent)
        elif stop_at == "step":
            pause = self.debugger.step()
        elif stop_at == "turn":
            pause = self.debugger.turn(agent)
        else:
            pause = self.debugger.continue_()
        if pause is not None:
            self.last = pause
            self.console.print(pause_view(pause))

    def _continue(self, args: list[str]) -> None:
        self._resume("breakpoint")

    def _step(self, args: list[str]) -> None:
        self._resume("step")

    def _turn(self, args: list[str]) -> None:
        self._resume("turn", args[0] if args else None)

    def _quit(self) -> None:
        if self.debugger.paused is not None:
            self.console.print(pause_view(self.debugger.quit()))

    def _where(self, args: list[str]) -> None:
        self.console.print(pause_view(self.last) if self.last is not None else "not started: continue, step or "
                           "turn starts the run")

    # ------------------------------------------------------------------ breakpoints

    def _break(self, args: list[str]) -> None:
        bp = self.debugger.break_on(" ".join(shlex.quote(a) for a in args))
        self.console.print(f"breakpoint #{bp.id}: {show(bp.describe())}")

    def _breaks(self, args: list[str]) -> None:
        self.console.print(breakpoints_view(self.debugger.breakpoints))

    def _clear(self, args: list[str]) -> None:
        self.debugger.clear(_number(args[0], "breakpoint") if args else None)
        self.console.print("cleared")

    # ------------------------------------------------------------------ looking and changing

    def _agents(self, args: list[str]) -> None:
        self.console.print(show(", ".join(self.debugger.agents()) or "no agents yet (the world is built when "
                                                                      "the run starts)"))

    def _show(self, args: list[str]) -> None:
        self.console.print(agent_view(self.debugger.show(_need(args, 1, "show AGENT")[0])))

    def _state(self, args: list[str]) -> None:
        agent, *rest = _need(args, 1, "state AGENT [PATH]")
        value = self.debugger.state(agent, rest[0] if rest else None)
        self.console.print(printable(json.dumps(value, indent=2, ensure_ascii=False)), markup=False, highlight=False)

    def _memories(self, args: list[str]) -> None:
        agent, *rest = _need(args, 1, "memories AGENT [N]")
        self.console.print(memories_view(self.debugger.memories(agent, _number(rest[0], "N") if rest else 20)))

    def _prompt(self, args: list[str]) -> None:
        agent, *rest = _need(args, 1, "prompt AGENT [TURN]")
        self.console.print(turn_view(self.debugger.prompt(agent, _number(rest[0], "TURN") if rest else None)))

    def _next(self, args: list[str]) -> None:
        agent = _need(args, 1, "next AGENT")[0]
        self.console.print(messages_view(self.debugger.next_prompt(agent), f"{agent}'s next prompt"))

    def _edit(self, args: list[str]) -> None:
        agent, path, *words = _need(args, 3, "edit AGENT PATH VALUE")
        event = self.debugger.edit(agent, path, parse_value(" ".join(words)))
        self.console.print(f"{show(agent)}.{show(path)}: {show(_json(event.before))} -> {show(_json(event.after))}")

    def _delete(self, args: list[str]) -> None:
        agent, path = _need(args, 2, "delete AGENT PATH")[:2]
        event = self.debugger.delete(agent, path)
        self.console.print(f"{show(agent)}.{show(path)} deleted (was {show(_json(event.before))})")

    def _events(self, args: list[str]) -> None:
        self.console.print(events_view(self.debugger.events(_number(args[0], "N") if args else 20)))


def _need(args: list[str], count: int, usage: str) -> list[str]:
    if len(args) < count:
        raise InvalidArgument(f"usage: {usage}")
    return args


def _number(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidArgument(f"{what} must be a number, got {text!r}") from None


def _json(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 200 else text[:199] + "…"


__all__ = ["HELP", "PROMPT", "DebugRepl"]
