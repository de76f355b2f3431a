"""The agent's prompt templates (``*.j2`` beside this file) and the one function that loads them.

Cognition renders the action prompt from them and memory its consolidation, importance and
reflection prompts; the loader lives here, apart from both, so neither has to import the other.
"""

from __future__ import annotations

from tinytroupe.prompt_folder import PromptFolder

_FOLDER = PromptFolder("tinytroupe.agent")

#: a template of this folder (loaded once per process)
template = _FOLDER.template
#: the text of a template as written (for tests and documentation)
source = _FOLDER.source

__all__ = ["source", "template"]
