"""The factory's prompt templates (``*.j2`` beside this file) and the function that loads them."""

from __future__ import annotations

import jinja2

from tinytroupe.lazy import Lazy


@Lazy
def _env() -> jinja2.Environment:
    # Prompts are plain text (no HTML escaping); templates ship with the package, so no reload checks.
    return jinja2.Environment(loader=jinja2.PackageLoader("tinytroupe.factory", "prompts"), autoescape=False,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              auto_reload=False)


def template(name: str) -> jinja2.Template:
    """A template from ``tinytroupe/factory/prompts`` (loaded once per process)."""
    return _env().get_template(name)


__all__ = ["template"]
