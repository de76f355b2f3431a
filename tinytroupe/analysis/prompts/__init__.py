"""The prompt templates of the analysis's insights (``*.j2`` beside this file) and the function that loads them.

Example:
    >>> "{{ events }}" in source("insight_user.j2")
    True
"""

from __future__ import annotations

from tinytroupe.prompt_folder import PromptFolder

_FOLDER = PromptFolder("tinytroupe.analysis")

#: a template of this folder (loaded once per process)
template = _FOLDER.template
#: the text of a template as written (for tests and documentation)
source = _FOLDER.source

__all__ = ["source", "template"]
