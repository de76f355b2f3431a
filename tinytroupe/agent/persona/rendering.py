"""The persona as prompt text: a stable block per field, most important first, cut to a budget.

Example:
    >>> from tinytroupe.agent.persona.fields import PersonaFields
    >>> print(render_text(PersonaFields(name="Ana", skills=["sewing", "chess"]), max_chars=None))
    Name: Ana
    Skills:
    - sewing
    - chess
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from tinytroupe.agent.persona.fields import PersonaFields

TRUNCATION_MARKER = "…"


def _label(key: str) -> str:
    text = key.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _inline(value: Any) -> str:
    """One line for any JSON value, stable for the same input."""
    if isinstance(value, BaseModel):
        value = value.model_dump(exclude_unset=True)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_inline(v)}" for k, v in value.items() if v is not None)
    if isinstance(value, list | tuple):
        items = [_inline(v) for v in value]
        # Sentences read best run together; short phrases need a separator.
        sentences = all(item.rstrip().endswith((".", "!", "?")) for item in items)
        return (" " if sentences else "; ").join(items)
    return json.dumps(value, ensure_ascii=False)


def _block(label: str, value: Any) -> str | None:
    """``Label: value``, or a bulleted list under ``Label:``; None when there is nothing to say."""
    if value is None or value == [] or value == {}:
        return None
    if isinstance(value, BaseModel):
        value = value.model_dump(exclude_unset=True)
    if isinstance(value, list | tuple):
        return f"{label}:\n" + "\n".join(f"- {_inline(item)}" for item in value)
    if isinstance(value, dict) or (not isinstance(value, str | int | float) and isinstance(value, Mapping)):
        lines = [f"- {k.replace('_', ' ')}: {_inline(v)}" for k, v in value.items() if v is not None]
        return f"{label}:\n" + "\n".join(lines) if lines else None
    return f"{label}: {_inline(value)}"


def _extras_blocks(model: BaseModel | None, prefix: str = "") -> list[str | None]:
    if model is None or not model.model_extra:
        return []
    return [_block(prefix + _label(k), v) for k, v in model.model_extra.items()]


def _render_blocks(p: PersonaFields) -> list[str]:
    blocks: list[str | None] = [
        _block("Name", p.name),
        _block("Age", p.age),
        _block("Gender", p.gender),
        _block("Nationality", p.nationality),
    ]
    job = p.occupation
    if job is not None:
        head = " at ".join(x for x in (job.title, job.organization) if x)
        # Title and description are separate blocks so that a tight budget keeps at least the title.
        blocks += [_block("Occupation", head or None), _block("Job description", job.description)]
        blocks += _extras_blocks(job, "Occupation ")
    blocks += [_block("Residence", p.residence), _block("Education", p.education)]
    if p.personality is not None:
        blocks.append(_block("Personality traits", p.personality.traits))
        big_five = p.personality.big_five
        if big_five is not None:
            blocks.append(_block("Big Five", big_five))
        blocks += _extras_blocks(p.personality)
    blocks += [_block("Style", p.style), _block("Long-term goals", p.long_term_goals)]
    if p.preferences is not None:
        prefs = p.preferences
        blocks += [_block("Interests", prefs.interests), _block("Likes", prefs.likes),
                   _block("Dislikes", prefs.dislikes)]
        blocks += _extras_blocks(prefs)
    blocks += [_block("Beliefs", p.beliefs), _block("Skills", p.skills)]
    if p.behaviors is not None:
        blocks.append(_block("Behaviors", p.behaviors.general))
        if p.behaviors.routines is not None:
            blocks.append(_block("Routines", p.behaviors.routines))
        blocks += _extras_blocks(p.behaviors)
    blocks.append(_block("Health", p.health))
    if p.relationships:
        blocks.append("Relationships:\n" + "\n".join(
            f"- {r.name}: {r.description}" if r.description else f"- {r.name}" for r in p.relationships
        ))
    blocks.append(_block("Other facts", p.other_facts))
    blocks += _extras_blocks(p)
    return [b for b in blocks if b]


def _fit(blocks: list[str], max_chars: int | None) -> str:
    full = "\n".join(blocks)
    if max_chars is None or len(full) <= max_chars:
        return full
    marker = "\n" + TRUNCATION_MARKER
    kept: list[str] = []
    used = 0
    for block in blocks:
        needed = used + (1 if kept else 0) + len(block)
        if needed + len(marker) > max_chars:
            break
        kept.append(block)
        used = needed
    if not kept:
        # Not even the first field fits: cut it, since a prompt needs at least the name.
        return full[: max_chars - 1] + TRUNCATION_MARKER
    return "\n".join(kept) + marker


def render_text(p: PersonaFields, max_chars: int | None) -> str:
    """The persona's text, cut at a field boundary to ``max_chars`` (ending with a ``…`` line)."""
    return _fit(_render_blocks(p), max_chars)


__all__ = ["TRUNCATION_MARKER", "render_text"]
