"""The agent's prompt templates (``*.j2`` beside this file) and the one function that loads them.

Cognition renders the action prompt from them and memory its consolidation, importance and
reflection prompts; the loader lives here, apart from both, so neither has to import the other.
"""

from __future__ import annotations

import jinja2

from tinytroupe.lazy import Lazy


@Lazy
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("tinytroupe.agent", "prompts"),
        autoescape=False,  # prompts are plain text, not HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=False,
        # The templates ship inside the package and do not change while a process runs: without this,
        # every get_template() stats the file to check for edits, twice per agent turn.
        auto_reload=False,
    )


def template(name: str) -> jinja2.Template:
    """A template from ``tinytroupe/agent/prompts`` (loaded once per process)."""
    return _env().get_template(name)


def source(name: str) -> str:
    """The text of a file in ``tinytroupe/agent/prompts`` as written, not rendered: the claims of the
    action quality checks (``claim_*.j2``), whose ``{{action}}`` is filled in by
    :func:`tinytroupe.agent.judging.render_claim` as any proposition's claim is.

    Example:
        >>> "{{action}}" in source("claim_action_fluency.j2")
        True
    """
    env = _env()
    assert env.loader is not None  # set above
    text, _, _ = env.loader.get_source(env, name)
    return text


__all__ = ["source", "template"]
