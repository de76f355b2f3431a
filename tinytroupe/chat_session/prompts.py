"""The chat's prompt templates (``prompts/*.j2`` beside this module) and their loader.

Example:
    >>> "Stay in character" in render("chat_system.j2", name="Ana", speaker="You", persona="Name: Ana", tools=[])
    True
"""

from __future__ import annotations

from typing import Any

import jinja2

from tinytroupe.lazy import Lazy


@Lazy
def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("tinytroupe.chat_session", "prompts"),
                              autoescape=False,  # prompts are plain text, not HTML
                              undefined=jinja2.StrictUndefined, auto_reload=False)


def render(template: str, **values: Any) -> str:
    """Render ``template`` from ``tinytroupe/chat_session/prompts``."""
    return _env().get_template(template).render(**values).strip()


__all__ = ["render"]
