"""The prompt templates of the analysis's insights (``*.j2`` beside this file) and the function that loads them.

Example:
    >>> "{{ events }}" in source("insight_user.j2")
    True
"""

from __future__ import annotations

import jinja2

from tinytroupe.lazy import Lazy


@Lazy
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("tinytroupe.analysis", "prompts"),
        autoescape=False,  # prompts are plain text, not HTML
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        auto_reload=False,  # shipped with the package: no stat of the file at every render
    )


def template(name: str) -> jinja2.Template:
    """A template from ``tinytroupe/analysis/prompts`` (loaded once per process)."""
    return _env().get_template(name)


def source(name: str) -> str:
    """The text of a template as written (for tests and documentation)."""
    env = _env()
    assert env.loader is not None  # set above
    text, _, _ = env.loader.get_source(env, name)
    return text


__all__ = ["source", "template"]
