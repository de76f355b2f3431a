"""``tinytroupe chat``: every message the user types gets a visible reply."""

from __future__ import annotations

import io
import re

from helpers import turn
from rich.console import Console
from typer.testing import CliRunner

from tinytroupe.agent import TinyPerson
from tinytroupe.chat_session import chat_loop
from tinytroupe.cli import app
from tinytroupe.llm import LLMClient, ScriptedBackend

MESSAGES = ["Hello Lisa!", "How was your week?", "What are you working on?", "Do you like cycling?",
            "Any plans for the weekend?"]


def replies_per_message(output: str) -> list[str]:
    """The text printed after each "You: " prompt (the last one is the prompt answered with /quit)."""
    body = output.split("Type /quit to leave.", 1)[1]
    return body.split("You: ")[1:]


def test_chat_on_the_scripted_backend_answers_every_message() -> None:
    result = CliRunner().invoke(app, ["chat", "lisa", "--backend", "scripted"],
                                input="\n".join([*MESSAGES, "/quit"]) + "\n")
    assert result.exit_code == 0, result.output
    replies = replies_per_message(result.output)
    assert len(replies) == len(MESSAGES) + 1
    for message, reply in zip(MESSAGES, replies, strict=False):
        assert re.search(r"^Lisa Brennan: \S", reply, re.M), f"no reply to {message!r}: {reply!r}"
    assert replies[-1].strip() == ""  # /quit: nothing more


def test_chat_says_so_when_the_persona_stays_silent() -> None:
    backend = ScriptedBackend([turn(("THINK", "I'd rather not answer")), turn(("TALK", "Fine, hello.", "You"))])
    agent = TinyPerson("Ana", client=LLMClient(backend))
    console = Console(file=io.StringIO(), record=True, width=100, color_system=None)
    lines = iter(["Hi", "Hi again", "/quit"])
    assert chat_loop(agent, lambda prompt: next(lines), console) == 2
    text = console.export_text()
    assert "(Ana thinks: I'd rather not answer)\n(Ana says nothing.)" in text
    assert "Ana: Fine, hello." in text and text.count("says nothing") == 1
