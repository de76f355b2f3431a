"""Talking to one persona interactively, as ``tinytroupe chat`` does: the persona's own turns
(:meth:`TinyPerson.listen_and_act`), or, with tools, a :class:`~tinytroupe.chat_session.session.ChatSession`
whose tool calls show as they happen.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.llm import LLMClient
    >>> from tinytroupe.llm.demo import demo_backend
    >>> import io
    >>> from rich.console import Console
    >>> agent = TinyPerson("Ana", client=LLMClient(demo_backend()))
    >>> lines = iter(["Hello!", "/quit"])
    >>> chat_loop(agent, lambda prompt: next(lines), Console(file=io.StringIO()))
    1
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from rich.console import Console

from tinytroupe.agent.person import TinyPerson
from tinytroupe.agent.persona import Persona, load_persona_file
from tinytroupe.chat_session.session import ChatSession
from tinytroupe.config import ChatSettings
from tinytroupe.display import tool_call_line
from tinytroupe.errors import InvalidArgument, LLMError, ScenarioError, TinyTroupeError
from tinytroupe.events import Event, ToolCallEvent
from tinytroupe.examples import list_example_personas, load_example_persona
from tinytroupe.terminal import show
from tinytroupe.tools.base import TinyTool
from tinytroupe.tools.names import build_tool

QUIT_WORDS = {"/quit", "/exit", ":q"}


def load_chat_persona(ref: str) -> Persona:
    """A persona from a ``.agent.json`` path, or the name of an example persona."""
    path = Path(ref)
    if path.exists():
        loaded = load_persona_file(path)
        if not isinstance(loaded, Persona):
            raise ScenarioError(f"{path}: this is a Fragment; chat needs a TinyPerson file", path=str(path))
        return loaded
    if ref in list_example_personas():
        return load_example_persona(ref)
    raise ScenarioError(f"{ref!r} is neither a persona file nor an example persona; examples: "
                        f"{', '.join(list_example_personas())}", path=ref)


def chat_tools(refs: Sequence[str], console: Console | None = None) -> list[TinyTool]:
    """The tools ``tinytroupe chat --tool`` names (core names or ``module:Class``), each built with its
    defaults; listed on ``console`` when given.

    Raises:
        InvalidArgument: a tool cannot be loaded or built (the message names the ``--tool`` value).
    """
    tools = []
    for ref in refs:
        try:
            tools.append(build_tool(ref))
        except TinyTroupeError as exc:
            message = str(exc) if str(exc).startswith(repr(ref)) else f"{ref!r}: {exc}"
            raise InvalidArgument(f"--tool {message}") from None
        except Exception as exc:  # a tool's constructor failing: say which and why, not a traceback
            raise InvalidArgument(f"--tool {ref!r}: building it failed ({type(exc).__name__}: {exc})") from None
    if console is not None and tools:
        console.print("[dim]tools: " + show("; ".join(f"{t.name} ({', '.join(t.operations)})" for t in tools)) + "[/]")
    return tools


def _lines(read_line: Callable[[str], str], speaker: str) -> Iterator[str]:
    """The user's messages until EOF or a quit word (blank lines skipped)."""
    while True:
        try:
            text = read_line(f"{speaker}: ").strip()
        except EOFError:
            return
        if text in QUIT_WORDS:
            return
        if text:
            yield text


def chat_loop(agent: TinyPerson, read_line: Callable[[str], str], console: Console, *,
              speaker: str = "You", tools: Sequence[TinyTool] = (), session: ChatSession | None = None,
              settings: ChatSettings | None = None) -> int:
    """Read lines until EOF or ``/quit``; the agent hears each and acts. Returns the number of turns.

    With ``tools`` (or a ready ``session``) the persona answers through a :class:`ChatSession` and
    may use them (``settings``: its ``[Chat]`` settings); each tool call is shown as it ends
    (``🔧 Ana WRITE_DOCUMENT(title=…) → ok 12 ms``).
    """
    console.print(f"[bold]Chatting with {show(agent.name)}[/] — {show(agent.minibio())}\n"
                  "[dim]Type /quit to leave.[/]")
    if session is not None or tools:
        session = session or ChatSession(agent, tools, speaker=speaker, settings=settings)
        return _session_loop(session, read_line, console, speaker)
    turns = 0
    for text in _lines(read_line, speaker):
        try:
            actions = agent.listen_and_act(text, return_actions=True, source=speaker) or []
        except LLMError as exc:
            # The conversation so far stays in memory; the user can retry or quit.
            console.print(f"[bold red]The model failed on this turn:[/] {show(str(exc))}")
            continue
        turns += 1
        for action in actions:
            if action.type == "TALK":
                console.print(f"[bold cyan]{show(agent.name)}:[/] {show(action.content)}")
            elif action.type == "THINK":
                console.print(f"[dim italic]({show(agent.name)} thinks: {show(action.content)})[/]")
        if not any(a.type == "TALK" for a in actions):
            # A model may choose silence; say so, or the user cannot tell it from a hang.
            console.print(f"[dim]({show(agent.name)} says nothing.)[/]")
    return turns


def _session_loop(session: ChatSession, read_line: Callable[[str], str], console: Console, speaker: str) -> int:
    name = show(session.agent.name)

    def show_call(event: Event) -> None:
        if isinstance(event, ToolCallEvent):
            console.print(tool_call_line(event))

    token = session.bus.subscribe(show_call, kinds=["tool_call"])
    turns = 0
    try:
        for text in _lines(read_line, speaker):
            try:
                reply = session.respond(text)
            except LLMError as exc:
                console.print(f"[bold red]The model failed on this turn:[/] {show(str(exc))}")
                continue
            turns += 1
            if reply.text.strip():
                console.print(f"[bold cyan]{name}:[/] {show(reply.text)}")
            else:
                console.print(f"[dim]({name} says nothing.)[/]")
            if reply.stopped_early:
                console.print(f"[dim]({name} was still calling tools after {session.settings.max_tool_rounds} "
                              "rounds, the most allowed ([Chat] MAX_TOOL_ROUNDS).)[/]")
    finally:
        session.bus.unsubscribe(token)
    return turns


__all__ = ["chat_loop", "chat_tools", "load_chat_persona"]
