"""The factory's prompt templates (``*.j2`` beside this file) and the function that loads them."""

from __future__ import annotations

from tinytroupe.prompt_folder import PromptFolder

_FOLDER = PromptFolder("tinytroupe.factory", trim_blocks=True, lstrip_blocks=True)

#: a template of this folder (loaded once per process)
template = _FOLDER.template

__all__ = ["template"]
