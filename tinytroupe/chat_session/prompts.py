"""The chat's prompt templates (``prompts/*.j2`` beside this module) and their loader.

Example:
    >>> "Stay in character" in render("chat_system.j2", name="Ana", speaker="You", persona="Name: Ana", tools=[])
    True
"""

from __future__ import annotations

from typing import Any

from tinytroupe.prompt_folder import PromptFolder

_FOLDER = PromptFolder("tinytroupe.chat_session")


def render(template: str, **values: Any) -> str:
    """Render ``template`` from ``tinytroupe/chat_session/prompts``."""
    return _FOLDER.render(template, **values).strip()


__all__ = ["render"]
