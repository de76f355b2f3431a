"""Talking to one persona interactively, as ``tinytroupe chat`` does.

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

from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from tinytroupe.agent.person import TinyPerson
from tinytroupe.agent.persona import Persona, load_persona_file
from tinytroupe.errors import LLMError, ScenarioError
from tinytroupe.examples import list_example_personas, load_example_persona
from tinytroupe.terminal import show

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


def chat_loop(agent: TinyPerson, read_line: Callable[[str], str], console: Console, *,
              speaker: str = "You") -> int:
    """Read lines until EOF or ``/quit``; the agent hears each and acts. Returns the number of turns."""
    console.print(f"[bold]Chatting with {show(agent.name)}[/] — {show(agent.minibio())}\n"
                  "[dim]Type /quit to leave.[/]")
    turns = 0
    while True:
        try:
            line = read_line(f"{speaker}: ")
        except EOFError:
            break
        text = line.strip()
        if not text:
            continue
        if text in QUIT_WORDS:
            break
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


__all__ = ["chat_loop", "load_chat_persona"]
