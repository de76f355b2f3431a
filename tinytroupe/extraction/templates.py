"""The extraction package's prompt templates (``extraction/prompts/*.j2``), loaded once per process.

Example:
    >>> "JSON object" in render_template("extract_system.j2", fields=[])
    True
"""

from __future__ import annotations

from tinytroupe.prompt_folder import PromptFolder

_FOLDER = PromptFolder("tinytroupe.extraction")

#: template ``name`` rendered with ``values`` (a missing value is an error, never an empty text)
render_template = _FOLDER.render


__all__ = ["render_template"]
