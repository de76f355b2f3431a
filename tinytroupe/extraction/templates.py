"""The extraction package's prompt templates (``extraction/prompts/*.j2``), loaded once per process.

Example:
    >>> "JSON object" in render_template("extract_system.j2", fields=[])
    True
"""

from __future__ import annotations

from typing import Any

import jinja2

from tinytroupe.lazy import Lazy


@Lazy
def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("tinytroupe.extraction", "prompts"),
                              autoescape=False, undefined=jinja2.StrictUndefined)


def render_template(name: str, **values: Any) -> str:
    """Template ``name`` rendered with ``values`` (a missing value is an error, never an empty text)."""
    return _env().get_template(name).render(**values)


__all__ = ["render_template"]
