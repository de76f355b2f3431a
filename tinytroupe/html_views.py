"""Small HTML pieces for notebook views (``_repr_html_``) of agents, worlds and results.

Jupyter shows an object by its ``_repr_html_()`` when it has one. These helpers build that HTML from
plain values (no agent or world imported here, so every layer can use them), escape every piece of
text (a persona or an answer may hold ``<`` or ``&``), cut long texts and keep to inline styles, so a
view looks the same in Jupyter, VS Code and an exported HTML file.

Example:
    >>> print(table(["agent", "rating"], [["Ana", 8], ["Ben <3", None]]))  # doctest: +NORMALIZE_WHITESPACE
    <table style="border-collapse:collapse;margin:4px 0"><thead><tr><th style="text-align:left;padding:2px 8px;\
border-bottom:1px solid #999">agent</th><th style="text-align:left;padding:2px 8px;border-bottom:1px solid #999">\
rating</th></tr></thead><tbody><tr><td style="padding:2px 8px;vertical-align:top">Ana</td><td style="padding:2px \
8px;vertical-align:top">8</td></tr><tr><td style="padding:2px 8px;vertical-align:top">Ben &lt;3</td><td \
style="padding:2px 8px;vertical-align:top">—</td></tr></tbody></table>
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

#: characters of one value shown before it is cut with an ellipsis
MAX_TEXT = 300
#: rows of a table shown before "... and N more"
MAX_ROWS = 50

_TH = "text-align:left;padding:2px 8px;border-bottom:1px solid #999"
_TD = "padding:2px 8px;vertical-align:top"


def text(value: Any, limit: int = MAX_TEXT) -> str:
    """``value`` as escaped HTML text, cut to ``limit`` characters; None is a dash.

    Example:
        >>> text("a < b"), text(None), text("x" * 5, limit=3)
        ('a &lt; b', '—', 'xxx…')
    """
    if value is None:
        return "—"
    shown = value if isinstance(value, str) else str(value)
    if len(shown) > limit:
        shown = shown[:limit] + "…"
    return html.escape(shown)


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], max_rows: int = MAX_ROWS) -> str:
    """An HTML table with a header row; values are escaped, rows past ``max_rows`` counted, not shown."""
    head = "".join(f'<th style="{_TH}">{text(c)}</th>' for c in columns)
    body: list[str] = []
    hidden = 0
    for row in rows:
        if len(body) >= max_rows:
            hidden += 1
            continue
        body.append("<tr>" + "".join(f'<td style="{_TD}">{text(v)}</td>' for v in row) + "</tr>")
    if hidden:
        body.append(f'<tr><td style="{_TD}" colspan="{len(columns)}">… and {hidden} more</td></tr>')
    return (f'<table style="border-collapse:collapse;margin:4px 0"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def records(names: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    """A table of one row per name, one column per key found in any row (a missing value is a dash).

    Example:
        >>> view = records(["Ana", "Ben"], [{"rating": 8}, {"rating": 3, "reason": "<pricey>"}])
        >>> "&lt;pricey&gt;" in view, view.count("<tr>"), view.count("—")
        (True, 3, 1)
    """
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    return table(["agent", *columns], ([name, *(row.get(c) for c in columns)]
                                        for name, row in zip(names, rows, strict=True)))


def fields(pairs: Iterable[tuple[str, Any]]) -> str:
    """A list of ``name: value`` lines (values escaped; empty values left out)."""
    items = [f"<li><b>{text(name)}</b>: {text(value)}</li>" for name, value in pairs if value not in (None, "", [])]
    return f'<ul style="margin:2px 0;padding-left:18px">{"".join(items)}</ul>' if items else ""


def card(title: str, subtitle: str = "", *sections: tuple[str, str]) -> str:
    """A bordered box: a title, a subtitle, then each ``(heading, inner HTML)`` section that is not empty.

    Example:
        >>> card("Ana", "nurse", ("Facts", fields([("age", 34)])))[:60]
        '<div style="border:1px solid #ccc;border-radius:6px;padding:'
    """
    parts = [f'<div style="font-weight:bold;font-size:1.1em">{text(title)}</div>']
    if subtitle:
        parts.append(f'<div style="color:#555;margin-bottom:4px">{text(subtitle)}</div>')
    for heading, inner in sections:
        if inner:
            heading_html = f'<div style="font-weight:bold">{text(heading)}</div>'
            parts.append(f'<div style="margin-top:6px">{heading_html}{inner}</div>')
    return ('<div style="border:1px solid #ccc;border-radius:6px;padding:8px 12px;margin:4px 0;max-width:900px">'
            + "".join(parts) + "</div>")


__all__ = ["MAX_ROWS", "MAX_TEXT", "card", "fields", "records", "table", "text"]
