"""Prompt templates that ship beside the code using them: one jinja2 environment per folder, built on
first use (importing a package loads no template), for plain text (no HTML escaping), strict about
undefined names, and never checking the files for edits (they do not change while a process runs).

Example:
    >>> folder = PromptFolder("tinytroupe.tools")
    >>> "{{ error }}" in folder.source("tool_result.j2")
    True
    >>> story = PromptFolder("tinytroupe.steering")
    >>> "the story's opening" in story.render("story_system.j2", starting=True, purpose="a reunion")
    True
"""

from __future__ import annotations

from typing import Any

import jinja2

from tinytroupe.lazy import Lazy


class PromptFolder:
    """The ``*.j2`` templates in ``folder`` of ``package``; ``options`` go to :class:`jinja2.Environment`
    (``trim_blocks=True``, say) over the shared defaults."""

    def __init__(self, package: str, folder: str = "prompts", **options: Any) -> None:
        settings: dict[str, Any] = {"autoescape": False, "undefined": jinja2.StrictUndefined,
                                    "keep_trailing_newline": False, "auto_reload": False, **options}
        self._env: Lazy[jinja2.Environment] = Lazy(
            lambda: jinja2.Environment(loader=jinja2.PackageLoader(package, folder), **settings))

    def template(self, name: str) -> jinja2.Template:
        """The template ``name`` (loaded once per process)."""
        return self._env.get().get_template(name)

    def render(self, name: str, /, **values: Any) -> str:
        """The template ``name`` rendered with ``values`` (a missing value is an error, never an empty text);
        ``name`` is positional only, so a template may have a value called ``name`` too."""
        return self.template(name).render(**values)

    def source(self, name: str) -> str:
        """The text of a template as written (for tests and documentation)."""
        env = self._env.get()
        assert env.loader is not None  # set above
        text, _, _ = env.loader.get_source(env, name)
        return text


__all__ = ["PromptFolder"]
